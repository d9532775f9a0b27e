//! SM2 digital signatures (GB/T 32918.2-2016 §6, §7).
//!
//! ## Nonces: hedged, deterministic + fresh randomness
//! k is derived as HMAC-SM3 keyed with the private key d over
//! (domain label ‖ 32 fresh bytes from the OS CSPRNG ‖ e ‖ counter), taking
//! the first output in [1, n − 1] (rejection of 0 / ≥ n, probability about
//! 2^-32 per draw). Why: with a healthy RNG the nonce is as random as a
//! fresh draw; if the RNG fails (repeats or returns constants, as happened to
//! the pure-Python `gmssl` users whose nonces came from `random`), k stays a
//! secret pseudo-random function of (d, e), like RFC 6979, so two messages
//! never share a nonce and d cannot be solved for; and unlike plain RFC 6979
//! the fresh input keeps signing the same message twice from giving
//! identical computations, which blunts fault and side-channel attacks on
//! deterministic signing. Verifiers cannot tell the difference: the
//! signatures are ordinary SM2 signatures.
#![forbid(unsafe_code)]

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use super::field::{limbs_from_be, Fe, P};
use super::point;
use super::scalar::{reduce_once, Scalar, N};
use super::{PrivateKey, PublicKey};
use crate::hmac::HmacSm3;
use crate::{Error, Result};

/// A signature as two 32-byte big-endian integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    /// r
    pub r: [u8; 32],
    /// s
    pub s: [u8; 32],
}

impl Signature {
    /// r‖s, 64 bytes.
    pub fn to_raw(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.r);
        out[32..].copy_from_slice(&self.s);
        out
    }
    /// From r‖s (64 bytes); range checks happen at verification.
    pub fn from_raw(b: &[u8]) -> Result<Signature> {
        if b.len() != 64 {
            return Err(Error::invalid_encoding(format!(
                "raw SM2 signature must be 64 bytes (r||s), got {}",
                b.len()
            )));
        }
        Ok(Signature {
            r: b[..32].try_into().expect("32"),
            s: b[32..].try_into().expect("32"),
        })
    }
}

const K_LABEL: &[u8] = b"guomi SM2 hedged nonce v1";

/// One signing attempt with nonce k (canonical limbs, 1 ≤ k < n).
/// None if r = 0, r + k = n or s = 0 (the caller retries with a new k).
fn sign_with_limbs(key: &PrivateKey, e: &[u8; 32], k: &[u64; 4]) -> Option<Signature> {
    let (p1, _) = point::mul_base(k).to_affine();
    let x1 = Scalar::from_canonical(&reduce_once(&p1.x.to_limbs()));
    let es = Scalar::from_bytes_reduced(e);
    let r = es.add(&x1);
    let mut ks = Scalar::from_canonical(k);
    // s = (1 + d)^-1 · (k − r·d) mod n
    let mut diff = ks.sub(&r.mul(&key.d));
    let s = key.dinv.mul(&diff);
    let bad = r.is_zero() | r.add(&ks).is_zero() | s.is_zero();
    // k (and k − r·d, from which d follows given the signature) must not
    // linger in memory.
    ks.zeroize();
    diff.zeroize();
    if bool::from(bad) {
        return None;
    }
    Some(Signature {
        r: r.to_bytes(),
        s: s.to_bytes(),
    })
}

/// The integer e of a digest of any length, as OpenSSL reads it: the whole
/// digest as one big-endian integer (`BN_bin2bn(dgst, dgstlen)` in
/// `ossl_sm2_internal_sign`/`ossl_sm2_internal_verify`), which the signing
/// equation r = (e + x1) mod n then reduces mod n (`BN_mod_add`). Unlike
/// ECDSA's bits2int there is no truncation to the order's length: a 64-byte
/// SHA-512 digest counts in full. A 32-byte digest comes back unchanged (the
/// sign and verify equations reduce it), so SM3 digests behave as before;
/// other lengths, including an empty digest (e = 0, as `BN_bin2bn` of
/// nothing), are reduced here. Digests are public: no constant-time need.
pub fn digest_to_e(digest: &[u8]) -> [u8; 32] {
    if let Ok(e) = <[u8; 32]>::try_from(digest) {
        return e;
    }
    // 2^256 mod n = 2^256 - n (n > 2^255), as a scalar.
    let mut two_256 = [0u64; 4];
    let mut borrow = 0u64;
    for (out, &limb) in two_256.iter_mut().zip(N.iter()) {
        let (v, b1) = 0u64.overflowing_sub(limb);
        let (v, b2) = v.overflowing_sub(borrow);
        *out = v;
        borrow = u64::from(b1 | b2);
    }
    let shift = Scalar::from_canonical(&two_256);
    // Horner over 32-byte chunks from the most significant end; the first
    // chunk holds the len % 32 leading bytes, left-padded.
    let head = digest.len() % 32;
    let mut acc = Scalar::ZERO;
    let mut chunk = [0u8; 32];
    if head != 0 {
        chunk[32 - head..].copy_from_slice(&digest[..head]);
        acc = Scalar::from_bytes_reduced(&chunk);
    }
    for block in digest[head..].chunks_exact(32) {
        chunk.copy_from_slice(block);
        acc = acc.mul(&shift).add(&Scalar::from_bytes_reduced(&chunk));
    }
    acc.to_bytes()
}

/// Signs the digest e = SM3(Z_A ‖ M) with a hedged nonce (see the module
/// documentation); `entropy` must be 32 fresh bytes from the OS CSPRNG.
pub fn sign_digest(key: &PrivateKey, e: &[u8; 32], entropy: &[u8; 32]) -> Signature {
    let mut dkey = key.to_bytes();
    let base = HmacSm3::new(&dkey);
    dkey.zeroize();
    let mut counter: u32 = 0;
    loop {
        let mut h = base.clone();
        h.update(K_LABEL);
        h.update(entropy);
        h.update(e);
        h.update(&counter.to_be_bytes());
        let mut kb = h.finalize();
        let mut k = limbs_from_be(&kb);
        kb.zeroize();
        let nonzero = !(k[0] | k[1] | k[2] | k[3]).ct_eq(&0);
        let in_range = super::field::lt(&k, &N) & nonzero;
        if bool::from(in_range) {
            if let Some(sig) = sign_with_limbs(key, e, &k) {
                k.zeroize();
                return sig;
            }
        }
        k.zeroize();
        counter = counter.wrapping_add(1);
    }
}

/// TEST HOOK: signs with a caller-chosen nonce k (to reproduce the
/// standard's examples). Never use in production: a repeated or known k
/// reveals the private key.
#[cfg(any(test, feature = "test-hooks"))]
#[doc(hidden)]
pub fn sign_digest_with_k_for_tests(
    key: &PrivateKey,
    e: &[u8; 32],
    k: &[u8; 32],
) -> Result<Signature> {
    let kl = limbs_from_be(k);
    let nonzero = kl.iter().any(|&l| l != 0);
    if !nonzero || !bool::from(super::field::lt(&kl, &N)) {
        return Err(Error::invalid_argument("k must be in [1, n - 1]"));
    }
    sign_with_limbs(key, e, &kl)
        .ok_or_else(|| Error::invalid_argument("this k gives r = 0, r + k = n or s = 0"))
}

/// Verifies (r, s) on digest e (GB/T 32918.2 §7.1). Public data only, so
/// it may branch. Every failure is the same [`Error::invalid_signature`].
pub fn verify_digest(key: &PublicKey, e: &[u8; 32], sig: &Signature) -> Result<()> {
    let r = limbs_from_be(&sig.r);
    let s = limbs_from_be(&sig.s);
    let in_range = |v: &[u64; 4]| v.iter().any(|&l| l != 0) && bool::from(super::field::lt(v, &N));
    if !in_range(&r) || !in_range(&s) {
        return Err(Error::invalid_signature());
    }
    let rs = Scalar::from_canonical(&r);
    let ss = Scalar::from_canonical(&s);
    let t = rs.add(&ss);
    if bool::from(t.is_zero()) {
        return Err(Error::invalid_signature());
    }
    let pt = match key.comb() {
        Some(comb) => point::mul_double_vartime_comb(&s, &t.to_canonical(), comb),
        None => point::mul_double_vartime(&s, &t.to_canonical(), &key.point),
    };
    if bool::from(pt.is_identity()) {
        return Err(Error::invalid_signature());
    }
    // R = (e + x1) mod n == r  <=>  x1 ≡ r − e (mod n). x1 < p < 2n, so x1
    // is c = (r − e) mod n or c + n (if below p). Compare X == x1·Z^2
    // projectively instead of inverting Z.
    let es = Scalar::from_bytes_reduced(e);
    let c = rs.sub(&es).to_canonical();
    let z2 = pt.z.square();
    let cand = |x: &[u64; 4]| -> bool {
        let xf = Fe::from_limbs(x);
        bool::from(xf.mul(&z2).ct_eq(&pt.x))
    };
    if cand(&c) {
        return Ok(());
    }
    let (c2, carry) = add_limbs(&c, &N);
    if carry == 0 && bool::from(super::field::lt(&c2, &P)) && cand(&c2) {
        return Ok(());
    }
    Err(Error::invalid_signature())
}

fn add_limbs(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], u64) {
    let mut out = [0u64; 4];
    let mut c = 0u64;
    for i in 0..4 {
        let (v, cc) = super::field::adc(a[i], b[i], c);
        out[i] = v;
        c = cc;
    }
    (out, c)
}

/// Signs message `msg` for `user_id`: e = SM3(Z_A ‖ M), then [`sign_digest`].
pub fn sign(key: &PrivateKey, user_id: &[u8], msg: &[u8], entropy: &[u8; 32]) -> Result<Signature> {
    let za = super::compute_za(key.public_key(), user_id)?;
    let e = super::compute_e(&za, msg);
    Ok(sign_digest(key, &e, entropy))
}

/// Verifies a signature on `msg` for `user_id`.
pub fn verify(key: &PublicKey, user_id: &[u8], msg: &[u8], sig: &Signature) -> Result<()> {
    let za = super::compute_za(key, user_id)?;
    let e = super::compute_e(&za, msg);
    verify_digest(key, &e, sig)
}
