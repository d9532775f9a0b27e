//! Zero-copy input buffers, single-allocation output, and GIL release.
//!
//! Every entry point that takes data accepts any C-contiguous bytes-like
//! object (`bytes`, `bytearray`, `memoryview`, `array('B')`, numpy uint8...)
//! without copying it, and writes its result straight into a new `bytes`
//! object allocated once at its final size. Above [`GIL_RELEASE_THRESHOLD`]
//! bytes the work runs with the GIL released, so threads scale; below it the
//! release would cost more than it saves.

use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors;

/// Inputs at least this long are processed with the GIL released.
pub const GIL_RELEASE_THRESHOLD: usize = 4096;

/// A read-only view of a Python bytes-like object, borrowed without a copy.
pub enum ByteView<'py> {
    /// The common case: an immutable `bytes` object.
    Bytes(Bound<'py, PyBytes>),
    /// Anything else exporting the buffer protocol. Holding the export keeps
    /// a `bytearray` from being resized while we read it.
    Buffer(PyBuffer<u8>),
}

impl<'py> ByteView<'py> {
    /// Borrows `obj`'s bytes; a clear `TypeError` if it is not bytes-like.
    pub fn new(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(ByteView::Bytes(b.clone()));
        }
        let buf = PyBuffer::<u8>::get(obj).map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "expected a bytes-like object, got {}",
                obj.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|_| "?".into())
            ))
        })?;
        if !buf.is_c_contiguous() {
            return Err(errors::invalid_argument("buffer must be C-contiguous"));
        }
        Ok(ByteView::Buffer(buf))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            ByteView::Bytes(b) => b.as_bytes(),
            ByteView::Buffer(buf) => {
                let len = buf.len_bytes();
                if len == 0 {
                    return &[];
                }
                // SAFETY: the buffer is C-contiguous with item size 1 (u8),
                // `buf_ptr` points at `len_bytes` readable bytes, and the
                // export held by `buf` keeps that memory alive and unmoved for
                // as long as `self` lives.
                unsafe { std::slice::from_raw_parts(buf.buf_ptr() as *const u8, len) }
            }
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }
}

/// Allocates a `bytes` of `len` bytes and lets `fill` write it, releasing the
/// GIL while it runs when `work_size` is large. An error from `fill` is
/// raised and the partly written object is dropped unseen.
pub fn new_bytes<'py, F>(
    py: Python<'py>,
    len: usize,
    work_size: usize,
    fill: F,
) -> PyResult<Bound<'py, PyBytes>>
where
    F: FnOnce(&mut [u8]) -> guomi_core::Result<()> + Send,
{
    PyBytes::new_with(py, len, |out| {
        let r = if work_size >= GIL_RELEASE_THRESHOLD {
            py.detach(|| fill(out))
        } else {
            fill(out)
        };
        r.map_err(errors::to_py)
    })
}

/// Runs `work` with the GIL released when `work_size` is large.
pub fn run<T: Send, F: FnOnce() -> T + Send>(py: Python<'_>, work_size: usize, work: F) -> T {
    if work_size >= GIL_RELEASE_THRESHOLD {
        py.detach(work)
    } else {
        work()
    }
}
