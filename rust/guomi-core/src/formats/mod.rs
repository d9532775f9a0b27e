//! DER and PEM encodings of SM2 keys.
//!
//! What is read:
//! - PKCS#8 `PrivateKeyInfo` (RFC 5208 / RFC 5958), PEM label `PRIVATE KEY`;
//! - encrypted PKCS#8 `EncryptedPrivateKeyInfo` with PBES2 (RFC 8018 §6.2),
//!   PEM label `ENCRYPTED PRIVATE KEY`: PBKDF2 with PRF HMAC-SM3 (what GmSSL
//!   and Bouncy Castle write) or HMAC-SHA256 (what OpenSSL 3.0's
//!   `pkcs8 -topk8 -v2 sm4-cbc` writes), cipher SM4-CBC, or AES-128/192/256-CBC;
//! - SEC1 `ECPrivateKey` (RFC 5915), PEM labels `EC PRIVATE KEY` and
//!   `SM2 PRIVATE KEY` (the latter is what `openssl ec` writes for SM2 keys);
//! - `SubjectPublicKeyInfo` (RFC 5280 §4.1, RFC 5480), PEM label `PUBLIC KEY`.
//!
//! The algorithm must be `id-ecPublicKey` with the named curve SM2
//! (1.2.156.10197.1.301), or the SM2 OID itself in the algorithm position
//! (with absent, NULL or SM2-curve parameters). Anything else is
//! [`ErrorKind::Unsupported`].
//!
//! What is written: PKCS#8 as GmSSL writes an SM2 key (the inner
//! `ECPrivateKey` carries the curve, as RFC 5915 §3 requires and GmSSL 3.1
//! insists; OpenSSL reads it too), SEC1 with the named curve and public key
//! exactly as `openssl ec` writes it, SPKI exactly as `openssl pkey -pubout`
//! writes it, and encrypted PKCS#8 as GmSSL writes it (PBES2 +
//! PBKDF2-HMAC-SM3 with a 16-byte key length field + SM4-CBC).
//!
//! Strict DER: the RustCrypto `der` crate reads every TLV (minimal lengths
//! and integers, no indefinite lengths, no trailing bytes), and the
//! `PrivateKeyInfo` and `ECPrivateKey` structures are walked field by field
//! here (`keys.rs`), so an optional field that is re-tagged, out of order or
//! unknown is an error rather than skipped. This module checks the shapes and
//! ranges: the private scalar is in [1, n-2] (GB/T 32918.1-2016 §6.1),
//! encoded points have a valid SEC1 prefix and length, and the private-key
//! loaders check with [`crate::sm2`] that a stored public key is a valid point
//! equal to d*G ([`DecodedPrivateKey::to_sm2_key`]). Public keys are checked
//! on the curve by [`to_sm2_public_key`] (the Python layer does the same
//! through its SM2 key classes).
//!
//! Secrets: the scalar, decrypted DER, derived keys and passwords live in
//! zeroizing buffers; no error message contains any of them.
#![forbid(unsafe_code)]

use std::fmt;

use subtle::{ConstantTimeEq, ConstantTimeLess};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};

mod keys;
pub mod oids;
mod pbes2;
mod pem;

pub use keys::{encode_pkcs8_der, encode_sec1_der, encode_spki_der};
pub use pbes2::{
    encrypt_pkcs8_der, encrypted_pkcs8_parameters, Pbes2Cipher, Pbes2Info, Pbes2Prf,
    DEFAULT_ITERATIONS, MAX_ITERATIONS, MIN_SALT_LEN,
};
pub use pem::{pem_encode, LABEL_EC_PRIVATE_KEY, LABEL_ENCRYPTED_PRIVATE_KEY, LABEL_PRIVATE_KEY};
pub use pem::{LABEL_PUBLIC_KEY, LABEL_SM2_PRIVATE_KEY};

/// Length of an SM2 private scalar in bytes.
pub const SCALAR_LEN: usize = 32;

/// The SM2 group order n minus one (GB/T 32918.5-2017 §5.2), big endian.
/// A valid private key d satisfies 1 <= d <= n - 2, i.e. 0 < d < n - 1.
const N_MINUS_1: [u8; 32] = [
    0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x72, 0x03, 0xdf, 0x6b, 0x21, 0xc6, 0x05, 0x2b, 0x53, 0xbb, 0xf4, 0x09, 0x39, 0xd5, 0x41, 0x22,
];

/// Which container a private key came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrivateKeyContainer {
    /// PKCS#8 `PrivateKeyInfo` / `OneAsymmetricKey`.
    Pkcs8,
    /// PKCS#8 `EncryptedPrivateKeyInfo` (PBES2).
    EncryptedPkcs8,
    /// SEC1 `ECPrivateKey`.
    Sec1,
}

/// A decoded SM2 private key: the scalar (range-checked) and, when the
/// encoding carried one, the public point as encoded (SEC1 form, 65 or 33
/// bytes, shape-checked only). The scalar is zeroized on drop.
pub struct DecodedPrivateKey {
    scalar: Zeroizing<[u8; SCALAR_LEN]>,
    public_key: Option<Vec<u8>>,
    container: PrivateKeyContainer,
}

impl DecodedPrivateKey {
    /// The 32-byte big-endian private scalar d, 1 <= d <= n - 2.
    pub fn scalar(&self) -> &[u8; SCALAR_LEN] {
        &self.scalar
    }
    /// The public key that was stored beside the scalar, if any. The caller
    /// must check it equals d*G before trusting the pair.
    pub fn public_key(&self) -> Option<&[u8]> {
        self.public_key.as_deref()
    }
    /// The container the key was found in.
    pub fn container(&self) -> PrivateKeyContainer {
        self.container
    }
}

impl DecodedPrivateKey {
    /// Builds the [`crate::sm2::PrivateKey`] and, when the encoding carried
    /// a public key, checks it is a valid point equal to d*G (a mismatched
    /// pair would publish a key that does not verify its own signatures).
    pub fn to_sm2_key(&self) -> Result<crate::sm2::PrivateKey> {
        let key = crate::sm2::PrivateKey::from_bytes(&self.scalar[..])
            .map_err(|e| Error::invalid_key(e.message().to_owned()))?;
        if let Some(stored) = &self.public_key {
            let stored = crate::sm2::PublicKey::from_sec1_bytes(stored).map_err(|_| {
                Error::invalid_key(
                    "the public key stored with the private key is not a valid SM2 point",
                )
            })?;
            if stored != *key.public_key() {
                return Err(Error::invalid_key(
                    "the public key stored with the private key does not match the private value",
                ));
            }
        }
        Ok(key)
    }
}

/// Parses an encoded point from [`decode_public_key_der`] /
/// [`decode_public_key_pem`] into a validated [`crate::sm2::PublicKey`]
/// (on the curve, not the identity).
pub fn to_sm2_public_key(point: &[u8]) -> Result<crate::sm2::PublicKey> {
    crate::sm2::PublicKey::from_sec1_bytes(point).map_err(|e| match e.kind() {
        crate::ErrorKind::InvalidEncoding => Error::invalid_encoding(e.message().to_owned()),
        _ => Error::invalid_key(e.message().to_owned()),
    })
}

impl fmt::Debug for DecodedPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodedPrivateKey")
            .field("container", &self.container)
            .field("public_key", &self.public_key.is_some())
            .finish_non_exhaustive()
    }
}

/// Checks 1 <= d <= n - 2 in constant time (GB/T 32918.1-2016 §6.1 draws d
/// from [1, n-2]; n - 1 is excluded because SM2 signing inverts 1 + d).
pub fn check_scalar_range(d: &[u8; SCALAR_LEN]) -> Result<()> {
    let nonzero = !d.ct_eq(&[0u8; SCALAR_LEN]);
    // Big-endian lexicographic d < n-1, without data-dependent branches:
    // walk from the most significant byte, remembering the first difference.
    let mut lt = subtle::Choice::from(0u8);
    let mut decided = subtle::Choice::from(0u8);
    for (a, b) in d.iter().zip(N_MINUS_1.iter()) {
        let a_lt_b = a.ct_lt(b);
        let differ = !a.ct_eq(b);
        lt |= !decided & a_lt_b;
        decided |= differ;
    }
    if bool::from(nonzero & lt) {
        Ok(())
    } else {
        Err(Error::invalid_key(
            "SM2 private value out of range: it must be in [1, n-2]",
        ))
    }
}

/// Decodes a DER private key of any supported container: PKCS#8,
/// encrypted PKCS#8 (needs `password`) or SEC1. The container is told apart
/// by its structure. A `password` given for an unencrypted key is an error
/// ([`ErrorKind::PasswordNotExpected`]), as in pyca/cryptography.
pub fn decode_private_key_der(der: &[u8], password: Option<&[u8]>) -> Result<DecodedPrivateKey> {
    let container = keys::sniff_private_container(der)?;
    consistent(decode_private_container(der, container, password)?)
}

/// Decodes a PEM private key. The label selects the container:
/// `PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, `EC PRIVATE KEY` or
/// `SM2 PRIVATE KEY`: the first block with one of these labels is used.
/// Text around it and blocks with other labels (e.g. `CERTIFICATE`) are
/// ignored, as RFC 7468 §2 and OpenSSL do.
pub fn decode_private_key_pem(
    pem_data: &[u8],
    password: Option<&[u8]>,
) -> Result<DecodedPrivateKey> {
    let (label, der) = pem::decode_private(pem_data)?;
    let container = match label.as_str() {
        LABEL_PRIVATE_KEY => PrivateKeyContainer::Pkcs8,
        LABEL_ENCRYPTED_PRIVATE_KEY => PrivateKeyContainer::EncryptedPkcs8,
        _ => PrivateKeyContainer::Sec1, // EC PRIVATE KEY, SM2 PRIVATE KEY
    };
    consistent(decode_private_container(&der, container, password)?)
}

/// A decoded private key whose stored public key (if any) is checked to be
/// a valid point equal to d*G: a loader hands out only consistent pairs.
fn consistent(key: DecodedPrivateKey) -> Result<DecodedPrivateKey> {
    key.to_sm2_key()?;
    Ok(key)
}

fn decode_private_container(
    der: &[u8],
    container: PrivateKeyContainer,
    password: Option<&[u8]>,
) -> Result<DecodedPrivateKey> {
    match container {
        PrivateKeyContainer::EncryptedPkcs8 => {
            let password = password.ok_or_else(|| {
                Error::new(
                    ErrorKind::PasswordRequired,
                    "the private key is encrypted but no password was given",
                )
            })?;
            let plain = pbes2::decrypt(der, password)?;
            // A wrong password that happens to leave valid padding still has
            // to produce a DER PrivateKeyInfo; anything that is not one is
            // reported as a decryption failure, never as an encoding error
            // that would reveal structure of garbage.
            let mut key = keys::decode_pkcs8(&plain).map_err(|e| match e.kind() {
                ErrorKind::InvalidEncoding => Error::bad_password(),
                _ => e,
            })?;
            key.container = PrivateKeyContainer::EncryptedPkcs8;
            Ok(key)
        }
        PrivateKeyContainer::Pkcs8 | PrivateKeyContainer::Sec1 => {
            if password.is_some() {
                return Err(Error::new(
                    ErrorKind::PasswordNotExpected,
                    "a password was given but the private key is not encrypted",
                ));
            }
            if container == PrivateKeyContainer::Pkcs8 {
                keys::decode_pkcs8(der)
            } else {
                keys::decode_sec1(der)
            }
        }
    }
}

/// Decodes a DER `SubjectPublicKeyInfo` and returns the encoded point
/// (65-byte `04||x||y` or 33-byte compressed), shape-checked only.
pub fn decode_public_key_der(der: &[u8]) -> Result<Vec<u8>> {
    keys::decode_spki(der)
}

/// Decodes a PEM `PUBLIC KEY` block; see [`decode_public_key_der`].
pub fn decode_public_key_pem(pem_data: &[u8]) -> Result<Vec<u8>> {
    let (_label, der) = pem::decode_public(pem_data)?;
    keys::decode_spki(&der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_range_edges() {
        let mut d = [0u8; 32];
        assert!(check_scalar_range(&d).is_err());
        d[31] = 1;
        assert!(check_scalar_range(&d).is_ok());
        let mut nm2 = N_MINUS_1;
        nm2[31] -= 1;
        assert!(check_scalar_range(&nm2).is_ok());
        assert!(check_scalar_range(&N_MINUS_1).is_err());
        let mut n = N_MINUS_1;
        n[31] += 1;
        assert!(check_scalar_range(&n).is_err());
        assert!(check_scalar_range(&[0xff; 32]).is_err());
        let mut below = N_MINUS_1;
        below[3] = 0xfd; // smaller in a high byte, larger below it
        below[31] = 0xff;
        assert!(check_scalar_range(&below).is_ok());
    }
}
