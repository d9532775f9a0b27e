//! Python bindings for the SM4 block cipher and its confidentiality modes
//! (ECB, CBC, CFB, OFB, CTR), plus the constant-time PKCS #7 check used by
//! `guomi.primitives.padding`.
//!
//! `Sm4Key` holds the expanded key (never the key bytes; zeroized when the
//! object dies) and hands out `Sm4Context` streaming contexts, which
//! `guomi.primitives.sm4.Cipher` returns as its encryptor/decryptor: the
//! per-call path from Python is one method call into Rust. Inputs are
//! borrowed without copying; outputs are allocated once at their final size;
//! large calls run with the GIL released.
//!
//! (SM4-XTS is bound in `sm4_aead.rs`.)

use guomi_core::sm4::modes::{self, Decryptor, Encryptor, Mode};
use guomi_core::sm4::{Sm4, BLOCK_SIZE};
use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::buffers::{self, ByteView};
use crate::errors::{self, IntoPy};

/// Builds a core [`Mode`] from its name and IV/nonce, with errors that name
/// the field and the expected length.
fn parse_mode(name: &str, iv: Option<&Bound<'_, PyAny>>) -> PyResult<Mode> {
    let upper = name.to_ascii_uppercase();
    let field = if upper == "CTR" { "nonce" } else { "iv" };
    let block = |iv: Option<&Bound<'_, PyAny>>| -> PyResult<[u8; 16]> {
        let obj = iv.ok_or_else(|| {
            errors::invalid_argument(format!("SM4-{upper} needs a 16-byte {field}"))
        })?;
        let view = ByteView::new(obj)?;
        view.as_slice().try_into().map_err(|_| {
            errors::invalid_argument(format!(
                "SM4-{upper} {field} must be {BLOCK_SIZE} bytes, got {}",
                view.len()
            ))
        })
    };
    Ok(match upper.as_str() {
        "ECB" => {
            if iv.is_some_and(|o| !o.is_none()) {
                return Err(errors::invalid_argument("SM4-ECB takes no iv"));
            }
            Mode::Ecb
        }
        "CBC" => Mode::Cbc(block(iv)?),
        "CFB" => Mode::Cfb(block(iv)?),
        "OFB" => Mode::Ofb(block(iv)?),
        "CTR" => Mode::Ctr(block(iv)?),
        _ => {
            return Err(errors::invalid_argument(format!(
                "unknown SM4 mode {name:?}; expected ECB, CBC, CFB, OFB or CTR"
            )))
        }
    })
}

/// An expanded SM4 key. Holds no key bytes; its repr shows only the
/// implementation path.
#[pyclass(name = "Sm4Key", module = "guomi._rust", frozen)]
pub struct PySm4Key {
    inner: Sm4,
}

#[pymethods]
impl PySm4Key {
    /// Expands a 16-byte key; raises `InvalidKey` for any other length.
    #[new]
    fn new(key: &Bound<'_, PyAny>) -> PyResult<Self> {
        let view = ByteView::new(key)?;
        Ok(PySm4Key {
            inner: Sm4::new(view.as_slice()).py()?,
        })
    }

    /// The SM4 implementation path this key runs on.
    #[getter]
    fn backend(&self) -> &'static str {
        self.inner.backend().name()
    }

    /// A streaming encryption context for `mode` (`"ECB"`, `"CBC"`,
    /// `"CFB"`, `"OFB"`, `"CTR"`) with its 16-byte IV / nonce.
    #[pyo3(signature = (mode, iv = None))]
    fn encryptor(&self, mode: &str, iv: Option<&Bound<'_, PyAny>>) -> PyResult<PySm4Context> {
        let mode = parse_mode(mode, iv)?;
        Ok(PySm4Context {
            name: mode.name(),
            ctx: Ctx::Enc(Encryptor::new(self.inner.clone(), mode)),
        })
    }

    /// A streaming decryption context; see `encryptor`.
    #[pyo3(signature = (mode, iv = None))]
    fn decryptor(&self, mode: &str, iv: Option<&Bound<'_, PyAny>>) -> PyResult<PySm4Context> {
        let mode = parse_mode(mode, iv)?;
        Ok(PySm4Context {
            name: mode.name(),
            ctx: Ctx::Dec(Decryptor::new(self.inner.clone(), mode)),
        })
    }

    fn __repr__(&self) -> String {
        format!("<Sm4Key backend={:?}>", self.inner.backend().name())
    }
}

enum Ctx {
    Enc(Encryptor),
    Dec(Decryptor),
}

impl Ctx {
    fn output_len(&self, n: usize) -> usize {
        match self {
            Ctx::Enc(c) => c.output_len(n),
            Ctx::Dec(c) => c.output_len(n),
        }
    }
    fn update_into(&mut self, input: &[u8], out: &mut [u8]) -> guomi_core::Result<usize> {
        match self {
            Ctx::Enc(c) => c.update_into(input, out),
            Ctx::Dec(c) => c.update_into(input, out),
        }
    }
    fn finalize(&mut self) -> guomi_core::Result<Vec<u8>> {
        match self {
            Ctx::Enc(c) => c.finalize(),
            Ctx::Dec(c) => c.finalize(),
        }
    }
    fn is_finalized(&self) -> bool {
        match self {
            Ctx::Enc(c) => c.is_finalized(),
            Ctx::Dec(c) => c.is_finalized(),
        }
    }
}

/// A streaming SM4 encryption or decryption context (pyca-shaped:
/// `update`, `update_into`, `finalize`).
#[pyclass(name = "Sm4Context", module = "guomi._rust")]
pub struct PySm4Context {
    ctx: Ctx,
    name: &'static str,
}

#[pymethods]
impl PySm4Context {
    /// Processes a bytes-like object and returns the output it completes
    /// (ECB/CBC hold back an incomplete block; the stream modes return one
    /// byte per input byte).
    fn update<'py>(
        &mut self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let view = ByteView::new(data)?;
        let input = view.as_slice();
        if self.ctx.is_finalized() {
            return self.ctx.finalize().map(|_| PyBytes::new(py, b"")).py();
        }
        let n = self.ctx.output_len(input.len());
        let ctx = &mut self.ctx;
        buffers::new_bytes(py, n, input.len(), |out| {
            ctx.update_into(input, out).map(|_| ())
        })
    }

    /// Like `update`, but writes into the writable buffer `buf` and returns
    /// the number of bytes written. `buf` needs room for
    /// `len(data) + 15` bytes (as pyca/cryptography requires); `data` and
    /// `buf` may be the same buffer.
    fn update_into(
        &mut self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        buf: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        let view = ByteView::new(data)?;
        let input = view.as_slice();
        let out_buf = PyBuffer::<u8>::get(buf)
            .map_err(|_| errors::invalid_argument("buf must be a writable bytes-like object"))?;
        if out_buf.readonly() || !out_buf.is_c_contiguous() {
            return Err(errors::invalid_argument(
                "buf must be a writable, C-contiguous buffer",
            ));
        }
        let cap = out_buf.len_bytes();
        let needed = input.len() + BLOCK_SIZE - 1;
        if cap < needed {
            return Err(errors::invalid_argument(format!(
                "buf must be at least {needed} bytes (len(data) + 15), got {cap}"
            )));
        }
        if self.ctx.is_finalized() {
            return self.ctx.finalize().map(|_| 0).py();
        }
        // SAFETY: the export held by `out_buf` keeps `cap` writable bytes
        // (checked: writable, C-contiguous, item size 1) alive and unmoved
        // until it is dropped at the end of this function.
        let out: &mut [u8] =
            unsafe { std::slice::from_raw_parts_mut(out_buf.buf_ptr() as *mut u8, cap) };
        // In-place use (`data` and `buf` the same memory) would alias a
        // shared and a mutable slice: copy the input first in that case.
        let overlaps = {
            let (a, b) = (input.as_ptr() as usize, out.as_ptr() as usize);
            a < b + cap && b < a + input.len()
        };
        let owned;
        let input = if overlaps {
            owned = input.to_vec();
            &owned[..]
        } else {
            input
        };
        let ctx = &mut self.ctx;
        buffers::run(py, input.len(), || ctx.update_into(input, out)).py()
    }

    /// Ends the stream and returns any remaining output (always empty: no
    /// implicit padding). ECB/CBC raise `InvalidArgumentError` if the total
    /// length was not a multiple of 16; any later call raises
    /// `AlreadyFinalizedError`.
    fn finalize<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let rest = self.ctx.finalize().py()?;
        Ok(PyBytes::new(py, &rest))
    }

    /// The mode's name.
    #[getter]
    fn mode(&self) -> &'static str {
        self.name
    }

    fn __repr__(&self) -> String {
        let kind = match self.ctx {
            Ctx::Enc(_) => "encryptor",
            Ctx::Dec(_) => "decryptor",
        };
        format!("<Sm4Context SM4-{} {kind}>", self.name)
    }
}

/// The pad length of a PKCS #7 padded final block, checked in constant time;
/// raises `InvalidArgumentError("invalid PKCS7 padding")` otherwise.
#[pyfunction]
fn padding_pkcs7_unpad_len(block: &Bound<'_, PyAny>) -> PyResult<usize> {
    let view = ByteView::new(block)?;
    modes::pkcs7_unpad_len(view.as_slice()).py()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySm4Key>()?;
    m.add_class::<PySm4Context>()?;
    m.add_function(wrap_pyfunction!(padding_pkcs7_unpad_len, m)?)?;
    // --- SM4-XTS bindings (if ever moved here from sm4_aead.rs) go below. ---
    Ok(())
}
