//! Python binding of the one-pass CSV block encryption
//! (`guomi_core::field::csv`), the fast path of `guomi.bulk`'s CSV encrypt
//! job: one call per block, the GIL released for the scan and the crypto,
//! the output written once into a `bytes` of its final size. All nonces of
//! a block come from one OS CSPRNG read. With the GIL held only to parse the
//! arguments and allocate the output: two worker threads (and the thread
//! writing the file) do not wait on each other.

use guomi_core::field::csv::CsvBlock;
use guomi_core::field::FieldCipher;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use zeroize::Zeroize;

use crate::buffers::ByteView;
use crate::errors::{invalid_argument, to_py};
use crate::field::{random, PyFieldCipher};

/// What one block gave: the encrypted bytes, the record count and, per
/// target column, `(processed, skipped)`.
type BlockResult<'py> = (Bound<'py, PyBytes>, usize, Vec<(usize, usize)>);

/// Encrypts the columns `targets` (`[(column_index, FieldCipher)]`, indexes
/// strictly ascending) of a CSV block of `ncols` columns, as `gm1.` text of
/// string values. Returns `None` when the block is not of the simple shape
/// (quotes, `\r`, invalid UTF-8, a row with another field count): the
/// caller then runs the general (pyarrow) path on it.
#[pyfunction]
#[pyo3(signature = (block, ncols, targets, type_tag = 1))]
fn field_csv_encrypt_block<'py>(
    py: Python<'py>,
    block: &Bound<'py, PyAny>,
    ncols: usize,
    targets: Vec<(usize, Bound<'py, PyFieldCipher>)>,
    type_tag: u8,
) -> PyResult<Option<BlockResult<'py>>> {
    let view = ByteView::new(block)?;
    let bytes = view.as_slice();
    let columns: Vec<usize> = targets.iter().map(|(i, _)| *i).collect();
    // The scan and the nonces (one OS CSPRNG read) without the GIL.
    let scanned = py.detach(|| -> PyResult<Option<(CsvBlock<'_>, Vec<u8>)>> {
        let Some(scan) = CsvBlock::scan(bytes, ncols, &columns).map_err(to_py)? else {
            return Ok(None);
        };
        let mut nonces = vec![0u8; scan.values_to_encrypt() * 12];
        random(&mut nonces)?;
        Ok(Some((scan, nonces)))
    })?;
    let Some((scan, mut nonces)) = scanned else {
        return Ok(None);
    };
    let ciphers: Vec<&FieldCipher> = targets.iter().map(|(_, c)| &c.get().inner).collect();
    let len = scan.output_len();
    let out = new_bytes(py, len)?;
    // SAFETY: `out` is a bytes object of `len` bytes that this function
    // created and alone references (it is not visible to Python, or to any
    // other thread, until it is returned); `PyBytes_AsString` of a bytes
    // object is its (non-null) data pointer, valid while `out` is alive,
    // which it is until after `detach` returns.
    let ptr = unsafe { pyo3::ffi::PyBytes_AsString(out.as_ptr()) } as usize;
    let counts = py.detach(|| {
        // SAFETY: `ptr` points at `len` writable bytes (above); they are
        // initialised here, through the raw pointer, before any reference
        // to them exists, and nothing else touches them meanwhile.
        let out = unsafe {
            std::ptr::write_bytes(ptr as *mut u8, 0, len);
            std::slice::from_raw_parts_mut(ptr as *mut u8, len)
        };
        scan.encrypt(&ciphers, type_tag, &nonces, out)
    });
    nonces.zeroize();
    let counts = counts.map_err(to_py)?;
    if counts.len() != targets.len() {
        return Err(invalid_argument("CSV block encryption returned no counts"));
    }
    let counts = counts.iter().map(|c| (c.processed, c.skipped)).collect();
    Ok(Some((out, scan.rows(), counts)))
}

/// A new `bytes` object of `len` bytes whose contents the caller must
/// write (allocated, not filled, with the GIL held: the caller fills it with
/// the GIL released, so two threads do not queue for the GIL to zero and
/// page in megabytes of output).
pub(crate) fn new_bytes(py: Python<'_>, len: usize) -> PyResult<Bound<'_, PyBytes>> {
    let size = pyo3::ffi::Py_ssize_t::try_from(len)
        .map_err(|_| invalid_argument("CSV block output is too large"))?;
    // SAFETY: with a null source pointer `PyBytes_FromStringAndSize`
    // returns a new reference to a bytes object of `size` bytes (contents
    // unspecified), or null with a Python exception set; the GIL is held.
    let obj = unsafe { pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), size) };
    // SAFETY: a non-null result is a new, owned reference to a `bytes`
    // object; null becomes the pending Python exception.
    let any = unsafe { Bound::from_owned_ptr_or_err(py, obj)? };
    Ok(any.cast_into::<PyBytes>()?)
}

/// Registers the CSV block function on `guomi._rust`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(field_csv_encrypt_block, m)?)?;
    Ok(())
}
