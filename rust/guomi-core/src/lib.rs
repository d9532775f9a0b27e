//! guomi-core: the Chinese national commercial algorithms in pure Rust.
//!
//! This crate is the bottom layer of guomi. It does arithmetic and nothing
//! else: no I/O, no environment, no allocation on hot paths where avoidable,
//! no knowledge of Python. Every function that touches a key, a nonce or
//! plaintext runs in time independent of their values (no secret-indexed
//! table, no secret-dependent branch). Secrets are zeroized on drop.
//!
//! Layout (one module per algorithm family):
//! - [`sm3`], [`hmac`], [`kdf`]: hashing, MACs and key derivation.
//! - [`sm4`]: the block cipher (portable bit-sliced, x86-64 AES-NI/AVX2 and
//!   GFNI/AVX-512 paths),
//!   its confidentiality modes, [`sm4::xts`], [`sm4::gcm`], [`sm4::ccm`].
//! - [`zuc`]: ZUC-128, 128-EEA3 and 128-EIA3.
//! - [`sm2`]: the SM2 curve, signatures, encryption and key exchange.
//! - [`formats`]: DER/PEM key formats for SM2 (PKCS#8, encrypted PKCS#8,
//!   SEC1, SubjectPublicKeyInfo).
//! - [`backend`]: which SIMD path is in use, chosen once from CPU features.
//! - [`error`]: the one error type every fallible function returns.
#![warn(missing_docs)]

pub mod backend;
pub mod error;
pub mod field;
pub mod formats;
pub mod hmac;
pub mod kdf;
pub mod sm2;
pub mod sm3;
pub mod sm4;
pub mod stream;
pub mod token;
pub mod zuc;

pub use error::{Error, ErrorKind, Result};
