//! Fixed-base scalar multiplication k·G by a precomputed comb of multiples
//! of the base point.
//!
//! The 256-bit scalar is Booth-recoded into 43 signed 6-bit digits
//! d_i ∈ [−32, 32] (k = Σ d_i·2^(6i)); the table holds, for every window i,
//! the affine points j·2^(6i)·G for j = 1..32 (43 × 32 × 64 bytes = 86 KiB,
//! built once on first use with one batched inversion). k·G is then 43 mixed
//! additions and no doubling. Each window's entry is read by a masked scan
//! over all 32 entries and negated by mask, so memory access and timing do
//! not depend on k.
//!
//! Why the additions need no doubling case (for k in [0, n)): before window
//! i the accumulator is a·G with |a| < 2^(6i), the entry is d·2^(6i)·G with
//! |d|·2^(6i) ≥ 2^(6i) when d ≠ 0; for i ≤ 41 both sides are far below n,
//! so a ≡ d·2^(6i) (mod n) would need equality, impossible. For the top
//! window (i = 42) a ≡ d·2^252 forces k = d·2^253 − n with d in 8..=15,
//! whose own top digit is 2d − 16 ≠ d: contradiction. a ≡ −d·2^(6i) would
//! mean k ≡ 0, in which case every digit is 0 and nothing is added. The
//! identity accumulator and zero digits are handled by constant-time selects.
//! The unit test `comb_matches_ladder_on_edges` exercises the edges.

use std::sync::OnceLock;

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::field::{Fe, Limbs};
use super::point::{batch_to_affine, booth, window_bits, Affine, Jacobian, G};

const W: u32 = 6;
const WINDOWS: usize = 43; // 43 · 6 = 258 ≥ 257 bits (256 + Booth carry)
const ENTRIES: usize = 32; // 2^(W−1)

type Table = Vec<[Affine; ENTRIES]>;

static TABLE: OnceLock<Table> = OnceLock::new();

fn build() -> Table {
    let mut jac = Vec::with_capacity(WINDOWS * ENTRIES);
    let mut base = Jacobian::from_affine(&G);
    for _ in 0..WINDOWS {
        let mut cur = base;
        jac.push(cur);
        for j in 1..ENTRIES {
            cur = if j == 1 {
                base.double()
            } else {
                cur.add_vartime(&base)
            };
            jac.push(cur);
        }
        // next base = 2^6 · base = 2 · (32 · base)
        base = cur.double();
    }
    let aff = batch_to_affine(&jac);
    aff.chunks_exact(ENTRIES)
        .map(|c| {
            let mut row = [Affine::default(); ENTRIES];
            row.copy_from_slice(c);
            row
        })
        .collect()
}

#[inline]
fn table() -> &'static Table {
    TABLE.get_or_init(build)
}

/// Forces the table to be built now (e.g. at module import) so the first
/// signature does not pay for it.
pub(crate) fn init() {
    let _ = table();
}

/// Constant-time read of entry `d` (1..=32) of `row`; all-zero point if d = 0.
#[inline(always)]
fn select(row: &[Affine; ENTRIES], d: u64) -> Affine {
    let mut out = [0u64; 8];
    for (j, e) in row.iter().enumerate() {
        let m = 0u64.wrapping_sub(u64::from((j as u64 + 1).ct_eq(&d).unwrap_u8()));
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

/// k·G for a secret k < n, constant time.
pub(crate) fn mul_base(k: &Limbs) -> Jacobian {
    let t = table();
    let mut acc = Jacobian::IDENTITY;
    for (i, row) in t.iter().enumerate() {
        let v = window_bits(k, (i as i32) * W as i32 - 1, W + 1);
        let (d, neg) = booth(W, v);
        let mut q = select(row, d);
        let ny = q.y.neg();
        q.y = Fe::conditional_select(&q.y, &ny, Choice::from(neg as u8));
        let sum = acc.add_affine_distinct(&q);
        acc = Jacobian::conditional_select(&sum, &acc, d.ct_eq(&0));
    }
    acc
}

/// k·G for a PUBLIC k (verification): same comb, direct indexing.
pub(crate) fn mul_base_vartime(k: &Limbs) -> Jacobian {
    let t = table();
    let mut acc = Jacobian::IDENTITY;
    for (i, row) in t.iter().enumerate() {
        let v = window_bits(k, (i as i32) * W as i32 - 1, W + 1);
        let (d, neg) = booth(W, v);
        if d == 0 {
            continue;
        }
        let q = row[(d - 1) as usize];
        let q = if neg == 1 { q.neg() } else { q };
        acc = acc.add_vartime(&Jacobian::from_affine(&q));
    }
    acc
}
