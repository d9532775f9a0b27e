//! SM4 on x86-64 with GFNI and AVX-512, constant time.
//!
//! The S-box `S(x) = A·I(A·x ⊕ C) ⊕ C` (GB/T 32907; see `x86_aesni` for the
//! derivation) becomes two instructions on 64 bytes at once:
//!
//! - `GF2P8AFFINEQB` with `T·A`, `T·C`: into AES's field (T is a field
//!   isomorphism from SM4's 0x1F5 field to AES's 0x11B one);
//! - `GF2P8AFFINEINVQB` with `A·T⁻¹`, `C`: the inversion in AES's field, the
//!   way back and SM4's output affine map, fused.
//!
//! Both are data-independent instructions (no table, no branch). The linear
//! map `L` uses `VPROLD` and `VPTERNLOGD` (three-way XOR). Blocks are
//! transposed into 32-bit word lanes, 16 blocks per group of four `zmm`
//! registers, and several groups are interleaved to hide latency.
#![cfg(target_arch = "x86_64")]

use super::x86_aesni::affine::{self, Mat};
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

const PRE_M: i64 = gfni_matrix(&affine::PRE);
const PRE_C: i32 = affine::PRE_C as i32;
const POST_M: i64 = gfni_matrix(&affine::POST_INV);
const POST_C: i32 = affine::SM4_C as i32;

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
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("gfni")
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
}

#[derive(Clone, Copy)]
struct Consts {
    pre: __m512i,
    post: __m512i,
    bswap: __m512i,
}

/// `L(τ(x))` on 16 word lanes (GB/T 32907 §6.2), XORed into `x0`.
#[inline(always)]
unsafe fn t_xor(x0: __m512i, x: __m512i, k: &Consts) -> __m512i {
    // SAFETY: callers enable avx512f, avx512bw and gfni.
    unsafe {
        let y = _mm512_gf2p8affine_epi64_epi8::<PRE_C>(x, k.pre);
        let b = _mm512_gf2p8affineinv_epi64_epi8::<POST_C>(y, k.post);
        // 0x96: three-way XOR. Two independent halves keep the chain short.
        let t1 = _mm512_ternarylogic_epi32::<0x96>(x0, b, _mm512_rol_epi32::<24>(b));
        let t2 = _mm512_ternarylogic_epi32::<0x96>(
            _mm512_rol_epi32::<2>(b),
            _mm512_rol_epi32::<10>(b),
            _mm512_rol_epi32::<18>(b),
        );
        _mm512_xor_si512(t1, t2)
    }
}

/// One round on every group: `x[r] ^= T(x[r+1] ^ x[r+2] ^ x[r+3] ^ rk)`.
#[inline(always)]
unsafe fn round<const G: usize>(x: &mut [[__m512i; 4]; G], rk: u32, r: usize, k: &Consts) {
    // SAFETY: callers enable avx512f, avx512bw and gfni.
    unsafe {
        let rki = _mm512_set1_epi32(rk as i32);
        for xg in x.iter_mut() {
            // x[r+3] was written by the previous round: XOR it in last.
            let a = _mm512_ternarylogic_epi32::<0x96>(xg[(r + 1) % 4], xg[(r + 2) % 4], rki);
            let a = _mm512_xor_si512(a, xg[(r + 3) % 4]);
            xg[r] = t_xor(xg[r], a, k);
        }
    }
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

/// The 32 rounds on `G` groups of transposed words.
#[inline(always)]
unsafe fn rounds<const G: usize>(rk: &[u32; 32], x: &mut [[__m512i; 4]; G], k: &Consts) {
    let mut i = 0;
    while i < 32 {
        // Four rounds with the words renamed instead of moved.
        // SAFETY: features per the caller.
        unsafe {
            round::<G>(x, rk[i], 0, k);
            round::<G>(x, rk[i + 1], 1, k);
            round::<G>(x, rk[i + 2], 2, k);
            round::<G>(x, rk[i + 3], 3, k);
        }
        i += 4;
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
/// `x86_aesni::ctr_blocks`): word 3 counts up from `c`'s low word, wrapping.
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
/// Measured on Zen 5: 2 → 3.4 GB/s, 4 → 6.0, 6 → 7.4, 8 → 8.6 (latency bound
/// until the vector ports fill up). The tail dispatch below assumes 8.
const WIDE: usize = 8;

#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn consts() -> Consts {
    // SAFETY: BSWAP32 is 64 readable bytes; unaligned load.
    let bswap = unsafe { _mm512_loadu_si512(BSWAP32.as_ptr().cast()) };
    Consts {
        pre: _mm512_set1_epi64(PRE_M),
        post: _mm512_set1_epi64(POST_M),
        bswap,
    }
}

#[target_feature(enable = "avx512f,avx512bw,gfni")]
unsafe fn encrypt_avx512(rk: &[u32; 32], data: &mut [u8]) {
    let k = consts();
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
}

#[target_feature(enable = "avx512f,avx512bw,gfni")]
unsafe fn ctr_avx512(rk: &[u32; 32], counter: &mut [u8; 16], data: &mut [u8], inc32: bool) {
    let k = consts();
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
}

/// Applies the SM4 rounds with round keys `rk` to every 16-byte block of
/// `data` in place (decryption is the same with the keys reversed).
///
/// # Safety
/// [`available`] must have returned true. `data.len()` must be a multiple of
/// 16 (a trailing partial block is left untouched).
pub(super) unsafe fn encrypt_blocks(rk: &[u32; 32], data: &mut [u8]) {
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
pub(super) unsafe fn ctr128_xor(rk: &[u32; 32], counter: &mut [u8; 16], data: &mut [u8]) {
    // SAFETY: the caller checked `available()`.
    unsafe { ctr_avx512(rk, counter, data, false) }
}

/// As [`ctr128_xor`] with only the low 32 bits of the counter incremented,
/// wrapping (NIST SP 800-38D inc32, for GCM).
///
/// # Safety
/// [`available`] must have returned true.
pub(super) unsafe fn ctr32_xor(rk: &[u32; 32], counter: &mut [u8; 16], data: &mut [u8]) {
    // SAFETY: the caller checked `available()`.
    unsafe { ctr_avx512(rk, counter, data, true) }
}

#[cfg(test)]
mod tests {
    use super::super::x86_aesni::reference::*;
    use super::*;

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
    fn gfni_ctr_matches_reference() {
        if !available() {
            return;
        }
        check_ctr(ctr128_xor, ctr32_xor);
    }
}
