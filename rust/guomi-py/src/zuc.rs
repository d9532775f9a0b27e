//! Python bindings for ZUC-128, EEA3, EIA3. PLACEHOLDER: filled in by the owning work.

use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let _ = m;
    Ok(())
}
