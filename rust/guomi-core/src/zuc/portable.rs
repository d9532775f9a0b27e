//! ZUC's S-boxes, portable: a masked scan of the whole 256-byte table (packed as 32 u64
//! words) for every lookup, so no load depends on a secret (correct everywhere, slower than
//! the x86 paths of [`super::x86`]).

#![forbid(unsafe_code)]

use super::{S0, S1};

/// A table packed as 32 little-endian u64 words for the masked scan.
const fn pack(t: &[u8; 256]) -> [u64; 32] {
    let mut out = [0u64; 32];
    let mut i = 0;
    while i < 256 {
        out[i / 8] |= (t[i] as u64) << ((i % 8) * 8);
        i += 1;
    }
    out
}

const S0_PACKED: [u64; 32] = pack(&S0);
const S1_PACKED: [u64; 32] = pack(&S1);

/// `table[idx]` by reading all of `table`: every word is loaded and masked;
/// only the final in-register shift depends on `idx` (shifts by a variable
/// amount are constant time on the targets we build for).
#[inline(always)]
fn ct_lookup(table: &[u64; 32], idx: u32) -> u32 {
    let hi = (idx >> 3) & 31;
    let mut acc = 0u64;
    for (w, &word) in table.iter().enumerate() {
        // mask = all ones iff w == hi, computed without a branch.
        let d = (w as u64) ^ u64::from(hi);
        let mask = (d.wrapping_sub(1) >> 63).wrapping_neg();
        acc |= word & mask;
    }
    ((acc >> ((idx & 7) * 8)) & 0xff) as u32
}

/// S(u) and S(v) with S = (S0, S1, S0, S1) from the most significant byte
/// down (Document 2 §3.4.2), by masked table scans. Not inlined: sixteen
/// inlined copies in the unrolled keystream loop overflow the instruction
/// caches and run slower than the calls.
#[inline(never)]
pub(super) fn sbox_portable(u: u32, v: u32) -> (u32, u32) {
    let s = |x: u32| -> u32 {
        (ct_lookup(&S0_PACKED, x >> 24) << 24)
            | (ct_lookup(&S1_PACKED, (x >> 16) & 0xff) << 16)
            | (ct_lookup(&S0_PACKED, (x >> 8) & 0xff) << 8)
            | ct_lookup(&S1_PACKED, x & 0xff)
    };
    (s(u), s(v))
}
