//! Maps guomi-core errors to the exception classes of `guomi.exceptions`.
//!
//! The classes are defined in Python (so they can be subclassed, pickled and
//! documented there) and imported lazily here. This is the only place where a
//! core error becomes a Python exception: every module calls [`to_py`]
//! (usually through `.py()`), and nothing classifies an error by its text.
#![forbid(unsafe_code)]

use guomi_core::{Error, ErrorKind};
use pyo3::exceptions::{PyOSError, PyTypeError};
use pyo3::prelude::*;

pyo3::import_exception!(guomi.exceptions, InvalidKey);
pyo3::import_exception!(guomi.exceptions, InvalidArgumentError);
pyo3::import_exception!(guomi.exceptions, InvalidTag);
pyo3::import_exception!(guomi.exceptions, InvalidSignature);
pyo3::import_exception!(guomi.exceptions, DecryptionError);
pyo3::import_exception!(guomi.exceptions, InvalidEncodingError);
pyo3::import_exception!(guomi.exceptions, AlreadyFinalizedError);
pyo3::import_exception!(guomi.exceptions, InvalidPasswordError);
pyo3::import_exception!(guomi.exceptions, UnsupportedAlgorithmError);

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
        ErrorKind::Unsupported => UnsupportedAlgorithmError::new_err(msg),
        // A missing or unexpected password is a misuse of the call, as in
        // pyca/cryptography.
        ErrorKind::PasswordRequired | ErrorKind::PasswordNotExpected => PyTypeError::new_err(msg),
        ErrorKind::BadPassword => InvalidPasswordError::new_err(msg),
        ErrorKind::Rng => PyOSError::new_err(msg),
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
    to_py(Error::invalid_argument(msg.into()))
}

/// An `InvalidKey` raised by the glue itself (a key argument of the wrong
/// shape), through the same mapping.
pub fn invalid_key(msg: impl Into<String>) -> PyErr {
    to_py(Error::invalid_key(msg.into()))
}
