//! SM4 on x86-64 with GFNI and AVX-512, constant time.
//!
//! The S-box `S(x) = A·I(A·x ⊕ C) ⊕ C` (GB/T 32907; see `avx2.rs` and `affine.rs` for the
//! derivation) becomes two instructions on 64 bytes at once:
//!
//! - `GF2P8AFFINEQB` with `T·A`, `T·C`: into AES's field (T is a field
//!   isomorphism from SM4's 0x1F5 field to AES's 0x11B one);
//! - `GF2P8AFFINEINVQB` with `A·T⁻¹`, `C`: the inversion in AES's field, the
//!   way back and SM4's output affine map, fused.
//!
//! Both are data-independent instructions (no table, no branch).
//!
//! As in `avx2.rs`, the rounds run in the `P` domain (`P` = the linear part
//! of the first map, applied to every state word), so the first instruction
//! disappears from the round: the S-box input is `s1⊕s2⊕s3⊕(P·rk ⊕ T·C)`.
//! The output side needs `P·L(B)`, and with `L` split bytewise
//! (`L(B) = G0(B) ⊕ G1(B)<<<8 ⊕ G1(B)<<<16 ⊕ G3(B)<<<24`, see
//! `affine::L_G0`) each `P·G_i·B` is one `GF2P8AFFINEINVQB` with the matrix
//! `P·G_i·A·T⁻¹`. A round is three of those, three `VPROLD`s and
//! `VPTERNLOGD`s (three-way XOR), with a dependency chain of four
//! instructions. Blocks are transposed into 32-bit word lanes, 16 blocks per
//! group of four `zmm` registers, and several groups are interleaved.
#![cfg(target_arch = "x86_64")]

use super::affine::{self, Mat};
use super::chain::{self as x86_chain, Chain, ChainKernel};
use core::arch::x86_64::*;
use zeroize::Zeroize;

/// A matrix in the operand layout of GF2P8AFFINEQB: output bit `i` uses the
/// byte `7 - i` of the 64-bit word (Intel SDM, GF2P8AFFINEQB).
const fn gfni_matrix(m: &Mat) -> i64 {
    let mut q = 0u64;
    let mut i = 0;
    while i < 8 {
        q |= (m[i] as u64) << (8 * (7 - i));
        i += 1;
    }
    q as i64
}

/// Into the `P` domain and back (linear).
pub(in crate::sm4) const P_M: i64 = gfni_matrix(&affine::PRE);
pub(in crate::sm4) const P_INV_M: i64 = gfni_matrix(&affine::mat_inv(&affine::PRE));
/// `T·C`, folded into the pre-mapped round keys.
const PRE_C: i32 = affine::PRE_C as i32;

/// `P·G·A·T⁻¹` for the affine-inverse step of term `G`.
const fn h_matrix(g: &Mat) -> i64 {
    gfni_matrix(&affine::mat_mul(
        &affine::mat_mul(&affine::PRE, g),
        &affine::POST_INV,
    ))
}
/// `P·G·C`, the constant of term `G`.
const fn h_const(g: &Mat) -> u8 {
    affine::mat_vec(&affine::mat_mul(&affine::PRE, g), affine::SM4_C)
}
pub(in crate::sm4) const H0_M: i64 = h_matrix(&affine::L_G0);
pub(in crate::sm4) const H1_M: i64 = h_matrix(&affine::L_G1);
pub(in crate::sm4) const H3_M: i64 = h_matrix(&affine::L_G3);
/// All four terms' constants (equal in every byte, so rotations keep them;
/// the two G1 terms cancel) ride on the G0 term.
pub(in crate::sm4) const H0_C: i32 = (h_const(&affine::L_G0) ^ h_const(&affine::L_G3)) as i32;

/// Reverses the bytes of each 32-bit word (SM4 words are big-endian).
const BSWAP32: [u8; 64] = {
    let mut m = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        m[i] = ((i % 16) - (i % 4) + 3 - (i % 4)) as u8;
        i += 1;
    }
    m
};

/// True when this CPU can run the kernel.
pub(in crate::sm4) fn available() -> bool {
    std::arch::is_x86_feature_detected!("gfni")
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
}

#[derive(Clone, Copy)]
struct Consts {
    p: __m512i,
    p_inv: __m512i,
    h0: __m512i,
    h1: __m512i,
    h3: __m512i,
    bswap: __m512i,
}

/// `P·L(τ(a))` from `y = P·a ⊕ T·C` (GB/T 32907 §6.2 in the `P` domain),
/// as `(a, b)` with the result equal to `a ⊕ b`: the caller folds the
/// final XOR into its own three-way XORs.
#[inline(always)]
unsafe fn t_p(y: __m512i, k: &Consts) -> (__m512i, __m512i) {
    // SAFETY: callers enable avx512f, avx512bw and gfni.
    unsafe {
        let t0 = _mm512_gf2p8affineinv_epi64_epi8::<H0_C>(y, k.h0);
        let t1 = _mm512_gf2p8affineinv_epi64_epi8::<0>(y, k.h1);
        let t3 = _mm512_gf2p8affineinv_epi64_epi8::<0>(y, k.h3);
        // 0x96: three-way XOR.
        let a = _mm512_ternarylogic_epi32::<0x96>(
            t0,
            _mm512_rol_epi32::<8>(t1),
            _mm512_rol_epi32::<16>(t1),
        );
        (a, _mm512_rol_epi32::<24>(t3))
    }
}

/// One round on every group: `s[r] ^= P·T(x[r+1] ^ x[r+2] ^ x[r+3] ^ rk)`
/// (indices mod 4; `s = P·x`), given this round's S-box input `y`; leaves
/// the next round's input in `y`, formed as `(s[r+2] ⊕ s[r+3] ⊕ s[r] ⊕ prk')
/// ⊕ f` so the round-to-round chain is gfinv, rotate, two ternary XORs.
#[inline(always)]
unsafe fn round<const G: usize>(
    s: &mut [[__m512i; 4]; G],
    y: &mut [__m512i; G],
    prk_next: u32,
    r: usize,
    k: &Consts,
) {
    // SAFETY: callers enable avx512f, avx512bw and gfni.
    unsafe {
        let pn = _mm512_set1_epi32(prk_next as i32);
        for (sg, yg) in s.iter_mut().zip(y.iter_mut()) {
            let w = _mm512_ternarylogic_epi32::<0x96>(sg[(r + 2) % 4], sg[(r + 3) % 4], pn);
            let w = _mm512_xor_si512(w, sg[r]);
            let (a, b) = t_p(*yg, k);
            sg[r] = _mm512_ternarylogic_epi32::<0x96>(sg[r], a, b);
            *yg = _mm512_ternarylogic_epi32::<0x96>(w, a, b);
        }
    }
}

/// The round keys mapped into the `P` domain with `T·C` folded in (key
/// material: callers zeroize the copy when done).
#[inline(always)]
unsafe fn pre_round_keys(rk: &[u32; 32], k: &Consts) -> [u32; 32] {
    let mut out = [0u32; 32];
    // SAFETY: 2 × 64-byte unaligned loads/stores within the two arrays;
    // callers enable avx512f and gfni.
    unsafe {
        for i in 0..2 {
            let v = _mm512_loadu_si512(rk.as_ptr().add(16 * i).cast());
            let v = _mm512_gf2p8affine_epi64_epi8::<PRE_C>(v, k.p);
            _mm512_storeu_si512(out.as_mut_ptr().add(16 * i).cast(), v);
        }
    }
    out
}

/// Transposes four registers of 4×4 words (per 128-bit lane).
#[inline(always)]
unsafe fn transpose(x: &mut [__m512i; 4]) {
    // SAFETY: callers enable avx512f.
    unsafe {
        let t0 = _mm512_unpacklo_epi32(x[0], x[1]);
        let t1 = _mm512_unpackhi_epi32(x[0], x[1]);
        let t2 = _mm512_unpacklo_epi32(x[2], x[3]);
        let t3 = _mm512_unpackhi_epi32(x[2], x[3]);
        x[0] = _mm512_unpacklo_epi64(t0, t2);
        x[1] = _mm512_unpackhi_epi64(t0, t2);
        x[2] = _mm512_unpacklo_epi64(t1, t3);
        x[3] = _mm512_unpackhi_epi64(t1, t3);
    }
}

/// The 32 rounds on `G` groups of transposed words, with `prk` from
/// [`pre_round_keys`]: into the `P` domain, 32 rounds, back.
#[inline(always)]
unsafe fn rounds<const G: usize>(prk: &[u32; 32], x: &mut [[__m512i; 4]; G], k: &Consts) {
    // SAFETY: features per the caller.
    unsafe {
        for xg in x.iter_mut() {
            for w in xg.iter_mut() {
                *w = _mm512_gf2p8affine_epi64_epi8::<0>(*w, k.p);
            }
        }
        rounds_p::<G>(prk, x, k);
        for xg in x.iter_mut() {
            for w in xg.iter_mut() {
                *w = _mm512_gf2p8affine_epi64_epi8::<0>(*w, k.p_inv);
            }
        }
    }
}

/// The 32 rounds on state already in the `P` domain, left there.
#[inline(always)]
unsafe fn rounds_p<const G: usize>(prk: &[u32; 32], x: &mut [[__m512i; 4]; G], k: &Consts) {
    // SAFETY: features per the caller.
    unsafe {
        let p0 = _mm512_set1_epi32(prk[0] as i32);
        let mut y = [_mm512_setzero_si512(); G];
        for (xg, yg) in x.iter().zip(y.iter_mut()) {
            *yg = _mm512_xor_si512(_mm512_ternarylogic_epi32::<0x96>(xg[1], xg[2], p0), xg[3]);
        }
        let mut i = 0;
        while i < 32 {
            // Four rounds with the words renamed instead of moved. The last
            // round computes an unused next input (key index wraps to 0).
            round::<G>(x, &mut y, prk[i + 1], 0, k);
            round::<G>(x, &mut y, prk[i + 2], 1, k);
            round::<G>(x, &mut y, prk[i + 3], 2, k);
            round::<G>(x, &mut y, prk[(i + 4) % 32], 3, k);
            i += 4;
        }
    }
}

/// Writes the output blocks of `G` groups to `p` (or XORs them into it when
/// `XOR`, for CTR).
///
/// # Safety
/// `p` must be valid for reads and writes of `256 * G` bytes; avx512f and
/// avx512bw enabled.
#[inline(always)]
unsafe fn finish<const G: usize, const XOR: bool>(x: &[[__m512i; 4]; G], p: *mut u8, k: &Consts) {
    // SAFETY: in-bounds unaligned loads/stores per the contract above.
    unsafe {
        for (g, xg) in x.iter().enumerate() {
            // Output words are (X35, X34, X33, X32) = (x3, x2, x1, x0).
            let mut o = [xg[3], xg[2], xg[1], xg[0]];
            transpose(&mut o);
            for (j, v) in o.iter().enumerate() {
                let q = p.add(256 * g + 64 * j);
                let mut v = _mm512_shuffle_epi8(*v, k.bswap);
                if XOR {
                    v = _mm512_xor_si512(v, _mm512_loadu_si512(q.cast()));
                }
                _mm512_storeu_si512(q.cast(), v);
            }
        }
    }
}

/// Encrypts `G` groups of 16 blocks (256·G bytes at `p`) in place.
///
/// # Safety
/// `p` must be valid for reads and writes of `256 * G` bytes; the caller must
/// enable avx512f, avx512bw and gfni.
#[inline(always)]
unsafe fn blocks<const G: usize>(rk: &[u32; 32], p: *mut u8, k: &Consts) {
    // SAFETY: in-bounds unaligned loads per the contract above; features
    // per the contract.
    unsafe {
        let mut x = [[_mm512_setzero_si512(); 4]; G];
        for (g, xg) in x.iter_mut().enumerate() {
            for (j, r) in xg.iter_mut().enumerate() {
                let v = _mm512_loadu_si512(p.add(256 * g + 64 * j).cast());
                *r = _mm512_shuffle_epi8(v, k.bswap);
            }
            transpose(xg);
        }
        rounds::<G>(rk, &mut x, k);
        finish::<G, false>(&x, p, k);
    }
}

/// CTR keystream for `G` groups of 16 consecutive counter blocks, XORed into
/// the 256·G bytes at `p`, built directly in transposed form (see
/// `avx2::ctr_blocks`): word 3 counts up from `c`'s low word, wrapping.
///
/// # Safety
/// As [`blocks`].
#[inline(always)]
unsafe fn ctr_blocks<const G: usize>(rk: &[u32; 32], c: u128, p: *mut u8, k: &Consts) {
    // SAFETY: features and bounds per the contract above.
    unsafe {
        // Lane order after `transpose`: element i of lane l is block 4i + l.
        let offsets = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        let mut x = [[_mm512_setzero_si512(); 4]; G];
        for (g, xg) in x.iter_mut().enumerate() {
            xg[0] = _mm512_set1_epi32((c >> 96) as u32 as i32);
            xg[1] = _mm512_set1_epi32((c >> 64) as u32 as i32);
            xg[2] = _mm512_set1_epi32((c >> 32) as u32 as i32);
            let base = (c as u32).wrapping_add(16 * g as u32);
            xg[3] = _mm512_add_epi32(_mm512_set1_epi32(base as i32), offsets);
        }
        rounds::<G>(rk, &mut x, k);
        finish::<G, true>(&x, p, k);
    }
}

/// `c` advanced by `n` blocks: all 128 bits, or only the low 32 (inc32).
#[inline(always)]
fn advance(c: u128, n: usize, inc32: bool) -> u128 {
    if inc32 {
        (c & !0xffff_ffff) | u128::from((c as u32).wrapping_add(n as u32))
    } else {
        c.wrapping_add(n as u128)
    }
}

/// CTR over the 256·G bytes at `p` starting at counter `c`.
///
/// # Safety
/// As [`blocks`].
#[inline(always)]
unsafe fn ctr_call<const G: usize>(rk: &[u32; 32], c: u128, p: *mut u8, k: &Consts, inc32: bool) {
    let n = 16 * G as u64;
    if inc32 || u64::from(c as u32) + n <= 1 << 32 {
        // SAFETY: per the contract.
        unsafe { ctr_blocks::<G>(rk, c, p, k) }
    } else {
        // A 128-bit counter whose low word carries inside this call (once
        // per 2^32 blocks, decided by the public counter only): spell the
        // counters out and run the block kernel.
        let mut buf = [0u8; 256 * WIDE];
        for (i, b) in buf[..256 * G].chunks_exact_mut(16).enumerate() {
            b.copy_from_slice(&advance(c, i, false).to_be_bytes());
        }
        // SAFETY: `buf` holds at least 256·G bytes; `p` per the contract.
        unsafe {
            blocks::<G>(rk, buf.as_mut_ptr(), k);
            let out = core::slice::from_raw_parts_mut(p, 256 * G);
            for (o, ks) in out.iter_mut().zip(&buf[..256 * G]) {
                *o ^= ks;
            }
        }
        buf.zeroize();
    }
}

/// Groups of 16 blocks per iteration of the main loop (128 blocks, 2 KiB).
/// Measured ECB on Zen 5 (1 MiB): with the textbook round 2 → 3.4 GB/s,
/// 4 → 6.0, 6 → 7.4, 8 → 8.6 (latency bound until the vector ports fill
/// up); with the `P`-domain round 4 → 8.8, 6 → 9.5, 8 → 9.7. The tail
/// dispatch below assumes 8.
const WIDE: usize = 8;

#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn consts() -> Consts {
    // SAFETY: BSWAP32 is 64 readable bytes; unaligned load.
    let bswap = unsafe { _mm512_loadu_si512(BSWAP32.as_ptr().cast()) };
    Consts {
        p: _mm512_set1_epi64(P_M),
        p_inv: _mm512_set1_epi64(P_INV_M),
        h0: _mm512_set1_epi64(H0_M),
        h1: _mm512_set1_epi64(H1_M),
        h3: _mm512_set1_epi64(H3_M),
        bswap,
    }
}

#[target_feature(enable = "avx512f,avx512bw,gfni")]
unsafe fn encrypt_avx512(rk: &[u32; 32], data: &mut [u8]) {
    let k = consts();
    // SAFETY: features enabled here.
    let mut prk = unsafe { pre_round_keys(rk, &k) };
    let rk = &prk;
    let mut chunks = data.chunks_exact_mut(256 * WIDE);
    for c in &mut chunks {
        // SAFETY: `c` is exactly 256·WIDE bytes; features enabled here.
        unsafe { blocks::<WIDE>(rk, c.as_mut_ptr(), &k) };
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        // Fewer than 16·WIDE blocks: one call with just enough groups on a
        // copy padded to whole groups.
        let mut buf = [0u8; 256 * WIDE];
        let groups = tail.len().div_ceil(256);
        buf[..tail.len()].copy_from_slice(tail);
        let p = buf.as_mut_ptr();
        // SAFETY: `buf` holds 256·WIDE ≥ 256·groups bytes; features enabled here.
        unsafe {
            match groups {
                1 => blocks::<1>(rk, p, &k),
                2 => blocks::<2>(rk, p, &k),
                3 => blocks::<3>(rk, p, &k),
                4 => blocks::<4>(rk, p, &k),
                5 => blocks::<5>(rk, p, &k),
                6 => blocks::<6>(rk, p, &k),
                7 => blocks::<7>(rk, p, &k),
                _ => blocks::<8>(rk, p, &k),
            }
        }
        tail.copy_from_slice(&buf[..tail.len()]);
        buf[..256 * groups].zeroize();
    }
    prk.zeroize();
}

#[target_feature(enable = "avx512f,avx512bw,gfni")]
unsafe fn ctr_avx512(rk: &[u32; 32], counter: &mut [u8; 16], data: &mut [u8], inc32: bool) {
    let k = consts();
    // SAFETY: features enabled here.
    let mut prk = unsafe { pre_round_keys(rk, &k) };
    let rk = &prk;
    let mut c = u128::from_be_bytes(*counter);
    let mut chunks = data.chunks_exact_mut(256 * WIDE);
    for chunk in &mut chunks {
        // SAFETY: `chunk` is exactly 256·WIDE bytes; features enabled here.
        unsafe { ctr_call::<WIDE>(rk, c, chunk.as_mut_ptr(), &k, inc32) };
        c = advance(c, 16 * WIDE, inc32);
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        // Any length below 256·WIDE bytes, a partial last block included:
        // XOR the keystream into a zero-padded copy.
        let nblocks = tail.len().div_ceil(16);
        let groups = nblocks.div_ceil(16);
        let mut buf = [0u8; 256 * WIDE];
        buf[..tail.len()].copy_from_slice(tail);
        let p = buf.as_mut_ptr();
        // SAFETY: `buf` holds 256·WIDE ≥ 256·groups bytes; features enabled here.
        unsafe {
            match groups {
                1 => ctr_call::<1>(rk, c, p, &k, inc32),
                2 => ctr_call::<2>(rk, c, p, &k, inc32),
                3 => ctr_call::<3>(rk, c, p, &k, inc32),
                4 => ctr_call::<4>(rk, c, p, &k, inc32),
                5 => ctr_call::<5>(rk, c, p, &k, inc32),
                6 => ctr_call::<6>(rk, c, p, &k, inc32),
                7 => ctr_call::<7>(rk, c, p, &k, inc32),
                _ => ctr_call::<8>(rk, c, p, &k, inc32),
            }
        }
        tail.copy_from_slice(&buf[..tail.len()]);
        buf[..256 * groups].zeroize();
        c = advance(c, nblocks, inc32);
    }
    *counter = c.to_be_bytes();
    prk.zeroize();
}

/// The ZMM kernel's P-domain block operations for the shared chain loop
/// ([`x86_chain::run`]).
struct ZmmChain {
    k: Consts,
    prk: [u32; 32],
}

impl ChainKernel for ZmmChain {
    type Reg = __m512i;

    #[inline(always)]
    unsafe fn p_words(&self, b: &[u8]) -> [__m512i; 4] {
        // SAFETY: callers enable avx512f and gfni.
        unsafe {
            let mut out = [_mm512_setzero_si512(); 4];
            let mut j = 0;
            while j < 4 {
                let w = u32::from_be_bytes([b[4 * j], b[4 * j + 1], b[4 * j + 2], b[4 * j + 3]]);
                out[j] = _mm512_gf2p8affine_epi64_epi8::<0>(_mm512_set1_epi32(w as i32), self.k.p);
                j += 1;
            }
            out
        }
    }

    #[inline(always)]
    unsafe fn xor(a: __m512i, b: __m512i) -> __m512i {
        // SAFETY: callers enable avx512f.
        unsafe { _mm512_xor_si512(a, b) }
    }

    #[inline(always)]
    unsafe fn encrypt_p(&self, s: [__m512i; 4]) -> [__m512i; 4] {
        let mut x = [s];
        // SAFETY: features per the caller.
        unsafe { rounds_p::<1>(&self.prk, &mut x, &self.k) };
        [x[0][3], x[0][2], x[0][1], x[0][0]]
    }

    #[inline(always)]
    unsafe fn word(&self, e: __m512i) -> u32 {
        // SAFETY: features per the caller.
        unsafe {
            let w = _mm512_gf2p8affine_epi64_epi8::<0>(e, self.k.p_inv);
            _mm_cvtsi128_si32(_mm512_castsi512_si128(w)) as u32
        }
    }

    fn wipe(&mut self) {
        self.prk.zeroize();
    }
}

/// A sequential mode over whole blocks: the shared [`x86_chain::run`] loop
/// compiled with the AVX-512 + GFNI features.
#[target_feature(enable = "avx512f,avx512bw,gfni")]
unsafe fn chain_avx512(rk: &[u32; 32], reg: &mut [u8; 16], data: &mut [u8], mode: Chain) {
    let k = consts();
    // SAFETY: features enabled here; all data access is through slices.
    unsafe {
        let prk = pre_round_keys(rk, &k);
        let mut kernel = ZmmChain { k, prk };
        x86_chain::run(&mut kernel, reg, data, mode);
    }
}

/// Runs a sequential mode ([`Chain`]) over the whole blocks of `data` in
/// place, with `reg` the IV / feedback register on entry and the value to
/// continue from on return. A trailing partial block is left untouched.
///
/// # Safety
/// [`available`] must have returned true.
pub(in crate::sm4) unsafe fn chain(
    rk: &[u32; 32],
    reg: &mut [u8; 16],
    data: &mut [u8],
    mode: Chain,
) {
    // SAFETY: the caller checked `available()`.
    unsafe { chain_avx512(rk, reg, data, mode) }
}

/// Applies the SM4 rounds with round keys `rk` to every 16-byte block of
/// `data` in place (decryption is the same with the keys reversed).
///
/// # Safety
/// [`available`] must have returned true. `data.len()` must be a multiple of
/// 16 (a trailing partial block is left untouched).
pub(in crate::sm4) unsafe fn encrypt_blocks(rk: &[u32; 32], data: &mut [u8]) {
    debug_assert_eq!(data.len() % 16, 0);
    let n = data.len() - data.len() % 16;
    // SAFETY: the caller checked `available()`.
    unsafe { encrypt_avx512(rk, &mut data[..n]) }
}

/// XORs the SM4-CTR keystream into `data` (any length; a final partial block
/// uses a prefix of its keystream block), incrementing `counter` as a 128-bit
/// big-endian integer per block and leaving it at the next unused block.
///
/// # Safety
/// [`available`] must have returned true.
pub(in crate::sm4) unsafe fn ctr128_xor(rk: &[u32; 32], counter: &mut [u8; 16], data: &mut [u8]) {
    // SAFETY: the caller checked `available()`.
    unsafe { ctr_avx512(rk, counter, data, false) }
}

/// As [`ctr128_xor`] with only the low 32 bits of the counter incremented,
/// wrapping (NIST SP 800-38D inc32, for GCM).
///
/// # Safety
/// [`available`] must have returned true.
pub(in crate::sm4) unsafe fn ctr32_xor(rk: &[u32; 32], counter: &mut [u8; 16], data: &mut [u8]) {
    // SAFETY: the caller checked `available()`.
    unsafe { ctr_avx512(rk, counter, data, true) }
}

#[cfg(test)]
mod tests {
    use super::super::avx2::reference::*;
    use super::*;

    /// The plain S-box pipeline (without the `P`-domain rewrite).
    const PRE_M: i64 = gfni_matrix(&affine::PRE);
    const POST_M: i64 = gfni_matrix(&affine::POST_INV);
    const POST_C: i32 = affine::SM4_C as i32;

    #[test]
    fn gfni_sbox_matches_table() {
        if !available() {
            return;
        }
        #[target_feature(enable = "avx512f,avx512bw,gfni")]
        fn sbox_all() -> [u8; 256] {
            let mut out = [0u8; 256];
            for (c, chunk) in out.chunks_exact_mut(64).enumerate() {
                let idx: [u8; 64] = core::array::from_fn(|i| (64 * c + i) as u8);
                // SAFETY: 64-byte unaligned load/store of local arrays.
                unsafe {
                    let x = _mm512_loadu_si512(idx.as_ptr().cast());
                    let y = _mm512_gf2p8affine_epi64_epi8::<PRE_C>(x, _mm512_set1_epi64(PRE_M));
                    let s =
                        _mm512_gf2p8affineinv_epi64_epi8::<POST_C>(y, _mm512_set1_epi64(POST_M));
                    _mm512_storeu_si512(chunk.as_mut_ptr().cast(), s);
                }
            }
            out
        }
        // SAFETY: features checked above.
        assert_eq!(unsafe { sbox_all() }, SBOX);
    }

    #[test]
    fn gfni_kernel_matches_reference() {
        if !available() {
            return;
        }
        check_kernel(encrypt_blocks);
    }

    #[test]
    fn gfni_chain_matches_reference() {
        if !available() {
            return;
        }
        check_chain(chain);
    }

    #[test]
    fn gfni_ctr_matches_reference() {
        if !available() {
            return;
        }
        check_ctr(ctr128_xor, ctr32_xor);
    }
}
