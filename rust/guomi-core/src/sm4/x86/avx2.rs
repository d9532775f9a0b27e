//! SM4 on x86-64 with AES-NI and AVX2 (VAES when present), constant time.
//!
//! # The S-box without a table
//!
//! GB/T 32907's S-box is `S(x) = A·I(A·x ⊕ C) ⊕ C` where `I` is inversion in
//! GF(2^8) modulo `x^8+x^7+x^6+x^5+x^4+x^2+1` (0x1F5), `A` is the circulant
//! 8×8 bit matrix whose rows are `0xA7` rotated and `C = 0xD3` (Liu et al.,
//! "Structural properties of the SM4 S-box"). Inversion commutes with any
//! field isomorphism `T` from SM4's field to AES's (0x11B), and the AES S-box
//! is `SA(z) = Aaes·I_aes(z) ⊕ 0x63`, so
//!
//! ```text
//! S(x) = POST·SA(PRE·x ⊕ PRE_C) ⊕ POST_C
//!   PRE  = T·A               PRE_C  = T·C
//!   POST = A·T⁻¹·Aaes⁻¹      POST_C = POST·0x63 ⊕ C
//! ```
//!
//! `SA` on 16 bytes at once is `AESENCLAST` with a zero round key (its
//! ShiftRows is undone by byte shuffles). Affine maps are evaluated with
//! `PSHUFB` on two 16-entry tables (low and high nibble): the tables are
//! compile-time constants held in registers and the secret bytes only select
//! lanes inside a register, so there is no secret-dependent memory access or
//! branch anywhere. The matrices are derived below by `const fn`s from the
//! standard's `A`, `C` and the two field polynomials (no hard-coded magic);
//! the unit tests check them against the standard's S-box table.
//!
//! # The round in the `P` domain
//!
//! Let `P` be PRE's linear part. The kernel keeps `s = P·x` for every state
//! word instead of `x`, so the S-box input `PRE·(x1⊕x2⊕x3⊕rk) ⊕ PRE_C` is
//! just `s1⊕s2⊕s3⊕prk` with `prk = P·rk ⊕ PRE_C` mapped once per call. On
//! the output side `P·L(B)` with `B = POST·z ⊕ POST_C` is linear in the bytes
//! of `z`: splitting `L(B) = B ⊕ B<<<2 ⊕ B<<<10 ⊕ B<<<18 ⊕ B<<<24` by source
//! byte gives `G0(B) ⊕ G1(B)<<<8 ⊕ G1(B)<<<16 ⊕ G3(B)<<<24` with bytewise
//! maps `G0 = 1 ⊕ (<<2)`, `G1 = (<<2) ⊕ (>>6)`, `G3 = 1 ⊕ (>>6)`. So a round is
//! AESENCLAST, three nibble-table pairs `H_i = P·G_i·POST` and four byte
//! shuffles (rotation and inverse ShiftRows in one), with no 32-bit shifts:
//! 24 vector operations and a dependency chain of about 10, against 28 and
//! 16 for the textbook order (affine, AESENCLAST, affine, then `L`). Words
//! go back through `P⁻¹` after the last round.
//!
//! # Parallelism
//!
//! Blocks are loaded four to a 128-bit lane set, byte-swapped to native
//! words and transposed so that each register holds word `j` of 8 blocks
//! (two 128-bit lanes × 4). A round `X4 = X0 ⊕ T(X1⊕X2⊕X3⊕rk)` then works
//! on 8 blocks per instruction. Several such 8-block groups are interleaved
//! to hide the latency of AESENCLAST and of the round's dependency chain.
//! CTR builds its counter blocks directly in that transposed form.
//!
//! Without VAES the same 256-bit kernel runs AESENCLAST on each 128-bit half.
//! On a CPU with GFNI but without AVX-512 (Intel client cores from Alder Lake
//! on, Sierra Forest) the same machinery runs `avx512.rs`'s round on 256-bit
//! registers instead (measured here: 3.7 GB/s against 1.9 for AESENCLAST);
//! where AVX-512 is present the `avx512.rs` path is the one chosen, and this
//! one stays on AESENCLAST, the path of machines without GFNI.
#![cfg(target_arch = "x86_64")]

use super::affine;
use super::chain::{self as x86_chain, Chain, ChainKernel};
use core::arch::x86_64::*;
use zeroize::Zeroize;

/// Byte-shuffle masks (two 128-bit lanes each).
mod masks {
    const fn repeat(lane: [u8; 16]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            out[i] = lane[i % 16];
            i += 1;
        }
        out
    }

    /// Reverses the bytes of each 32-bit word (SM4 words are big-endian).
    pub(in crate::sm4) const BSWAP32: [u8; 32] = {
        let mut lane = [0u8; 16];
        let mut i = 0;
        while i < 16 {
            lane[i] = (i - i % 4 + 3 - i % 4) as u8;
            i += 1;
        }
        repeat(lane)
    };

    /// Undoes AESENCLAST's ShiftRows (state byte `r + 4c`, FIPS 197 §5.1.2)
    /// and then rotates every 32-bit word left by `8·n` bits.
    const fn inv_shift_rows_rol(n: usize) -> [u8; 32] {
        let mut lane = [0u8; 16];
        let mut i = 0;
        while i < 16 {
            // Rotation: output byte k of a word is input byte (k - n) mod 4.
            let w = i / 4;
            let k = i % 4;
            let j = 4 * w + (k + 4 - n) % 4;
            // ShiftRows put original byte (r, c) at (r, c - r); fetch it back.
            let r = j % 4;
            let c = j / 4;
            lane[i] = (r + 4 * ((c + 4 - r) % 4)) as u8;
            i += 1;
        }
        repeat(lane)
    }
    /// Rotates every 32-bit word left by `8·n` bits (no ShiftRows).
    const fn rol(n: usize) -> [u8; 32] {
        let mut lane = [0u8; 16];
        let mut i = 0;
        while i < 16 {
            lane[i] = (4 * (i / 4) + (i % 4 + 4 - n) % 4) as u8;
            i += 1;
        }
        repeat(lane)
    }
    pub(in crate::sm4) const ROL8: [u8; 32] = rol(1);
    pub(in crate::sm4) const ROL16: [u8; 32] = rol(2);
    pub(in crate::sm4) const ROL24: [u8; 32] = rol(3);
    pub(in crate::sm4) const ISR: [u8; 32] = inv_shift_rows_rol(0);
    pub(in crate::sm4) const ISR_ROL8: [u8; 32] = inv_shift_rows_rol(1);
    pub(in crate::sm4) const ISR_ROL16: [u8; 32] = inv_shift_rows_rol(2);
    pub(in crate::sm4) const ISR_ROL24: [u8; 32] = inv_shift_rows_rol(3);
}

/// The round works on `P·x` instead of `x` (P = the linear part of PRE):
/// `PRE·(x1⊕x2⊕x3⊕rk) ⊕ PRE_C` is then a plain XOR of the state and a
/// pre-mapped round key, and the output side computes `P·L(POST·z ⊕ POST_C)`
/// straight from AESENCLAST's output `z` with three table pairs
/// `H_i = P·G_i·POST` (see [`affine::L_G0`]) and four byte shuffles.
const fn h_matrix(g: &affine::Mat) -> affine::Mat {
    affine::mat_mul(&affine::mat_mul(&affine::PRE, g), &affine::POST_AES)
}
const fn h_const(g: &affine::Mat) -> u8 {
    affine::mat_vec(&affine::mat_mul(&affine::PRE, g), affine::POST_AES_C)
}
/// `H0` carries the constants of all four terms (every byte of a term gets
/// the same constant, so rotations do not move it; the two G1 terms cancel).
const H0_TABLES: ([u8; 32], [u8; 32]) = affine::nibble_tables(
    &h_matrix(&affine::L_G0),
    h_const(&affine::L_G0) ^ h_const(&affine::L_G3),
);
const H1_TABLES: ([u8; 32], [u8; 32]) = affine::nibble_tables(&h_matrix(&affine::L_G1), 0);
const H3_TABLES: ([u8; 32], [u8; 32]) = affine::nibble_tables(&h_matrix(&affine::L_G3), 0);
/// Into and out of the `P` domain (linear, no constant).
const P_TABLES: ([u8; 32], [u8; 32]) = affine::nibble_tables(&affine::PRE, 0);
const P_INV_TABLES: ([u8; 32], [u8; 32]) = affine::nibble_tables(&affine::mat_inv(&affine::PRE), 0);

/// True when this CPU can run the kernel (AES-NI and AVX2; VAES is optional).
pub(in crate::sm4) fn available() -> bool {
    std::arch::is_x86_feature_detected!("aes") && std::arch::is_x86_feature_detected!("avx2")
}

/// The constants of the round function, loaded once per call.
#[derive(Clone, Copy)]
struct Consts {
    m0f: __m256i,
    h0: (__m256i, __m256i),
    h1: (__m256i, __m256i),
    h3: (__m256i, __m256i),
    p: (__m256i, __m256i),
    p_inv: (__m256i, __m256i),
    isr: __m256i,
    isr8: __m256i,
    isr16: __m256i,
    isr24: __m256i,
    bswap: __m256i,
    g: GfConsts,
}

/// The GFNI-on-AVX2 round's constants (matrices from `avx512.rs`).
#[derive(Clone, Copy)]
struct GfConsts {
    p: __m256i,
    p_inv: __m256i,
    h0: __m256i,
    h1: __m256i,
    h3: __m256i,
    rol8: __m256i,
    rol16: __m256i,
    rol24: __m256i,
}

impl Consts {
    #[inline(always)]
    fn load() -> Self {
        #[inline(always)]
        fn ld(a: &[u8; 32]) -> __m256i {
            // SAFETY: `a` is 32 readable bytes; the unaligned load has no
            // alignment requirement. AVX is implied by every caller's AVX2.
            unsafe { _mm256_loadu_si256(a.as_ptr().cast()) }
        }
        fn pair(t: &([u8; 32], [u8; 32])) -> (__m256i, __m256i) {
            (ld(&t.0), ld(&t.1))
        }
        Consts {
            // SAFETY: AVX is enabled in every caller (they all require AVX2).
            m0f: unsafe { _mm256_set1_epi8(0x0f) },
            h0: pair(&H0_TABLES),
            h1: pair(&H1_TABLES),
            h3: pair(&H3_TABLES),
            p: pair(&P_TABLES),
            p_inv: pair(&P_INV_TABLES),
            isr: ld(&masks::ISR),
            isr8: ld(&masks::ISR_ROL8),
            isr16: ld(&masks::ISR_ROL16),
            isr24: ld(&masks::ISR_ROL24),
            bswap: ld(&masks::BSWAP32),
            g: {
                use super::avx512::{H0_M, H1_M, H3_M, P_INV_M, P_M};
                // SAFETY: AVX is enabled in every caller.
                let q = |m: i64| unsafe { _mm256_set1_epi64x(m) };
                GfConsts {
                    p: q(P_M),
                    p_inv: q(P_INV_M),
                    h0: q(H0_M),
                    h1: q(H1_M),
                    h3: q(H3_M),
                    rol8: ld(&masks::ROL8),
                    rol16: ld(&masks::ROL16),
                    rol24: ld(&masks::ROL24),
                }
            },
        }
    }
}

/// A bytewise linear/affine map by nibble tables: `lo[x & 15] ⊕ hi[x >> 4]`.
#[inline(always)]
unsafe fn nibble_map(x: __m256i, t: (__m256i, __m256i), m0f: __m256i) -> __m256i {
    // SAFETY: callers enable avx2.
    unsafe {
        let lo = _mm256_and_si256(x, m0f);
        let hi = _mm256_and_si256(_mm256_srli_epi32::<4>(x), m0f);
        _mm256_xor_si256(_mm256_shuffle_epi8(t.0, lo), _mm256_shuffle_epi8(t.1, hi))
    }
}

/// The round keys mapped into the `P` domain with PRE's constant folded in
/// (key material: callers zeroize the copy when done):
/// `P·rk ⊕ PRE_C` in every byte.
#[inline(always)]
unsafe fn pre_round_keys<E: Path>(rk: &[u32; 32], k: &Consts) -> [u32; 32] {
    let mut out = [0u32; 32];
    // SAFETY: 4 × 32-byte unaligned loads/stores within the two arrays;
    // callers enable avx2 and what `E` needs.
    unsafe {
        let c = _mm256_set1_epi8(affine::PRE_C as i8);
        for i in 0..4 {
            let v = _mm256_loadu_si256(rk.as_ptr().add(8 * i).cast());
            let v = _mm256_xor_si256(E::p(v, k), c);
            _mm256_storeu_si256(out.as_mut_ptr().add(8 * i).cast(), v);
        }
    }
    out
}

/// How a 256-bit AESENCLAST with a zero key is done.
trait EncLast {
    /// `SubBytes(ShiftRows(x))` on each 128-bit lane.
    ///
    /// # Safety
    /// The caller must have enabled the features the implementation uses.
    unsafe fn enclast(x: __m256i) -> __m256i;
}

/// VAES: one instruction for both lanes.
struct Vaes;
impl EncLast for Vaes {
    #[inline(always)]
    unsafe fn enclast(x: __m256i) -> __m256i {
        // SAFETY: only reached from `encrypt_vaes`, which enables vaes+avx2.
        unsafe { _mm256_aesenclast_epi128(x, _mm256_setzero_si256()) }
    }
}

/// AES-NI only: split into halves.
struct Split;
impl EncLast for Split {
    #[inline(always)]
    unsafe fn enclast(x: __m256i) -> __m256i {
        // SAFETY: only reached from `encrypt_avx2`, which enables aes+avx2.
        unsafe {
            let z = _mm_setzero_si128();
            let lo = _mm_aesenclast_si128(_mm256_castsi256_si128(x), z);
            let hi = _mm_aesenclast_si128(_mm256_extracti128_si256::<1>(x), z);
            _mm256_set_m128i(hi, lo)
        }
    }
}

/// What the generic 256-bit machinery needs from a round implementation:
/// the map into and out of the `P` domain and the round's output side.
trait Path {
    /// `P·x` bytewise.
    ///
    /// # Safety
    /// The caller must have enabled the features the implementation uses.
    unsafe fn p(x: __m256i, k: &Consts) -> __m256i;
    /// `P⁻¹·x` bytewise.
    ///
    /// # Safety
    /// As [`Path::p`].
    unsafe fn p_inv(x: __m256i, k: &Consts) -> __m256i;
    /// `P·L(τ(a))` from `y = P·a ⊕ PRE_C`.
    ///
    /// # Safety
    /// As [`Path::p`].
    unsafe fn t_p(y: __m256i, k: &Consts) -> __m256i;
}

impl Path for Vaes {
    #[inline(always)]
    unsafe fn p(x: __m256i, k: &Consts) -> __m256i {
        // SAFETY: per the trait contract.
        unsafe { nibble_map(x, k.p, k.m0f) }
    }
    #[inline(always)]
    unsafe fn p_inv(x: __m256i, k: &Consts) -> __m256i {
        // SAFETY: per the trait contract.
        unsafe { nibble_map(x, k.p_inv, k.m0f) }
    }
    #[inline(always)]
    unsafe fn t_p(y: __m256i, k: &Consts) -> __m256i {
        // SAFETY: per the trait contract.
        unsafe { t_p_aes::<Self>(y, k) }
    }
}

impl Path for Split {
    #[inline(always)]
    unsafe fn p(x: __m256i, k: &Consts) -> __m256i {
        // SAFETY: per the trait contract.
        unsafe { nibble_map(x, k.p, k.m0f) }
    }
    #[inline(always)]
    unsafe fn p_inv(x: __m256i, k: &Consts) -> __m256i {
        // SAFETY: per the trait contract.
        unsafe { nibble_map(x, k.p_inv, k.m0f) }
    }
    #[inline(always)]
    unsafe fn t_p(y: __m256i, k: &Consts) -> __m256i {
        // SAFETY: per the trait contract.
        unsafe { t_p_aes::<Self>(y, k) }
    }
}

/// GFNI on 256-bit registers, for CPUs that have GFNI but not AVX-512
/// (Intel's client cores from Alder Lake on, Sierra Forest): the same
/// `P`-domain round as `avx512.rs` (three GF2P8AFFINEINVQB), with the byte
/// rotations as PSHUFB and plain XORs, 8 blocks per group.
struct GfniYmm;
impl Path for GfniYmm {
    #[inline(always)]
    unsafe fn p(x: __m256i, k: &Consts) -> __m256i {
        // SAFETY: only reached from the `gfni,avx2` wrappers.
        unsafe { _mm256_gf2p8affine_epi64_epi8::<0>(x, k.g.p) }
    }
    #[inline(always)]
    unsafe fn p_inv(x: __m256i, k: &Consts) -> __m256i {
        // SAFETY: only reached from the `gfni,avx2` wrappers.
        unsafe { _mm256_gf2p8affine_epi64_epi8::<0>(x, k.g.p_inv) }
    }
    #[inline(always)]
    unsafe fn t_p(y: __m256i, k: &Consts) -> __m256i {
        use super::avx512::H0_C;
        // SAFETY: only reached from the `gfni,avx2` wrappers.
        unsafe {
            let t0 = _mm256_gf2p8affineinv_epi64_epi8::<H0_C>(y, k.g.h0);
            let t1 = _mm256_gf2p8affineinv_epi64_epi8::<0>(y, k.g.h1);
            let t3 = _mm256_gf2p8affineinv_epi64_epi8::<0>(y, k.g.h3);
            let a = _mm256_xor_si256(
                _mm256_xor_si256(t0, _mm256_shuffle_epi8(t1, k.g.rol8)),
                _mm256_shuffle_epi8(t1, k.g.rol16),
            );
            _mm256_xor_si256(a, _mm256_shuffle_epi8(t3, k.g.rol24))
        }
    }
}

/// `P·L(τ(a))` given `y = P·a ⊕ PRE_C` (GB/T 32907 §6.2, in the `P`
/// domain): AESENCLAST, three nibble-table pairs, four positioning shuffles.
#[inline(always)]
unsafe fn t_p_aes<E: EncLast>(y: __m256i, k: &Consts) -> __m256i {
    // SAFETY: callers enable avx2 (and aes/vaes as `E` needs).
    unsafe {
        let z = E::enclast(y);
        let lo = _mm256_and_si256(z, k.m0f);
        let hi = _mm256_and_si256(_mm256_srli_epi32::<4>(z), k.m0f);
        let t0 = _mm256_xor_si256(
            _mm256_shuffle_epi8(k.h0.0, lo),
            _mm256_shuffle_epi8(k.h0.1, hi),
        );
        let t1 = _mm256_xor_si256(
            _mm256_shuffle_epi8(k.h1.0, lo),
            _mm256_shuffle_epi8(k.h1.1, hi),
        );
        let t3 = _mm256_xor_si256(
            _mm256_shuffle_epi8(k.h3.0, lo),
            _mm256_shuffle_epi8(k.h3.1, hi),
        );
        // The t's are still in ShiftRows order; each shuffle puts bytes back
        // and applies the term's rotation at once.
        let u = _mm256_xor_si256(
            _mm256_shuffle_epi8(t0, k.isr),
            _mm256_shuffle_epi8(t1, k.isr8),
        );
        let v = _mm256_xor_si256(
            _mm256_shuffle_epi8(t1, k.isr16),
            _mm256_shuffle_epi8(t3, k.isr24),
        );
        _mm256_xor_si256(u, v)
    }
}

/// One round on every group: `s[r] ^= P·T(x[r+1] ^ x[r+2] ^ x[r+3] ^ rk)`
/// (indices mod 4; `s = P·x`), GB/T 32907 §7.1, given the S-box input `y`
/// of this round; returns the next round's input. The next input is formed
/// as `(s[r+2] ⊕ s[r+3] ⊕ s[r] ⊕ prk') ⊕ f` rather than from the updated
/// `s[r]`, which takes one XOR off the round-to-round dependency chain.
#[inline(always)]
unsafe fn round<E: Path, const G: usize>(
    s: &mut [[__m256i; 4]; G],
    y: &mut [__m256i; G],
    prk_next: u32,
    r: usize,
    k: &Consts,
) {
    // SAFETY: callers enable avx2 and the features `E` needs.
    unsafe {
        let pn = _mm256_set1_epi32(prk_next as i32);
        for (sg, yg) in s.iter_mut().zip(y.iter_mut()) {
            let w = _mm256_xor_si256(
                _mm256_xor_si256(sg[(r + 2) % 4], sg[(r + 3) % 4]),
                _mm256_xor_si256(sg[r], pn),
            );
            let f = E::t_p(*yg, k);
            sg[r] = _mm256_xor_si256(sg[r], f);
            *yg = _mm256_xor_si256(w, f);
        }
    }
}

/// Transposes four registers of 2×4 words (per 128-bit lane).
#[inline(always)]
unsafe fn transpose(x: &mut [__m256i; 4]) {
    // SAFETY: callers enable avx2.
    unsafe {
        let t0 = _mm256_unpacklo_epi32(x[0], x[1]);
        let t1 = _mm256_unpackhi_epi32(x[0], x[1]);
        let t2 = _mm256_unpacklo_epi32(x[2], x[3]);
        let t3 = _mm256_unpackhi_epi32(x[2], x[3]);
        x[0] = _mm256_unpacklo_epi64(t0, t2);
        x[1] = _mm256_unpackhi_epi64(t0, t2);
        x[2] = _mm256_unpacklo_epi64(t1, t3);
        x[3] = _mm256_unpackhi_epi64(t1, t3);
    }
}

/// The 32 rounds on `G` groups of transposed words, with `prk` from
/// [`pre_round_keys`]: maps the words into the `P` domain, runs the rounds,
/// maps them back.
#[inline(always)]
unsafe fn rounds<E: Path, const G: usize>(prk: &[u32; 32], x: &mut [[__m256i; 4]; G], k: &Consts) {
    // SAFETY: features per the caller.
    unsafe {
        for xg in x.iter_mut() {
            for w in xg.iter_mut() {
                *w = E::p(*w, k);
            }
        }
        rounds_p::<E, G>(prk, x, k);
        for xg in x.iter_mut() {
            for w in xg.iter_mut() {
                *w = E::p_inv(*w, k);
            }
        }
    }
}

/// The 32 rounds on state already in the `P` domain, left there.
#[inline(always)]
unsafe fn rounds_p<E: Path, const G: usize>(
    prk: &[u32; 32],
    x: &mut [[__m256i; 4]; G],
    k: &Consts,
) {
    // SAFETY: features per the caller.
    unsafe {
        let p0 = _mm256_set1_epi32(prk[0] as i32);
        let mut y = [_mm256_setzero_si256(); G];
        for (xg, yg) in x.iter().zip(y.iter_mut()) {
            *yg = _mm256_xor_si256(_mm256_xor_si256(xg[1], xg[2]), _mm256_xor_si256(xg[3], p0));
        }
        let mut i = 0;
        while i < 32 {
            // Four rounds with the words renamed instead of moved. The last
            // round computes an unused next input (key index wraps to 0).
            round::<E, G>(x, &mut y, prk[i + 1], 0, k);
            round::<E, G>(x, &mut y, prk[i + 2], 1, k);
            round::<E, G>(x, &mut y, prk[i + 3], 2, k);
            round::<E, G>(x, &mut y, prk[(i + 4) % 32], 3, k);
            i += 4;
        }
    }
}

/// Writes the output blocks of `G` groups to `p` (or XORs them into it when
/// `XOR`, for CTR).
///
/// # Safety
/// `p` must be valid for reads and writes of `128 * G` bytes; avx2 enabled.
#[inline(always)]
unsafe fn finish<const G: usize, const XOR: bool>(x: &[[__m256i; 4]; G], p: *mut u8, k: &Consts) {
    // SAFETY: in-bounds unaligned loads/stores per the contract above.
    unsafe {
        for (g, xg) in x.iter().enumerate() {
            // Output words are (X35, X34, X33, X32) = (x3, x2, x1, x0).
            let mut o = [xg[3], xg[2], xg[1], xg[0]];
            transpose(&mut o);
            for (j, v) in o.iter().enumerate() {
                let q = p.add(128 * g + 32 * j).cast::<__m256i>();
                let mut v = _mm256_shuffle_epi8(*v, k.bswap);
                if XOR {
                    v = _mm256_xor_si256(v, _mm256_loadu_si256(q));
                }
                _mm256_storeu_si256(q, v);
            }
        }
    }
}

/// Encrypts `G` groups of 8 blocks (128·G bytes at `p`) in place.
///
/// # Safety
/// `p` must be valid for reads and writes of `128 * G` bytes; the caller must
/// enable avx2 and the features `E` needs.
#[inline(always)]
unsafe fn blocks<E: Path, const G: usize>(rk: &[u32; 32], p: *mut u8, k: &Consts) {
    // SAFETY: in-bounds unaligned loads per the contract above; features
    // per the contract.
    unsafe {
        let mut x = [[_mm256_setzero_si256(); 4]; G];
        for (g, xg) in x.iter_mut().enumerate() {
            for (j, r) in xg.iter_mut().enumerate() {
                let v = _mm256_loadu_si256(p.add(128 * g + 32 * j).cast());
                *r = _mm256_shuffle_epi8(v, k.bswap);
            }
            transpose(xg);
        }
        rounds::<E, G>(rk, &mut x, k);
        finish::<G, false>(&x, p, k);
    }
}

/// CTR keystream for `G` groups of 8 consecutive counter blocks, XORed into
/// the 128·G bytes at `p`. The counters are built directly in transposed
/// form: words 0..2 are `c`'s upper 96 bits, word 3 counts up from `c`'s low
/// word (wrapping: GCM's inc32; for a 128-bit counter the caller ensures no
/// carry out of the low word inside the call).
///
/// # Safety
/// As [`blocks`].
#[inline(always)]
unsafe fn ctr_blocks<E: Path, const G: usize>(rk: &[u32; 32], c: u128, p: *mut u8, k: &Consts) {
    // SAFETY: features and bounds per the contract above.
    unsafe {
        // Lane order after `transpose`: element i of lane l is block 2i + l.
        let offsets = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
        let mut x = [[_mm256_setzero_si256(); 4]; G];
        for (g, xg) in x.iter_mut().enumerate() {
            xg[0] = _mm256_set1_epi32((c >> 96) as u32 as i32);
            xg[1] = _mm256_set1_epi32((c >> 64) as u32 as i32);
            xg[2] = _mm256_set1_epi32((c >> 32) as u32 as i32);
            let base = (c as u32).wrapping_add(8 * g as u32);
            xg[3] = _mm256_add_epi32(_mm256_set1_epi32(base as i32), offsets);
        }
        rounds::<E, G>(rk, &mut x, k);
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

/// CTR over the 128·G bytes at `p` starting at counter `c`.
///
/// # Safety
/// As [`blocks`].
#[inline(always)]
unsafe fn ctr_call<E: Path, const G: usize>(
    rk: &[u32; 32],
    c: u128,
    p: *mut u8,
    k: &Consts,
    inc32: bool,
) {
    let n = 8 * G as u64;
    if inc32 || u64::from(c as u32) + n <= 1 << 32 {
        // SAFETY: per the contract.
        unsafe { ctr_blocks::<E, G>(rk, c, p, k) }
    } else {
        // A 128-bit counter whose low word carries inside this call (once
        // per 2^32 blocks, decided by the public counter only): spell the
        // counters out and run the block kernel.
        let mut buf = [0u8; 128 * WIDE];
        for (i, b) in buf[..128 * G].chunks_exact_mut(16).enumerate() {
            b.copy_from_slice(&advance(c, i, false).to_be_bytes());
        }
        // SAFETY: `buf` holds at least 128·G bytes; `p` per the contract.
        unsafe {
            blocks::<E, G>(rk, buf.as_mut_ptr(), k);
            let out = core::slice::from_raw_parts_mut(p, 128 * G);
            for (o, ks) in out.iter_mut().zip(&buf[..128 * G]) {
                *o ^= ks;
            }
        }
        buf.zeroize();
    }
}

/// Groups of 8 blocks per iteration of the main loop (64 blocks, 1 KiB).
/// Measured ECB on Zen 5 (1 MiB, VAES): 4 → 1.67 GB/s, 6 → 1.82, 8 → 1.86;
/// the round's dependency chain is long, so many independent groups keep
/// the shuffle ports busy. The tail dispatch below assumes 8.
const WIDE: usize = 8;

#[inline(always)]
unsafe fn encrypt_with<E: Path>(rk: &[u32; 32], data: &mut [u8]) {
    let k = Consts::load();
    // SAFETY: features per the caller.
    let mut prk = unsafe { pre_round_keys::<E>(rk, &k) };
    let rk = &prk;
    let mut chunks = data.chunks_exact_mut(128 * WIDE);
    for c in &mut chunks {
        // SAFETY: `c` is exactly 128·WIDE bytes; features per the caller.
        unsafe { blocks::<E, WIDE>(rk, c.as_mut_ptr(), &k) };
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        // Fewer than 8·WIDE blocks left: one call with just enough groups,
        // on a copy padded to whole groups (its latency is about that of a
        // single group, so this beats looping over narrower calls).
        let mut buf = [0u8; 128 * WIDE];
        let groups = tail.len().div_ceil(128);
        buf[..tail.len()].copy_from_slice(tail);
        let p = buf.as_mut_ptr();
        // SAFETY: `buf` holds 128·WIDE ≥ 128·groups bytes; features per the caller.
        unsafe {
            match groups {
                1 => blocks::<E, 1>(rk, p, &k),
                2 => blocks::<E, 2>(rk, p, &k),
                3 => blocks::<E, 3>(rk, p, &k),
                4 => blocks::<E, 4>(rk, p, &k),
                5 => blocks::<E, 5>(rk, p, &k),
                6 => blocks::<E, 6>(rk, p, &k),
                7 => blocks::<E, 7>(rk, p, &k),
                _ => blocks::<E, 8>(rk, p, &k),
            }
        }
        tail.copy_from_slice(&buf[..tail.len()]);
        buf[..128 * groups].zeroize();
    }
    prk.zeroize();
}

#[inline(always)]
unsafe fn ctr_with<E: Path>(rk: &[u32; 32], counter: &mut [u8; 16], data: &mut [u8], inc32: bool) {
    let k = Consts::load();
    // SAFETY: features per the caller.
    let mut prk = unsafe { pre_round_keys::<E>(rk, &k) };
    let rk = &prk;
    let mut c = u128::from_be_bytes(*counter);
    let mut chunks = data.chunks_exact_mut(128 * WIDE);
    for chunk in &mut chunks {
        // SAFETY: `chunk` is exactly 128·WIDE bytes; features per the caller.
        unsafe { ctr_call::<E, WIDE>(rk, c, chunk.as_mut_ptr(), &k, inc32) };
        c = advance(c, 8 * WIDE, inc32);
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        // Any length below 128·WIDE bytes, a partial last block included:
        // XOR the keystream into a zero-padded copy.
        let nblocks = tail.len().div_ceil(16);
        let groups = nblocks.div_ceil(8);
        let mut buf = [0u8; 128 * WIDE];
        buf[..tail.len()].copy_from_slice(tail);
        let p = buf.as_mut_ptr();
        // SAFETY: `buf` holds 128·WIDE ≥ 128·groups bytes; features per the caller.
        unsafe {
            match groups {
                1 => ctr_call::<E, 1>(rk, c, p, &k, inc32),
                2 => ctr_call::<E, 2>(rk, c, p, &k, inc32),
                3 => ctr_call::<E, 3>(rk, c, p, &k, inc32),
                4 => ctr_call::<E, 4>(rk, c, p, &k, inc32),
                5 => ctr_call::<E, 5>(rk, c, p, &k, inc32),
                6 => ctr_call::<E, 6>(rk, c, p, &k, inc32),
                7 => ctr_call::<E, 7>(rk, c, p, &k, inc32),
                _ => ctr_call::<E, 8>(rk, c, p, &k, inc32),
            }
        }
        tail.copy_from_slice(&buf[..tail.len()]);
        buf[..128 * groups].zeroize();
        c = advance(c, nblocks, inc32);
    }
    *counter = c.to_be_bytes();
    prk.zeroize();
}

#[target_feature(enable = "avx2,gfni")]
unsafe fn ctr_gfni(rk: &[u32; 32], counter: &mut [u8; 16], data: &mut [u8], inc32: bool) {
    // SAFETY: this function enables everything `GfniYmm` needs.
    unsafe { ctr_with::<GfniYmm>(rk, counter, data, inc32) }
}

#[target_feature(enable = "avx2,aes,vaes")]
unsafe fn ctr_vaes(rk: &[u32; 32], counter: &mut [u8; 16], data: &mut [u8], inc32: bool) {
    // SAFETY: this function enables everything `Vaes` needs.
    unsafe { ctr_with::<Vaes>(rk, counter, data, inc32) }
}

#[target_feature(enable = "avx2,aes")]
unsafe fn ctr_avx2(rk: &[u32; 32], counter: &mut [u8; 16], data: &mut [u8], inc32: bool) {
    // SAFETY: this function enables everything `Split` needs.
    unsafe { ctr_with::<Split>(rk, counter, data, inc32) }
}

/// The YMM kernel's P-domain block operations for the shared chain loop
/// ([`x86_chain::run`]), over S-box path `E`.
struct YmmChain<E: Path> {
    k: Consts,
    prk: [u32; 32],
    _path: core::marker::PhantomData<E>,
}

impl<E: Path> YmmChain<E> {
    /// # Safety
    /// Callers enable avx2 and `E`'s features.
    #[inline(always)]
    unsafe fn new(rk: &[u32; 32]) -> Self {
        let k = Consts::load();
        // SAFETY: features per the caller.
        let prk = unsafe { pre_round_keys::<E>(rk, &k) };
        YmmChain {
            k,
            prk,
            _path: core::marker::PhantomData,
        }
    }
}

impl<E: Path> ChainKernel for YmmChain<E> {
    type Reg = __m256i;

    /// (Plain loops: closures here would not be inlined into the
    /// target-feature caller and would cost a call per use.)
    #[inline(always)]
    unsafe fn p_words(&self, b: &[u8]) -> [__m256i; 4] {
        // SAFETY: callers enable avx2.
        unsafe {
            let mut out = [_mm256_setzero_si256(); 4];
            let mut j = 0;
            while j < 4 {
                let w = u32::from_be_bytes([b[4 * j], b[4 * j + 1], b[4 * j + 2], b[4 * j + 3]]);
                out[j] = E::p(_mm256_set1_epi32(w as i32), &self.k);
                j += 1;
            }
            out
        }
    }

    #[inline(always)]
    unsafe fn xor(a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: callers enable avx2.
        unsafe { _mm256_xor_si256(a, b) }
    }

    #[inline(always)]
    unsafe fn encrypt_p(&self, s: [__m256i; 4]) -> [__m256i; 4] {
        let mut x = [s];
        // SAFETY: features per the caller.
        unsafe { rounds_p::<E, 1>(&self.prk, &mut x, &self.k) };
        [x[0][3], x[0][2], x[0][1], x[0][0]]
    }

    #[inline(always)]
    unsafe fn word(&self, e: __m256i) -> u32 {
        // SAFETY: features per the caller.
        unsafe { _mm256_cvtsi256_si32(E::p_inv(e, &self.k)) as u32 }
    }

    fn wipe(&mut self) {
        self.prk.zeroize();
    }
}

/// A sequential mode over whole blocks on path `E` (the loop is
/// [`x86_chain::run`], shared with the AVX-512 kernel).
#[inline(always)]
unsafe fn chain_with<E: Path>(rk: &[u32; 32], reg: &mut [u8; 16], data: &mut [u8], mode: Chain) {
    // SAFETY: features per the caller.
    unsafe {
        let mut kernel = YmmChain::<E>::new(rk);
        x86_chain::run(&mut kernel, reg, data, mode);
    }
}

#[target_feature(enable = "avx2,gfni")]
unsafe fn chain_gfni(rk: &[u32; 32], reg: &mut [u8; 16], data: &mut [u8], mode: Chain) {
    // SAFETY: this function enables everything `GfniYmm` needs.
    unsafe { chain_with::<GfniYmm>(rk, reg, data, mode) }
}

#[target_feature(enable = "avx2,aes,vaes")]
unsafe fn chain_vaes(rk: &[u32; 32], reg: &mut [u8; 16], data: &mut [u8], mode: Chain) {
    // SAFETY: this function enables everything `Vaes` needs.
    unsafe { chain_with::<Vaes>(rk, reg, data, mode) }
}

#[target_feature(enable = "avx2,aes")]
unsafe fn chain_avx2(rk: &[u32; 32], reg: &mut [u8; 16], data: &mut [u8], mode: Chain) {
    // SAFETY: this function enables everything `Split` needs.
    unsafe { chain_with::<Split>(rk, reg, data, mode) }
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
    if gfni_ymm() {
        // SAFETY: the caller checked `available()` (avx2); gfni just now.
        unsafe { chain_gfni(rk, reg, data, mode) }
    } else if std::arch::is_x86_feature_detected!("vaes") {
        // SAFETY: the caller checked `available()` (aes, avx2); vaes just now.
        unsafe { chain_vaes(rk, reg, data, mode) }
    } else {
        // SAFETY: the caller checked `available()` (aes, avx2).
        unsafe { chain_avx2(rk, reg, data, mode) }
    }
}

#[target_feature(enable = "avx2,gfni")]
unsafe fn encrypt_gfni(rk: &[u32; 32], data: &mut [u8]) {
    // SAFETY: this function enables everything `GfniYmm` needs.
    unsafe { encrypt_with::<GfniYmm>(rk, data) }
}

/// GFNI without AVX-512: the GFNI round on 256-bit registers beats
/// AESENCLAST plus nibble tables. (With AVX-512 the `avx512.rs` path is the
/// one `backend::detect` picks; this path then stays the AES-NI one, which
/// is what the machines without GFNI run.)
fn gfni_ymm() -> bool {
    std::arch::is_x86_feature_detected!("gfni") && !std::arch::is_x86_feature_detected!("avx512f")
}

#[target_feature(enable = "avx2,aes,vaes")]
unsafe fn encrypt_vaes(rk: &[u32; 32], data: &mut [u8]) {
    // SAFETY: this function enables everything `Vaes` needs.
    unsafe { encrypt_with::<Vaes>(rk, data) }
}

#[target_feature(enable = "avx2,aes")]
unsafe fn encrypt_avx2(rk: &[u32; 32], data: &mut [u8]) {
    // SAFETY: this function enables everything `Split` needs.
    unsafe { encrypt_with::<Split>(rk, data) }
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
    let data = &mut data[..n];
    if gfni_ymm() {
        // SAFETY: the caller checked `available()` (avx2); gfni just now.
        unsafe { encrypt_gfni(rk, data) }
    } else if std::arch::is_x86_feature_detected!("vaes") {
        // SAFETY: the caller checked `available()` (aes, avx2); vaes just now.
        unsafe { encrypt_vaes(rk, data) }
    } else {
        // SAFETY: the caller checked `available()` (aes, avx2).
        unsafe { encrypt_avx2(rk, data) }
    }
}

/// # Safety
/// [`available`] must have returned true.
unsafe fn ctr(rk: &[u32; 32], counter: &mut [u8; 16], data: &mut [u8], inc32: bool) {
    if gfni_ymm() {
        // SAFETY: the caller checked `available()` (avx2); gfni just now.
        unsafe { ctr_gfni(rk, counter, data, inc32) }
    } else if std::arch::is_x86_feature_detected!("vaes") {
        // SAFETY: the caller checked `available()` (aes, avx2); vaes just now.
        unsafe { ctr_vaes(rk, counter, data, inc32) }
    } else {
        // SAFETY: as above (aes, avx2).
        unsafe { ctr_avx2(rk, counter, data, inc32) }
    }
}

/// XORs the SM4-CTR keystream into `data` (any length; a final partial block
/// uses a prefix of its keystream block), incrementing `counter` as a 128-bit
/// big-endian integer per block and leaving it at the next unused block.
///
/// # Safety
/// [`available`] must have returned true.
pub(in crate::sm4) unsafe fn ctr128_xor(rk: &[u32; 32], counter: &mut [u8; 16], data: &mut [u8]) {
    // SAFETY: forwarded contract.
    unsafe { ctr(rk, counter, data, false) }
}

/// As [`ctr128_xor`] with only the low 32 bits of the counter incremented,
/// wrapping (NIST SP 800-38D inc32, for GCM).
///
/// # Safety
/// [`available`] must have returned true.
pub(in crate::sm4) unsafe fn ctr32_xor(rk: &[u32; 32], counter: &mut [u8; 16], data: &mut [u8]) {
    // SAFETY: forwarded contract.
    unsafe { ctr(rk, counter, data, true) }
}

/// Test-only reference material shared by both SIMD kernels' tests.
#[cfg(test)]
pub(in crate::sm4) mod reference {
    /// The S-box table of GB/T 32907-2016 §6.2, used only to check the
    /// derived affine maps (the kernels never index a table by data).
    pub(in crate::sm4) const SBOX: [u8; 256] = [
        0xd6, 0x90, 0xe9, 0xfe, 0xcc, 0xe1, 0x3d, 0xb7, 0x16, 0xb6, 0x14, 0xc2, 0x28, 0xfb, 0x2c,
        0x05, 0x2b, 0x67, 0x9a, 0x76, 0x2a, 0xbe, 0x04, 0xc3, 0xaa, 0x44, 0x13, 0x26, 0x49, 0x86,
        0x06, 0x99, 0x9c, 0x42, 0x50, 0xf4, 0x91, 0xef, 0x98, 0x7a, 0x33, 0x54, 0x0b, 0x43, 0xed,
        0xcf, 0xac, 0x62, 0xe4, 0xb3, 0x1c, 0xa9, 0xc9, 0x08, 0xe8, 0x95, 0x80, 0xdf, 0x94, 0xfa,
        0x75, 0x8f, 0x3f, 0xa6, 0x47, 0x07, 0xa7, 0xfc, 0xf3, 0x73, 0x17, 0xba, 0x83, 0x59, 0x3c,
        0x19, 0xe6, 0x85, 0x4f, 0xa8, 0x68, 0x6b, 0x81, 0xb2, 0x71, 0x64, 0xda, 0x8b, 0xf8, 0xeb,
        0x0f, 0x4b, 0x70, 0x56, 0x9d, 0x35, 0x1e, 0x24, 0x0e, 0x5e, 0x63, 0x58, 0xd1, 0xa2, 0x25,
        0x22, 0x7c, 0x3b, 0x01, 0x21, 0x78, 0x87, 0xd4, 0x00, 0x46, 0x57, 0x9f, 0xd3, 0x27, 0x52,
        0x4c, 0x36, 0x02, 0xe7, 0xa0, 0xc4, 0xc8, 0x9e, 0xea, 0xbf, 0x8a, 0xd2, 0x40, 0xc7, 0x38,
        0xb5, 0xa3, 0xf7, 0xf2, 0xce, 0xf9, 0x61, 0x15, 0xa1, 0xe0, 0xae, 0x5d, 0xa4, 0x9b, 0x34,
        0x1a, 0x55, 0xad, 0x93, 0x32, 0x30, 0xf5, 0x8c, 0xb1, 0xe3, 0x1d, 0xf6, 0xe2, 0x2e, 0x82,
        0x66, 0xca, 0x60, 0xc0, 0x29, 0x23, 0xab, 0x0d, 0x53, 0x4e, 0x6f, 0xd5, 0xdb, 0x37, 0x45,
        0xde, 0xfd, 0x8e, 0x2f, 0x03, 0xff, 0x6a, 0x72, 0x6d, 0x6c, 0x5b, 0x51, 0x8d, 0x1b, 0xaf,
        0x92, 0xbb, 0xdd, 0xbc, 0x7f, 0x11, 0xd9, 0x5c, 0x41, 0x1f, 0x10, 0x5a, 0xd8, 0x0a, 0xc1,
        0x31, 0x88, 0xa5, 0xcd, 0x7b, 0xbd, 0x2d, 0x74, 0xd0, 0x12, 0xb8, 0xe5, 0xb4, 0xb0, 0x89,
        0x69, 0x97, 0x4a, 0x0c, 0x96, 0x77, 0x7e, 0x65, 0xb9, 0xf1, 0x09, 0xc5, 0x6e, 0xc6, 0x84,
        0x18, 0xf0, 0x7d, 0xec, 0x3a, 0xdc, 0x4d, 0x20, 0x79, 0xee, 0x5f, 0x3e, 0xd7, 0xcb, 0x39,
        0x48,
    ];

    fn tau(a: u32) -> u32 {
        u32::from_be_bytes(a.to_be_bytes().map(|b| SBOX[b as usize]))
    }

    /// Round keys by the key schedule of GB/T 32907 §7.3 (table-based, tests only).
    pub(in crate::sm4) fn round_keys(key: &[u8; 16]) -> [u32; 32] {
        const FK: [u32; 4] = [0xa3b1bac6, 0x56aa3350, 0x677d9197, 0xb27022dc];
        let mut k = [0u32; 36];
        for i in 0..4 {
            k[i] = u32::from_be_bytes(key[4 * i..4 * i + 4].try_into().unwrap()) ^ FK[i];
        }
        let mut rk = [0u32; 32];
        for i in 0..32 {
            let ck = u32::from_be_bytes(core::array::from_fn(|j| ((4 * i + j) * 7 % 256) as u8));
            let b = tau(k[i + 1] ^ k[i + 2] ^ k[i + 3] ^ ck);
            k[i + 4] = k[i] ^ b ^ b.rotate_left(13) ^ b.rotate_left(23);
            rk[i] = k[i + 4];
        }
        rk
    }

    /// One block through the 32 rounds (table-based, tests only).
    pub(in crate::sm4) fn crypt_block(rk: &[u32; 32], block: &mut [u8]) {
        let mut x = [0u32; 36];
        for i in 0..4 {
            x[i] = u32::from_be_bytes(block[4 * i..4 * i + 4].try_into().unwrap());
        }
        for i in 0..32 {
            let b = tau(x[i + 1] ^ x[i + 2] ^ x[i + 3] ^ rk[i]);
            x[i + 4] = x[i]
                ^ b
                ^ b.rotate_left(2)
                ^ b.rotate_left(10)
                ^ b.rotate_left(18)
                ^ b.rotate_left(24);
        }
        for i in 0..4 {
            block[4 * i..4 * i + 4].copy_from_slice(&x[35 - i].to_be_bytes());
        }
    }

    /// A small deterministic generator for test inputs (xorshift64*).
    pub(in crate::sm4) struct Rng(pub u64);
    impl Rng {
        pub(in crate::sm4) fn fill(&mut self, out: &mut [u8]) {
            for b in out {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                *b = (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8;
            }
        }
    }

    /// GB/T 32907-2016 Appendix A example 1: key = plaintext.
    pub(in crate::sm4) const KAT_KEY: [u8; 16] = [
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32,
        0x10,
    ];
    /// Its ciphertext.
    pub(in crate::sm4) const KAT_CT: [u8; 16] = [
        0x68, 0x1e, 0xdf, 0x34, 0xd2, 0x06, 0x96, 0x5e, 0x86, 0xb3, 0xe9, 0x4f, 0x53, 0x6e, 0x42,
        0x46,
    ];

    /// A CTR kernel: round keys, counter block, data.
    pub(in crate::sm4) type CtrKernel = unsafe fn(&[u32; 32], &mut [u8; 16], &mut [u8]);

    /// Checks 128-bit and inc32 CTR kernels against the reference for
    /// lengths around every group size and counters that wrap inside.
    pub(in crate::sm4) fn check_ctr(ctr128: CtrKernel, ctr32: CtrKernel) {
        let mut rng = Rng(0xc7c7_0001_0002_0003);
        let mut starts: Vec<u128> = vec![0, u128::MAX, 0xffff_fff0, 0x1234_ffff_ffff_ffff_ffe0];
        for _ in 0..4 {
            let mut c = [0u8; 16];
            rng.fill(&mut c);
            starts.push(u128::from_be_bytes(c));
        }
        for &start in &starts {
            for len in (0..=80usize).chain([1023, 1024, 1025, 2048 + 15, 16 * 200 + 9, 40000]) {
                let len = if len <= 80 { len * 13 } else { len };
                let mut key = [0u8; 16];
                rng.fill(&mut key);
                let rk = round_keys(&key);
                let mut data = vec![0u8; len];
                rng.fill(&mut data);
                for inc32 in [false, true] {
                    let mut want = data.clone();
                    let mut c = start;
                    for chunk in want.chunks_mut(16) {
                        let mut ks = c.to_be_bytes();
                        crypt_block(&rk, &mut ks);
                        for (d, k) in chunk.iter_mut().zip(ks) {
                            *d ^= k;
                        }
                        c = if inc32 {
                            (c & !0xffff_ffff) | u128::from((c as u32).wrapping_add(1))
                        } else {
                            c.wrapping_add(1)
                        };
                    }
                    let mut got = data.clone();
                    let mut counter = start.to_be_bytes();
                    let kernel = if inc32 { ctr32 } else { ctr128 };
                    // SAFETY: the caller checked the kernel's `available()`.
                    unsafe { kernel(&rk, &mut counter, &mut got) };
                    assert!(got == want, "len {len} start {start:#x} inc32 {inc32}");
                    assert_eq!(u128::from_be_bytes(counter), c, "next counter");
                }
            }
        }
    }

    /// A sequential-mode kernel: round keys, register, data, mode.
    pub(in crate::sm4) type ChainKernel =
        unsafe fn(&[u32; 32], &mut [u8; 16], &mut [u8], super::Chain);

    /// Checks CBC-encrypt / CFB-encrypt / OFB against the reference, for
    /// several lengths (with a trailing partial block left untouched).
    pub(in crate::sm4) fn check_chain(kernel: ChainKernel) {
        use super::Chain;
        let mut rng = Rng(0xcbcb_cfcf_0f0f_0001);
        for mode in [Chain::CbcEncrypt, Chain::CfbEncrypt, Chain::Ofb] {
            for len in [0usize, 16, 32, 48, 160, 16 * 67 + 5] {
                let mut key = [0u8; 16];
                rng.fill(&mut key);
                let rk = round_keys(&key);
                let mut iv = [0u8; 16];
                rng.fill(&mut iv);
                let mut data = vec![0u8; len];
                rng.fill(&mut data);
                let mut want = data.clone();
                let mut r = iv;
                let whole = len / 16 * 16;
                for b in want[..whole].chunks_exact_mut(16) {
                    match mode {
                        Chain::CbcEncrypt => {
                            for (x, y) in b.iter_mut().zip(r) {
                                *x ^= y;
                            }
                            crypt_block(&rk, b);
                            r.copy_from_slice(b);
                        }
                        Chain::CfbEncrypt => {
                            crypt_block(&rk, &mut r);
                            for (x, y) in b.iter_mut().zip(r) {
                                *x ^= y;
                            }
                            r.copy_from_slice(b);
                        }
                        Chain::Ofb => {
                            crypt_block(&rk, &mut r);
                            for (x, y) in b.iter_mut().zip(r) {
                                *x ^= y;
                            }
                        }
                    }
                }
                let mut got = data.clone();
                let mut reg = iv;
                // SAFETY: the caller checked the kernel's `available()`.
                unsafe { kernel(&rk, &mut reg, &mut got, mode) };
                assert!(got == want, "len {len}");
                assert_eq!(reg, r, "len {len}: register");
            }
        }
    }

    /// Checks `kernel` against the reference for block counts 0..=70 and a
    /// large input, under random keys, plus the standard's example.
    pub(in crate::sm4) fn check_kernel(kernel: unsafe fn(&[u32; 32], &mut [u8])) {
        let mut rng = Rng(0x5eed_5114_0000_0001);
        // Known answer, encrypt and decrypt.
        let rk = round_keys(&KAT_KEY);
        let mut b = KAT_KEY;
        // SAFETY: the caller checked the kernel's `available()`.
        unsafe { kernel(&rk, &mut b) };
        assert_eq!(b, KAT_CT);
        let mut rrk = rk;
        rrk.reverse();
        // SAFETY: as above.
        unsafe { kernel(&rrk, &mut b) };
        assert_eq!(b, KAT_KEY);
        for n in (0..=70usize).chain([255, 1024, 4099]) {
            let mut key = [0u8; 16];
            rng.fill(&mut key);
            let rk = round_keys(&key);
            let mut data = vec![0u8; 16 * n];
            rng.fill(&mut data);
            let mut want = data.clone();
            for blk in want.chunks_exact_mut(16) {
                crypt_block(&rk, blk);
            }
            let mut got = data.clone();
            // SAFETY: as above.
            unsafe { kernel(&rk, &mut got) };
            assert!(got == want, "{n} blocks: mismatch");
            let mut rrk = rk;
            rrk.reverse();
            // SAFETY: as above.
            unsafe { kernel(&rrk, &mut got) };
            assert!(got == data, "{n} blocks: decrypt mismatch");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::reference::*;
    use super::*;

    fn aes_sbox(x: u8) -> u8 {
        // Inversion by exhaustive search; fine for a test.
        let inv = (1..=255u8)
            .find(|&y| affine::gf_mul(x, y, 0x11B) == 1)
            .unwrap_or(0);
        let mut r = 0x63u8;
        for i in 0..8 {
            let bit = (inv >> i)
                ^ (inv >> ((i + 4) % 8))
                ^ (inv >> ((i + 5) % 8))
                ^ (inv >> ((i + 6) % 8))
                ^ (inv >> ((i + 7) % 8));
            r ^= (bit & 1) << i;
        }
        r
    }

    #[test]
    fn derived_maps_give_the_sm4_sbox() {
        for x in 0..=255u8 {
            // S = A·I(A·x ⊕ C) ⊕ C in SM4's own field.
            let y = affine::mat_vec(&affine::SM4_A, x) ^ affine::SM4_C;
            let inv = (1..=255u8)
                .find(|&z| affine::gf_mul(y, z, 0x1F5) == 1)
                .unwrap_or(0);
            assert_eq!(
                affine::mat_vec(&affine::SM4_A, inv) ^ affine::SM4_C,
                SBOX[x as usize]
            );
            // Through the AES S-box with the derived affine maps.
            let pre = affine::mat_vec(&affine::PRE, x) ^ affine::PRE_C;
            let z = aes_sbox(pre);
            let post = affine::mat_vec(&affine::POST_AES, z) ^ affine::POST_AES_C;
            assert_eq!(post, SBOX[x as usize], "x = {x:#04x}");
        }
    }

    fn table(t: &([u8; 32], [u8; 32]), v: u8) -> u8 {
        t.0[(v & 15) as usize] ^ t.1[(v >> 4) as usize]
    }

    #[test]
    fn p_domain_round_tables_compute_l_of_tau() {
        // For random words a: P·L(τ(a)) from the H tables applied to the
        // AES S-box of P·a ⊕ PRE_C must match the table-based definition.
        let mut rng = Rng(0xabcd_ef01_2345_6789);
        for _ in 0..2000 {
            let mut w = [0u8; 4];
            rng.fill(&mut w);
            let a = u32::from_le_bytes(w);
            let b = u32::from_le_bytes(w.map(|x| SBOX[x as usize]));
            let l =
                b ^ b.rotate_left(2) ^ b.rotate_left(10) ^ b.rotate_left(18) ^ b.rotate_left(24);
            let want = l.to_le_bytes().map(|x| table(&P_TABLES, x));
            // Kernel arithmetic, byte by byte (no ShiftRows in this model).
            let y = a.to_le_bytes().map(|x| table(&P_TABLES, x) ^ affine::PRE_C);
            let z = y.map(aes_sbox);
            let t0 = u32::from_le_bytes(z.map(|v| table(&H0_TABLES, v)));
            let t1 = u32::from_le_bytes(z.map(|v| table(&H1_TABLES, v)));
            let t3 = u32::from_le_bytes(z.map(|v| table(&H3_TABLES, v)));
            let got = t0 ^ t1.rotate_left(8) ^ t1.rotate_left(16) ^ t3.rotate_left(24);
            assert_eq!(got.to_le_bytes(), want, "a = {a:#010x}");
            // And P⁻¹ undoes P.
            assert_eq!(want.map(|x| table(&P_INV_TABLES, x)), l.to_le_bytes());
        }
    }

    #[test]
    fn vaes_kernel_matches_reference() {
        if !(available() && std::arch::is_x86_feature_detected!("vaes")) {
            return;
        }
        unsafe fn k(rk: &[u32; 32], d: &mut [u8]) {
            // SAFETY: features checked above.
            unsafe { encrypt_vaes(rk, d) }
        }
        check_kernel(k);
    }

    #[test]
    fn aesni_avx2_kernel_matches_reference() {
        if !available() {
            return;
        }
        unsafe fn k(rk: &[u32; 32], d: &mut [u8]) {
            // SAFETY: features checked above.
            unsafe { encrypt_avx2(rk, d) }
        }
        check_kernel(k);
    }

    #[test]
    fn ctr_kernels_match_reference() {
        if !available() {
            return;
        }
        check_ctr(ctr128_xor, ctr32_xor);
        unsafe fn c128(rk: &[u32; 32], c: &mut [u8; 16], d: &mut [u8]) {
            // SAFETY: features checked above.
            unsafe { ctr_avx2(rk, c, d, false) }
        }
        unsafe fn c32(rk: &[u32; 32], c: &mut [u8; 16], d: &mut [u8]) {
            // SAFETY: features checked above.
            unsafe { ctr_avx2(rk, c, d, true) }
        }
        check_ctr(c128, c32);
    }

    #[test]
    fn chain_kernels_match_reference() {
        if !available() {
            return;
        }
        check_chain(chain);
        unsafe fn k(rk: &[u32; 32], r: &mut [u8; 16], d: &mut [u8], m: Chain) {
            // SAFETY: features checked above.
            unsafe { chain_avx2(rk, r, d, m) }
        }
        check_chain(k);
    }

    #[test]
    fn gfni_ymm_kernels_match_reference() {
        if !(available() && std::arch::is_x86_feature_detected!("gfni")) {
            return;
        }
        unsafe fn k(rk: &[u32; 32], d: &mut [u8]) {
            // SAFETY: features checked above.
            unsafe { encrypt_gfni(rk, d) }
        }
        check_kernel(k);
        unsafe fn c128(rk: &[u32; 32], c: &mut [u8; 16], d: &mut [u8]) {
            // SAFETY: features checked above.
            unsafe { ctr_gfni(rk, c, d, false) }
        }
        unsafe fn c32(rk: &[u32; 32], c: &mut [u8; 16], d: &mut [u8]) {
            // SAFETY: features checked above.
            unsafe { ctr_gfni(rk, c, d, true) }
        }
        check_ctr(c128, c32);
        unsafe fn ch(rk: &[u32; 32], r: &mut [u8; 16], d: &mut [u8], m: Chain) {
            // SAFETY: features checked above.
            unsafe { chain_gfni(rk, r, d, m) }
        }
        check_chain(ch);
    }

    #[test]
    fn dispatching_entry_point_matches_reference() {
        if !available() {
            return;
        }
        check_kernel(encrypt_blocks);
    }
}
