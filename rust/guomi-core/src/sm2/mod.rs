//! SM2 (GB/T 32918): curve arithmetic, signatures, encryption, key exchange.
//!
//! Everything here is on the recommended curve sm2p256v1 (GB/T 32918.5-2017).
//! Layers, bottom up:
//! - [`field`] (mod p) and [`scalar`] (mod n): 4×64-bit Montgomery
//!   arithmetic, constant time;
//! - [`point`] and [`table`]: Jacobian a = −3 formulas, the fixed-base comb,
//!   the constant-time variable-base window and the public double-scalar
//!   multiplication for verification;
//! - [`sign`], [`encrypt`], [`exchange`]: GB/T 32918.2, .4 and .3;
//! - [`asn1`]: the DER forms of signatures and ciphertexts (GM/T 0009),
//!   parsed strictly with the RustCrypto `der` crate.
//!
//! This crate does no I/O: every randomised operation takes its randomness
//! from the caller (the Python glue reads the OS CSPRNG).

pub mod asn1;
pub mod encrypt;
pub mod exchange;
pub(crate) mod field;
pub(crate) mod point;
pub(crate) mod scalar;
pub mod sign;
pub(crate) mod table;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::sm3::Sm3;
use crate::{Error, Result};
use field::{limbs_from_be, lt, Limbs};
use point::Affine;
use scalar::{Scalar, N_MINUS_1};

/// GM/T 0009 default distinguishing identifier, "1234567812345678".
pub const DEFAULT_USER_ID: &[u8] = b"1234567812345678";
/// The longest user ID whose bit length fits ENTL's 16 bits.
pub const MAX_USER_ID_LEN: usize = 8191;

/// Builds the fixed-base table now instead of at the first signature.
pub fn precompute() {
    table::init();
}

/// Uses of one public key (verifications, encryptions) after which its own
/// comb table (33 KiB, about the cost of two verifications to build) is
/// built and kept: from then on those operations skip all doublings.
const COMB_AFTER_USES: u32 = 4;

/// A validated SM2 public key: a point on sm2p256v1 other than the identity.
pub struct PublicKey {
    pub(crate) point: Affine,
    encoded: [u8; 65],
    uses: AtomicU32,
    comb: OnceLock<Box<table::PointComb>>,
}

impl Clone for PublicKey {
    fn clone(&self) -> Self {
        PublicKey::from_affine(self.point)
    }
}

impl core::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PublicKey(")?;
        for b in &self.encoded {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, o: &Self) -> bool {
        self.encoded == o.encoded
    }
}
impl Eq for PublicKey {}

impl PublicKey {
    pub(crate) fn from_affine(point: Affine) -> PublicKey {
        PublicKey {
            point,
            encoded: point.to_uncompressed(),
            uses: AtomicU32::new(0),
            comb: OnceLock::new(),
        }
    }

    /// The key's comb table once the key is in repeated use (see
    /// [`COMB_AFTER_USES`]); None for the first few uses.
    pub(crate) fn comb(&self) -> Option<&table::PointComb> {
        if let Some(c) = self.comb.get() {
            return Some(c);
        }
        if self.uses.fetch_add(1, Ordering::Relaxed) + 1 >= COMB_AFTER_USES {
            return Some(
                self.comb
                    .get_or_init(|| Box::new(table::PointComb::new(&self.point))),
            );
        }
        None
    }

    /// Parses `04‖x‖y` (65 bytes), `02|03‖x` (33) or raw `x‖y` (64).
    /// Wrong length or prefix: [`crate::ErrorKind::InvalidEncoding`];
    /// coordinates ≥ p, off the curve, identity: [`crate::ErrorKind::InvalidKey`].
    pub fn from_sec1_bytes(bytes: &[u8]) -> Result<PublicKey> {
        Ok(PublicKey::from_affine(Affine::from_sec1(bytes)?))
    }

    /// `04‖x‖y`.
    pub fn to_uncompressed(&self) -> [u8; 65] {
        self.encoded
    }

    /// `02|03‖x`.
    pub fn to_compressed(&self) -> [u8; 33] {
        self.point.to_compressed()
    }

    /// x‖y, 64 bytes.
    pub fn xy(&self) -> &[u8] {
        &self.encoded[1..]
    }
}

/// An SM2 private key d in [1, n − 2] with its public key, and the cached
/// (1 + d)^−1 mod n that every signature needs (so signing does no
/// inversion). Zeroized on drop; Debug shows no secret.
#[derive(Clone)]
pub struct PrivateKey {
    d: Scalar,
    d_limbs: Limbs,
    dinv: Scalar,
    public: PublicKey,
}

impl Zeroize for PrivateKey {
    fn zeroize(&mut self) {
        self.d.zeroize();
        self.d_limbs.zeroize();
        self.dinv.zeroize();
    }
}
impl Drop for PrivateKey {
    fn drop(&mut self) {
        self.zeroize();
    }
}
impl ZeroizeOnDrop for PrivateKey {}

impl core::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

/// 1 iff 1 ≤ d ≤ n − 2, constant time.
fn valid_private(d: &Limbs) -> subtle::Choice {
    let nonzero = !(d[0] | d[1] | d[2] | d[3]).ct_eq(&0);
    nonzero & lt(d, &N_MINUS_1)
}

impl PrivateKey {
    /// From a 32-byte big-endian scalar; must be in [1, n − 2] (n − 1 is
    /// excluded because signing needs 1 + d invertible mod n).
    pub fn from_bytes(bytes: &[u8]) -> Result<PrivateKey> {
        let b: &[u8; 32] = bytes.try_into().map_err(|_| {
            Error::invalid_key(format!(
                "SM2 private key must be 32 bytes, got {}",
                bytes.len()
            ))
        })?;
        let mut d = limbs_from_be(b);
        let ok = valid_private(&d);
        if !bool::from(ok) {
            d.zeroize();
            return Err(Error::invalid_key(
                "SM2 private key must be an integer in [1, n - 2]",
            ));
        }
        let k = PrivateKey::from_valid_limbs(&d);
        d.zeroize();
        Ok(k)
    }

    fn from_valid_limbs(d: &Limbs) -> PrivateKey {
        let ds = Scalar::from_canonical(d);
        let dinv = ds.add(&Scalar::ONE).invert();
        let (pubp, _) = point::mul_base(d).to_affine();
        PrivateKey {
            d: ds,
            d_limbs: *d,
            dinv,
            public: PublicKey::from_affine(pubp),
        }
    }

    /// A fresh key by rejection sampling: `fill` must write 32 uniformly
    /// random bytes from a CSPRNG each time it is called.
    pub fn random(mut fill: impl FnMut(&mut [u8; 32]) -> Result<()>) -> Result<PrivateKey> {
        let mut buf = [0u8; 32];
        loop {
            fill(&mut buf)?;
            let mut d = limbs_from_be(&buf);
            // Rejection (probability about 2^-32) leaks only that a draw was
            // discarded, not the key that is finally kept.
            if bool::from(valid_private(&d)) {
                let k = PrivateKey::from_valid_limbs(&d);
                d.zeroize();
                buf.zeroize();
                return Ok(k);
            }
            d.zeroize();
        }
    }

    /// The 32-byte big-endian private scalar (the caller must zeroize it).
    pub fn to_bytes(&self) -> [u8; 32] {
        field::limbs_to_be(&self.d_limbs)
    }

    /// The matching public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }
}

/// a = p − 3, b, xG, yG as big-endian bytes (the fixed middle of Z_A).
const CURVE_BYTES: [u8; 128] = {
    const HEX: &[u8; 256] = b"fffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffc\
28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93\
32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7\
bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0";
    const fn nib(c: u8) -> u8 {
        if c <= b'9' {
            c - b'0'
        } else {
            c - b'a' + 10
        }
    }
    let mut out = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        out[i] = (nib(HEX[2 * i]) << 4) | nib(HEX[2 * i + 1]);
        i += 1;
    }
    out
};

/// Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) (GB/T 32918.2 §5.5).
/// IDs longer than 8191 bytes cannot be expressed in ENTL: InvalidArgument.
pub fn compute_za(public_key: &PublicKey, user_id: &[u8]) -> Result<[u8; 32]> {
    if user_id.len() > MAX_USER_ID_LEN {
        return Err(Error::invalid_argument(format!(
            "SM2 user ID must be at most {MAX_USER_ID_LEN} bytes (ENTL is 16 bits), got {}",
            user_id.len()
        )));
    }
    let entl = ((user_id.len() * 8) as u16).to_be_bytes();
    let mut h = Sm3::new();
    h.update(&entl);
    h.update(user_id);
    h.update(&CURVE_BYTES);
    h.update(public_key.xy());
    Ok(h.finalize())
}

/// e = SM3(Z_A ‖ M).
pub fn compute_e(za: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    let mut h = Sm3::new();
    h.update(za);
    h.update(msg);
    h.finalize()
}

#[cfg(test)]
mod tests;
