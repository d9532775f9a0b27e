//! Arithmetic modulo the SM2 group order
//! n = FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF 7203DF6B 21C6052B 53BBF409 39D54123
//! (GB/T 32918.5-2017), in Montgomery form, constant time.
//!
//! Secret scalars (private keys, nonces) live here; inversion is Fermat's
//! a^(n−2) with a fixed window over the public exponent, so its running time
//! does not depend on the value inverted.
#![forbid(unsafe_code)]

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroize;

use super::field::{
    add_mod, limbs_from_be, limbs_to_be, mont_mul, pow_public, sub_mod, sub_mod_if_ge, Limbs,
};

/// The group order n.
pub(crate) const N: Limbs = [
    0x53bb_f409_39d5_4123,
    0x7203_df6b_21c6_052b,
    0xffff_ffff_ffff_ffff,
    0xffff_fffe_ffff_ffff,
];
/// −n^−1 mod 2^64.
const N0: u64 = 0x327f_9e88_7235_0975;
/// R^2 mod n.
const R2_N: Limbs = [
    0x9011_92af_7c11_4f20,
    0x3464_504a_de6f_a2fa,
    0x620f_c84c_3aff_e0d4,
    0x1eb5_e412_a22b_3d3b,
];
/// n − 2.
const N_MINUS_2: Limbs = [
    0x53bb_f409_39d5_4121,
    0x7203_df6b_21c6_052b,
    0xffff_ffff_ffff_ffff,
    0xffff_fffe_ffff_ffff,
];
/// n − 1.
pub(crate) const N_MINUS_1: Limbs = [
    0x53bb_f409_39d5_4122,
    0x7203_df6b_21c6_052b,
    0xffff_ffff_ffff_ffff,
    0xffff_fffe_ffff_ffff,
];

/// An integer modulo n in Montgomery form, fully reduced.
#[derive(Clone, Copy, Default, Zeroize)]
pub(crate) struct Scalar(Limbs);

impl core::fmt::Debug for Scalar {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Scalar(<redacted>)")
    }
}

impl Scalar {
    pub(crate) const ZERO: Scalar = Scalar([0; 4]);
    /// 1 in Montgomery form (R mod n).
    pub(crate) const ONE: Scalar = Scalar([
        0xac44_0bf6_c62a_bedd,
        0x8dfc_2094_de39_fad4,
        0x0000_0000_0000_0000,
        0x0000_0001_0000_0000,
    ]);

    /// From canonical limbs < n.
    #[inline]
    pub(crate) fn from_canonical(l: &Limbs) -> Scalar {
        Scalar(mont_mul(l, &R2_N, &N, N0))
    }

    /// Any 256-bit big-endian integer reduced mod n (one conditional
    /// subtraction suffices as 2^256 < 2n).
    #[inline]
    pub(crate) fn from_bytes_reduced(b: &[u8; 32]) -> Scalar {
        Scalar::from_canonical(&reduce_once(&limbs_from_be(b)))
    }

    /// The canonical value in [0, n).
    #[inline]
    pub(crate) fn to_canonical(self) -> Limbs {
        mont_mul(&self.0, &[1, 0, 0, 0], &N, N0)
    }

    /// Big-endian 32 bytes.
    #[inline]
    pub(crate) fn to_bytes(self) -> [u8; 32] {
        limbs_to_be(&self.to_canonical())
    }

    #[inline]
    pub(crate) fn add(&self, o: &Scalar) -> Scalar {
        Scalar(add_mod(&self.0, &o.0, &N))
    }
    #[inline]
    pub(crate) fn sub(&self, o: &Scalar) -> Scalar {
        Scalar(sub_mod(&self.0, &o.0, &N))
    }
    #[inline]
    pub(crate) fn mul(&self, o: &Scalar) -> Scalar {
        Scalar(mont_mul(&self.0, &o.0, &N, N0))
    }
    /// 1 if zero.
    #[inline]
    pub(crate) fn is_zero(&self) -> Choice {
        self.ct_eq(&Scalar::ZERO)
    }
    /// Inverse by Fermat (a^(n−2)); 0 maps to 0. Constant time.
    pub(crate) fn invert(&self) -> Scalar {
        Scalar(pow_public(
            &self.0,
            &N_MINUS_2,
            &Scalar::ONE.0,
            |a, b| mont_mul(a, b, &N, N0),
            |a| mont_mul(a, a, &N, N0),
        ))
    }
}

/// x mod n for any x < 2^256 (< 2n), constant time.
#[inline]
pub(crate) fn reduce_once(x: &Limbs) -> Limbs {
    sub_mod_if_ge(x, 0, &N)
}

impl ConstantTimeEq for Scalar {
    fn ct_eq(&self, o: &Scalar) -> Choice {
        self.0[0].ct_eq(&o.0[0])
            & self.0[1].ct_eq(&o.0[1])
            & self.0[2].ct_eq(&o.0[2])
            & self.0[3].ct_eq(&o.0[3])
    }
}

impl ConditionallySelectable for Scalar {
    fn conditional_select(a: &Scalar, b: &Scalar, c: Choice) -> Scalar {
        Scalar(core::array::from_fn(|i| {
            u64::conditional_select(&a.0[i], &b.0[i], c)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants() {
        let one = Scalar::from_canonical(&[1, 0, 0, 0]);
        assert_eq!(one.0, Scalar::ONE.0);
        let nm1 = Scalar::from_canonical(&N_MINUS_1);
        assert_eq!(nm1.mul(&nm1).to_canonical(), [1, 0, 0, 0]);
        assert_eq!(nm1.add(&Scalar::ONE).to_canonical(), [0; 4]);
        let x = Scalar::from_canonical(&[0x1234_5678, 99, 7, 0x8000_0000_0000_0000]);
        assert_eq!(x.mul(&x.invert()).to_canonical(), [1, 0, 0, 0]);
        assert_eq!(
            Scalar::from_bytes_reduced(&[0xff; 32]).to_canonical(),
            super::super::field::sub_mod_if_ge(&[u64::MAX; 4], 0, &N)
        );
    }
}
