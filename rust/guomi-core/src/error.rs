//! The single error type of guomi-core (every module, the key formats
//! included, returns it; the Python glue maps it in one place).
//!
//! Messages name what is wrong with the *shape* of an input (a length, a
//! range, an encoding) and never contain key bytes, plaintext or any other
//! secret. Authentication failures carry no detail at all, on purpose: a
//! decryption oracle must not learn which check failed.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fmt;

/// What kind of failure happened; the Python glue maps each kind to one
/// exception class of `guomi.exceptions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A key of the wrong length or an unusable value (maps to `InvalidKey`).
    InvalidKey,
    /// A nonce, IV, tweak, tag length or data length that the algorithm
    /// does not accept (maps to `InvalidArgumentError`).
    InvalidArgument,
    /// An AEAD tag or MAC did not verify (maps to `InvalidTag`).
    InvalidTag,
    /// A signature did not verify (maps to `InvalidSignature`).
    InvalidSignature,
    /// A public-key decryption failed; deliberately vague (maps to `DecryptionError`).
    Decryption,
    /// A malformed encoding: DER, point, ciphertext layout (maps to `InvalidEncodingError`).
    InvalidEncoding,
    /// A streaming object was used after it was finalized (maps to `AlreadyFinalizedError`).
    AlreadyFinalized,
    /// Well-formed, but an algorithm, curve, KDF, PRF or cipher guomi does
    /// not implement (maps to `UnsupportedAlgorithmError`).
    Unsupported,
    /// A key is encrypted and no password was given (maps to `TypeError`,
    /// as pyca/cryptography does).
    PasswordRequired,
    /// A password was given but the key is not encrypted (maps to `TypeError`).
    PasswordNotExpected,
    /// An encrypted key did not decrypt to a valid key: wrong password or
    /// corrupted data, deliberately not told apart (maps to `InvalidPasswordError`).
    BadPassword,
    /// The operating system's random number generator failed (maps to `OSError`).
    Rng,
}

/// An error from guomi-core: a kind plus a message safe to show anyone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Builds an error. `message` must not contain secret material.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    /// The failure's kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// A message that names the problem without revealing secrets.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// Shorthand for an [`ErrorKind::InvalidKey`] error.
    pub fn invalid_key(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidKey, message)
    }
    /// Shorthand for an [`ErrorKind::InvalidArgument`] error.
    pub fn invalid_argument(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }
    /// Shorthand for an [`ErrorKind::InvalidEncoding`] error.
    pub fn invalid_encoding(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidEncoding, message)
    }
    /// Shorthand for an [`ErrorKind::Unsupported`] error.
    pub fn unsupported(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }
    /// The one failure of an encrypted key that does not decrypt.
    pub fn bad_password() -> Self {
        Self::new(
            ErrorKind::BadPassword,
            "could not decrypt the private key: wrong password or corrupted data",
        )
    }
    /// The OS random number generator failed.
    pub fn rng() -> Self {
        Self::new(ErrorKind::Rng, "the OS random number generator failed")
    }
    /// A DER error from the `der` crates, prefixed with what was being read.
    pub(crate) fn der(what: &'static str, err: impl fmt::Display) -> Self {
        Self::invalid_encoding(format!("malformed {what}: {err}"))
    }
    /// The one, detail-free AEAD failure.
    pub fn invalid_tag() -> Self {
        Self::new(
            ErrorKind::InvalidTag,
            "authentication failed: the data, associated data, nonce or key is wrong",
        )
    }
    /// The one, detail-free signature failure.
    pub fn invalid_signature() -> Self {
        Self::new(ErrorKind::InvalidSignature, "signature verification failed")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
