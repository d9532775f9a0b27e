//! ZUC's S-boxes on x86-64: AVX2 (`VPSHUFB` over every 16-entry row) and AVX-512 VBMI
//! (`VPERMI2B` over the whole table held in registers). Neither indexes memory with a
//! secret; [`super`] picks one when a [`super::Zuc`] is created.

use core::arch::x86_64::*;

/// Row h of both tables side by side: bytes 0..16 are S0[16h..16h+16],
/// bytes 16..32 are S1[16h..16h+16] (one 256-bit register per row; VPSHUFB
/// looks up within each 128-bit lane).
#[repr(align(32))]
struct Rows([[u8; 32]; 16]);

const ROWS: Rows = {
    let mut r = [[0u8; 32]; 16];
    let mut h = 0;
    while h < 16 {
        let mut i = 0;
        while i < 16 {
            r[h][i] = super::S0[16 * h + i];
            r[h][16 + i] = super::S1[16 * h + i];
            i += 1;
        }
        h += 1;
    }
    Rows(r)
};

/// S(u), S(v) for all eight bytes at once. The eight input bytes are put
/// in both lanes; lane 0 yields S0 of each byte, lane 1 S1 of each byte,
/// and the bytes S prescribes are picked from each with constant masks.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn sbox_avx2(u: u32, v: u32) -> (u32, u32) {
    let x = u64::from(u) | (u64::from(v) << 32);
    let xv = _mm256_set1_epi64x(x as i64);
    let nib = _mm256_set1_epi8(0x0f);
    let lo = _mm256_and_si256(xv, nib);
    let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(xv), nib);
    let mut acc = _mm256_setzero_si256();
    let mut h = 0;
    while h < 16 {
        // SAFETY: ROWS.0[h] is 32 readable bytes, aligned to 32 (the
        // struct is align(32) and each row is 32 bytes); h < 16.
        let row = unsafe { _mm256_load_si256(ROWS.0[h].as_ptr() as *const __m256i) };
        let hit = _mm256_cmpeq_epi8(hi, _mm256_set1_epi8(h as i8));
        acc = _mm256_or_si256(acc, _mm256_and_si256(_mm256_shuffle_epi8(row, lo), hit));
        h += 1;
    }
    let s0 = _mm256_extract_epi64::<0>(acc) as u64;
    let s1 = _mm256_extract_epi64::<2>(acc) as u64;
    // Bytes 3 and 1 of each word take S0, bytes 2 and 0 take S1.
    let r = (s0 & 0xff00_ff00_ff00_ff00) | (s1 & 0x00ff_00ff_00ff_00ff);
    (r as u32, (r >> 32) as u32)
}

/// A quarter (64 entries) of an S-box, aligned for a 512-bit load.
#[repr(align(64))]
struct Quarter([u8; 64]);

const fn quarters(t: &[u8; 256]) -> [Quarter; 4] {
    let mut q = [[0u8; 64]; 4];
    let mut i = 0;
    while i < 256 {
        q[i / 64][i % 64] = t[i];
        i += 1;
    }
    [Quarter(q[0]), Quarter(q[1]), Quarter(q[2]), Quarter(q[3])]
}

static S0_Q: [Quarter; 4] = quarters(&super::S0);
static S1_Q: [Quarter; 4] = quarters(&super::S1);

/// S(u), S(v) with AVX-512 VBMI: `VPERMI2B` looks every byte up in a
/// 128-entry table held in two registers (index bits 0-6), once for each
/// half of the 256-entry S-box, and bit 7 of the index picks the half
/// with a mask blend. The tables are registers, not memory indexed by
/// the secret: constant time, about a dozen instructions for all eight
/// lookups.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
pub(super) fn sbox_vbmi(u: u32, v: u32) -> (u32, u32) {
    let x = _mm512_set1_epi64((u64::from(u) | (u64::from(v) << 32)) as i64);
    let load = |q: &Quarter| {
        // SAFETY: `q` is 64 readable bytes aligned to 64 (repr(align(64))).
        unsafe { _mm512_load_si512(q.0.as_ptr() as *const __m512i) }
    };
    let high = _mm512_movepi8_mask(x);
    let s0 = _mm512_mask_blend_epi8(
        high,
        _mm512_permutex2var_epi8(load(&S0_Q[0]), x, load(&S0_Q[1])),
        _mm512_permutex2var_epi8(load(&S0_Q[2]), x, load(&S0_Q[3])),
    );
    let s1 = _mm512_mask_blend_epi8(
        high,
        _mm512_permutex2var_epi8(load(&S1_Q[0]), x, load(&S1_Q[1])),
        _mm512_permutex2var_epi8(load(&S1_Q[2]), x, load(&S1_Q[3])),
    );
    // Little-endian lanes: odd bytes (bits 31-24 and 15-8 of each word)
    // take S0, even bytes S1.
    let r = _mm512_mask_blend_epi8(0xaa, s1, s0);
    let r = _mm_cvtsi128_si64(_mm512_castsi512_si128(r)) as u64;
    (r as u32, (r >> 32) as u32)
}
