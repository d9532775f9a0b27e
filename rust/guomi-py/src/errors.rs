//! Maps guomi-core errors to the exception classes of `guomi.exceptions`.
//!
//! The classes are defined in Python (so they can be subclassed, pickled and
//! documented there) and imported lazily here. This is the only place where a
//! core error becomes a Python exception.

use guomi_core::{Error, ErrorKind};
use pyo3::prelude::*;

pyo3::import_exception!(guomi.exceptions, InvalidKey);
pyo3::import_exception!(guomi.exceptions, InvalidArgumentError);
pyo3::import_exception!(guomi.exceptions, InvalidTag);
pyo3::import_exception!(guomi.exceptions, InvalidSignature);
pyo3::import_exception!(guomi.exceptions, DecryptionError);
pyo3::import_exception!(guomi.exceptions, InvalidEncodingError);
pyo3::import_exception!(guomi.exceptions, AlreadyFinalizedError);

/// Converts a core error into the matching `guomi.exceptions` instance.
pub fn to_py(err: Error) -> PyErr {
    let msg = err.message().to_owned();
    match err.kind() {
        ErrorKind::InvalidKey => InvalidKey::new_err(msg),
        ErrorKind::InvalidArgument => InvalidArgumentError::new_err(msg),
        ErrorKind::InvalidTag => InvalidTag::new_err(msg),
        ErrorKind::InvalidSignature => InvalidSignature::new_err(msg),
        ErrorKind::Decryption => DecryptionError::new_err(msg),
        ErrorKind::InvalidEncoding => InvalidEncodingError::new_err(msg),
        ErrorKind::AlreadyFinalized => AlreadyFinalizedError::new_err(msg),
    }
}

/// `result.py()?` turns a core result into a Python one.
pub trait IntoPy<T> {
    /// Maps the error with [`to_py`].
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for guomi_core::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// An `InvalidArgumentError` raised by the glue itself (argument shapes the
/// core never sees, e.g. a Python int out of range).
pub fn invalid_argument(msg: impl Into<String>) -> PyErr {
    InvalidArgumentError::new_err(msg.into())
}
