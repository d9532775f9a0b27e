//! Python bindings for SM3, HMAC-SM3 and the SM3 KDFs.
//!
//! `Sm3` is hashlib-shaped (so the standard library's `hmac` accepts it as
//! `digestmod`), `HmacSm3` is the stdlib-`hmac`-shaped MAC with a
//! constant-time `verify`. The one-shot functions are what
//! `guomi.primitives.sm3` / `.hmac` / `.kdf` export directly (no Python
//! wrapper on the hot path). Bulk inputs are hashed with the GIL released.
#![forbid(unsafe_code)]

use guomi_core::hmac::{HmacSm3, MIN_TAG_SIZE};
use guomi_core::kdf;
use guomi_core::sm3::{self, Sm3, BLOCK_SIZE, DIGEST_SIZE};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::buffers::{self, ByteView};
use crate::errors::{self, IntoPy};

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// SM3 hash object, hashlib-compatible: `Sm3(data=b"")`, `update`,
/// `digest`, `hexdigest`, `copy`, `name`, `digest_size`, `block_size`.
#[pyclass(name = "Sm3", module = "guomi._rust")]
#[derive(Clone)]
pub struct PySm3 {
    inner: Sm3,
}

#[pymethods]
impl PySm3 {
    /// `usedforsecurity` is accepted (and ignored) for hashlib compatibility.
    #[new]
    #[pyo3(signature = (data = None, *, usedforsecurity = true))]
    fn new(
        py: Python<'_>,
        data: Option<&Bound<'_, PyAny>>,
        usedforsecurity: bool,
    ) -> PyResult<Self> {
        let _ = usedforsecurity;
        let mut h = PySm3 { inner: Sm3::new() };
        if let Some(d) = data {
            h.update(py, d)?;
        }
        Ok(h)
    }

    /// Hash name, as hashlib spells it.
    #[classattr]
    fn name() -> &'static str {
        "sm3"
    }

    /// Digest size in bytes (32).
    #[classattr]
    fn digest_size() -> usize {
        DIGEST_SIZE
    }

    /// Internal block size in bytes (64).
    #[classattr]
    fn block_size() -> usize {
        BLOCK_SIZE
    }

    /// Absorbs a bytes-like object.
    fn update(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let view = ByteView::new(data)?;
        let d = view.as_slice();
        let inner = &mut self.inner;
        buffers::run(py, d.len(), || inner.update(d));
        Ok(())
    }

    /// The digest of the data so far; the object stays usable.
    fn digest<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.peek())
    }

    /// The digest as lowercase hex.
    fn hexdigest(&self) -> String {
        to_hex(&self.inner.peek())
    }

    /// An independent copy of the current state.
    fn copy(&self) -> Self {
        self.clone()
    }
}

/// One-shot SM3 of a bytes-like object.
#[pyfunction]
fn sm3_digest<'py>(py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let view = ByteView::new(data)?;
    let d = view.as_slice();
    let out = buffers::run(py, d.len(), || sm3::digest(d));
    Ok(PyBytes::new(py, &out))
}

/// HMAC-SM3 (RFC 2104), shaped like the standard library's `hmac.HMAC`.
/// With `tag_length = n` (10..=32) `digest()` returns the leftmost `n` bytes
/// and `verify` accepts exactly `n`-byte tags.
#[pyclass(name = "HmacSm3", module = "guomi._rust")]
#[derive(Clone)]
pub struct PyHmacSm3 {
    inner: HmacSm3,
    tag_length: usize,
}

impl PyHmacSm3 {
    fn tag(&self) -> [u8; DIGEST_SIZE] {
        self.inner.peek()
    }
}

#[pymethods]
impl PyHmacSm3 {
    #[new]
    #[pyo3(signature = (key, msg = None, tag_length = 32))]
    fn new(
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        msg: Option<&Bound<'_, PyAny>>,
        tag_length: i64,
    ) -> PyResult<Self> {
        if !(MIN_TAG_SIZE as i64..=DIGEST_SIZE as i64).contains(&tag_length) {
            return Err(errors::invalid_argument(format!(
                "tag_length must be between {MIN_TAG_SIZE} and {DIGEST_SIZE} bytes, got {tag_length}"
            )));
        }
        let key_view = ByteView::new(key)?;
        let mut h = PyHmacSm3 {
            inner: HmacSm3::new(key_view.as_slice()),
            tag_length: tag_length as usize,
        };
        if let Some(m) = msg {
            h.update(py, m)?;
        }
        Ok(h)
    }

    /// `"hmac-sm3"`, as the standard library's `hmac` would name it.
    #[classattr]
    fn name() -> &'static str {
        "hmac-sm3"
    }

    /// Internal block size of SM3 (64).
    #[classattr]
    fn block_size() -> usize {
        BLOCK_SIZE
    }

    /// Length in bytes of `digest()`: the tag length.
    #[getter]
    fn digest_size(&self) -> usize {
        self.tag_length
    }

    /// The tag length in bytes this object produces and verifies.
    #[getter]
    fn tag_length(&self) -> usize {
        self.tag_length
    }

    /// Absorbs a bytes-like object.
    fn update(&mut self, py: Python<'_>, msg: &Bound<'_, PyAny>) -> PyResult<()> {
        let view = ByteView::new(msg)?;
        let d = view.as_slice();
        let inner = &mut self.inner;
        buffers::run(py, d.len(), || inner.update(d));
        Ok(())
    }

    /// An independent copy (same key, same data so far).
    fn copy(&self) -> Self {
        self.clone()
    }

    /// The tag (leftmost `tag_length` bytes) of the data so far.
    fn digest<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.tag()[..self.tag_length])
    }

    /// The tag as lowercase hex.
    fn hexdigest(&self) -> String {
        to_hex(&self.tag()[..self.tag_length])
    }

    /// Raises `InvalidSignature` unless `tag` is exactly `tag_length` bytes
    /// and equals the tag; compared in constant time.
    fn verify(&self, tag: &Bound<'_, PyAny>) -> PyResult<()> {
        let view = ByteView::new(tag)?;
        self.inner
            .verify_truncated(view.as_slice(), self.tag_length)
            .py()
    }

    fn __repr__(&self) -> String {
        format!("<HMAC-SM3 tag_length={}>", self.tag_length)
    }
}

/// One-shot HMAC-SM3.
#[pyfunction]
fn hmac_sm3<'py>(
    py: Python<'py>,
    key: &Bound<'py, PyAny>,
    msg: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let k = ByteView::new(key)?;
    let m = ByteView::new(msg)?;
    let (k, m) = (k.as_slice(), m.as_slice());
    let out = buffers::run(py, m.len(), || guomi_core::hmac::hmac_sm3(k, m));
    Ok(PyBytes::new(py, &out))
}

fn check_length(length: i64, max: u64, what: &str) -> PyResult<usize> {
    if length < 1 || length as u64 > max {
        return Err(errors::invalid_argument(format!(
            "{what} length must be between 1 and {max} bytes, got {length}"
        )));
    }
    usize::try_from(length)
        .map_err(|_| errors::invalid_argument(format!("{what} length too large")))
}

/// The SM2 KDF (GB/T 32918.4-2016 §5.4.3): `length` bytes from `z`.
#[pyfunction]
fn sm3_kdf<'py>(
    py: Python<'py>,
    z: &Bound<'py, PyAny>,
    length: i64,
) -> PyResult<Bound<'py, PyBytes>> {
    let len = check_length(length, kdf::SM3_KDF_MAX_OUTPUT, "SM3-KDF output")?;
    let zv = ByteView::new(z)?;
    let z = zv.as_slice();
    buffers::new_bytes(py, len, len.saturating_mul(2), |out| {
        kdf::sm3_kdf(z, out);
        Ok(())
    })
}

/// HKDF-SM3 (RFC 5869): `length` (1..=8160) bytes.
#[pyfunction]
#[pyo3(signature = (ikm, length, salt = None, info = None))]
fn hkdf_sm3<'py>(
    py: Python<'py>,
    ikm: &Bound<'py, PyAny>,
    length: i64,
    salt: Option<&Bound<'py, PyAny>>,
    info: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let len = check_length(length, kdf::HKDF_MAX_OUTPUT as u64, "HKDF-SM3 output")?;
    let ikm_v = ByteView::new(ikm)?;
    let salt_v = salt.map(ByteView::new).transpose()?;
    let info_v = info.map(ByteView::new).transpose()?;
    let (ikm, salt, info) = (
        ikm_v.as_slice(),
        salt_v.as_ref().map_or(&[][..], |v| v.as_slice()),
        info_v.as_ref().map_or(&[][..], |v| v.as_slice()),
    );
    let work = ikm.len() + info.len().saturating_mul(len / DIGEST_SIZE + 1);
    buffers::new_bytes(py, len, work, |out| kdf::hkdf_sm3(ikm, salt, info, out))
}

/// PBKDF2-HMAC-SM3 (RFC 8018): `length` bytes after `iterations` rounds.
#[pyfunction]
fn pbkdf2_hmac_sm3<'py>(
    py: Python<'py>,
    password: &Bound<'py, PyAny>,
    salt: &Bound<'py, PyAny>,
    iterations: i64,
    length: i64,
) -> PyResult<Bound<'py, PyBytes>> {
    if !(1..=u32::MAX as i64).contains(&iterations) {
        return Err(errors::invalid_argument(format!(
            "iterations must be between 1 and {}, got {iterations}",
            u32::MAX
        )));
    }
    let len = check_length(
        length,
        u32::MAX as u64 * DIGEST_SIZE as u64,
        "PBKDF2-HMAC-SM3 output",
    )?;
    let pw_v = ByteView::new(password)?;
    let salt_v = ByteView::new(salt)?;
    let (pw, salt) = (pw_v.as_slice(), salt_v.as_slice());
    let blocks = len.div_ceil(DIGEST_SIZE);
    // Two 64-byte compressions per iteration per output block.
    let work = (iterations as usize)
        .saturating_mul(blocks)
        .saturating_mul(2 * BLOCK_SIZE);
    buffers::new_bytes(py, len, work, |out| {
        kdf::pbkdf2_hmac_sm3(pw, salt, iterations as u32, out)
    })
}

/// Registers the SM3 family on `guomi._rust`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySm3>()?;
    m.add_class::<PyHmacSm3>()?;
    m.add_function(wrap_pyfunction!(sm3_digest, m)?)?;
    m.add_function(wrap_pyfunction!(hmac_sm3, m)?)?;
    m.add_function(wrap_pyfunction!(sm3_kdf, m)?)?;
    m.add_function(wrap_pyfunction!(hkdf_sm3, m)?)?;
    m.add_function(wrap_pyfunction!(pbkdf2_hmac_sm3, m)?)?;
    Ok(())
}
