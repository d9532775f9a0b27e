//! Python bindings for ZUC-128, 128-EEA3 and 128-EIA3.
//!
//! `Zuc(key, iv)` keeps its state between `keystream` calls so successive
//! calls continue one stream; `zuc_eea3` / `zuc_eia3` are the 3GPP
//! confidentiality and integrity functions. Parameter ranges are checked in
//! the core and raised as `InvalidKey` / `InvalidArgumentError`.
#![forbid(unsafe_code)]

use guomi_core::zuc::{self, Zuc};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::buffers::{self, ByteView};
use crate::errors::{self, IntoPy};

/// The ZUC-128 keystream generator.
#[pyclass(name = "Zuc", module = "guomi._rust")]
pub struct PyZuc {
    inner: Zuc,
}

#[pymethods]
impl PyZuc {
    #[new]
    fn new(key: &Bound<'_, PyAny>, iv: &Bound<'_, PyAny>) -> PyResult<Self> {
        let k = ByteView::new(key)?;
        let i = ByteView::new(iv)?;
        Ok(PyZuc {
            inner: Zuc::new(k.as_slice(), i.as_slice()).py()?,
        })
    }

    /// The next `n_words` 32-bit keystream words as big-endian bytes.
    fn keystream<'py>(&mut self, py: Python<'py>, n_words: i64) -> PyResult<Bound<'py, PyBytes>> {
        if !(0..=(isize::MAX as i64) / 4).contains(&n_words) {
            return Err(errors::invalid_argument(format!(
                "n_words must be a non-negative word count, got {n_words}"
            )));
        }
        let len = n_words as usize * 4;
        let inner = &mut self.inner;
        buffers::new_bytes(py, len, len, |out| {
            inner.keystream_bytes(out);
            Ok(())
        })
    }

    fn __repr__(&self) -> &'static str {
        "<ZUC-128>"
    }
}

fn u32_arg(v: i64, what: &str, max: u32) -> PyResult<u32> {
    if !(0..=i64::from(max)).contains(&v) {
        return Err(errors::invalid_argument(format!(
            "{what} must be between 0 and {max}, got {v}"
        )));
    }
    Ok(v as u32)
}

fn length_arg(length_bits: i64) -> PyResult<u64> {
    if !(0..=i64::from(u32::MAX)).contains(&length_bits) {
        return Err(errors::invalid_argument(format!(
            "length_bits must be between 0 and 2^32 - 1, got {length_bits}"
        )));
    }
    Ok(length_bits as u64)
}

/// 128-EEA3 encryption/decryption of the first `length_bits` bits of `data`.
#[pyfunction]
fn zuc_eea3<'py>(
    py: Python<'py>,
    key: &Bound<'py, PyAny>,
    count: i64,
    bearer: i64,
    direction: i64,
    data: &Bound<'py, PyAny>,
    length_bits: i64,
) -> PyResult<Bound<'py, PyBytes>> {
    let count = u32_arg(count, "count", u32::MAX)?;
    let bearer = u32_arg(bearer, "bearer", 31)?;
    let direction = u32_arg(direction, "direction", 1)?;
    let bits = length_arg(length_bits)?;
    let k = ByteView::new(key)?;
    let d = ByteView::new(data)?;
    let (k, d) = (k.as_slice(), d.as_slice());
    // Validate before allocating (data length vs length_bits, key size).
    if (d.len() as u64) < bits.div_ceil(8) {
        return Err(errors::invalid_argument(format!(
            "data is {} bytes but length_bits = {bits} needs {} bytes",
            d.len(),
            bits.div_ceil(8)
        )));
    }
    let n = bits.div_ceil(8) as usize;
    buffers::new_bytes(py, n, n, |out| {
        zuc::eea3(k, count, bearer, direction, d, bits, out)
    })
}

/// 128-EIA3 MAC (4 bytes, big-endian) of the first `length_bits` bits.
#[pyfunction]
fn zuc_eia3<'py>(
    py: Python<'py>,
    key: &Bound<'py, PyAny>,
    count: i64,
    bearer: i64,
    direction: i64,
    data: &Bound<'py, PyAny>,
    length_bits: i64,
) -> PyResult<Bound<'py, PyBytes>> {
    let count = u32_arg(count, "count", u32::MAX)?;
    let bearer = u32_arg(bearer, "bearer", 31)?;
    let direction = u32_arg(direction, "direction", 1)?;
    let bits = length_arg(length_bits)?;
    let k = ByteView::new(key)?;
    let d = ByteView::new(data)?;
    let (k, d) = (k.as_slice(), d.as_slice());
    let mac = buffers::run(py, d.len(), || {
        zuc::eia3(k, count, bearer, direction, d, bits)
    })
    .py()?;
    Ok(PyBytes::new(py, &mac.to_be_bytes()))
}

/// Registers the ZUC family on `guomi._rust`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyZuc>()?;
    m.add_function(wrap_pyfunction!(zuc_eea3, m)?)?;
    m.add_function(wrap_pyfunction!(zuc_eia3, m)?)?;
    Ok(())
}
