//! Python bindings of the field kernel (`FieldCipher`, `BlindIndexKernel` on
//! `guomi._rust`), used by `guomi.fields` and, through its packed API, by
//! `guomi.bulk`.
//!
//! Batch calls take a whole Python list (items borrowed without copying:
//! `str` through its UTF-8 buffer, bytes-like objects through the buffer
//! protocol) or Arrow-layout packed input (an offsets buffer of n+1 int32 or
//! int64 little-endian entries and a data buffer, both any bytes-like
//! object, so `pyarrow` buffers pass zero-copy). The crypto runs with the GIL
//! released over all values at once; packed output is one `bytes` allocated
//! at its final size. All nonces of a batch come from one OS CSPRNG read.

use guomi_core::field::{self, armour, BlindIndex, FieldCipher, Transform};
use guomi_core::Error;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use zeroize::Zeroize;

use crate::buffers::ByteView;
use crate::errors::{invalid_argument, to_py, IntoPy};

const TYPE_STR: u8 = 0x01;
const TYPE_BYTES: u8 = 0x02;

pub(crate) fn random(buf: &mut [u8]) -> PyResult<()> {
    getrandom::fill(buf).map_err(|_| invalid_argument("the OS random number generator failed"))
}

/// A Python object whose bytes we borrow.
enum Held<'py> {
    Str(Bound<'py, PyString>),
    View(ByteView<'py>),
}

impl Held<'_> {
    fn bytes(&self) -> PyResult<&[u8]> {
        match self {
            Held::Str(s) => Ok(s.to_str()?.as_bytes()),
            Held::View(v) => Ok(v.as_slice()),
        }
    }
}

fn hold<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Held<'py>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Held::Str(s.clone()));
    }
    Ok(Held::View(ByteView::new(obj)?))
}

/// How the type tag of each list item is found.
#[derive(Clone, Copy)]
enum Tagging {
    /// `str` is 0x01, bytes-like is 0x02.
    Infer,
    /// Every item has this tag.
    Fixed(u8),
    /// Each item is bytes-like and starts with its tag.
    Leading,
}

fn tagging(type_tag: Option<u8>, pretagged: bool) -> Tagging {
    match (pretagged, type_tag) {
        (true, _) => Tagging::Leading,
        (false, Some(t)) => Tagging::Fixed(t),
        (false, None) => Tagging::Infer,
    }
}

/// Borrowed items of a batch: each value's bytes and type tag (None = null).
struct Batch<'a> {
    values: Vec<Option<(u8, &'a [u8])>>,
}

fn list_items<'py>(seq: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    seq.try_iter()?.collect()
}

fn hold_all<'py>(items: &[Bound<'py, PyAny>]) -> PyResult<Vec<Option<Held<'py>>>> {
    items
        .iter()
        .map(|o| {
            if o.is_none() {
                Ok(None)
            } else {
                hold(o).map(Some)
            }
        })
        .collect()
}

fn batch_from_held<'a>(held: &'a [Option<Held<'_>>], tagging: Tagging) -> PyResult<Batch<'a>> {
    let mut values = Vec::with_capacity(held.len());
    for (i, h) in held.iter().enumerate() {
        let Some(h) = h else {
            values.push(None);
            continue;
        };
        let b = h.bytes()?;
        let item = match tagging {
            Tagging::Infer => (
                if matches!(h, Held::Str(_)) {
                    TYPE_STR
                } else {
                    TYPE_BYTES
                },
                b,
            ),
            Tagging::Fixed(t) => (t, b),
            Tagging::Leading => {
                let Some((&t, rest)) = b.split_first() else {
                    return Err(invalid_argument(format!(
                        "value {i}: empty pre-tagged value"
                    )));
                };
                (t, rest)
            }
        };
        values.push(Some(item));
    }
    Ok(Batch { values })
}

/// Offsets of a packed (Arrow-layout) array, validated against `data_len`.
fn read_offsets(raw: &[u8], width: usize, data_len: usize) -> PyResult<Vec<usize>> {
    if width != 4 && width != 8 {
        return Err(invalid_argument(
            "offset_width must be 4 (int32) or 8 (int64)",
        ));
    }
    if !raw.len().is_multiple_of(width) || raw.len() < width {
        return Err(invalid_argument(format!(
            "offsets buffer must hold n+1 little-endian int{} entries",
            width * 8
        )));
    }
    let mut out = Vec::with_capacity(raw.len() / width);
    let mut prev = 0usize;
    for (i, c) in raw.chunks_exact(width).enumerate() {
        let v: i64 = if width == 4 {
            i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        } else {
            i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
        };
        let Ok(v) = usize::try_from(v) else {
            return Err(invalid_argument(format!("offset {i} is negative")));
        };
        if (i > 0 && v < prev) || v > data_len {
            return Err(invalid_argument(format!(
                "offset {i} is out of order or past the end of the data buffer"
            )));
        }
        prev = v;
        out.push(v);
    }
    Ok(out)
}

fn is_valid(validity: Option<&[u8]>, i: usize) -> PyResult<bool> {
    match validity {
        None => Ok(true),
        Some(bits) => match bits.get(i / 8) {
            Some(b) => Ok(b >> (i % 8) & 1 == 1),
            None => Err(invalid_argument(
                "validity bitmap is shorter than the array",
            )),
        },
    }
}

fn batch_from_packed<'a>(
    offsets: &[usize],
    data: &'a [u8],
    validity: Option<&[u8]>,
    tagging: Tagging,
) -> PyResult<Batch<'a>> {
    let n = offsets.len() - 1;
    let mut values = Vec::with_capacity(n);
    for i in 0..n {
        if !is_valid(validity, i)? {
            values.push(None);
            continue;
        }
        let v = &data[offsets[i]..offsets[i + 1]];
        values.push(Some(match tagging {
            Tagging::Leading => {
                let Some((&t, rest)) = v.split_first() else {
                    return Err(invalid_argument(format!(
                        "value {i}: empty pre-tagged value"
                    )));
                };
                (t, rest)
            }
            Tagging::Fixed(t) => (t, v),
            Tagging::Infer => (TYPE_STR, v),
        }));
    }
    Ok(Batch { values })
}

/// Row contexts: None, a sequence of bytes-like/None, or a packed
/// `(offsets, data)` pair (offsets width as the values').
struct Contexts<'py> {
    held: Vec<Option<Held<'py>>>,
    packed: Option<(Vec<usize>, ByteView<'py>)>,
}

impl<'py> Contexts<'py> {
    fn new(obj: Option<&Bound<'py, PyAny>>, n: usize, width: usize) -> PyResult<Option<Self>> {
        let Some(obj) = obj.filter(|o| !o.is_none()) else {
            return Ok(None);
        };
        let ctx = if let Ok(t) = obj.cast::<PyTuple>() {
            if t.len() != 2 {
                return Err(invalid_argument(
                    "packed contexts must be an (offsets, data) pair",
                ));
            }
            let offs = ByteView::new(&t.get_item(0)?)?;
            let data = ByteView::new(&t.get_item(1)?)?;
            let offsets = read_offsets(offs.as_slice(), width, data.len())?;
            Contexts {
                held: Vec::new(),
                packed: Some((offsets, data)),
            }
        } else {
            let items = list_items(obj)?;
            Contexts {
                held: hold_all(&items)?,
                packed: None,
            }
        };
        let count = match &ctx.packed {
            Some((o, _)) => o.len() - 1,
            None => ctx.held.len(),
        };
        if count != n {
            return Err(invalid_argument(format!("{count} contexts for {n} values")));
        }
        Ok(Some(ctx))
    }

    fn slices(&self) -> PyResult<Vec<Option<&[u8]>>> {
        match &self.packed {
            Some((o, d)) => {
                let d = d.as_slice();
                Ok((0..o.len() - 1).map(|i| Some(&d[o[i]..o[i + 1]])).collect())
            }
            None => self
                .held
                .iter()
                .map(|h| h.as_ref().map(|h| h.bytes()).transpose())
                .collect(),
        }
    }
}

fn ctx_at<'a>(ctx: &'a Option<Vec<Option<&'a [u8]>>>, i: usize) -> Option<&'a [u8]> {
    ctx.as_ref().and_then(|c| c[i])
}

fn value_error(i: usize, e: Error) -> Error {
    Error::new(e.kind(), format!("value {i}: {}", e.message()))
}

/// Lengths of each encrypted output (0 for nulls).
fn sealed_lens(batch: &Batch<'_>, armoured: bool) -> Vec<usize> {
    batch
        .values
        .iter()
        .map(|v| match v {
            None => 0,
            Some((_, b)) => {
                let bin = FieldCipher::sealed_len(b.len());
                if armoured {
                    armour::armoured_len(bin)
                } else {
                    bin
                }
            }
        })
        .collect()
}

fn encrypt_batch(
    cipher: &FieldCipher,
    batch: &Batch<'_>,
    ctx: &Option<Vec<Option<&[u8]>>>,
    nonces: &[u8],
    armoured: bool,
    lens: &[usize],
    out: &mut [u8],
) -> guomi_core::Result<()> {
    if ctx.is_none() {
        // No row context: one batch call over the non-null values (their
        // outputs are back to back in `out`; nulls take no bytes).
        let mut items = Vec::with_capacity(batch.values.len());
        let mut item_nonces = Vec::with_capacity(batch.values.len() * 12);
        let mut first = None;
        for (i, v) in batch.values.iter().enumerate() {
            if let Some(item) = v {
                first.get_or_insert(i);
                items.push(*item);
                item_nonces.extend_from_slice(&nonces[i * 12..i * 12 + 12]);
            }
        }
        let r = cipher.encrypt_many(&items, &item_nonces, armoured, out);
        item_nonces.zeroize();
        // Name the first value in an error, as the per-value path does.
        return r.map_err(|e| value_error(first.unwrap_or(0), e));
    }
    let mut pos = 0;
    let mut scratch = Vec::new();
    for (i, v) in batch.values.iter().enumerate() {
        let Some((tag, b)) = v else { continue };
        let dst = &mut out[pos..pos + lens[i]];
        pos += lens[i];
        let nonce: &[u8; 12] = nonces[i * 12..i * 12 + 12].try_into().expect("12 bytes");
        if armoured {
            scratch.resize(FieldCipher::sealed_len(b.len()), 0);
            cipher
                .encrypt_into(*tag, b, ctx_at(ctx, i), nonce, &mut scratch)
                .map_err(|e| value_error(i, e))?;
            armour::encode_into(&scratch, dst);
        } else {
            cipher
                .encrypt_into(*tag, b, ctx_at(ctx, i), nonce, dst)
                .map_err(|e| value_error(i, e))?;
        }
    }
    Ok(())
}

/// A value to decrypt: binary (starts with 0x01) or text (`gm1.`).
fn opened_len(token: &[u8]) -> guomi_core::Result<usize> {
    let bin = if token.first() == Some(&field::FORMAT_VERSION) {
        token.len()
    } else {
        armour::decoded_len(token)?
    };
    if bin < field::OVERHEAD {
        return Err(Error::invalid_encoding("field value is too short"));
    }
    Ok(bin - field::OVERHEAD + 1)
}

fn decrypt_one(
    cipher: &FieldCipher,
    token: &[u8],
    ctx: Option<&[u8]>,
    scratch: &mut Vec<u8>,
    out: &mut [u8],
) -> guomi_core::Result<()> {
    if token.first() == Some(&field::FORMAT_VERSION) {
        cipher.decrypt_into(token, ctx, out)
    } else {
        scratch.resize(armour::decoded_len(token)?, 0);
        armour::decode_into(token, scratch)?;
        cipher.decrypt_into(scratch, ctx, out)
    }
}

fn write_offsets(lens: &[usize], width: usize) -> PyResult<Vec<u8>> {
    let mut out = Vec::with_capacity((lens.len() + 1) * width);
    let mut acc: usize = 0;
    let push = |out: &mut Vec<u8>, v: usize| -> PyResult<()> {
        if width == 4 {
            let v = i32::try_from(v).map_err(|_| {
                invalid_argument(
                    "output exceeds int32 offsets: pass int64 offsets (large_string/large_binary)",
                )
            })?;
            out.extend_from_slice(&v.to_le_bytes());
        } else {
            out.extend_from_slice(&(v as i64).to_le_bytes());
        }
        Ok(())
    };
    push(&mut out, 0)?;
    for l in lens {
        acc += l;
        push(&mut out, acc)?;
    }
    Ok(out)
}

/// One column's cipher: all key versions, new values under the primary.
#[pyclass(module = "guomi._rust", name = "FieldCipher", frozen)]
pub struct PyFieldCipher {
    pub(crate) inner: FieldCipher,
}

#[pymethods]
impl PyFieldCipher {
    /// `keys` is a list of `(key_id, enc_key[16], siv_key[32])`.
    #[new]
    fn new(
        table: &[u8],
        column: &[u8],
        suite: u8,
        keys: Vec<(u32, Vec<u8>, Vec<u8>)>,
        primary: u32,
    ) -> PyResult<Self> {
        let mut keys = keys;
        let refs: Vec<(u32, &[u8], &[u8])> = keys
            .iter()
            .map(|(id, e, s)| (*id, e.as_slice(), s.as_slice()))
            .collect();
        let inner = FieldCipher::new(table, column, suite, &refs, primary);
        drop(refs);
        for (_, e, s) in keys.iter_mut() {
            e.zeroize();
            s.zeroize();
        }
        Ok(PyFieldCipher { inner: inner.py()? })
    }

    fn __repr__(&self) -> String {
        "FieldCipher(<keys hidden>)".into()
    }

    /// Encrypts a list: returns a list of text tokens (`armour=True`) or
    /// binary values; `None` items stay `None`.
    #[pyo3(signature = (values, contexts = None, type_tag = None, pretagged = false, armour = true))]
    fn encrypt_list<'py>(
        &self,
        py: Python<'py>,
        values: &Bound<'py, PyAny>,
        contexts: Option<&Bound<'py, PyAny>>,
        type_tag: Option<u8>,
        pretagged: bool,
        armour: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let items = list_items(values)?;
        let held = hold_all(&items)?;
        let batch = batch_from_held(&held, tagging(type_tag, pretagged))?;
        let ctxs = Contexts::new(contexts, batch.values.len(), 8)?;
        let ctx = ctxs.as_ref().map(|c| c.slices()).transpose()?;
        let lens = sealed_lens(&batch, armour);
        let mut nonces = vec![0u8; batch.values.len() * 12];
        if self.inner.suite() == field::SUITE_SM4_GCM {
            random(&mut nonces)?;
        }
        let total: usize = lens.iter().sum();
        let mut out = vec![0u8; total];
        let cipher = &self.inner;
        py.detach(|| encrypt_batch(cipher, &batch, &ctx, &nonces, armour, &lens, &mut out))
            .map_err(to_py)?;
        let list = PyList::empty(py);
        let mut pos = 0;
        for (i, l) in lens.iter().enumerate() {
            if batch.values[i].is_none() {
                list.append(py.None())?;
                continue;
            }
            let piece = &out[pos..pos + l];
            pos += l;
            if armour {
                // Base64url and the prefix are ASCII.
                let s = std::str::from_utf8(piece).map_err(|_| invalid_argument("armour"))?;
                list.append(PyString::new(py, s))?;
            } else {
                list.append(PyBytes::new(py, piece))?;
            }
        }
        Ok(list)
    }

    /// Decrypts a list of tokens (text or binary). Each result is a `str`
    /// (type 0x01), `bytes` (0x02) or `(type_tag, canonical_bytes)`;
    /// `None` stays `None`.
    #[pyo3(signature = (tokens, contexts = None))]
    fn decrypt_list<'py>(
        &self,
        py: Python<'py>,
        tokens: &Bound<'py, PyAny>,
        contexts: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let items = list_items(tokens)?;
        let held = hold_all(&items)?;
        let slices: Vec<Option<&[u8]>> = held
            .iter()
            .map(|h| h.as_ref().map(|h| h.bytes()).transpose())
            .collect::<PyResult<_>>()?;
        let ctxs = Contexts::new(contexts, slices.len(), 8)?;
        let ctx = ctxs.as_ref().map(|c| c.slices()).transpose()?;
        let mut lens = Vec::with_capacity(slices.len());
        for (i, s) in slices.iter().enumerate() {
            lens.push(match s {
                None => 0,
                Some(t) => opened_len(t).map_err(|e| to_py(value_error(i, e)))?,
            });
        }
        let total: usize = lens.iter().sum();
        let mut out = vec![0u8; total];
        let cipher = &self.inner;
        let r = py.detach(|| -> guomi_core::Result<()> {
            let mut pos = 0;
            let mut scratch = Vec::new();
            for (i, s) in slices.iter().enumerate() {
                let Some(t) = s else { continue };
                decrypt_one(
                    cipher,
                    t,
                    ctx_at(&ctx, i),
                    &mut scratch,
                    &mut out[pos..pos + lens[i]],
                )
                .map_err(|e| value_error(i, e))?;
                pos += lens[i];
            }
            Ok(())
        });
        if let Err(e) = r {
            out.zeroize();
            return Err(to_py(e));
        }
        let list = PyList::empty(py);
        let mut pos = 0;
        for (i, l) in lens.iter().enumerate() {
            if slices[i].is_none() {
                list.append(py.None())?;
                continue;
            }
            let piece = &out[pos..pos + l];
            pos += l;
            let (tag, body) = (piece[0], &piece[1..]);
            match tag {
                TYPE_STR => match std::str::from_utf8(body) {
                    Ok(s) => list.append(PyString::new(py, s))?,
                    Err(_) => {
                        out.zeroize();
                        return Err(to_py(Error::invalid_encoding(format!(
                            "value {i}: string value is not valid UTF-8"
                        ))));
                    }
                },
                TYPE_BYTES => list.append(PyBytes::new(py, body))?,
                _ => list.append((tag, PyBytes::new(py, body)))?,
            }
        }
        out.zeroize();
        Ok(list)
    }

    /// Arrow-layout encryption: returns `(offsets, data)` with offsets of the
    /// same width as the input's. Null slots (per `validity`) give empty values.
    #[pyo3(signature = (offsets, data, offset_width, contexts = None, type_tag = 1, armour = true, validity = None))]
    #[allow(clippy::too_many_arguments)]
    fn encrypt_packed<'py>(
        &self,
        py: Python<'py>,
        offsets: &Bound<'py, PyAny>,
        data: &Bound<'py, PyAny>,
        offset_width: usize,
        contexts: Option<&Bound<'py, PyAny>>,
        type_tag: Option<u8>,
        armour: bool,
        validity: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let offs_view = ByteView::new(offsets)?;
        let data_view = ByteView::new(data)?;
        let validity = validity
            .filter(|v| !v.is_none())
            .map(ByteView::new)
            .transpose()?;
        let offs = read_offsets(offs_view.as_slice(), offset_width, data_view.len())?;
        let batch = batch_from_packed(
            &offs,
            data_view.as_slice(),
            validity.as_ref().map(|v| v.as_slice()),
            tagging(type_tag, type_tag.is_none()),
        )?;
        let ctxs = Contexts::new(contexts, batch.values.len(), offset_width)?;
        let ctx = ctxs.as_ref().map(|c| c.slices()).transpose()?;
        let lens = sealed_lens(&batch, armour);
        let out_offsets = write_offsets(&lens, offset_width)?;
        let total: usize = lens.iter().sum();
        let cipher = &self.inner;
        // The nonce read, zeroing the output and the crypto all run without
        // the GIL (threads encrypting other batches do not queue for it).
        let out = crate::field_csv::new_bytes(py, total)?;
        // SAFETY: as in `field_csv_encrypt_block`: `out` is a new bytes
        // object of `total` bytes that only this function references, alive
        // until after `detach` returns; its data pointer is never null.
        let ptr = unsafe { pyo3::ffi::PyBytes_AsString(out.as_ptr()) } as usize;
        let gcm = cipher.suite() == field::SUITE_SM4_GCM;
        py.detach(|| -> PyResult<()> {
            let mut nonces = vec![0u8; batch.values.len() * 12];
            if gcm {
                random(&mut nonces)?;
            }
            // SAFETY: `ptr` points at `total` writable bytes (above),
            // initialised here through the raw pointer before any reference
            // to them exists; nothing else touches them meanwhile.
            let out = unsafe {
                std::ptr::write_bytes(ptr as *mut u8, 0, total);
                std::slice::from_raw_parts_mut(ptr as *mut u8, total)
            };
            encrypt_batch(cipher, &batch, &ctx, &nonces, armour, &lens, out).map_err(to_py)
        })?;
        PyTuple::new(
            py,
            [PyBytes::new(py, &out_offsets).into_any(), out.into_any()],
        )
    }

    /// Arrow-layout decryption: returns `(offsets, data)` of the canonical
    /// values (type tag removed; every value's tag must be `type_tag` unless
    /// it is None, in which case the tag byte is kept at the front).
    #[pyo3(signature = (offsets, data, offset_width, contexts = None, type_tag = 1, validity = None))]
    #[allow(clippy::too_many_arguments)]
    fn decrypt_packed<'py>(
        &self,
        py: Python<'py>,
        offsets: &Bound<'py, PyAny>,
        data: &Bound<'py, PyAny>,
        offset_width: usize,
        contexts: Option<&Bound<'py, PyAny>>,
        type_tag: Option<u8>,
        validity: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let offs_view = ByteView::new(offsets)?;
        let data_view = ByteView::new(data)?;
        let validity = validity
            .filter(|v| !v.is_none())
            .map(ByteView::new)
            .transpose()?;
        let offs = read_offsets(offs_view.as_slice(), offset_width, data_view.len())?;
        let batch = batch_from_packed(
            &offs,
            data_view.as_slice(),
            validity.as_ref().map(|v| v.as_slice()),
            Tagging::Fixed(0),
        )?;
        let ctxs = Contexts::new(contexts, batch.values.len(), offset_width)?;
        let ctx = ctxs.as_ref().map(|c| c.slices()).transpose()?;
        let strip = usize::from(type_tag.is_some());
        let mut lens = Vec::with_capacity(batch.values.len());
        for (i, v) in batch.values.iter().enumerate() {
            lens.push(match v {
                None => 0,
                Some((_, t)) => opened_len(t).map_err(|e| to_py(value_error(i, e)))? - strip,
            });
        }
        let out_offsets = write_offsets(&lens, offset_width)?;
        let total: usize = lens.iter().sum();
        let cipher = &self.inner;
        let out = PyBytes::new_with(py, total, |out| {
            py.detach(|| -> guomi_core::Result<()> {
                let mut pos = 0;
                let mut scratch = Vec::new();
                let mut one = Vec::new();
                for (i, v) in batch.values.iter().enumerate() {
                    let Some((_, t)) = v else { continue };
                    one.resize(lens[i] + strip, 0);
                    let r = decrypt_one(cipher, t, ctx_at(&ctx, i), &mut scratch, &mut one);
                    if let Err(e) = r {
                        out.zeroize();
                        return Err(value_error(i, e));
                    }
                    if let Some(want) = type_tag {
                        let got = one[0];
                        if got != want {
                            one.zeroize();
                            out.zeroize();
                            return Err(value_error(
                                i,
                                Error::invalid_encoding(format!(
                                    "value has type tag {got:#04x}, expected {want:#04x}"
                                )),
                            ));
                        }
                    }
                    out[pos..pos + lens[i]].copy_from_slice(&one[strip..]);
                    pos += lens[i];
                }
                one.zeroize();
                Ok(())
            })
            .map_err(to_py)
        })?;
        PyTuple::new(
            py,
            [PyBytes::new(py, &out_offsets).into_any(), out.into_any()],
        )
    }
}

/// One blind index of one column (key derived by the Python layer).
#[pyclass(module = "guomi._rust", name = "BlindIndexKernel", frozen)]
pub struct PyBlindIndex {
    inner: BlindIndex,
}

fn index_batch(
    idx: &BlindIndex,
    batch: &Batch<'_>,
    raw: bool,
) -> guomi_core::Result<(Vec<i64>, Vec<usize>)> {
    let mut out = vec![0i64; batch.values.len()];
    let mut fallback = Vec::new();
    if raw {
        // Already transformed: straight to the (multi-buffer) HMAC.
        let mut items = Vec::with_capacity(batch.values.len());
        let mut at = Vec::with_capacity(batch.values.len());
        for (i, v) in batch.values.iter().enumerate() {
            if let Some((t, b)) = v {
                items.push((*t, *b));
                at.push(i);
            }
        }
        let mut hashes = vec![0i64; items.len()];
        idx.index_many_transformed(&items, &mut hashes);
        for (i, h) in at.into_iter().zip(hashes) {
            out[i] = h;
        }
    } else {
        idx.index_batch(&batch.values, &mut out, &mut fallback)?;
    }
    Ok((out, fallback))
}

#[pymethods]
impl PyBlindIndex {
    /// `transform` codes: 0 identity, 1 casefold, 2 digits, 3 last:n, 4 prefix:n.
    #[new]
    #[pyo3(signature = (key, bits, slow_iterations = 0, transform = 0, transform_n = 0))]
    fn new(
        key: &[u8],
        bits: u32,
        slow_iterations: u32,
        transform: u32,
        transform_n: u32,
    ) -> PyResult<Self> {
        let t = Transform::from_code(transform, transform_n).py()?;
        Ok(PyBlindIndex {
            inner: BlindIndex::new(key, bits, slow_iterations, t).py()?,
        })
    }

    fn __repr__(&self) -> String {
        "BlindIndexKernel(<key hidden>)".into()
    }

    /// Indexes a list. Returns `(indexes, fallback)`: `fallback` lists the
    /// positions the kernel could not transform (casefold of non-ASCII), to
    /// be transformed in Python and passed to `index_list(raw=True)`.
    /// With `raw=True` values are taken as already transformed.
    #[pyo3(signature = (values, type_tag = None, pretagged = false, raw = false))]
    fn index_list<'py>(
        &self,
        py: Python<'py>,
        values: &Bound<'py, PyAny>,
        type_tag: Option<u8>,
        pretagged: bool,
        raw: bool,
    ) -> PyResult<(Vec<Option<i64>>, Vec<usize>)> {
        let items = list_items(values)?;
        let held = hold_all(&items)?;
        let batch = batch_from_held(&held, tagging(type_tag, pretagged))?;
        let idx = &self.inner;
        let (out, fallback) = py.detach(|| index_batch(idx, &batch, raw)).map_err(to_py)?;
        let out = out
            .into_iter()
            .zip(batch.values.iter())
            .map(|(h, v)| v.map(|_| h))
            .collect();
        Ok((out, fallback))
    }

    /// Arrow-layout indexing: `(int64 little-endian bytes, fallback)`;
    /// null slots give 0.
    #[pyo3(signature = (offsets, data, offset_width, type_tag = 1, validity = None))]
    fn index_packed<'py>(
        &self,
        py: Python<'py>,
        offsets: &Bound<'py, PyAny>,
        data: &Bound<'py, PyAny>,
        offset_width: usize,
        type_tag: Option<u8>,
        validity: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyBytes>, Vec<usize>)> {
        let offs_view = ByteView::new(offsets)?;
        let data_view = ByteView::new(data)?;
        let validity = validity
            .filter(|v| !v.is_none())
            .map(ByteView::new)
            .transpose()?;
        let offs = read_offsets(offs_view.as_slice(), offset_width, data_view.len())?;
        let batch = batch_from_packed(
            &offs,
            data_view.as_slice(),
            validity.as_ref().map(|v| v.as_slice()),
            tagging(type_tag, type_tag.is_none()),
        )?;
        let idx = &self.inner;
        let (out, fallback) = py
            .detach(|| index_batch(idx, &batch, false))
            .map_err(to_py)?;
        let bytes = PyBytes::new_with(py, out.len() * 8, |buf| {
            for (dst, v) in buf.chunks_exact_mut(8).zip(out.iter()) {
                dst.copy_from_slice(&v.to_le_bytes());
            }
            Ok(())
        })?;
        Ok((bytes, fallback))
    }
}

/// Registers the field classes on `guomi._rust`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFieldCipher>()?;
    m.add_class::<PyBlindIndex>()?;
    m.add("FIELD_OVERHEAD", field::OVERHEAD)?;
    Ok(())
}
