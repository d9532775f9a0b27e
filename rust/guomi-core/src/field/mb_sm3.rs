//! Multi-buffer SM3: eight independent compressions in the lanes of one
//! 256-bit vector, for blind indexes (many short HMACs under one key).
//!
//! The lanes are a plain `[u32; 8]` with element-wise operations; the
//! compression is compiled a second time with AVX2 enabled (selected once
//! from CPU features, a public branch), where LLVM turns every element-wise
//! loop into one vector instruction. Only additions, XORs, ANDs, ORs and
//! fixed shifts are used: no table, no data-dependent branch, so the
//! constant-time property of the scalar SM3 carries over. Tested against the
//! scalar HMAC-SM3 (`field::tests` and this module's tests).

use core::ops::{BitAnd, BitOr, BitXor};

/// Eight 32-bit lanes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(align(32))]
pub struct Lanes(pub [u32; 8]);

impl Lanes {
    #[inline(always)]
    fn splat(x: u32) -> Self {
        Lanes([x; 8])
    }
    #[inline(always)]
    fn rotate_left(self, n: u32) -> Self {
        Lanes(core::array::from_fn(|i| self.0[i].rotate_left(n)))
    }
    #[inline(always)]
    fn wrapping_add(self, r: Self) -> Self {
        Lanes(core::array::from_fn(|i| self.0[i].wrapping_add(r.0[i])))
    }
}

macro_rules! lane_op {
    ($tr:ident, $f:ident, $op:tt) => {
        impl $tr for Lanes {
            type Output = Lanes;
            #[inline(always)]
            fn $f(self, r: Lanes) -> Lanes {
                Lanes(core::array::from_fn(|i| self.0[i] $op r.0[i]))
            }
        }
    };
}
lane_op!(BitXor, bitxor, ^);
lane_op!(BitAnd, bitand, &);
lane_op!(BitOr, bitor, |);

const K: [u32; 64] = {
    let mut k = [0u32; 64];
    let mut j = 0;
    while j < 64 {
        let t: u32 = if j < 16 { 0x79cc_4519 } else { 0x7a87_9d8a };
        k[j] = t.rotate_left((j % 32) as u32);
        j += 1;
    }
    k
};

#[inline(always)]
fn p0(x: Lanes) -> Lanes {
    x ^ x.rotate_left(9) ^ x.rotate_left(17)
}

#[inline(always)]
fn p1(x: Lanes) -> Lanes {
    x ^ x.rotate_left(15) ^ x.rotate_left(23)
}

/// CF (GB/T 32905-2016 §5.3) on eight states and eight blocks at once.
#[inline(always)]
fn compress_generic(state: &mut [Lanes; 8], block: &[Lanes; 16]) {
    let mut w = [Lanes::default(); 68];
    w[..16].copy_from_slice(block);
    for j in 16..68 {
        w[j] = p1(w[j - 16] ^ w[j - 9] ^ w[j - 3].rotate_left(15))
            ^ w[j - 13].rotate_left(7)
            ^ w[j - 6];
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for j in 0..64 {
        let a12 = a.rotate_left(12);
        let ss1 = a12
            .wrapping_add(Lanes::splat(K[j]))
            .wrapping_add(e)
            .rotate_left(7);
        let ss2 = ss1 ^ a12;
        // j is public: the choice of boolean function is not secret.
        let (ff, gg) = if j < 16 {
            (a ^ b ^ c, e ^ f ^ g)
        } else {
            ((a & b) | ((a | b) & c), ((f ^ g) & e) ^ g)
        };
        let tt1 = ff
            .wrapping_add(d)
            .wrapping_add(ss2)
            .wrapping_add(w[j] ^ w[j + 4]);
        let tt2 = gg.wrapping_add(h).wrapping_add(ss1).wrapping_add(w[j]);
        d = c;
        c = b.rotate_left(9);
        b = a;
        a = tt1;
        h = g;
        g = f.rotate_left(19);
        f = e;
        e = p0(tt2);
    }
    let out = [a, b, c, d, e, f, g, h];
    for (s, o) in state.iter_mut().zip(out.iter()) {
        *s = *s ^ *o;
    }
    for x in w.iter_mut() {
        *x = Lanes::default();
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn compress_avx2(state: &mut [Lanes; 8], block: &[Lanes; 16]) {
    compress_generic(state, block)
}

fn compress_portable(state: &mut [Lanes; 8], block: &[Lanes; 16]) {
    compress_generic(state, block)
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    static AVX2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVX2.get_or_init(|| std::arch::is_x86_feature_detected!("avx2"))
}

/// Compresses one block into each of eight states.
pub fn compress8(state: &mut [Lanes; 8], block: &[Lanes; 16]) {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2() {
            // SAFETY: AVX2 is present (checked at run time just above); the
            // function is safe Rust compiled with that feature enabled.
            unsafe { compress_avx2(state, block) };
            return;
        }
    }
    compress_portable(state, block)
}

/// Transposes eight single-lane states into lanes.
pub fn splat_state(s: &[u32; 8]) -> [Lanes; 8] {
    let mut o = [Lanes::default(); 8];
    for (i, w) in s.iter().enumerate() {
        o[i] = Lanes::splat(*w);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm3;

    #[test]
    fn eight_lanes_match_scalar() {
        let mut blocks = [[0u32; 16]; 8];
        for (l, b) in blocks.iter_mut().enumerate() {
            for (i, w) in b.iter_mut().enumerate() {
                *w = (l as u32 + 1)
                    .wrapping_mul(0x9e37_79b9)
                    .wrapping_add((i as u32).wrapping_mul(0x85eb_ca6b));
            }
        }
        let mut lanes_block = [Lanes::default(); 16];
        for (i, lane_word) in lanes_block.iter_mut().enumerate() {
            for (l, block) in blocks.iter().enumerate() {
                lane_word.0[l] = block[i];
            }
        }
        for f in [
            compress_portable as fn(&mut [Lanes; 8], &[Lanes; 16]),
            compress8,
        ] {
            let mut st = splat_state(&sm3::IV);
            f(&mut st, &lanes_block);
            f(&mut st, &lanes_block);
            for (l, block) in blocks.iter().enumerate() {
                let mut want = sm3::IV;
                sm3::compress_block(&mut want, block);
                sm3::compress_block(&mut want, block);
                for (lanes, word) in st.iter().zip(want) {
                    assert_eq!(lanes.0[l], word);
                }
            }
        }
    }
}
