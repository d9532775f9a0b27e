//! GHASH, the universal hash of GCM (NIST SP 800-38D §6.4), in constant time.
//!
//! Two implementations of the same arithmetic in GF(2^128) modulo
//! `x^128 + x^7 + x^2 + x + 1`:
//!
//! - **x86-64 PCLMULQDQ**: carry-less multiplication, with the reduction
//!   aggregated over 8 blocks (`Y = (Y ^ X1)·H^8 ^ X2·H^7 ^ … ^ X8·H`, one
//!   reduction per 128 bytes) using precomputed powers `H^1..H^8`.
//!   With VPCLMULQDQ + AVX2 the same 8-block step runs two blocks per
//!   256-bit instruction.
//! - **portable**: 64×64 carry-less multiplication by integer multiplies on
//!   operands with "holes" (every 4th bit kept), as in BearSSL's
//!   `ghash_ctmul64`: no table, no data-dependent branch or index, so it is
//!   constant time wherever the CPU's integer multiply is.
//!
//! The PCLMULQDQ path is used when the CPU has it and the SM4 backend is not
//! forced to `Portable` (so `GUOMI_BACKEND=portable` exercises the portable
//! GHASH too).
//!
//! Why not the `ghash` crate: measured on this machine class (1 MiB,
//! release, fat LTO), `ghash =0.5.1` (CLMUL backend, one reduction per
//! block) does 1.75 GB/s; this module does 6.7 GB/s with PCLMULQDQ and
//! 10.2 GB/s with VPCLMULQDQ, keeps the key powers in a zeroize-on-drop
//! struct, and follows `backend::active()` so the portable path is testable.
//!
//! Representation: a 16-byte block is read as the big-endian integer
//! `u128::from_be_bytes(block)`. GCM numbers bits from the most significant
//! bit of byte 0 as the coefficient of `x^0`, so in this integer the
//! coefficient of `x^i` is bit `127 - i` (the "bit-reflected" form).

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Number of precomputed powers of H (and blocks per aggregated reduction).
const POWERS: usize = 8;

/// The hash key `H = E_K(0^128)` and its powers `H^1..H^8`. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct GhashKey {
    /// `powers[i] = H^(i+1)` in the reflected representation.
    powers: [u128; POWERS],
    /// The code path (decided once, at construction).
    #[zeroize(skip)]
    path: Path,
}

/// Which GHASH implementation a key uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// Portable constant-time 64-bit code.
    Soft,
    /// x86-64 PCLMULQDQ on 128-bit registers.
    Clmul,
    /// x86-64 VPCLMULQDQ on 256-bit registers (AVX2), PCLMULQDQ for tails.
    VClmul,
}

impl core::fmt::Debug for GhashKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("GhashKey { .. }")
    }
}

impl GhashKey {
    /// Precomputes the powers of `h` (the 16-byte block `E_K(0^128)`),
    /// choosing the carry-less-multiply path if this CPU has it and the
    /// active backend is not `Portable`.
    pub fn new(h: &[u8; 16]) -> Self {
        let path = if crate::backend::active() == crate::backend::Backend::Portable {
            Path::Soft
        } else {
            best_path()
        };
        Self::with_path(h, path)
    }

    /// As [`GhashKey::new`] but with an explicit choice of path
    /// (`use_clmul` is ignored when the CPU lacks PCLMULQDQ). For tests and
    /// benchmarks that compare the two paths.
    pub fn with_clmul(h: &[u8; 16], use_clmul: bool) -> Self {
        Self::with_path(h, if use_clmul { Path::Clmul } else { Path::Soft })
    }

    /// As [`GhashKey::new`] with an explicit path; a path this CPU cannot
    /// run falls back to the best one it can (at most `wanted`).
    pub fn with_path(h: &[u8; 16], wanted: Path) -> Self {
        let path = match wanted {
            Path::VClmul if vclmul_detected() => Path::VClmul,
            Path::VClmul | Path::Clmul if clmul_detected() => Path::Clmul,
            _ => Path::Soft,
        };
        let h = u128::from_be_bytes(*h);
        let mut powers = [0u128; POWERS];
        powers[0] = h;
        for i in 1..POWERS {
            powers[i] = gf_mul_soft(powers[i - 1], h);
        }
        GhashKey { powers, path }
    }

    /// True if this key uses carry-less multiplication instructions.
    pub fn uses_clmul(&self) -> bool {
        self.path != Path::Soft
    }

    /// The code path this key uses.
    pub fn path(&self) -> Path {
        self.path
    }
}

fn clmul_detected() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("pclmulqdq")
            && std::arch::is_x86_feature_detected!("sse2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn vclmul_detected() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        clmul_detected()
            && std::arch::is_x86_feature_detected!("vpclmulqdq")
            && std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn best_path() -> Path {
    if vclmul_detected() {
        Path::VClmul
    } else if clmul_detected() {
        Path::Clmul
    } else {
        Path::Soft
    }
}

/// A running GHASH computation under one [`GhashKey`]. The accumulator is
/// zeroized on drop.
pub struct Ghash<'k> {
    key: &'k GhashKey,
    y: u128,
}

impl Drop for Ghash<'_> {
    fn drop(&mut self) {
        self.y.zeroize();
    }
}

impl<'k> Ghash<'k> {
    /// Starts a GHASH with accumulator zero.
    pub fn new(key: &'k GhashKey) -> Self {
        Ghash { key, y: 0 }
    }

    /// Absorbs `data`, whose length must be a multiple of 16 (a shorter
    /// final block is the caller's business: see [`Ghash::update_padded`]).
    pub fn update_blocks(&mut self, data: &[u8]) {
        debug_assert_eq!(data.len() & 15, 0);
        let whole = data.len() - data.len() % 16;
        let data = &data[..whole];
        if data.is_empty() {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        {
            match self.key.path {
                Path::VClmul => {
                    // SAFETY: `VClmul` is only chosen when VPCLMULQDQ, AVX2,
                    // PCLMULQDQ and SSE2 were detected at run time on this
                    // CPU (see `vclmul_detected`).
                    self.y = unsafe { x86::update_wide(&self.key.powers, self.y, data) };
                    return;
                }
                Path::Clmul => {
                    // SAFETY: `Clmul` is only chosen when PCLMULQDQ and SSE2
                    // were detected at run time (see `clmul_detected`).
                    self.y = unsafe { x86::update(&self.key.powers, self.y, data) };
                    return;
                }
                Path::Soft => {}
            }
        }
        self.y = soft_update(&self.key.powers, self.y, data);
    }

    /// Absorbs `data` of any length, zero-padding the last partial block
    /// (the `A || 0^v` and `C || 0^u` of SP 800-38D §7.1 step 5).
    pub fn update_padded(&mut self, data: &[u8]) {
        let whole = data.len() - data.len() % 16;
        self.update_blocks(&data[..whole]);
        let rest = &data[whole..];
        if !rest.is_empty() {
            let mut block = [0u8; 16];
            block[..rest.len()].copy_from_slice(rest);
            self.update_blocks(&block);
            block.zeroize();
        }
    }

    /// Returns the 16-byte GHASH value.
    pub fn finalize(self) -> [u8; 16] {
        self.y.to_be_bytes()
    }
}

/// `GHASH_H(A, C)` with the length block, as GCM uses it (SP 800-38D §7.1
/// step 5): the pads and `[len(A)]_64 || [len(C)]_64` (bit lengths) included.
pub fn ghash_aad_ct(key: &GhashKey, aad: &[u8], ct: &[u8]) -> [u8; 16] {
    let mut g = Ghash::new(key);
    g.update_padded(aad);
    g.update_padded(ct);
    g.update_blocks(&length_block(aad.len(), ct.len()));
    g.finalize()
}

/// `[8·aad_len]_64 || [8·ct_len]_64`.
pub(crate) fn length_block(aad_len: usize, ct_len: usize) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&((aad_len as u64).wrapping_mul(8)).to_be_bytes());
    b[8..].copy_from_slice(&((ct_len as u64).wrapping_mul(8)).to_be_bytes());
    b
}

// ---------------------------------------------------------------------------
// Portable, constant-time arithmetic.

/// 64×64 -> low 64 bits of the carry-less product, by integer multiplication
/// of operands restricted to every 4th bit. With holes of 3 bits, the carries
/// of each partial sum (at most 16 terms of one bit) never reach the next
/// kept bit position, so masking the result recovers the XOR sum exactly.
#[inline(always)]
fn bmul64(x: u64, y: u64) -> u64 {
    const M0: u64 = 0x1111_1111_1111_1111;
    const M1: u64 = 0x2222_2222_2222_2222;
    const M2: u64 = 0x4444_4444_4444_4444;
    const M3: u64 = 0x8888_8888_8888_8888;
    let (x0, x1, x2, x3) = (x & M0, x & M1, x & M2, x & M3);
    let (y0, y1, y2, y3) = (y & M0, y & M1, y & M2, y & M3);
    let m = u64::wrapping_mul;
    let z0 = m(x0, y0) ^ m(x1, y3) ^ m(x2, y2) ^ m(x3, y1);
    let z1 = m(x0, y1) ^ m(x1, y0) ^ m(x2, y3) ^ m(x3, y2);
    let z2 = m(x0, y2) ^ m(x1, y1) ^ m(x2, y0) ^ m(x3, y3);
    let z3 = m(x0, y3) ^ m(x1, y2) ^ m(x2, y1) ^ m(x3, y0);
    (z0 & M0) | (z1 & M1) | (z2 & M2) | (z3 & M3)
}

/// The operand-side values of [`gf_mul_soft`] that depend only on `b`,
/// computed once per update call instead of once per block.
struct SoftOperand {
    h0: u64,
    h1: u64,
    h2: u64,
    h0r: u64,
    h1r: u64,
    h2r: u64,
}

impl SoftOperand {
    #[inline]
    fn new(b: u128) -> Self {
        let h1 = (b >> 64) as u64;
        let h0 = b as u64;
        let h0r = h0.reverse_bits();
        let h1r = h1.reverse_bits();
        SoftOperand {
            h0,
            h1,
            h2: h0 ^ h1,
            h0r,
            h1r,
            h2r: h0r ^ h1r,
        }
    }
}

impl Drop for SoftOperand {
    fn drop(&mut self) {
        self.h0.zeroize();
        self.h1.zeroize();
        self.h2.zeroize();
        self.h0r.zeroize();
        self.h1r.zeroize();
        self.h2r.zeroize();
    }
}

/// Field multiplication in the reflected representation.
#[inline]
fn gf_mul_soft(a: u128, b: u128) -> u128 {
    gf_mul_soft_pre(a, &SoftOperand::new(b))
}

/// Field multiplication by a prepared operand (BearSSL's `ghash_ctmul64`
/// structure: Karatsuba over 64-bit halves, the high halves of the products
/// obtained by multiplying bit-reversed operands).
#[inline]
fn gf_mul_soft_pre(a: u128, h: &SoftOperand) -> u128 {
    let y1 = (a >> 64) as u64;
    let y0 = a as u64;
    let y0r = y0.reverse_bits();
    let y1r = y1.reverse_bits();
    let y2 = y0 ^ y1;
    let y2r = y0r ^ y1r;

    let z0 = bmul64(y0, h.h0);
    let z1 = bmul64(y1, h.h1);
    let mut z2 = bmul64(y2, h.h2);
    let mut z0h = bmul64(y0r, h.h0r);
    let mut z1h = bmul64(y1r, h.h1r);
    let mut z2h = bmul64(y2r, h.h2r);
    z2 ^= z0 ^ z1;
    z2h ^= z0h ^ z1h;
    z0h = z0h.reverse_bits() >> 1;
    z1h = z1h.reverse_bits() >> 1;
    z2h = z2h.reverse_bits() >> 1;

    let mut v0 = z0;
    let mut v1 = z0h ^ z2;
    let mut v2 = z1 ^ z2h;
    let mut v3 = z1h;

    // The reflected product is one bit short: shift the 256-bit value left.
    v3 = (v3 << 1) | (v2 >> 63);
    v2 = (v2 << 1) | (v1 >> 63);
    v1 = (v1 << 1) | (v0 >> 63);
    v0 <<= 1;

    // Reduce modulo x^128 + x^7 + x^2 + x + 1 (reflected).
    v2 ^= v0 ^ (v0 >> 1) ^ (v0 >> 2) ^ (v0 >> 7);
    v1 ^= (v0 << 63) ^ (v0 << 62) ^ (v0 << 57);
    v3 ^= v1 ^ (v1 >> 1) ^ (v1 >> 2) ^ (v1 >> 7);
    v2 ^= (v1 << 63) ^ (v1 << 62) ^ (v1 << 57);

    ((v3 as u128) << 64) | v2 as u128
}

#[inline(always)]
fn be_block(p: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    b.copy_from_slice(&p[..16]);
    u128::from_be_bytes(b)
}

fn soft_update(powers: &[u128; POWERS], mut y: u128, data: &[u8]) -> u128 {
    // Four blocks per step, `Y = (Y^X1)·H^4 ^ X2·H^3 ^ X3·H^2 ^ X4·H`: the four
    // multiplications are independent, so they overlap in the pipeline
    // instead of waiting on each other (~1.6x over block-by-block).
    let h1 = SoftOperand::new(powers[0]);
    let h2 = SoftOperand::new(powers[1]);
    let h3 = SoftOperand::new(powers[2]);
    let h4 = SoftOperand::new(powers[3]);
    let mut quads = data.chunks_exact(64);
    for q in &mut quads {
        y = gf_mul_soft_pre(y ^ be_block(q), &h4)
            ^ gf_mul_soft_pre(be_block(&q[16..]), &h3)
            ^ gf_mul_soft_pre(be_block(&q[32..]), &h2)
            ^ gf_mul_soft_pre(be_block(&q[48..]), &h1);
    }
    for block in quads.remainder().chunks_exact(16) {
        y = gf_mul_soft_pre(y ^ be_block(block), &h1);
    }
    y
}

/// Bit-by-bit reference multiplication (SP 800-38D §6.3, Algorithm 1), used
/// only by the tests to check both fast paths. Not constant time.
#[cfg(test)]
fn gf_mul_reference(x: u128, y: u128) -> u128 {
    const R: u128 = 0xe1 << 120;
    let mut z = 0u128;
    let mut v = y;
    for i in 0..128 {
        if (x >> (127 - i)) & 1 == 1 {
            z ^= v;
        }
        v = if v & 1 == 1 { (v >> 1) ^ R } else { v >> 1 };
    }
    z
}

// ---------------------------------------------------------------------------
// x86-64 PCLMULQDQ.

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::POWERS;
    use core::arch::x86_64::*;

    #[inline(always)]
    fn to_m128(v: u128) -> __m128i {
        // SAFETY: SSE2 is part of the x86-64 baseline; this is a plain load
        // of two 64-bit lanes into a register.
        unsafe { _mm_set_epi64x((v >> 64) as i64, v as i64) }
    }

    #[inline(always)]
    fn from_m128(v: __m128i) -> u128 {
        let mut out = [0u8; 16];
        // SAFETY: `out` is 16 writable bytes; unaligned store is allowed.
        unsafe { _mm_storeu_si128(out.as_mut_ptr() as *mut __m128i, v) };
        u128::from_le_bytes(out)
    }

    /// Unreduced 256-bit carry-less product of `a` and `b`, as (low, high).
    #[inline]
    #[target_feature(enable = "pclmulqdq,sse2")]
    fn clmul_wide(a: __m128i, b: __m128i) -> (__m128i, __m128i) {
        let lo = _mm_clmulepi64_si128(a, b, 0x00);
        let hi = _mm_clmulepi64_si128(a, b, 0x11);
        let mid = _mm_xor_si128(
            _mm_clmulepi64_si128(a, b, 0x10),
            _mm_clmulepi64_si128(a, b, 0x01),
        );
        (
            _mm_xor_si128(lo, _mm_slli_si128(mid, 8)),
            _mm_xor_si128(hi, _mm_srli_si128(mid, 8)),
        )
    }

    /// Shifts the 256-bit reflected product left by one bit and reduces it
    /// modulo the GCM polynomial (Intel's carry-less multiplication white
    /// paper, "gfmul": shift, then two-phase reduction by shifts).
    #[inline]
    #[target_feature(enable = "pclmulqdq,sse2")]
    fn reduce(lo: __m128i, hi: __m128i) -> __m128i {
        let mut t3 = lo;
        let mut t6 = hi;
        let mut t7 = _mm_srli_epi32(t3, 31);
        let mut t8 = _mm_srli_epi32(t6, 31);
        t3 = _mm_slli_epi32(t3, 1);
        t6 = _mm_slli_epi32(t6, 1);
        let t9 = _mm_srli_si128(t7, 12);
        t8 = _mm_slli_si128(t8, 4);
        t7 = _mm_slli_si128(t7, 4);
        t3 = _mm_or_si128(t3, t7);
        t6 = _mm_or_si128(t6, t8);
        t6 = _mm_or_si128(t6, t9);

        let mut a = _mm_slli_epi32(t3, 31);
        let b = _mm_slli_epi32(t3, 30);
        let c = _mm_slli_epi32(t3, 25);
        a = _mm_xor_si128(a, b);
        a = _mm_xor_si128(a, c);
        let d = _mm_srli_si128(a, 4);
        a = _mm_slli_si128(a, 12);
        t3 = _mm_xor_si128(t3, a);

        let mut e = _mm_srli_epi32(t3, 1);
        let f = _mm_srli_epi32(t3, 2);
        let g = _mm_srli_epi32(t3, 7);
        e = _mm_xor_si128(e, f);
        e = _mm_xor_si128(e, g);
        e = _mm_xor_si128(e, d);
        t3 = _mm_xor_si128(t3, e);
        _mm_xor_si128(t6, t3)
    }

    #[inline(always)]
    fn load_be(p: &[u8]) -> __m128i {
        debug_assert!(p.len() >= 16);
        let mut b = [0u8; 16];
        b.copy_from_slice(&p[..16]);
        to_m128(u128::from_be_bytes(b))
    }

    /// Absorbs whole blocks; 8 at a time with one reduction, then the rest
    /// with fewer powers and still one reduction.
    ///
    /// # Safety
    /// The CPU must support PCLMULQDQ and SSE2.
    #[target_feature(enable = "pclmulqdq,sse2")]
    pub(super) unsafe fn update(powers: &[u128; POWERS], y: u128, data: &[u8]) -> u128 {
        let mut h = [_mm_setzero_si128(); POWERS];
        for (dst, p) in h.iter_mut().zip(powers.iter()) {
            *dst = to_m128(*p);
        }
        let mut y = to_m128(y);
        let mut chunks = data.chunks_exact(16 * POWERS);
        for chunk in &mut chunks {
            let x0 = _mm_xor_si128(y, load_be(chunk));
            let (mut lo, mut hi) = clmul_wide(x0, h[POWERS - 1]);
            for i in 1..POWERS {
                let (l, hh) = clmul_wide(load_be(&chunk[16 * i..]), h[POWERS - 1 - i]);
                lo = _mm_xor_si128(lo, l);
                hi = _mm_xor_si128(hi, hh);
            }
            y = reduce(lo, hi);
        }
        let rest = chunks.remainder();
        let n = rest.len() / 16;
        if n > 0 {
            let x0 = _mm_xor_si128(y, load_be(rest));
            let (mut lo, mut hi) = clmul_wide(x0, h[n - 1]);
            for i in 1..n {
                let (l, hh) = clmul_wide(load_be(&rest[16 * i..]), h[n - 1 - i]);
                lo = _mm_xor_si128(lo, l);
                hi = _mm_xor_si128(hi, hh);
            }
            y = reduce(lo, hi);
        }
        // Registers holding H powers are not zeroized (they cannot be
        // addressed); the owned copies in `GhashKey` are.
        from_m128(y)
    }

    /// As [`update`], with each 8-block step on four 256-bit registers (two
    /// blocks each) by VPCLMULQDQ; the lanes are folded before the one
    /// reduction. Fewer than 8 trailing blocks go through [`update`].
    ///
    /// # Safety
    /// The CPU must support VPCLMULQDQ, AVX2, PCLMULQDQ and SSE2.
    #[target_feature(enable = "vpclmulqdq,avx2,pclmulqdq,sse2")]
    pub(super) unsafe fn update_wide(powers: &[u128; POWERS], y: u128, data: &[u8]) -> u128 {
        // Register j holds blocks 2j (low lane) and 2j+1 (high lane), to be
        // multiplied by H^(8-2j) and H^(7-2j).
        let mut p = [_mm256_setzero_si256(); 4];
        for (j, pj) in p.iter_mut().enumerate() {
            *pj = _mm256_set_m128i(to_m128(powers[6 - 2 * j]), to_m128(powers[7 - 2 * j]));
        }
        // Reverses the bytes of each 128-bit lane: a block becomes the
        // integer u128::from_be_bytes(block), as `load_be` gives.
        let rev = _mm256_setr_epi8(
            15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8, 7,
            6, 5, 4, 3, 2, 1, 0,
        );
        let mut y = to_m128(y);
        let mut chunks = data.chunks_exact(16 * POWERS);
        for chunk in &mut chunks {
            let mut lo = _mm256_setzero_si256();
            let mut hi = _mm256_setzero_si256();
            let mut mid = _mm256_setzero_si256();
            for (j, pj) in p.iter().enumerate() {
                // SAFETY: `chunk` is 128 bytes, so bytes 32j..32j+32 are in
                // bounds; the load is unaligned.
                let raw = unsafe { _mm256_loadu_si256(chunk.as_ptr().add(32 * j).cast()) };
                let mut x = _mm256_shuffle_epi8(raw, rev);
                if j == 0 {
                    x = _mm256_xor_si256(x, _mm256_set_m128i(_mm_setzero_si128(), y));
                }
                lo = _mm256_xor_si256(lo, _mm256_clmulepi64_epi128(x, *pj, 0x00));
                hi = _mm256_xor_si256(hi, _mm256_clmulepi64_epi128(x, *pj, 0x11));
                mid = _mm256_xor_si256(mid, _mm256_clmulepi64_epi128(x, *pj, 0x10));
                mid = _mm256_xor_si256(mid, _mm256_clmulepi64_epi128(x, *pj, 0x01));
            }
            let fold = |v: __m256i| {
                _mm_xor_si128(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1))
            };
            let (lo, hi, mid) = (fold(lo), fold(hi), fold(mid));
            y = reduce(
                _mm_xor_si128(lo, _mm_slli_si128(mid, 8)),
                _mm_xor_si128(hi, _mm_srli_si128(mid, 8)),
            );
        }
        let rest = chunks.remainder();
        // SAFETY: the features `update` needs are a subset of ours.
        unsafe { update(powers, from_m128(y), rest) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xorshift(s: &mut u64) -> u64 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    #[test]
    fn soft_mul_matches_reference() {
        let mut s = 0x1234_5678_9abc_def1u64;
        for _ in 0..2000 {
            let a = ((xorshift(&mut s) as u128) << 64) | xorshift(&mut s) as u128;
            let b = ((xorshift(&mut s) as u128) << 64) | xorshift(&mut s) as u128;
            assert_eq!(gf_mul_soft(a, b), gf_mul_reference(a, b));
        }
        // Edge values: 1 (= x^0, the top bit here), x^127 (bit 0), all ones.
        for &a in &[1u128 << 127, 1, u128::MAX, 0] {
            for &b in &[1u128 << 127, 1, u128::MAX, 0, 0xe1 << 120] {
                assert_eq!(gf_mul_soft(a, b), gf_mul_reference(a, b));
            }
        }
    }

    fn reference_ghash(h: u128, data: &[u8]) -> u128 {
        let mut y = 0u128;
        for block in data.chunks_exact(16) {
            y = gf_mul_reference(y ^ u128::from_be_bytes(block.try_into().unwrap()), h);
        }
        y
    }

    #[test]
    fn both_paths_match_reference_for_all_lengths() {
        let mut s = 0xdead_beef_cafe_f00du64;
        let mut data = vec![0u8; 16 * 40];
        for b in data.iter_mut() {
            *b = xorshift(&mut s) as u8;
        }
        for trial in 0..4 {
            let mut hb = [0u8; 16];
            for b in hb.iter_mut() {
                *b = xorshift(&mut s) as u8;
            }
            if trial == 0 {
                hb = [0xff; 16];
            }
            let h = u128::from_be_bytes(hb);
            for path in [Path::Soft, Path::Clmul, Path::VClmul] {
                let key = GhashKey::with_path(&hb, path);
                let expect = match path {
                    Path::VClmul if vclmul_detected() => Path::VClmul,
                    Path::VClmul | Path::Clmul if clmul_detected() => Path::Clmul,
                    _ => Path::Soft,
                };
                assert_eq!(key.path(), expect);
                for blocks in 0..=40 {
                    let d = &data[..16 * blocks];
                    let want = reference_ghash(h, d);
                    // One call, and split calls (exercises the remainder path).
                    let mut g = Ghash::new(&key);
                    g.update_blocks(d);
                    assert_eq!(u128::from_be_bytes(g.finalize()), want, "blocks={blocks}");
                    let mut g = Ghash::new(&key);
                    let cut = 16 * (blocks / 3);
                    g.update_blocks(&d[..cut]);
                    g.update_blocks(&d[cut..]);
                    assert_eq!(
                        u128::from_be_bytes(g.finalize()),
                        want,
                        "split blocks={blocks}"
                    );
                }
            }
        }
    }
}
