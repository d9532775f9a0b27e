//! DER forms used with SM2, parsed strictly with the RustCrypto `der` crate:
//! - signatures: `SEQUENCE { INTEGER r, INTEGER s }` (GM/T 0009, as OpenSSL,
//!   GmSSL, Tongsuo and Bouncy Castle write them);
//! - ciphertexts: GM/T 0009 `SM2Cipher ::= SEQUENCE { INTEGER x1, INTEGER y1,
//!   OCTET STRING C3 (32 bytes), OCTET STRING C2 }`, as `openssl pkeyutl
//!   -encrypt` writes it.
//!
//! Strict means: minimal-length INTEGERs, no negative values, definite
//! minimal lengths, no trailing bytes, every value in range. The `der`
//! decoder enforces the DER rules; the range checks are here.
#![forbid(unsafe_code)]

use der::asn1::{OctetStringRef, UintRef};
use der::{Decode, Encode, Sequence};

use super::sign::Signature;
use crate::{Error, Result};

#[derive(Sequence)]
struct SigDer<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

#[derive(Sequence)]
struct CipherDer<'a> {
    x: UintRef<'a>,
    y: UintRef<'a>,
    c3: OctetStringRef<'a>,
    c2: OctetStringRef<'a>,
}

/// Left-pads an unsigned big-endian integer (already stripped of its sign
/// byte by `der`) to 32 bytes; None if it is longer.
fn pad32(b: &[u8]) -> Option<[u8; 32]> {
    if b.len() > 32 {
        return None;
    }
    let mut out = [0u8; 32];
    out[32 - b.len()..].copy_from_slice(b);
    Some(out)
}

fn uint(b: &[u8; 32]) -> UintRef<'_> {
    let first = b.iter().position(|&x| x != 0).unwrap_or(31);
    UintRef::new(&b[first..]).expect("32-byte integer is a valid UINT")
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` with minimal INTEGERs.
pub fn signature_to_der(sig: &Signature) -> Vec<u8> {
    SigDer {
        r: uint(&sig.r),
        s: uint(&sig.s),
    }
    .to_der()
    .expect("small DER")
}

/// Parses a DER signature strictly. Integers wider than 32 bytes are an
/// encoding error; zero or ≥ n values are left to verification (which
/// rejects them as an invalid signature).
pub fn signature_from_der(der_bytes: &[u8]) -> Result<Signature> {
    let parsed = SigDer::from_der(der_bytes)
        .map_err(|e| Error::invalid_encoding(format!("malformed DER SM2 signature: {e}")))?;
    let r = pad32(parsed.r.as_bytes());
    let s = pad32(parsed.s.as_bytes());
    match (r, s) {
        (Some(r), Some(s)) => Ok(Signature { r, s }),
        _ => Err(Error::invalid_encoding(
            "DER SM2 signature integer longer than 32 bytes",
        )),
    }
}

/// GM/T 0009 ciphertext from its parts (x1, y1 as 32 bytes each).
pub fn cipher_to_der(x1: &[u8; 32], y1: &[u8; 32], c3: &[u8; 32], c2: &[u8]) -> Result<Vec<u8>> {
    let c = CipherDer {
        x: uint(x1),
        y: uint(y1),
        c3: OctetStringRef::new(c3).map_err(|_| Error::invalid_argument("C3"))?,
        c2: OctetStringRef::new(c2)
            .map_err(|_| Error::invalid_argument("plaintext too long for a DER SM2 ciphertext"))?,
    };
    c.to_der()
        .map_err(|_| Error::invalid_argument("plaintext too long for a DER SM2 ciphertext"))
}

/// (04‖x1‖y1, C3, C2) borrowed from a ciphertext; `Err(())` on any defect.
pub(crate) type CipherParts<'a> = core::result::Result<([u8; 65], [u8; 32], &'a [u8]), ()>;

/// Parsed GM/T 0009 ciphertext: (04‖x1‖y1, C3, C2). Any defect is `Err(())`
/// so the caller can report one vague decryption error.
pub(crate) fn cipher_from_der(der_bytes: &[u8]) -> CipherParts<'_> {
    let c = CipherDer::from_der(der_bytes).map_err(|_| ())?;
    let x = pad32(c.x.as_bytes()).ok_or(())?;
    let y = pad32(c.y.as_bytes()).ok_or(())?;
    let c3: [u8; 32] = c.c3.as_bytes().try_into().map_err(|_| ())?;
    let mut c1 = [0u8; 65];
    c1[0] = 4;
    c1[1..33].copy_from_slice(&x);
    c1[33..].copy_from_slice(&y);
    Ok((c1, c3, c.c2.as_bytes()))
}
