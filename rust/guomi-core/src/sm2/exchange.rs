//! SM2 key exchange (GB/T 32918.3-2016 §6.1), both roles.
//!
//! With w = 127, x̄ = 2^w + (x mod 2^w):
//! t = (d + x̄_self · r) mod n, U = t · (P_peer + x̄_peer · R_peer),
//! K = KDF(x_U ‖ y_U ‖ Z_A ‖ Z_B, klen), and the optional confirmations
//! S_B (= S_1) = SM3(0x02 ‖ y_U ‖ SM3(x_U ‖ Z_A ‖ Z_B ‖ x1 ‖ y1 ‖ x2 ‖ y2)),
//! S_A (= S_2) = the same with 0x03, where (x1, y1) = R_A is the initiator's
//! ephemeral point and (x2, y2) = R_B the responder's. Both sides compute the
//! same U, so both values are returned to both roles; each side sends its
//! own (B sends S_B, A sends S_A) and checks the other's in constant time.
//!
//! The secret scalar t and the shared point are constant-time work; the
//! peer's points are public, so P_peer + x̄·R_peer may use variable time.
#![forbid(unsafe_code)]

use zeroize::Zeroize;

use super::field::limbs_from_be;
use super::point::{self, Jacobian};
use super::scalar::Scalar;
use super::{PrivateKey, PublicKey};
use crate::kdf::sm3_kdf;
use crate::sm3::Sm3;
use crate::{Error, Result};

/// The result of one side's computation.
pub struct Exchange {
    /// The shared key K, `klen` bytes.
    pub key: Vec<u8>,
    /// S_B = S_1 (prefix 0x02): what the responder sends.
    pub s_b: [u8; 32],
    /// S_A = S_2 (prefix 0x03): what the initiator sends.
    pub s_a: [u8; 32],
}

impl Drop for Exchange {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

/// x̄ = 2^127 + (x mod 2^127), as canonical limbs (always < n).
fn x_bar(x: &[u8; 32]) -> [u64; 4] {
    let l = limbs_from_be(x);
    [
        l[0],
        (l[1] & 0x7fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000,
        0,
        0,
    ]
}

/// Runs one side of the exchange. `za`/`zb` are Z_A (initiator) and Z_B
/// (responder) whatever our role. klen ≥ 1 bytes.
#[allow(clippy::too_many_arguments)]
pub fn key_exchange(
    key: &PrivateKey,
    ephemeral: &PrivateKey,
    peer: &PublicKey,
    peer_ephemeral: &PublicKey,
    initiator: bool,
    za: &[u8; 32],
    zb: &[u8; 32],
    klen: usize,
) -> Result<Exchange> {
    if klen == 0 {
        return Err(Error::invalid_argument(
            "key exchange length must be at least 1 byte",
        ));
    }
    let r_self = ephemeral.public_key();
    let xs = r_self.point.x.to_bytes();
    let xp = peer_ephemeral.point.x.to_bytes();
    // t = (d + x̄_self · r) mod n — secret, constant time.
    let xbar_self = Scalar::from_canonical(&x_bar(&xs));
    let mut t = key.d.add(&xbar_self.mul(&ephemeral.d));
    let mut t_limbs = t.to_canonical();
    t.zeroize();
    // Q = P_peer + x̄_peer · R_peer — public.
    let xbar_peer = x_bar(&xp);
    let q = point::mul_double_vartime(&[0; 4], &xbar_peer, &peer_ephemeral.point)
        .add_vartime(&Jacobian::from_affine(&peer.point));
    let (qa, qinf) = q.to_affine();
    if bool::from(qinf) {
        t_limbs.zeroize();
        return Err(Error::invalid_key(
            "SM2 key exchange: peer keys give the point at infinity",
        ));
    }
    // U = [h · t] Q with h = 1.
    let u = point::mul_var(&t_limbs, &qa);
    t_limbs.zeroize();
    let (ua, uinf) = u.to_affine();
    if bool::from(uinf) {
        return Err(Error::invalid_key(
            "SM2 key exchange: shared point is at infinity",
        ));
    }
    let mut xu = ua.x.to_bytes();
    let mut yu = ua.y.to_bytes();
    let mut z = Vec::with_capacity(128);
    z.extend_from_slice(&xu);
    z.extend_from_slice(&yu);
    z.extend_from_slice(za);
    z.extend_from_slice(zb);
    let mut k = vec![0u8; klen];
    sm3_kdf(&z, &mut k);
    z.zeroize();
    let (ra, rb) = if initiator {
        (r_self, peer_ephemeral)
    } else {
        (peer_ephemeral, r_self)
    };
    let mut inner = Sm3::new();
    inner.update(&xu);
    inner.update(za);
    inner.update(zb);
    inner.update(ra.xy());
    inner.update(rb.xy());
    let inner = inner.finalize();
    let conf = |tag: u8| {
        let mut h = Sm3::new();
        h.update(&[tag]);
        h.update(&yu);
        h.update(&inner);
        h.finalize()
    };
    let s_b = conf(0x02);
    let s_a = conf(0x03);
    xu.zeroize();
    yu.zeroize();
    Ok(Exchange { key: k, s_b, s_a })
}
