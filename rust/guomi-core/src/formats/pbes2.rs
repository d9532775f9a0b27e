//! Encrypted PKCS#8 (`EncryptedPrivateKeyInfo`, RFC 5208 §6) with PBES2
//! (RFC 8018 §6.2) and PBKDF2 (RFC 8018 §5.2).
//!
//! The `pkcs5` crate only knows the NIST PRFs and ciphers, so the PBES2 and
//! PBKDF2 parameter structures are declared here with `der`'s derive macros
//! (still no hand-rolled DER). Supported on input: PRF HMAC-SM3 (both OIDs in
//! use) or HMAC-SHA256; cipher SM4-CBC or AES-128/192/256-CBC. Written:
//! HMAC-SM3 (GmSSL's OID) + SM4-CBC, with the key length field present, as
//! GmSSL's `x509_private_key_info_encrypt_to_der` does, so GmSSL reads it.
#![forbid(unsafe_code)]

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, KeyInit};
use der::asn1::{AnyRef, OctetStringRef};
use der::{Decode, Encode, Sequence, Tag, Tagged};
use spki::AlgorithmIdentifierRef;
use subtle::{ConditionallySelectable, ConstantTimeEq, ConstantTimeLess};
use zeroize::Zeroizing;

use super::keys;
use super::oids::{self, AES128_CBC, AES192_CBC, AES256_CBC, HMAC_SM3, HMAC_SM3_GMT0091};
use super::oids::{HMAC_WITH_SHA256, PBES2, PBKDF2, SM4_CBC};
use crate::error::{Error, Result};
use crate::sm4::Sm4;

/// Iterations we write by default. GmSSL writes 65,536; OWASP's 2023
/// guidance for PBKDF2-HMAC-SHA256 is 600,000, and HMAC-SM3 costs about the
/// same per iteration. A key file is opened rarely (at service start), so we
/// take the OWASP figure; callers can choose another count.
pub const DEFAULT_ITERATIONS: u32 = 600_000;

/// Largest iteration count we will run when reading a key: a hostile file
/// must not make a loader spin for hours. Ten million HMAC-SM3 iterations
/// take a few seconds.
pub const MAX_ITERATIONS: u32 = 10_000_000;

/// Shortest salt we write or accept (RFC 8018 §4.1: at least 64 bits).
pub const MIN_SALT_LEN: usize = 8;

const BLOCK: usize = 16;

/// The PBKDF2 pseudo-random function of an encrypted key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pbes2Prf {
    /// HMAC-SM3 (1.2.156.10197.1.401.2 or 1.2.156.10197.1.401.3.1).
    HmacSm3,
    /// HMAC-SHA256 (1.2.840.113549.2.9).
    HmacSha256,
}

/// The PBES2 encryption scheme of an encrypted key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pbes2Cipher {
    /// SM4-CBC (1.2.156.10197.1.104.2).
    Sm4Cbc,
    /// AES-128-CBC.
    Aes128Cbc,
    /// AES-192-CBC.
    Aes192Cbc,
    /// AES-256-CBC.
    Aes256Cbc,
}

impl Pbes2Cipher {
    fn key_len(self) -> usize {
        match self {
            Pbes2Cipher::Sm4Cbc | Pbes2Cipher::Aes128Cbc => 16,
            Pbes2Cipher::Aes192Cbc => 24,
            Pbes2Cipher::Aes256Cbc => 32,
        }
    }
}

/// The PBES2 parameters of an encrypted key, as parsed (no secrets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pbes2Info {
    /// The PBKDF2 PRF.
    pub prf: Pbes2Prf,
    /// The cipher.
    pub cipher: Pbes2Cipher,
    /// The PBKDF2 iteration count.
    pub iterations: u32,
    /// The PBKDF2 salt.
    pub salt: Vec<u8>,
    /// The PBKDF2 keyLength field, when present.
    pub key_length: Option<u32>,
    /// The CBC IV.
    pub iv: [u8; BLOCK],
}

/// `EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm, encryptedData }`.
#[derive(Sequence)]
struct EncryptedPrivateKeyInfo<'a> {
    encryption_algorithm: AlgorithmIdentifierRef<'a>,
    encrypted_data: OctetStringRef<'a>,
}

/// `PBES2-params ::= SEQUENCE { keyDerivationFunc, encryptionScheme }`.
#[derive(Sequence)]
struct Pbes2Params<'a> {
    key_derivation_func: AlgorithmIdentifierRef<'a>,
    encryption_scheme: AlgorithmIdentifierRef<'a>,
}

/// `PBKDF2-params ::= SEQUENCE { salt CHOICE { specified OCTET STRING, .. },
/// iterationCount INTEGER, keyLength INTEGER OPTIONAL, prf DEFAULT sha1 }`.
/// Only the `specified` salt exists in practice (RFC 8018 §A.2).
#[derive(Sequence)]
struct Pbkdf2Params<'a> {
    salt: OctetStringRef<'a>,
    iteration_count: u32,
    #[asn1(optional = "true")]
    key_length: Option<u32>,
    #[asn1(optional = "true")]
    prf: Option<AlgorithmIdentifierRef<'a>>,
}

/// Parses and validates the PBES2 parameters without decrypting.
fn parse(der: &[u8]) -> Result<(Pbes2Info, &[u8])> {
    let epki = EncryptedPrivateKeyInfo::from_der(der)
        .map_err(|e| Error::der("EncryptedPrivateKeyInfo", e))?;
    let alg = &epki.encryption_algorithm;
    if alg.oid != PBES2 {
        return Err(Error::unsupported(format!(
            "key encryption scheme {} is not supported: only PBES2 (1.2.840.113549.1.5.13)",
            alg.oid
        )));
    }
    let params: Pbes2Params<'_> = alg
        .parameters
        .ok_or_else(|| Error::invalid_encoding("PBES2 without parameters"))?
        .decode_as()
        .map_err(|e| Error::der("PBES2 parameters", e))?;

    let kdf = &params.key_derivation_func;
    if kdf.oid != PBKDF2 {
        return Err(Error::unsupported(format!(
            "PBES2 key derivation {} ({}) is not supported: only PBKDF2",
            kdf.oid,
            oids::describe(&kdf.oid)
        )));
    }
    let kdf_params: Pbkdf2Params<'_> = kdf
        .parameters
        .ok_or_else(|| Error::invalid_encoding("PBKDF2 without parameters"))?
        .decode_as()
        .map_err(|e| Error::der("PBKDF2 parameters", e))?;
    let prf = match &kdf_params.prf {
        // The DEFAULT is hmacWithSHA1, which we refuse.
        None => {
            return Err(Error::unsupported(
                "PBKDF2 with the default PRF hmacWithSHA1 is not supported: \
                 use hmacWithSM3 or hmacWithSHA256",
            ))
        }
        Some(p) => {
            if let Some(any) = p.parameters {
                if !any.is_null() {
                    return Err(Error::invalid_encoding(
                        "malformed PBKDF2 PRF: parameters must be absent or NULL",
                    ));
                }
            }
            if p.oid == HMAC_SM3 || p.oid == HMAC_SM3_GMT0091 {
                Pbes2Prf::HmacSm3
            } else if p.oid == HMAC_WITH_SHA256 {
                Pbes2Prf::HmacSha256
            } else {
                return Err(Error::unsupported(format!(
                    "PBKDF2 PRF {} ({}) is not supported: use hmacWithSM3 or hmacWithSHA256",
                    p.oid,
                    oids::describe(&p.oid)
                )));
            }
        }
    };
    let iterations = kdf_params.iteration_count;
    if iterations == 0 {
        return Err(Error::invalid_encoding("PBKDF2 iteration count is 0"));
    }
    if iterations > MAX_ITERATIONS {
        return Err(Error::unsupported(format!(
            "PBKDF2 iteration count {iterations} is above the limit of {MAX_ITERATIONS}"
        )));
    }
    let salt = kdf_params.salt.as_bytes();
    if salt.is_empty() {
        return Err(Error::invalid_encoding("PBKDF2 salt is empty"));
    }

    let enc = &params.encryption_scheme;
    let cipher = match enc.oid {
        o if o == SM4_CBC => Pbes2Cipher::Sm4Cbc,
        o if o == AES128_CBC => Pbes2Cipher::Aes128Cbc,
        o if o == AES192_CBC => Pbes2Cipher::Aes192Cbc,
        o if o == AES256_CBC => Pbes2Cipher::Aes256Cbc,
        o => {
            return Err(Error::unsupported(format!(
                "PBES2 cipher {o} ({}) is not supported: use SM4-CBC (or AES-CBC)",
                oids::describe(&o)
            )))
        }
    };
    let iv_any = enc
        .parameters
        .ok_or_else(|| Error::invalid_encoding("PBES2 cipher without an IV"))?;
    if iv_any.tag() != Tag::OctetString || iv_any.value().len() != BLOCK {
        return Err(Error::invalid_encoding(
            "malformed PBES2 cipher parameters: the IV must be a 16-byte OCTET STRING",
        ));
    }
    let mut iv = [0u8; BLOCK];
    iv.copy_from_slice(iv_any.value());
    if let Some(kl) = kdf_params.key_length {
        if kl as usize != cipher.key_len() {
            return Err(Error::invalid_encoding(format!(
                "PBKDF2 key length {kl} does not match the cipher's {}",
                cipher.key_len()
            )));
        }
    }
    let data = epki.encrypted_data.as_bytes();
    if data.is_empty() || !data.len().is_multiple_of(BLOCK) {
        return Err(Error::invalid_encoding(format!(
            "malformed encrypted private key: {} bytes of ciphertext is not a positive \
             multiple of the 16-byte block",
            data.len()
        )));
    }
    Ok((
        Pbes2Info {
            prf,
            cipher,
            iterations,
            salt: salt.to_vec(),
            key_length: kdf_params.key_length,
            iv,
        },
        data,
    ))
}

/// The PBES2 parameters of a DER `EncryptedPrivateKeyInfo`, validated as
/// for decryption (no password needed).
pub fn encrypted_pkcs8_parameters(der: &[u8]) -> Result<Pbes2Info> {
    parse(der).map(|(info, _)| info)
}

fn derive_key(
    prf: Pbes2Prf,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    out: &mut [u8],
) -> Result<()> {
    match prf {
        Pbes2Prf::HmacSm3 => crate::kdf::pbkdf2_hmac_sm3(password, salt, iterations, out)
            .map_err(|e| Error::invalid_encoding(format!("PBKDF2: {e}"))),
        Pbes2Prf::HmacSha256 => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, out);
            Ok(())
        }
    }
}

/// A block cipher keyed for CBC decryption.
enum BlockDecryptor {
    Sm4(Sm4),
    Aes128(aes::Aes128),
    Aes192(aes::Aes192),
    Aes256(aes::Aes256),
}

impl BlockDecryptor {
    fn new(cipher: Pbes2Cipher, key: &[u8]) -> Result<Self> {
        let bad = |_| Error::invalid_encoding("internal: bad derived key length");
        Ok(match cipher {
            Pbes2Cipher::Sm4Cbc => BlockDecryptor::Sm4(
                Sm4::new(key).map_err(|e| Error::invalid_encoding(e.message().to_owned()))?,
            ),
            Pbes2Cipher::Aes128Cbc => {
                BlockDecryptor::Aes128(aes::Aes128::new_from_slice(key).map_err(bad)?)
            }
            Pbes2Cipher::Aes192Cbc => {
                BlockDecryptor::Aes192(aes::Aes192::new_from_slice(key).map_err(bad)?)
            }
            Pbes2Cipher::Aes256Cbc => {
                BlockDecryptor::Aes256(aes::Aes256::new_from_slice(key).map_err(bad)?)
            }
        })
    }
    fn decrypt_block(&self, block: &mut [u8; BLOCK]) {
        match self {
            BlockDecryptor::Sm4(c) => c.decrypt_block(block),
            BlockDecryptor::Aes128(c) => c.decrypt_block(GenericArray::from_mut_slice(block)),
            BlockDecryptor::Aes192(c) => c.decrypt_block(GenericArray::from_mut_slice(block)),
            BlockDecryptor::Aes256(c) => c.decrypt_block(GenericArray::from_mut_slice(block)),
        }
    }
}

/// Removes PKCS#7 padding (RFC 5652 §6.3 / RFC 8018 §6.1.1 step 4) without
/// branching on the padding bytes; `None` if it is invalid.
fn unpad_len(data: &[u8]) -> Option<usize> {
    let n = data.len();
    debug_assert!(n >= BLOCK && n.is_multiple_of(BLOCK));
    let pad = data[n - 1];
    let mut ok = !pad.ct_eq(&0) & !(BLOCK as u8).ct_lt(&pad);
    for i in 0..BLOCK {
        let byte = data[n - 1 - i];
        // Positions inside the padding (i < pad) must equal pad.
        let inside = (i as u8).ct_lt(&pad);
        let good = byte.ct_eq(&pad);
        ok &= !inside | good;
    }
    let len = u8::conditional_select(&0, &pad, ok) as usize;
    bool::from(ok).then_some(n - len)
}

/// Decrypts a DER `EncryptedPrivateKeyInfo` and returns the plaintext DER
/// (not yet parsed) in a zeroizing buffer. Bad padding is reported as
/// [`Error::bad_password`]; so is anything the caller fails to parse.
pub(crate) fn decrypt(der: &[u8], password: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let (info, data) = parse(der)?;
    let mut key = Zeroizing::new([0u8; 32]);
    let key = &mut key[..info.cipher.key_len()];
    derive_key(info.prf, password, &info.salt, info.iterations, key)?;
    let cipher = BlockDecryptor::new(info.cipher, key)?;
    let mut plain = Zeroizing::new(data.to_vec());
    let mut prev = info.iv;
    for chunk in plain.chunks_exact_mut(BLOCK) {
        let block: &mut [u8; BLOCK] = chunk.try_into().expect("chunks_exact yields 16 bytes");
        let ct = *block;
        cipher.decrypt_block(block);
        for (b, p) in block.iter_mut().zip(prev.iter()) {
            *b ^= p;
        }
        prev = ct;
    }
    let len = unpad_len(&plain).ok_or_else(Error::bad_password)?;
    plain.truncate(len);
    Ok(plain)
}

/// Encrypts a DER PKCS#8 `PrivateKeyInfo` as GmSSL does: PBES2 with
/// PBKDF2-HMAC-SM3 (PRF OID 1.2.156.10197.1.401.2, no parameters, keyLength
/// 16) and SM4-CBC with PKCS#7 padding. `salt` (at least 8 bytes; we use 16)
/// and `iv` must come from a CSPRNG; the core does no I/O, so the caller
/// draws them. Returns the DER `EncryptedPrivateKeyInfo`.
pub fn encrypt_pkcs8_der(
    private_key_info: &[u8],
    password: &[u8],
    salt: &[u8],
    iv: &[u8; BLOCK],
    iterations: u32,
) -> Result<Vec<u8>> {
    if salt.len() < MIN_SALT_LEN {
        return Err(Error::invalid_encoding(format!(
            "PBKDF2 salt must be at least {MIN_SALT_LEN} bytes"
        )));
    }
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(Error::invalid_encoding(format!(
            "PBKDF2 iteration count must be in [1, {MAX_ITERATIONS}]"
        )));
    }
    // Only ever encrypt a well-formed SM2 PrivateKeyInfo.
    keys::decode_pkcs8(private_key_info)?;

    let mut key = Zeroizing::new([0u8; 16]);
    derive_key(Pbes2Prf::HmacSm3, password, salt, iterations, &mut key[..])?;
    let sm4 = Sm4::new(&key[..]).map_err(|e| Error::invalid_encoding(e.message().to_owned()))?;

    let pad = BLOCK - private_key_info.len() % BLOCK;
    let mut buf = Zeroizing::new(Vec::with_capacity(private_key_info.len() + pad));
    buf.extend_from_slice(private_key_info);
    buf.resize(private_key_info.len() + pad, pad as u8);
    let mut prev = *iv;
    for chunk in buf.chunks_exact_mut(BLOCK) {
        let block: &mut [u8; BLOCK] = chunk.try_into().expect("chunks_exact yields 16 bytes");
        for (b, p) in block.iter_mut().zip(prev.iter()) {
            *b ^= p;
        }
        sm4.encrypt_block(block);
        prev = *block;
    }

    let enc_err = |e: der::Error| Error::invalid_encoding(format!("cannot encode PBES2: {e}"));
    let prf = AlgorithmIdentifierRef {
        oid: HMAC_SM3,
        parameters: None,
    };
    let kdf_params = Pbkdf2Params {
        salt: OctetStringRef::new(salt).map_err(enc_err)?,
        iteration_count: iterations,
        key_length: Some(16),
        prf: Some(prf),
    }
    .to_der()
    .map_err(enc_err)?;
    let iv_der = OctetStringRef::new(iv).map_err(enc_err)?;
    let pbes2_params = Pbes2Params {
        key_derivation_func: AlgorithmIdentifierRef {
            oid: PBKDF2,
            parameters: Some(AnyRef::from_der(&kdf_params).map_err(enc_err)?),
        },
        encryption_scheme: AlgorithmIdentifierRef {
            oid: SM4_CBC,
            parameters: Some(AnyRef::from(iv_der)),
        },
    }
    .to_der()
    .map_err(enc_err)?;
    EncryptedPrivateKeyInfo {
        encryption_algorithm: AlgorithmIdentifierRef {
            oid: PBES2,
            parameters: Some(AnyRef::from_der(&pbes2_params).map_err(enc_err)?),
        },
        encrypted_data: OctetStringRef::new(&buf).map_err(enc_err)?,
    }
    .to_der()
    .map_err(enc_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpad_accepts_valid_and_rejects_invalid() {
        let mut b = [7u8; 32];
        b[31] = 1;
        assert_eq!(unpad_len(&b), Some(31));
        let b = [16u8; 16];
        assert_eq!(unpad_len(&b), Some(0));
        let mut b = [3u8; 16];
        b[13] = 2;
        assert_eq!(unpad_len(&b), None);
        let mut b = [0u8; 16];
        assert_eq!(unpad_len(&b), None);
        b[15] = 17;
        assert_eq!(unpad_len(&b), None);
    }
}
