//! Python binding for the STREAM payload of `guomi-stream/v1`
//! (`guomi._rust.StreamKey`, spec `docs/spec/stream.md` §5).
//!
//! One call seals or opens a whole batch of consecutive segments (megabytes)
//! with the GIL released, so `guomi.envelope.stream` pays no per-segment
//! Python cost. Inputs are borrowed without a copy; the output `bytes` is
//! allocated once at its final size.

use guomi_core::stream::StreamKey;
use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::buffers::{new_bytes, run, ByteView};
use crate::errors::{invalid_argument, IntoPy};

/// A writable, C-contiguous byte buffer (`bytearray`, writable `memoryview`)
/// held exported for the duration of a call, so it cannot be resized.
struct WritableView {
    buf: PyBuffer<u8>,
}

impl WritableView {
    fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let buf = PyBuffer::<u8>::get(obj).map_err(|_| {
            invalid_argument("out must be a writable bytes-like object (bytearray)")
        })?;
        if buf.readonly() {
            return Err(invalid_argument(
                "out must be writable (bytearray), not bytes",
            ));
        }
        if !buf.is_c_contiguous() {
            return Err(invalid_argument("out must be C-contiguous"));
        }
        Ok(WritableView { buf })
    }

    fn len(&self) -> usize {
        self.buf.len_bytes()
    }

    fn ptr(&self) -> *mut u8 {
        self.buf.buf_ptr() as *mut u8
    }
}

/// Rejects an output that overlaps the input: the core takes `&[u8]` and
/// `&mut [u8]`, which must not alias.
fn check_disjoint(input: &[u8], out: &WritableView) -> PyResult<()> {
    let (a0, a1) = (
        input.as_ptr() as usize,
        input.as_ptr() as usize + input.len(),
    );
    let (b0, b1) = (out.ptr() as usize, out.ptr() as usize + out.len());
    if !input.is_empty() && out.len() > 0 && a0 < b1 && b0 < a1 {
        return Err(invalid_argument("out must not overlap data"));
    }
    Ok(())
}

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

    /// Like `seal`, into the start of the writable buffer `out` (reused
    /// across calls: no allocation per batch); returns the bytes written.
    fn seal_into(
        &self,
        py: Python<'_>,
        first_index: u64,
        last: bool,
        data: &Bound<'_, PyAny>,
        out: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        let data = ByteView::new(data)?;
        let out = WritableView::new(out)?;
        let pt = data.as_slice();
        let len = self.inner.sealed_len(pt.len(), last).py()?;
        if out.len() < len {
            return Err(invalid_argument(format!(
                "out holds {} bytes, the sealed batch needs {len}",
                out.len()
            )));
        }
        check_disjoint(pt, &out)?;
        let key = &self.inner;
        let ptr = out.ptr() as usize;
        run(py, pt.len(), || {
            // SAFETY: `out` is a writable, C-contiguous export of at least
            // `len` bytes that stays alive and unresizable while `out` is held
            // (until this function returns), and it does not overlap `pt`
            // (checked above), so this is the only reference to that memory.
            let dst = unsafe { std::slice::from_raw_parts_mut(ptr as *mut u8, len) };
            key.seal(first_index, last, pt, dst)
        })
        .py()?;
        Ok(len)
    }

    /// Like `open`, into the start of the writable buffer `out`; returns the
    /// plaintext length. On failure the written part of `out` is zeroed.
    fn open_into(
        &self,
        py: Python<'_>,
        first_index: u64,
        last: bool,
        data: &Bound<'_, PyAny>,
        out: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        let data = ByteView::new(data)?;
        let out = WritableView::new(out)?;
        let ct = data.as_slice();
        let len = self.inner.opened_len(ct.len(), last).py()?;
        if out.len() < len {
            return Err(invalid_argument(format!(
                "out holds {} bytes, the opened batch needs {len}",
                out.len()
            )));
        }
        check_disjoint(ct, &out)?;
        let key = &self.inner;
        let ptr = out.ptr() as usize;
        run(py, ct.len(), || {
            // SAFETY: as in `seal_into`: a live, writable, unresizable export
            // of at least `len` bytes, disjoint from `ct`.
            let dst = unsafe { std::slice::from_raw_parts_mut(ptr as *mut u8, len) };
            key.open(first_index, last, ct, dst)
        })
        .py()?;
        Ok(len)
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
