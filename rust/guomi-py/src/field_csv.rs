//! Python binding of the one-pass CSV block encryption
//! (`guomi_core::field::csv`), the fast path of `guomi.bulk`'s CSV encrypt
//! job: one call per block, the GIL released for the scan and the crypto,
//! the output written once into a `bytes` of its final size. All nonces of
//! a block come from one OS CSPRNG read.

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
    let Some(scan) = py
        .detach(|| CsvBlock::scan(bytes, ncols, &columns))
        .map_err(to_py)?
    else {
        return Ok(None);
    };
    let ciphers: Vec<&FieldCipher> = targets.iter().map(|(_, c)| &c.get().inner).collect();
    let mut nonces = vec![0u8; scan.values_to_encrypt() * 12];
    random(&mut nonces)?;
    let mut counts = Vec::new();
    let out = PyBytes::new_with(py, scan.output_len(), |out| {
        counts = py
            .detach(|| scan.encrypt(&ciphers, type_tag, &nonces, out))
            .map_err(to_py)?;
        Ok(())
    });
    nonces.zeroize();
    let out = out?;
    if counts.len() != targets.len() {
        return Err(invalid_argument("CSV block encryption returned no counts"));
    }
    let counts = counts.iter().map(|c| (c.processed, c.skipped)).collect();
    Ok(Some((out, scan.rows(), counts)))
}

/// Registers the CSV block function on `guomi._rust`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(field_csv_encrypt_block, m)?)?;
    Ok(())
}
