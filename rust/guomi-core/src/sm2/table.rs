//! Fixed-base scalar multiplication by precomputed combs.
//!
//! A [`Comb`] of window width W for a base point B holds, for every window
//! i, the affine points j·2^(W·i)·B for j = 1..2^(W−1). The 256-bit scalar
//! is Booth-recoded into signed W-bit digits d_i ∈ [−2^(W−1), 2^(W−1)]
//! (k = Σ d_i·2^(W·i)), so k·B is one mixed addition per window and no
//! doubling. In the constant-time path each window's entry is read by a
//! masked scan over all entries and negated by mask, so memory access and
//! timing do not depend on k.
//!
//! Two combs are used:
//! - G, W = 6: 43 windows × 32 entries (86 KiB), built once per process on
//!   first use (or at import via [`init`]);
//! - a public key P, W = 4: 65 windows × 8 entries (33 KiB), built by
//!   [`super::PublicKey`] once the key has been used a few times (repeated
//!   verification or encryption under one key), so one-off keys never pay.
//!
//! Why the additions need no doubling case for k in [0, n): before window i
//! the accumulator is a·B with |a| < 2^(W·i) and the entry is d·2^(W·i)·B
//! with |d|·2^(W·i) ≥ 2^(W·i) (d ≠ 0). Below the top window both are far
//! below n/2, so a ≡ ±d·2^(W·i) (mod n) would need equality, impossible. In
//! the top window a + d·2^(W·i) = k exactly, so a ≡ −d·2^(W·i) would mean
//! k ≡ 0 (then all digits are 0) and a ≡ d·2^(W·i) would mean
//! k ≡ 2d·2^(W·i), which one checks has a different top digit. As defence in
//! depth the top window still uses a complete (doubling-aware) addition. The
//! identity accumulator and zero digits are handled by constant-time selects.
//! `sm2::tests::comb_and_window_match_reference` exercises the edges.
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use subtle::{Choice, ConditionallySelectable};

use super::field::{Fe, Limbs};
use super::point::{batch_to_affine, booth, window_bits, Affine, Jacobian, G};

/// A comb table: `ROWS` windows of `E` = 2^(W−1) affine multiples.
pub(crate) struct Comb<const W: u32, const E: usize> {
    rows: Vec<[Affine; E]>,
}

impl<const W: u32, const E: usize> Comb<W, E> {
    /// Windows needed for 257 bits (256 + the Booth carry).
    const ROWS: usize = 257usize.div_ceil(W as usize);

    /// Builds the table for `base` (public data; one batched inversion).
    pub(crate) fn new(base: &Affine) -> Self {
        let mut jac = Vec::with_capacity(Self::ROWS * E);
        let mut b = Jacobian::from_affine(base);
        for _ in 0..Self::ROWS {
            let mut cur = b;
            jac.push(cur);
            for j in 1..E {
                cur = if j == 1 {
                    b.double()
                } else {
                    cur.add_vartime(&b)
                };
                jac.push(cur);
            }
            // next row base = 2^W · b = 2 · (2^(W−1) · b)
            b = cur.double();
        }
        let aff = batch_to_affine(&jac);
        let rows = aff
            .chunks_exact(E)
            .map(|c| {
                let mut row = [Affine::default(); E];
                row.copy_from_slice(c);
                row
            })
            .collect();
        Comb { rows }
    }

    /// Constant-time read of entry `d` (1..=E) of `row`, all zeros if d = 0.
    #[inline(always)]
    fn select(row: &[Affine; E], d: u64) -> Affine {
        let d = core::hint::black_box(d);
        let mut out = [0u64; 8];
        for (j, e) in row.iter().enumerate() {
            let x = (j as u64 + 1) ^ d;
            // all ones iff x == 0, branch-free
            // The mask goes through black_box as well: hiding d alone let
            // LLVM see that m is 0 or all ones and turn the masked OR into a
            // branch on j + 1 == d (a secret-dependent jump and load, found
            // by the dudect harness in rust/guomi-ct).
            let m = core::hint::black_box((((x | x.wrapping_neg()) >> 63) ^ 1).wrapping_neg());
            for t in 0..4 {
                out[t] |= e.x.0[t] & m;
                out[4 + t] |= e.y.0[t] & m;
            }
        }
        Affine {
            x: Fe([out[0], out[1], out[2], out[3]]),
            y: Fe([out[4], out[5], out[6], out[7]]),
        }
    }

    /// k·B for a secret k < n, constant time.
    #[inline(always)]
    pub(crate) fn mul(&self, k: &Limbs) -> Jacobian {
        let mut acc = Jacobian::IDENTITY;
        let last = self.rows.len() - 1;
        for (i, row) in self.rows.iter().enumerate() {
            let v = window_bits(k, (i as i32) * W as i32 - 1, W + 1);
            let (d, neg) = booth(W, v);
            let mut q = Self::select(row, d);
            let ny = q.y.neg();
            q.y = Fe::conditional_select(&q.y, &ny, Choice::from(neg as u8));
            let sum = if i == last {
                acc.add_affine_complete(&q)
            } else {
                acc.add_affine_distinct(&q)
            };
            let zero = Choice::from((((d | d.wrapping_neg()) >> 63) ^ 1) as u8);
            acc = Jacobian::conditional_select(&sum, &acc, zero);
        }
        acc
    }

    /// k·B for a PUBLIC k (verification): direct indexing, variable time.
    #[inline(always)]
    pub(crate) fn mul_vartime(&self, k: &Limbs) -> Jacobian {
        let mut acc = Jacobian::IDENTITY;
        for (i, row) in self.rows.iter().enumerate() {
            let v = window_bits(k, (i as i32) * W as i32 - 1, W + 1);
            let (d, neg) = booth(W, v);
            if d == 0 {
                continue;
            }
            let q = row[(d - 1) as usize];
            let q = if neg == 1 { q.neg() } else { q };
            acc = acc.add_affine_vartime(&q);
        }
        acc
    }
}

/// The comb for G.
pub(crate) type BaseComb = Comb<6, 32>;
/// The comb for a frequently used public key.
pub(crate) type PointComb = Comb<4, 8>;

static TABLE: OnceLock<BaseComb> = OnceLock::new();

#[inline]
fn table() -> &'static BaseComb {
    TABLE.get_or_init(|| BaseComb::new(&G))
}

/// Forces the G table to be built now (e.g. at module import) so the first
/// signature does not pay for it.
pub(crate) fn init() {
    let _ = table();
}

/// k·G for a secret k < n, constant time.
#[inline(always)]
pub(crate) fn mul_base(k: &Limbs) -> Jacobian {
    table().mul(k)
}

/// k·G for a PUBLIC k (verification).
#[inline(always)]
pub(crate) fn mul_base_vartime(k: &Limbs) -> Jacobian {
    table().mul_vartime(k)
}
