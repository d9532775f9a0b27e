//! SM2 public-key encryption (GB/T 32918.4-2016 §6, §7).
//!
//! C1 = k·G, (x2, y2) = k·P_B, t = KDF(x2 ‖ y2, len(M)) (retry with a new k
//! if t is all zero), C2 = M ⊕ t, C3 = SM3(x2 ‖ M ‖ y2). Three layouts:
//! C1‖C3‖C2 (GB/T 32918.4-2016, the default order), C1‖C2‖C3 (GM/T
//! 0003.4-2012) and GM/T 0009 DER. No plaintext size limit.
//!
//! Decryption reports every failure (too short, malformed DER, C1 off the
//! curve, all-zero KDF stream, wrong C3) as one vague
//! [`crate::ErrorKind::Decryption`], and compares C3 in constant time.
#![forbid(unsafe_code)]

use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroize;

use super::field::{limbs_from_be, lt};
use super::point::{self, Affine, Jacobian};
use super::scalar::N;
use super::{asn1, PrivateKey, PublicKey};
use crate::kdf::sm3_kdf;
use crate::sm3::Sm3;
use crate::{Error, ErrorKind, Result};

/// Ciphertext layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// C1 ‖ C3 ‖ C2 (GB/T 32918.4-2016).
    C1C3C2,
    /// C1 ‖ C2 ‖ C3 (GM/T 0003.4-2012).
    C1C2C3,
    /// GM/T 0009 DER `SEQUENCE { x1, y1, C3, C2 }` (OpenSSL's output).
    Der,
}

impl Layout {
    /// Parses "c1c3c2" | "c1c2c3" | "der".
    pub fn from_name(name: &str) -> Result<Layout> {
        match name {
            "c1c3c2" => Ok(Layout::C1C3C2),
            "c1c2c3" => Ok(Layout::C1C2C3),
            "der" => Ok(Layout::Der),
            _ => Err(Error::invalid_argument(format!(
                "unknown SM2 ciphertext layout {name:?}; expected \"der\", \"c1c3c2\" or \"c1c2c3\""
            ))),
        }
    }
}

fn decryption_error() -> Error {
    Error::new(ErrorKind::Decryption, "SM2 decryption failed")
}

/// 1 iff every byte is zero (constant time over the whole buffer).
fn all_zero(b: &[u8]) -> Choice {
    let mut acc = 0u8;
    for &x in b {
        acc |= x;
    }
    acc.ct_eq(&0)
}

/// Affine forms of two points with one shared inversion; None if either is
/// the identity.
fn two_affine(a: &Jacobian, b: &Jacobian) -> Option<(Affine, Affine)> {
    let zz = a.z.mul(&b.z);
    let inv = zz.invert();
    if bool::from(zz.is_zero()) {
        return None;
    }
    let za = inv.mul(&b.z);
    let zb = inv.mul(&a.z);
    let conv = |p: &Jacobian, zi: super::field::Fe| {
        let zi2 = zi.square();
        Affine {
            x: p.x.mul(&zi2),
            y: p.y.mul(&zi2.mul(&zi)),
        }
    };
    Some((conv(a, za), conv(b, zb)))
}

/// One encryption attempt with nonce k; None if the KDF stream is all zero.
fn encrypt_with_limbs(
    key: &PublicKey,
    msg: &[u8],
    layout: Layout,
    k: &[u64; 4],
) -> Result<Option<Vec<u8>>> {
    let c1j = point::mul_base(k);
    let s = match key.comb() {
        Some(comb) => comb.mul(k),
        None => point::mul_var(k, &key.point),
    };
    let (c1, p2) =
        two_affine(&c1j, &s).ok_or_else(|| Error::invalid_argument("k must be in [1, n - 1]"))?;
    let mut x2y2 = [0u8; 64];
    x2y2[..32].copy_from_slice(&p2.x.to_bytes());
    x2y2[32..].copy_from_slice(&p2.y.to_bytes());
    let mut c2 = vec![0u8; msg.len()];
    sm3_kdf(&x2y2, &mut c2);
    if !msg.is_empty() && bool::from(all_zero(&c2)) {
        c2.zeroize();
        x2y2.zeroize();
        return Ok(None);
    }
    for (o, m) in c2.iter_mut().zip(msg) {
        *o ^= m;
    }
    let mut h = Sm3::new();
    h.update(&x2y2[..32]);
    h.update(msg);
    h.update(&x2y2[32..]);
    let c3 = h.finalize();
    x2y2.zeroize();
    let c1b = c1.to_uncompressed();
    let out = match layout {
        Layout::C1C3C2 => {
            let mut out = Vec::with_capacity(97 + msg.len());
            out.extend_from_slice(&c1b);
            out.extend_from_slice(&c3);
            out.extend_from_slice(&c2);
            out
        }
        Layout::C1C2C3 => {
            let mut out = Vec::with_capacity(97 + msg.len());
            out.extend_from_slice(&c1b);
            out.extend_from_slice(&c2);
            out.extend_from_slice(&c3);
            out
        }
        Layout::Der => asn1::cipher_to_der(
            c1b[1..33].try_into().expect("32"),
            c1b[33..].try_into().expect("32"),
            &c3,
            &c2,
        )?,
    };
    Ok(Some(out))
}

/// Encrypts `msg` to `key`. `fill` must write 32 fresh CSPRNG bytes per
/// call; k is drawn by rejection sampling in [1, n − 1].
pub fn encrypt(
    key: &PublicKey,
    msg: &[u8],
    layout: Layout,
    mut fill: impl FnMut(&mut [u8; 32]) -> Result<()>,
) -> Result<Vec<u8>> {
    let mut buf = [0u8; 32];
    loop {
        fill(&mut buf)?;
        let mut k = limbs_from_be(&buf);
        buf.zeroize();
        let ok = k.iter().any(|&l| l != 0) && bool::from(lt(&k, &N));
        if ok {
            let r = encrypt_with_limbs(key, msg, layout, &k);
            k.zeroize();
            if let Some(out) = r? {
                return Ok(out);
            }
        }
        k.zeroize();
    }
}

/// TEST HOOK: encryption with a caller-chosen k, to reproduce the
/// standard's examples. A known or repeated k reveals the plaintext.
#[cfg(any(test, feature = "test-hooks"))]
#[doc(hidden)]
pub fn encrypt_with_k_for_tests(
    key: &PublicKey,
    msg: &[u8],
    layout: Layout,
    k: &[u8; 32],
) -> Result<Vec<u8>> {
    let kl = limbs_from_be(k);
    if !kl.iter().any(|&l| l != 0) || !bool::from(lt(&kl, &N)) {
        return Err(Error::invalid_argument("k must be in [1, n - 1]"));
    }
    encrypt_with_limbs(key, msg, layout, &kl)?
        .ok_or_else(|| Error::invalid_argument("this k gives an all-zero KDF stream"))
}

/// Splits a ciphertext into (C1 bytes, C3, C2).
fn split(ct: &[u8], layout: Layout) -> asn1::CipherParts<'_> {
    match layout {
        Layout::Der => asn1::cipher_from_der(ct),
        Layout::C1C3C2 | Layout::C1C2C3 => {
            if ct.len() < 97 || ct[0] != 4 {
                return Err(());
            }
            let c1: [u8; 65] = ct[..65].try_into().expect("65");
            if layout == Layout::C1C3C2 {
                Ok((c1, ct[65..97].try_into().expect("32"), &ct[97..]))
            } else {
                let n = ct.len();
                Ok((c1, ct[n - 32..].try_into().expect("32"), &ct[65..n - 32]))
            }
        }
    }
}

/// Decrypts; writes the plaintext into a new vector. Every failure is the
/// same vague decryption error.
pub fn decrypt(key: &PrivateKey, ct: &[u8], layout: Layout) -> Result<Vec<u8>> {
    let (c1b, c3, c2) = split(ct, layout).map_err(|_| decryption_error())?;
    // C1 must be a point on the curve (cofactor 1: no small-subgroup check
    // beyond this is needed) and not the identity (not encodable here).
    let c1 = Affine::from_sec1(&c1b).map_err(|_| decryption_error())?;
    let s = point::mul_var(&key.d_limbs, &c1);
    let (p2, inf) = s.to_affine();
    if bool::from(inf) {
        return Err(decryption_error());
    }
    let mut x2y2 = [0u8; 64];
    x2y2[..32].copy_from_slice(&p2.x.to_bytes());
    x2y2[32..].copy_from_slice(&p2.y.to_bytes());
    let mut m = vec![0u8; c2.len()];
    sm3_kdf(&x2y2, &mut m);
    let zero_stream = !c2.is_empty() && bool::from(all_zero(&m));
    for (o, c) in m.iter_mut().zip(c2) {
        *o ^= c;
    }
    let mut h = Sm3::new();
    h.update(&x2y2[..32]);
    h.update(&m);
    h.update(&x2y2[32..]);
    let u = h.finalize();
    x2y2.zeroize();
    let ok = u.ct_eq(&c3);
    if zero_stream || !bool::from(ok) {
        m.zeroize();
        return Err(decryption_error());
    }
    Ok(m)
}
