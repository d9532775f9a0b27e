//! Python bindings for opening a batch of the custody service's `sm4-gcm`
//! ciphertext tokens in one call (`Sm4GcmTokenKey`, `sm4gcm_token_open_batch`
//! on `guomi._rust`; `guomi.primitives.tokens` re-exports them).
//!
//! The protocol is `guomi_core::token`'s; here only the batch shape: the
//! tokens are parsed with the GIL held (they are Python strings), the key
//! for each distinct version is asked of the caller once, the cryptography
//! and the base64 of the plaintexts run with the GIL released, and the
//! results come back as two lists. An item that cannot be opened for any
//! reason comes back as `None`: the caller's single-item path words its error.
#![forbid(unsafe_code)]

use guomi_core::token::{self, Sm4GcmTokenKey, ALG_SM4_GCM};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use zeroize::Zeroizing;

use crate::buffers::ByteView;
use crate::errors::IntoPy;

/// One version of one `sm4-gcm` key, ready to open its tokens. Its keys
/// never leave Rust and are wiped when the object dies.
#[pyclass(module = "guomi._rust", name = "Sm4GcmTokenKey", frozen)]
pub struct PySm4GcmTokenKey {
    inner: Sm4GcmTokenKey,
}

#[pymethods]
impl PySm4GcmTokenKey {
    /// `enc_key` (16 bytes) and `commit_key` (32 bytes) are the version's
    /// derived keys (docs/spec/token.md §6); `ad_head` the fixed head of its
    /// tokens' associated data (§5: label, header, length-prefixed name).
    #[new]
    fn new(
        enc_key: &Bound<'_, PyAny>,
        commit_key: &Bound<'_, PyAny>,
        ad_head: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let e = ByteView::new(enc_key)?;
        let c = ByteView::new(commit_key)?;
        let a = ByteView::new(ad_head)?;
        let inner = Sm4GcmTokenKey::new(e.as_slice(), c.as_slice(), a.as_slice()).py()?;
        Ok(PySm4GcmTokenKey { inner })
    }

    fn __repr__(&self) -> String {
        "Sm4GcmTokenKey(<keys hidden>)".into()
    }
}

/// A token that parsed: its key version, binary token and caller AD.
type Item = (u32, Vec<u8>, Vec<u8>);

/// A parsed item: its key version, binary token and caller AD.
struct Parsed {
    version: u32,
    blob: Vec<u8>,
    ad: Vec<u8>,
    /// Offset and length of its base64 plaintext in the output buffer.
    at: usize,
    len: usize,
}

/// The token and AD of one `(token, associated_data, reference)` item, if
/// they have the types a token and an AD can have (else the item is left to
/// the single-item path).
fn parse_item(item: &Bound<'_, PyAny>) -> PyResult<Option<Item>> {
    let tuple = item.cast::<PyTuple>()?;
    let token = tuple.get_item(0)?;
    let Ok(text) = token.cast::<PyString>() else {
        return Ok(None);
    };
    let Ok(text) = text.to_str() else {
        return Ok(None);
    };
    let Some((version, blob)) = token::parse_text(text.as_bytes()) else {
        return Ok(None);
    };
    if blob[1] != ALG_SM4_GCM {
        return Ok(None);
    }
    let ad = tuple.get_item(1)?;
    let ad = if ad.is_none() {
        Vec::new()
    } else if let Ok(b) = ad.cast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else {
        return Ok(None);
    };
    Ok(Some((version, blob, ad)))
}

/// Opens a `batch_input` of `(token: str, associated_data: bytes | None,
/// reference)` tuples made for one `sm4-gcm` key.
///
/// `resolve(version)` is called once per distinct key version the tokens
/// name and returns that version's `Sm4GcmTokenKey`, or `None` if the
/// version may not be used (its tokens are then not opened). Returns
/// `(texts, versions)`: per item the standard padded base64 of the
/// plaintext as ASCII `bytes` and its key version, or `None` and 0 for an
/// item not opened (malformed, another algorithm, refused version, wrong
/// commitment or tag).
#[pyfunction]
fn sm4gcm_token_open_batch<'py>(
    py: Python<'py>,
    items: &Bound<'py, PyList>,
    resolve: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>)> {
    let n = items.len();
    let mut parsed: Vec<Option<Parsed>> = Vec::with_capacity(n);
    let mut total = 0usize;
    for item in items.iter() {
        parsed.push(parse_item(&item)?.and_then(|(version, blob, ad)| {
            let len = token::b64_len(token::plaintext_len(&blob)?);
            let at = total;
            total += len;
            Some(Parsed {
                version,
                blob,
                ad,
                at,
                len,
            })
        }));
    }
    // One key per distinct version (a batch usually names one or two).
    let keys = resolve_versions(parsed.iter().flatten(), resolve)?;
    let mut out = Zeroizing::new(vec![0u8; total]);
    let opened: Vec<bool> = py.detach(|| {
        let mut scratch = Vec::new();
        parsed
            .iter()
            .map(|p| {
                let Some(p) = p else { return false };
                let key = keys
                    .iter()
                    .find(|(v, _)| *v == p.version)
                    .and_then(|(_, k)| k.as_ref());
                let Some(key) = key else { return false };
                let dst = &mut out[p.at..p.at + p.len];
                key.get()
                    .inner
                    .open_b64(&p.blob, &p.ad, &mut scratch, dst)
                    .is_ok()
            })
            .collect()
    });
    let texts = PyList::empty(py);
    let versions = PyList::empty(py);
    for (p, ok) in parsed.iter().zip(opened) {
        match p {
            Some(p) if ok => {
                texts.append(PyBytes::new(py, &out[p.at..p.at + p.len]))?;
                versions.append(p.version)?;
            }
            _ => {
                texts.append(py.None())?;
                versions.append(0)?;
            }
        }
    }
    Ok((texts, versions))
}

/// `v` in decimal ASCII, in `buf`.
fn decimal(mut v: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return &buf[i..];
        }
    }
}

/// The keys of the distinct versions the parsed items name, asking
/// `resolve` once per version (`None`: the version is refused).
fn resolve_versions<'a>(
    parsed: impl Iterator<Item = &'a Parsed>,
    resolve: &Bound<'_, PyAny>,
) -> PyResult<Vec<(u32, Option<Py<PySm4GcmTokenKey>>)>> {
    let mut keys: Vec<(u32, Option<Py<PySm4GcmTokenKey>>)> = Vec::new();
    for p in parsed {
        if keys.iter().any(|(v, _)| *v == p.version) {
            continue;
        }
        let key = resolve.call1((p.version,))?;
        let key = if key.is_none() {
            None
        } else {
            Some(key.cast::<PySm4GcmTokenKey>()?.clone().unbind())
        };
        keys.push((p.version, key));
    }
    Ok(keys)
}

/// The JSON reply body of a `batch_input` in which every item opens, written
/// in one buffer, or `None` as soon as one item does not (malformed, another
/// algorithm, refused version, wrong commitment or tag: nothing is decrypted
/// after a parse or version failure, and what was written is wiped).
///
/// The body is `prefix`, then per item
/// `{"plaintext":"<base64>","key_version":<v>}` -- with
/// `,"reference":<reference JSON>` before the `}` when `references[i]` is
/// not `None` (already JSON text, as the caller's serialiser writes it) --
/// separated by `,`, then `suffix`: what `guomi.api.DECRYPT_BATCH_REPLY`
/// writes for the same results (the service's tests compare the two byte for
/// byte).
#[pyfunction]
#[pyo3(signature = (items, resolve, prefix, suffix, references = None))]
fn sm4gcm_token_open_batch_json<'py>(
    py: Python<'py>,
    items: &Bound<'py, PyList>,
    resolve: &Bound<'py, PyAny>,
    prefix: &[u8],
    suffix: &[u8],
    references: Option<&Bound<'py, PyList>>,
) -> PyResult<Option<Bound<'py, PyBytes>>> {
    const OPEN: &[u8] = b"{\"plaintext\":\"";
    const VERSION: &[u8] = b"\",\"key_version\":";
    const REFERENCE: &[u8] = b",\"reference\":";
    let n = items.len();
    if n == 0 {
        return Ok(None);
    }
    let refs: Vec<Option<Vec<u8>>> = match references {
        None => vec![None; n],
        Some(list) => {
            if list.len() != n {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "references must have one entry per item",
                ));
            }
            list.iter()
                .map(|r| {
                    if r.is_none() {
                        Ok(None)
                    } else {
                        Ok(Some(r.cast::<PyBytes>()?.as_bytes().to_vec()))
                    }
                })
                .collect::<PyResult<_>>()?
        }
    };
    let mut parsed: Vec<Parsed> = Vec::with_capacity(n);
    let mut total = prefix.len() + suffix.len() + (n - 1);
    for (item, r) in items.iter().zip(&refs) {
        let Some((version, blob, ad)) = parse_item(&item)? else {
            return Ok(None);
        };
        let Some(pt_len) = token::plaintext_len(&blob) else {
            return Ok(None);
        };
        let len = token::b64_len(pt_len);
        total += OPEN.len() + len + VERSION.len() + decimal(version, &mut [0u8; 10]).len() + 1;
        if let Some(r) = r {
            total += REFERENCE.len() + r.len();
        }
        parsed.push(Parsed {
            version,
            blob,
            ad,
            at: 0,
            len,
        });
    }
    let keys = resolve_versions(parsed.iter(), resolve)?;
    if keys.iter().any(|(_, k)| k.is_none()) {
        return Ok(None);
    }
    let mut body = Zeroizing::new(vec![0u8; total]);
    let all_opened = py.detach(|| {
        let mut scratch = Vec::new();
        let mut digits = [0u8; 10];
        let mut at = 0usize;
        let put = |buf: &mut [u8], at: &mut usize, data: &[u8]| {
            buf[*at..*at + data.len()].copy_from_slice(data);
            *at += data.len();
        };
        put(&mut body, &mut at, prefix);
        for (i, (p, r)) in parsed.iter().zip(&refs).enumerate() {
            if i > 0 {
                put(&mut body, &mut at, b",");
            }
            put(&mut body, &mut at, OPEN);
            let key = keys
                .iter()
                .find(|(v, _)| *v == p.version)
                .and_then(|(_, k)| k.as_ref());
            let Some(key) = key else { return false };
            let dst = &mut body[at..at + p.len];
            if key
                .get()
                .inner
                .open_b64(&p.blob, &p.ad, &mut scratch, dst)
                .is_err()
            {
                return false;
            }
            at += p.len;
            put(&mut body, &mut at, VERSION);
            put(&mut body, &mut at, decimal(p.version, &mut digits));
            if let Some(r) = r {
                put(&mut body, &mut at, REFERENCE);
                put(&mut body, &mut at, r);
            }
            put(&mut body, &mut at, b"}");
        }
        put(&mut body, &mut at, suffix);
        at == body.len()
    });
    // `body` is wiped when dropped (Zeroizing), whether or not every item opened.
    if !all_opened {
        return Ok(None);
    }
    Ok(Some(PyBytes::new(py, &body)))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySm4GcmTokenKey>()?;
    m.add_function(wrap_pyfunction!(sm4gcm_token_open_batch, m)?)?;
    m.add_function(wrap_pyfunction!(sm4gcm_token_open_batch_json, m)?)?;
    Ok(())
}
