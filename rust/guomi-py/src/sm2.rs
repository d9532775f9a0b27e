//! Python bindings for SM2 keys, signatures, encryption, key exchange. PLACEHOLDER: filled in by the owning work.

use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let _ = m;
    Ok(())
}
