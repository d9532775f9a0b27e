//! Python bindings for SM4 block cipher, ECB/CBC/CFB/OFB/CTR and XTS. PLACEHOLDER: filled in by the owning work.

use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let _ = m;
    Ok(())
}
