//! Python bindings for SM4-GCM, SM4-CCM and SM4-XTS (`Sm4Gcm`, `Sm4Ccm`,
//! `Sm4Xts` on `guomi._rust`).
//!
//! The classes are `frozen` (no per-call borrow bookkeeping) and
//! subclassable: `guomi.primitives.sm4.SM4GCM` and friends subclass them so
//! that `encrypt`/`decrypt` are these methods directly, with no Python
//! frame in between (the 64-byte one-shot call budget is ~1.5 µs). All
//! parameter checks happen here or in the core, with messages naming the
//! field. Inputs are borrowed without copying; the output `bytes` is
//! allocated once at its final size and filled with the GIL released for
//! large inputs.
#![forbid(unsafe_code)]

use guomi_core::sm4::ccm::Sm4Ccm;
use guomi_core::sm4::gcm::Sm4Gcm;
use guomi_core::sm4::xts::{Sm4Xts, XtsStandard};
use guomi_core::Error;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::buffers::{new_bytes, ByteView};
use crate::errors::{invalid_argument, IntoPy};

/// Converts a Python int tag length (default 16) to usize with a clear
/// error: a huge int is an `InvalidArgumentError` naming the field, not an
/// `OverflowError`.
fn tag_len_arg(tag_length: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
    let Some(obj) = tag_length else {
        return Ok(16);
    };
    let v: i64 = obj.extract::<i64>().map_err(|e: PyErr| {
        if e.is_instance_of::<pyo3::exceptions::PyOverflowError>(obj.py()) {
            invalid_argument("tag_length is out of range")
        } else {
            e
        }
    })?;
    usize::try_from(v).map_err(|_| {
        invalid_argument(format!(
            "tag_length must be a positive number of bytes, got {v}"
        ))
    })
}

fn key_view<'py>(key: &Bound<'py, PyAny>) -> PyResult<ByteView<'py>> {
    ByteView::new(key)
}

/// Borrowed view of optional associated data (`None` = empty).
fn aad_view<'py>(aad: Option<&Bound<'py, PyAny>>) -> PyResult<Option<ByteView<'py>>> {
    match aad {
        None => Ok(None),
        Some(obj) if obj.is_none() => Ok(None),
        Some(obj) => ByteView::new(obj).map(Some),
    }
}

/// What the GCM and CCM bindings share: the core type's tag length, one-shot
/// encryption and decryption into a caller's buffer, and the mode's own checks
/// made before the output is allocated (so an over-long message is a clean
/// error, not an allocation).
trait AeadBinding: Sync {
    fn tag_len(&self) -> usize;
    fn check(&self, _nonce: &[u8], _data_len: usize, _decrypting: bool) -> PyResult<()> {
        Ok(())
    }
    fn seal(&self, n: &[u8], a: &[u8], d: &[u8], out: &mut [u8]) -> guomi_core::Result<()>;
    fn open(&self, n: &[u8], a: &[u8], d: &[u8], out: &mut [u8]) -> guomi_core::Result<()>;
}

impl AeadBinding for Sm4Gcm {
    fn tag_len(&self) -> usize {
        Sm4Gcm::tag_len(self)
    }
    fn seal(&self, n: &[u8], a: &[u8], d: &[u8], out: &mut [u8]) -> guomi_core::Result<()> {
        self.encrypt(n, a, d, out)
    }
    fn open(&self, n: &[u8], a: &[u8], d: &[u8], out: &mut [u8]) -> guomi_core::Result<()> {
        self.decrypt(n, a, d, out)
    }
}

impl AeadBinding for Sm4Ccm {
    fn tag_len(&self) -> usize {
        Sm4Ccm::tag_len(self)
    }
    fn check(&self, nonce: &[u8], data_len: usize, decrypting: bool) -> PyResult<()> {
        guomi_core::sm4::ccm::check_nonce_len(nonce.len()).py()?;
        let max = guomi_core::sm4::ccm::max_message_len(nonce.len());
        if !decrypting && data_len as u64 > max {
            return Err(invalid_argument(format!(
                "data is too long for a {}-byte CCM nonce: at most {max} bytes",
                nonce.len()
            )));
        }
        Ok(())
    }
    fn seal(&self, n: &[u8], a: &[u8], d: &[u8], out: &mut [u8]) -> guomi_core::Result<()> {
        self.encrypt(n, a, d, out)
    }
    fn open(&self, n: &[u8], a: &[u8], d: &[u8], out: &mut [u8]) -> guomi_core::Result<()> {
        self.decrypt(n, a, d, out)
    }
}

/// The borrowed (zero-copy) arguments of one AEAD call.
struct AeadArgs<'py> {
    nonce: ByteView<'py>,
    data: ByteView<'py>,
    aad: Option<ByteView<'py>>,
}

impl<'py> AeadArgs<'py> {
    fn new(
        nonce: &Bound<'py, PyAny>,
        data: &Bound<'py, PyAny>,
        associated_data: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Self> {
        Ok(AeadArgs {
            nonce: ByteView::new(nonce)?,
            data: ByteView::new(data)?,
            aad: aad_view(associated_data)?,
        })
    }

    /// (nonce, associated data, data); absent associated data is empty.
    fn slices(&self) -> (&[u8], &[u8], &[u8]) {
        let aad = self.aad.as_ref().map(|v| v.as_slice()).unwrap_or(&[]);
        (self.nonce.as_slice(), aad, self.data.as_slice())
    }
}

/// ciphertext || tag of `data`, for either AEAD.
fn aead_encrypt<'py, A: AeadBinding>(
    inner: &A,
    py: Python<'py>,
    nonce: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
    associated_data: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let args = AeadArgs::new(nonce, data, associated_data)?;
    let (n, a, d) = args.slices();
    inner.check(n, d.len(), false)?;
    let out_len = d
        .len()
        .checked_add(inner.tag_len())
        .ok_or_else(|| invalid_argument("data is too long"))?;
    new_bytes(py, out_len, d.len() + a.len(), |out| {
        inner.seal(n, a, d, out)
    })
}

/// The plaintext of ciphertext || tag, for either AEAD; `InvalidTag` (and no
/// plaintext) on any mismatch.
fn aead_decrypt<'py, A: AeadBinding>(
    inner: &A,
    py: Python<'py>,
    nonce: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
    associated_data: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let args = AeadArgs::new(nonce, data, associated_data)?;
    let (n, a, d) = args.slices();
    inner.check(n, d.len(), true)?;
    if d.len() < inner.tag_len() {
        return Err(crate::errors::to_py(Error::invalid_tag()));
    }
    new_bytes(py, d.len() - inner.tag_len(), d.len() + a.len(), |out| {
        inner.open(n, a, d, out)
    })
}

/// SM4-GCM with a fixed key and tag length.
#[pyclass(module = "guomi._rust", name = "Sm4Gcm", frozen, subclass)]
pub struct PySm4Gcm {
    inner: Sm4Gcm,
}

#[pymethods]
impl PySm4Gcm {
    #[new]
    #[pyo3(signature = (key, tag_length = None, allow_short_tags = false))]
    fn new(
        key: &Bound<'_, PyAny>,
        tag_length: Option<&Bound<'_, PyAny>>,
        allow_short_tags: bool,
    ) -> PyResult<Self> {
        let tag_len = tag_len_arg(tag_length)?;
        let key = key_view(key)?;
        let inner = Sm4Gcm::new(key.as_slice(), tag_len, allow_short_tags).py()?;
        Ok(PySm4Gcm { inner })
    }

    /// Tag length in bytes.
    #[getter]
    fn tag_length(&self) -> usize {
        self.inner.tag_len()
    }

    /// Returns ciphertext || tag.
    #[pyo3(signature = (nonce, data, associated_data = None))]
    fn encrypt<'py>(
        &self,
        py: Python<'py>,
        nonce: &Bound<'py, PyAny>,
        data: &Bound<'py, PyAny>,
        associated_data: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        aead_encrypt(&self.inner, py, nonce, data, associated_data)
    }

    /// Verifies the tag, then returns the plaintext; raises InvalidTag.
    #[pyo3(signature = (nonce, data, associated_data = None))]
    fn decrypt<'py>(
        &self,
        py: Python<'py>,
        nonce: &Bound<'py, PyAny>,
        data: &Bound<'py, PyAny>,
        associated_data: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        aead_decrypt(&self.inner, py, nonce, data, associated_data)
    }
}

/// SM4-CCM with a fixed key and tag length.
#[pyclass(module = "guomi._rust", name = "Sm4Ccm", frozen, subclass)]
pub struct PySm4Ccm {
    inner: Sm4Ccm,
}

#[pymethods]
impl PySm4Ccm {
    #[new]
    #[pyo3(signature = (key, tag_length = None))]
    fn new(key: &Bound<'_, PyAny>, tag_length: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let tag_len = tag_len_arg(tag_length)?;
        let key = key_view(key)?;
        let inner = Sm4Ccm::new(key.as_slice(), tag_len).py()?;
        Ok(PySm4Ccm { inner })
    }

    /// Tag length in bytes.
    #[getter]
    fn tag_length(&self) -> usize {
        self.inner.tag_len()
    }

    /// Returns ciphertext || tag.
    #[pyo3(signature = (nonce, data, associated_data = None))]
    fn encrypt<'py>(
        &self,
        py: Python<'py>,
        nonce: &Bound<'py, PyAny>,
        data: &Bound<'py, PyAny>,
        associated_data: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        aead_encrypt(&self.inner, py, nonce, data, associated_data)
    }

    /// Decrypts and verifies; raises InvalidTag and returns no plaintext on failure.
    #[pyo3(signature = (nonce, data, associated_data = None))]
    fn decrypt<'py>(
        &self,
        py: Python<'py>,
        nonce: &Bound<'py, PyAny>,
        data: &Bound<'py, PyAny>,
        associated_data: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        aead_decrypt(&self.inner, py, nonce, data, associated_data)
    }
}

fn parse_standard(standard: &str) -> PyResult<XtsStandard> {
    match standard.to_ascii_lowercase().as_str() {
        "gb" => Ok(XtsStandard::Gb),
        "ieee" => Ok(XtsStandard::Ieee),
        _ => Err(invalid_argument(format!(
            "standard must be \"gb\" (GB/T 17964-2021) or \"ieee\" (IEEE 1619), got {standard:?}"
        ))),
    }
}

/// SM4-XTS with a 32-byte key (data key || tweak key).
#[pyclass(module = "guomi._rust", name = "Sm4Xts", frozen, subclass)]
pub struct PySm4Xts {
    inner: Sm4Xts,
}

impl PySm4Xts {
    fn run<'py>(
        &self,
        py: Python<'py>,
        tweak: &Bound<'py, PyAny>,
        data: &Bound<'py, PyAny>,
        encrypt: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let tweak = ByteView::new(tweak)?;
        let data = ByteView::new(data)?;
        let (t, d) = (tweak.as_slice(), data.as_slice());
        let inner = &self.inner;
        new_bytes(py, d.len(), d.len(), |out| {
            if encrypt {
                inner.encrypt(t, d, out)
            } else {
                inner.decrypt(t, d, out)
            }
        })
    }
}

#[pymethods]
impl PySm4Xts {
    #[new]
    #[pyo3(signature = (key, standard = "gb"))]
    fn new(key: &Bound<'_, PyAny>, standard: &str) -> PyResult<Self> {
        let std = parse_standard(standard)?;
        let key = key_view(key)?;
        Ok(PySm4Xts {
            inner: Sm4Xts::new(key.as_slice(), std).py()?,
        })
    }

    /// "gb" or "ieee".
    #[getter]
    fn standard(&self) -> &'static str {
        match self.inner.standard() {
            XtsStandard::Gb => "gb",
            XtsStandard::Ieee => "ieee",
        }
    }

    /// Encrypts one data unit (>= 16 bytes) under a 16-byte tweak.
    fn encrypt<'py>(
        &self,
        py: Python<'py>,
        tweak: &Bound<'py, PyAny>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.run(py, tweak, data, true)
    }

    /// Decrypts one data unit (>= 16 bytes) under a 16-byte tweak.
    fn decrypt<'py>(
        &self,
        py: Python<'py>,
        tweak: &Bound<'py, PyAny>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.run(py, tweak, data, false)
    }
}

/// Registers `Sm4Gcm`, `Sm4Ccm` and `Sm4Xts`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySm4Gcm>()?;
    m.add_class::<PySm4Ccm>()?;
    m.add_class::<PySm4Xts>()?;
    Ok(())
}
