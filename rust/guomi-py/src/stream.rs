//! Python binding for the STREAM payload of `guomi-stream/v1`
//! (`guomi._rust.StreamKey`, spec `docs/spec/stream.md` §5).
//!
//! One call seals or opens a whole batch of consecutive segments (megabytes)
//! with the GIL released, so `guomi.envelope.stream` pays no per-segment
//! Python cost. Inputs are borrowed without a copy; the output `bytes` is
//! allocated once at its final size.

use guomi_core::stream::StreamKey;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::buffers::{new_bytes, ByteView};
use crate::errors::IntoPy;

/// The payload key of one file and its segment size.
#[pyclass(module = "guomi._rust", name = "StreamKey", frozen)]
pub struct PyStreamKey {
    inner: StreamKey,
}

#[pymethods]
impl PyStreamKey {
    #[new]
    fn new(payload_key: &Bound<'_, PyAny>, segment_size: usize) -> PyResult<Self> {
        let key = ByteView::new(payload_key)?;
        Ok(PyStreamKey {
            inner: StreamKey::new(key.as_slice(), segment_size).py()?,
        })
    }

    /// Plaintext segment size in bytes.
    #[getter]
    fn segment_size(&self) -> usize {
        self.inner.segment_size()
    }

    /// Sealed length of a plaintext batch (raises on a malformed batch).
    fn sealed_len(&self, plaintext_len: usize, last: bool) -> PyResult<usize> {
        self.inner.sealed_len(plaintext_len, last).py()
    }

    /// Plaintext length of a sealed batch (raises on a truncated one).
    fn opened_len(&self, sealed_len: usize, last: bool) -> PyResult<usize> {
        self.inner.opened_len(sealed_len, last).py()
    }

    /// Seals segments `first_index..` of `data`; the batch's final segment is
    /// marked last iff `last`.
    fn seal<'py>(
        &self,
        py: Python<'py>,
        first_index: u64,
        last: bool,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let data = ByteView::new(data)?;
        let pt = data.as_slice();
        let len = self.inner.sealed_len(pt.len(), last).py()?;
        let key = &self.inner;
        new_bytes(py, len, pt.len(), |out| {
            key.seal(first_index, last, pt, out)
        })
    }

    /// Verifies and opens segments `first_index..` of `data`; raises
    /// `InvalidTag` naming the first failing segment (no plaintext returned).
    fn open<'py>(
        &self,
        py: Python<'py>,
        first_index: u64,
        last: bool,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let data = ByteView::new(data)?;
        let ct = data.as_slice();
        let len = self.inner.opened_len(ct.len(), last).py()?;
        let key = &self.inner;
        new_bytes(py, len, ct.len(), |out| {
            key.open(first_index, last, ct, out)
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "StreamKey(<key hidden>, segment_size={})",
            self.inner.segment_size()
        )
    }
}

/// Adds `StreamKey` to `guomi._rust`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyStreamKey>()?;
    Ok(())
}
