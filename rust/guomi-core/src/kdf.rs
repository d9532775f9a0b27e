//! Key derivation with SM3: the SM2 KDF, HKDF-SM3 and PBKDF2-HMAC-SM3.
//!
//! - [`sm3_kdf`]: GB/T 32918.4-2016 §5.4.3 (also used by SM2 key exchange,
//!   GB/T 32918.3): `K = H(Z || ct_1) || H(Z || ct_2) || ...` truncated,
//!   with a 32-bit big-endian counter from 1. `Z` is absorbed once; each
//!   output block clones that state and hashes only the counter.
//! - [`hkdf_sm3`]: RFC 5869 with HMAC-SM3 (at most 255 blocks of output).
//! - [`pbkdf2_hmac_sm3`]: RFC 8018 §5.2 with HMAC-SM3. The password's pad
//!   states are computed once; each iteration is exactly two compressions on
//!   words held in registers.
//!
//! Intermediate keying material is zeroized before returning.
#![forbid(unsafe_code)]

use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::hmac::{self, HmacSm3};
use crate::sm3::{self, Sm3, DIGEST_SIZE};

/// Largest HKDF-SM3 output in bytes (RFC 5869 §2.3: L <= 255 * HashLen).
pub const HKDF_MAX_OUTPUT: usize = 255 * DIGEST_SIZE;

/// Largest SM2-KDF output in bytes: the 32-bit counter must not wrap
/// (GB/T 32918.4-2016 §5.4.3 requires klen < (2^32 - 1) * v).
pub const SM3_KDF_MAX_OUTPUT: u64 = (u32::MAX as u64 - 1) * DIGEST_SIZE as u64;

/// The SM2 key derivation function KDF(Z, klen) into `out` (klen = out.len()
/// bytes). Output beyond [`SM3_KDF_MAX_OUTPUT`] is not defined by the
/// standard; callers check the length first (the counter would wrap).
pub fn sm3_kdf(z: &[u8], out: &mut [u8]) {
    let mut prefix = Sm3::new();
    prefix.update(z);
    let mut ct: u32 = 1;
    for chunk in out.chunks_mut(DIGEST_SIZE) {
        let mut h = prefix.clone();
        h.update(&ct.to_be_bytes());
        let mut block = h.finalize();
        chunk.copy_from_slice(&block[..chunk.len()]);
        block.zeroize();
        ct = ct.wrapping_add(1);
    }
}

/// HKDF-SM3 (RFC 5869): extract with `salt` (empty = HashLen zero bytes,
/// which HMAC treats identically), then expand with `info` into `out`.
pub fn hkdf_sm3(ikm: &[u8], salt: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
    if out.len() > HKDF_MAX_OUTPUT {
        return Err(Error::invalid_argument(format!(
            "HKDF-SM3 output length {} exceeds the maximum of 255 * 32 = {HKDF_MAX_OUTPUT} bytes",
            out.len()
        )));
    }
    let mut prk = hmac::hmac_sm3(salt, ikm);
    let base = HmacSm3::new(&prk);
    prk.zeroize();
    let mut t = [0u8; DIGEST_SIZE];
    for (i, chunk) in out.chunks_mut(DIGEST_SIZE).enumerate() {
        let mut h = base.clone();
        if i > 0 {
            h.update(&t);
        }
        h.update(info);
        h.update(&[(i + 1) as u8]);
        t = h.finalize();
        chunk.copy_from_slice(&t[..chunk.len()]);
    }
    t.zeroize();
    Ok(())
}

/// PBKDF2-HMAC-SM3 (RFC 8018 §5.2) into `out`; `iterations >= 1`,
/// `out` non-empty.
pub fn pbkdf2_hmac_sm3(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    out: &mut [u8],
) -> Result<()> {
    if iterations == 0 {
        return Err(Error::invalid_argument(
            "PBKDF2 iteration count must be at least 1",
        ));
    }
    if out.is_empty() {
        return Err(Error::invalid_argument(
            "PBKDF2 output length must be at least 1 byte",
        ));
    }
    // dkLen <= (2^32 - 1) * hLen (§5.2 step 1): the block index is 32-bit.
    if out.len() as u64 > (u32::MAX as u64) * DIGEST_SIZE as u64 {
        return Err(Error::invalid_argument("PBKDF2 output length too large"));
    }
    let mut salted = HmacSm3::new(password);
    salted.update(salt);
    for (i, chunk) in out.chunks_mut(DIGEST_SIZE).enumerate() {
        let mut h = salted.clone();
        h.update(&((i as u32).wrapping_add(1)).to_be_bytes());
        let mut u = h.finalize_words();
        let mut t = u;
        {
            let (istate, ostate) = salted.states();
            for _ in 1..iterations {
                u = hmac::hmac_words(istate, ostate, &u);
                for (tw, uw) in t.iter_mut().zip(u.iter()) {
                    *tw ^= uw;
                }
            }
        }
        let mut block = sm3::state_to_bytes(&t);
        chunk.copy_from_slice(&block[..chunk.len()]);
        block.zeroize();
        t.zeroize();
        u.zeroize();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm3_kdf_is_counter_mode_over_sm3() {
        let z = b"shared secret Z";
        let mut out = [0u8; 70];
        sm3_kdf(z, &mut out);
        let mut want = Vec::new();
        for ct in 1u32..=3 {
            let mut m = z.to_vec();
            m.extend_from_slice(&ct.to_be_bytes());
            want.extend_from_slice(&sm3::digest(&m));
        }
        assert_eq!(&out[..], &want[..70]);
    }

    #[test]
    fn hkdf_limits() {
        let mut big = vec![0u8; HKDF_MAX_OUTPUT + 1];
        assert!(hkdf_sm3(b"k", b"", b"", &mut big).is_err());
        assert!(hkdf_sm3(b"k", b"", b"", &mut big[..HKDF_MAX_OUTPUT]).is_ok());
    }

    #[test]
    fn pbkdf2_matches_definition() {
        let (p, s) = (b"password".as_slice(), b"salt".as_slice());
        let mut out = [0u8; 40];
        pbkdf2_hmac_sm3(p, s, 3, &mut out).unwrap();
        let mut want = Vec::new();
        for i in 1u32..=2 {
            let mut m = s.to_vec();
            m.extend_from_slice(&i.to_be_bytes());
            let mut u = hmac::hmac_sm3(p, &m);
            let mut t = u;
            for _ in 1..3 {
                u = hmac::hmac_sm3(p, &u);
                for (a, b) in t.iter_mut().zip(u.iter()) {
                    *a ^= b;
                }
            }
            want.extend_from_slice(&t);
        }
        assert_eq!(&out[..], &want[..40]);
        assert!(pbkdf2_hmac_sm3(p, s, 0, &mut out).is_err());
        assert!(pbkdf2_hmac_sm3(p, s, 1, &mut []).is_err());
    }
}
