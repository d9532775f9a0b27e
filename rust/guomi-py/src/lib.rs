//! guomi._rust: the PyO3 glue between guomi-core and the Python package.
//!
//! Only translation happens here: Python buffers in, `bytes` out, core errors
//! to `guomi.exceptions`, the GIL released around bulk work. No algorithm
//! lives in this crate. Each algorithm family registers its functions and
//! classes from its own module; names are flat on `guomi._rust` and prefixed
//! by family (`sm3_digest`, `Sm4Gcm`, ...).
//!
//! No panic may cross into Python: PyO3 turns a panic in a `#[pyfunction]`
//! into `PanicException`, and the core is written not to panic on any input;
//! the Python tests feed malformed inputs to every entry point to prove it.

use guomi_core::backend::Backend;
use pyo3::prelude::*;

use crate::errors::IntoPy;

mod buffers;
mod errors;
mod field;
mod field_csv;
mod formats;
mod hash;
mod sm2;
mod sm4;
mod sm4_aead;
mod stream;
mod token;
mod zuc;

/// Reads `GUOMI_BACKEND` once at import and forces that path if it names
/// one (an unknown name is ignored here: importing must not fail; the
/// backend tests check what is in force). The core does no I/O, so the
/// environment is read here.
fn apply_backend_override() {
    if let Ok(v) = std::env::var("GUOMI_BACKEND") {
        if let Ok(b) = Backend::from_name(&v) {
            guomi_core::backend::force(b);
        }
    }
}

/// The name of the SM4 implementation path in use.
#[pyfunction]
fn backend() -> &'static str {
    guomi_core::backend::active().name()
}

/// The fastest path this CPU supports, ignoring `GUOMI_BACKEND`.
#[pyfunction]
fn detected_backend() -> &'static str {
    guomi_core::backend::detect().name()
}

/// Switches the SM4 path for objects created from now on and returns the
/// path in force (an unsupported request falls back to `"portable"`).
/// For tests and benchmarks, which compare the paths in one process.
#[pyfunction]
fn set_backend(name: &str) -> PyResult<&'static str> {
    let wanted = Backend::from_name(name).py()?;
    Ok(guomi_core::backend::force(wanted).name())
}

#[pymodule]
fn _rust(m: &Bound<'_, PyModule>) -> PyResult<()> {
    apply_backend_override();
    m.add_function(wrap_pyfunction!(backend, m)?)?;
    m.add_function(wrap_pyfunction!(detected_backend, m)?)?;
    m.add_function(wrap_pyfunction!(set_backend, m)?)?;
    hash::register(m)?;
    sm4::register(m)?;
    sm4_aead::register(m)?;
    zuc::register(m)?;
    sm2::register(m)?;
    formats::register(m)?;
    stream::register(m)?;
    field::register(m)?;
    token::register(m)?;
    field_csv::register(m)?;
    Ok(())
}
