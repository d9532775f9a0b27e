//! The portable SM4 path: a bit-sliced, table-free, constant-time kernel.
//!
//! # Why bit-slicing
//!
//! Table-based SM4 (four 256-entry S-box lookups per round) leaks the S-box
//! index through the cache. Here the S-box is a Boolean circuit evaluated on
//! *bit planes*, so every block runs the same instructions on the same
//! addresses whatever the key and data are.
//!
//! # The S-box circuit
//!
//! GB/T 32907 §6.2's S-box is affine-equivalent to inversion in GF(2^8):
//! `S(x) = A·I(A·x ⊕ C) ⊕ C` with `I` the inverse modulo
//! `x^8+x^7+x^6+x^5+x^4+x^2+1`, `A` the circulant bit matrix of `0xA7` and
//! `C = 0xD3`. A field isomorphism `T` to the AES field (0x11B) turns `I`
//! into AES's inversion, for which Boyar and Peralta ("A depth-16 circuit for
//! the AES S-box", 2012) give a 32-AND non-linear core. The circuit below is
//! that core, with its top linear layer composed with `T·A` and its bottom
//! layer replaced by `A·T⁻¹` expressed on the core's 18 products; both linear
//! layers were re-optimised together with Paar's greedy XOR-sharing
//! heuristic (30 + 37 XOR). The input constant `A⁻¹·C = 0x75` and the output
//! constant `C` are not in the circuit: they are folded into the round keys
//! (see [`BsKeys`]). The unit tests check the circuit against the algebraic
//! definition on all 256 inputs.
//!
//! # Layout
//!
//! Sixteen blocks are processed at once. Each of the four 32-bit words
//! `X0..X3` of the 16 blocks becomes 8 `u64` planes; plane `j` holds bit `j`
//! (0 = least significant) of every byte, at lane `16·p + k` for byte `p`
//! (0 = most significant byte of the big-endian word) of block `k`. With
//! this lane order the four S-boxes of a round for all 16 blocks are ONE
//! evaluation of the circuit, and the word rotations of `L` are cheap: a
//! rotation by 8 bits of every word is a rotation by 16 of every plane, and a
//! rotation by 2 bits renames planes (`j -> j+2`) with the two planes that
//! cross a byte boundary rotated by one byte.
//!
//! The transposition into and out of planes uses "swap-move" steps (two
//! in-register index-bit exchanges and four exchanges between registers),
//! about 3 operations per byte each way.
//!
//! On x86-64 two such 16-block groups run in lock step in one SSE2 register
//! (32 blocks per circuit evaluation, ~1.4x the throughput of one `u64`).
//! A single block (the chained modes) uses [`crypt_block`] instead: the same
//! circuit with one lane per S-box byte and the words kept in normal form.

use core::ops::{BitAnd, BitXor, BitXorAssign};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Blocks per 64-bit bit plane.
const BATCH: usize = 16;
/// Bytes per 64-bit bit plane group.
const BATCH_BYTES: usize = BATCH * 16;

/// A bit plane word: one `u64` (16 blocks), or on x86-64 `X2`, two `u64`
/// in lock step (32 blocks) held in one SSE2 register (SSE2 is part of every
/// x86-64). Everything below is generic over it; only
/// bitwise operations, constant shifts and constant shuffles are used, so
/// the timing is data-independent on any target.
trait Planes: Copy + BitXor<Output = Self> + BitAnd<Output = Self> + BitXorAssign {
    /// Independent 16-block groups per word.
    const GROUPS: usize;
    /// Builds a word from one `u64` per group.
    fn from_fn(f: impl FnMut(usize) -> u64) -> Self;
    /// The `u64` of group `g`.
    fn get(&self, g: usize) -> u64;
    /// The same `u64` in every group.
    fn splat(v: u64) -> Self {
        Self::from_fn(|_| v)
    }
    /// Shifts each group's `u64` left by `N`.
    fn shl<const N: i32>(self) -> Self;
    /// Shifts each group's `u64` right by `N`.
    fn shr<const N: i32>(self) -> Self;
    /// Rotates each group's `u64` right by 16, 32, 48 bits.
    fn rotr16(self) -> Self;
    /// See [`Planes::rotr16`].
    fn rotr32(self) -> Self;
    /// See [`Planes::rotr16`].
    fn rotr48(self) -> Self;
}

impl Planes for u64 {
    const GROUPS: usize = 1;
    #[inline(always)]
    fn from_fn(mut f: impl FnMut(usize) -> u64) -> Self {
        f(0)
    }
    #[inline(always)]
    fn get(&self, _g: usize) -> u64 {
        *self
    }
    #[inline(always)]
    fn shl<const N: i32>(self) -> Self {
        self << N
    }
    #[inline(always)]
    fn shr<const N: i32>(self) -> Self {
        self >> N
    }
    #[inline(always)]
    fn rotr16(self) -> Self {
        self.rotate_right(16)
    }
    #[inline(always)]
    fn rotr32(self) -> Self {
        self.rotate_right(32)
    }
    #[inline(always)]
    fn rotr48(self) -> Self {
        self.rotate_right(48)
    }
}

#[cfg(target_arch = "x86_64")]
mod x2 {
    //! [`X2`] on x86-64: one SSE2 register (SSE2 is in the x86-64 baseline,
    //! so these intrinsics are always available).
    use core::arch::x86_64::*;
    use core::ops::{BitAnd, BitXor, BitXorAssign};

    /// Evaluates an SSE2 intrinsic expression.
    macro_rules! sse2 {
        ($e:expr) => {{
            // SAFETY: SSE2 is part of the x86-64 baseline, so it is enabled
            // for every x86-64 target and the intrinsics (register-only
            // operations, no memory access) cannot fault.
            unsafe { $e }
        }};
    }

    /// Two 16-block groups in lock step (32 blocks per circuit evaluation).
    #[derive(Clone, Copy)]
    pub(super) struct X2(__m128i);

    impl BitXor for X2 {
        type Output = X2;
        #[inline(always)]
        fn bitxor(self, o: X2) -> X2 {
            X2(sse2!(_mm_xor_si128(self.0, o.0)))
        }
    }
    impl BitAnd for X2 {
        type Output = X2;
        #[inline(always)]
        fn bitand(self, o: X2) -> X2 {
            X2(sse2!(_mm_and_si128(self.0, o.0)))
        }
    }
    impl BitXorAssign for X2 {
        #[inline(always)]
        fn bitxor_assign(&mut self, o: X2) {
            self.0 = sse2!(_mm_xor_si128(self.0, o.0));
        }
    }
    impl super::Planes for X2 {
        const GROUPS: usize = 2;
        #[inline(always)]
        fn from_fn(mut f: impl FnMut(usize) -> u64) -> Self {
            let lo = f(0);
            let hi = f(1);
            X2(sse2!(_mm_set_epi64x(hi as i64, lo as i64)))
        }
        #[inline(always)]
        fn get(&self, g: usize) -> u64 {
            let v = if g == 0 {
                self.0
            } else {
                sse2!(_mm_unpackhi_epi64(self.0, self.0))
            };
            sse2!(_mm_cvtsi128_si64(v)) as u64
        }
        #[inline(always)]
        fn shl<const N: i32>(self) -> Self {
            X2(sse2!(_mm_slli_epi64::<N>(self.0)))
        }
        #[inline(always)]
        fn shr<const N: i32>(self) -> Self {
            X2(sse2!(_mm_srli_epi64::<N>(self.0)))
        }
        // Rotations by multiples of 16 are word shuffles.
        #[inline(always)]
        fn rotr16(self) -> Self {
            X2(sse2!(_mm_shufflehi_epi16::<0x39>(_mm_shufflelo_epi16::<
                0x39,
            >(self.0))))
        }
        #[inline(always)]
        fn rotr32(self) -> Self {
            X2(sse2!(_mm_shuffle_epi32::<0xb1>(self.0)))
        }
        #[inline(always)]
        fn rotr48(self) -> Self {
            X2(sse2!(_mm_shufflehi_epi16::<0x93>(_mm_shufflelo_epi16::<
                0x93,
            >(self.0))))
        }
    }
}

/// The plane word of the bulk path: one SSE2 register (32 blocks) on
/// x86-64; elsewhere one `u64` (16 blocks), which compilers handle well on
/// any 64-bit target without relying on auto-vectorisation.
#[cfg(target_arch = "x86_64")]
type Wide = x2::X2;
#[cfg(not(target_arch = "x86_64"))]
type Wide = u64;

/// SM4's system parameter FK (GB/T 32907 §7.3).
const FK: [u32; 4] = [0xa3b1bac6, 0x56aa3350, 0x677d9197, 0xb27022dc];

/// The fixed parameters CK_i (GB/T 32907 §7.3): byte `j` of CK_i is
/// `(4i + j)·7 mod 256`.
const CK: [u32; 32] = {
    let mut ck = [0u32; 32];
    let mut i = 0;
    while i < 32 {
        let mut w = 0u32;
        let mut j = 0;
        while j < 4 {
            w = (w << 8) | (((4 * i + j) * 7) % 256) as u32;
            j += 1;
        }
        ck[i] = w;
        i += 1;
    }
    ck
};

/// The affine constant on the circuit's input: the circuit computes
/// `S(x)` on the input `x ⊕ A⁻¹·C`, so this is XORed into the round keys.
const IN_CONST: u32 = 0x7575_7575;
/// The output constant `C` of the S-box, replicated to all four bytes.
const OUT_CONST: u32 = 0xd3d3_d3d3;

/// SM4's linear transform L of the round function (GB/T 32907 §6.2).
#[inline(always)]
const fn l_round(b: u32) -> u32 {
    b ^ b.rotate_left(2) ^ b.rotate_left(10) ^ b.rotate_left(18) ^ b.rotate_left(24)
}

/// L applied to the S-box output constant: the offset that the omitted
/// output constant introduces into each new word (see [`BsKeys::new`]).
const L_OUT_CONST: u32 = l_round(OUT_CONST);

/// The key schedule's linear transform L' (GB/T 32907 §7.3).
#[inline(always)]
const fn l_key(b: u32) -> u32 {
    b ^ b.rotate_left(13) ^ b.rotate_left(23)
}

/// The 8-bit S-box circuit on bit planes: `x[j]` holds bit `j` of each lane's
/// input `y = s ⊕ 0x75` and receives bit `j` of `S(s) ⊕ 0xD3`. 129 gates.
#[inline(always)]
fn sbox_planes<W: Copy + BitXor<Output = W> + BitAnd<Output = W>>(x: &mut [W; 8]) {
    // Top linear layer: the SM4 input basis change composed with the
    // Boyar-Peralta top layer (30 XOR).
    let a8 = x[1] ^ x[4];
    let a9 = x[2] ^ x[5];
    let a10 = x[0] ^ x[6];
    let a11 = x[7] ^ a8;
    let a12 = x[2] ^ x[6];
    let a13 = x[3] ^ a11;
    let a14 = x[1] ^ a10;
    let a15 = x[3] ^ x[4];
    let a16 = x[5] ^ a13;
    let a17 = x[7] ^ a9;
    let a18 = a8 ^ a9;
    let a19 = x[3] ^ a12;
    let a20 = x[2] ^ a14;
    let a21 = x[4] ^ x[6];
    let a22 = x[5] ^ x[7];
    let a23 = a9 ^ a14;
    let a24 = a15 ^ a17;
    let a25 = x[4] ^ a9;
    let a26 = x[5] ^ a14;
    let a27 = x[0] ^ a16;
    let a28 = x[2] ^ a8;
    let a29 = x[1] ^ a19;
    let a30 = a10 ^ a16;
    let a31 = x[7] ^ a29;
    let a32 = x[3] ^ a18;
    let a33 = a11 ^ a12;
    let a34 = x[2] ^ x[7];
    let a35 = a10 ^ a25;
    let a36 = a21 ^ a22;
    let a37 = x[0] ^ a11;
    let y1 = a32;
    let y2 = a26;
    let y3 = a18;
    let y4 = a9;
    let y5 = a28;
    let y6 = a13;
    let y7 = a36;
    let y8 = x[5];
    let y9 = a20;
    let y10 = a17;
    let y11 = a24;
    let y12 = a8;
    let y13 = a35;
    let y14 = a23;
    let y15 = a33;
    let y16 = a31;
    let y17 = a15;
    let y18 = a37;
    let y19 = a34;
    let y20 = a30;
    let y21 = a27;
    let u7 = a19;
    // Non-linear middle: inversion in GF(2^8) over the tower field
    // (Boyar-Peralta 2012, 32 AND + 30 XOR).
    let t2 = y12 & y15;
    let t3 = y3 & y6;
    let t4 = t3 ^ t2;
    let t5 = y4 & u7;
    let t6 = t5 ^ t2;
    let t7 = y13 & y16;
    let t8 = y5 & y1;
    let t9 = t8 ^ t7;
    let t10 = y2 & y7;
    let t11 = t10 ^ t7;
    let t12 = y9 & y11;
    let t13 = y14 & y17;
    let t14 = t13 ^ t12;
    let t15 = y8 & y10;
    let t16 = t15 ^ t12;
    let t17 = t4 ^ t14;
    let t18 = t6 ^ t16;
    let t19 = t9 ^ t14;
    let t20 = t11 ^ t16;
    let t21 = t17 ^ y20;
    let t22 = t18 ^ y19;
    let t23 = t19 ^ y21;
    let t24 = t20 ^ y18;
    let t25 = t21 ^ t22;
    let t26 = t21 & t23;
    let t27 = t24 ^ t26;
    let t28 = t25 & t27;
    let t29 = t28 ^ t22;
    let t30 = t23 ^ t24;
    let t31 = t22 ^ t26;
    let t32 = t31 & t30;
    let t33 = t32 ^ t24;
    let t34 = t23 ^ t33;
    let t35 = t27 ^ t33;
    let t36 = t24 & t35;
    let t37 = t36 ^ t34;
    let t38 = t27 ^ t36;
    let t39 = t29 & t38;
    let t40 = t25 ^ t39;
    let t41 = t40 ^ t37;
    let t42 = t29 ^ t33;
    let t43 = t29 ^ t40;
    let t44 = t33 ^ t37;
    let t45 = t42 ^ t41;
    let z0 = t44 & y15;
    let z1 = t37 & y6;
    let z2 = t33 & u7;
    let z3 = t43 & y16;
    let z4 = t40 & y1;
    let z5 = t29 & y7;
    let z6 = t42 & y11;
    let z7 = t45 & y17;
    let z8 = t41 & y10;
    let z9 = t44 & y12;
    let z10 = t37 & y3;
    let z11 = t33 & y4;
    let z12 = t43 & y13;
    let z13 = t40 & y5;
    let z14 = t29 & y2;
    let z15 = t42 & y9;
    let z16 = t45 & y14;
    let z17 = t41 & y8;
    // Bottom linear layer: back to the SM4 basis, composed with the output
    // affine map of the SM4 S-box (37 XOR, constant as NOT).
    let b18 = z11 ^ z14;
    let b19 = z2 ^ z4;
    let b20 = z0 ^ z7;
    let b21 = z3 ^ z10;
    let b22 = z9 ^ z15;
    let b23 = z8 ^ b21;
    let b24 = b19 ^ b20;
    let b25 = z16 ^ b22;
    let b26 = z13 ^ b18;
    let b27 = z6 ^ z12;
    let b28 = z13 ^ z17;
    let b29 = z5 ^ z16;
    let b30 = z1 ^ z9;
    let b31 = b18 ^ b27;
    let b32 = b23 ^ b24;
    let b33 = z15 ^ b31;
    let b34 = z11 ^ b28;
    let b35 = z14 ^ b28;
    let b36 = z5 ^ z6;
    let b37 = z12 ^ b30;
    let b38 = b30 ^ b31;
    let b39 = b34 ^ b37;
    let b40 = b29 ^ b39;
    let b41 = z1 ^ b26;
    let b42 = b24 ^ b36;
    let b43 = z4 ^ b41;
    let b44 = z0 ^ z3;
    let b45 = b29 ^ b33;
    let b46 = b22 ^ b35;
    let b47 = b43 ^ b44;
    let b48 = b26 ^ b32;
    let b49 = b25 ^ b47;
    let b50 = b19 ^ b40;
    let b51 = b20 ^ b38;
    let b52 = z10 ^ b46;
    let b53 = b25 ^ b32;
    let b54 = b23 ^ b45;
    x[0] = b42;
    x[1] = b49;
    x[2] = b54;
    x[3] = b51;
    x[4] = b50;
    x[5] = b48;
    x[6] = b52;
    x[7] = b53;
}

/// The S-box circuit on the four bytes of `y` at once, with the circuit's
/// input constant already applied (`y = x ⊕ 0x75757575`); returns
/// `τ(x) ⊕ 0xd3d3d3d3`. Plane `j` keeps bit `j` of every byte in place (bits
/// 0, 8, 16, 24 after a shift by `j`), so gathering and scattering the planes
/// costs two operations each.
#[inline(always)]
fn sbox_word(y: u32) -> u32 {
    let mut x: [u32; 8] = core::array::from_fn(|j| (y >> j) & 0x0101_0101);
    sbox_planes(&mut x);
    // The circuit maps an all-zero input to zero, so the unused bits of each
    // plane stay clear. Balanced OR tree: this sits on the single-block
    // path's critical chain.
    let a = x[0] | (x[1] << 1);
    let b = (x[2] << 2) | (x[3] << 3);
    let c = (x[4] << 4) | (x[5] << 5);
    let d = (x[6] << 6) | (x[7] << 7);
    (a | b) | (c | d)
}

/// Applies the S-box τ to each byte of `w` (GB/T 32907 §6.2).
fn tau(w: u32) -> u32 {
    sbox_word(w ^ IN_CONST) ^ OUT_CONST
}

/// Encrypts (with `rk` in encryption order) or decrypts (reversed keys) ONE
/// block: the same circuit with one lane per S-box byte, keeping the words in
/// normal form. About 170 operations per round instead of a 16-block batch:
/// this is what the chained modes (CBC/CFB encryption, OFB) use.
pub(super) fn crypt_block(rk: &[u32; 32], block: &mut [u8; 16]) {
    let mut x: [u32; 4] = core::array::from_fn(|i| {
        u32::from_be_bytes([
            block[4 * i],
            block[4 * i + 1],
            block[4 * i + 2],
            block[4 * i + 3],
        ])
    });
    for (i, k) in rk.iter().enumerate() {
        // The newest word, x[(i+3) % 4], is XORed last and L's terms are
        // summed as a balanced tree: one block is latency-bound.
        let early = x[(i + 1) % 4] ^ x[(i + 2) % 4] ^ (k ^ IN_CONST);
        let b = sbox_word(early ^ x[(i + 3) % 4]);
        let l =
            (b ^ b.rotate_left(2)) ^ (b.rotate_left(10) ^ b.rotate_left(18)) ^ b.rotate_left(24);
        x[i % 4] = (x[i % 4] ^ L_OUT_CONST) ^ l;
    }
    for i in 0..4 {
        block[4 * i..4 * i + 4].copy_from_slice(&x[3 - i].to_be_bytes());
    }
    x.zeroize();
}

/// The key schedule (GB/T 32907 §7.3): the 32 round keys in encryption order.
pub(super) fn expand_key(key: &[u8; 16]) -> [u32; 32] {
    let mut k = [0u32; 4];
    for (i, w) in k.iter_mut().enumerate() {
        *w = u32::from_be_bytes([key[4 * i], key[4 * i + 1], key[4 * i + 2], key[4 * i + 3]])
            ^ FK[i];
    }
    let mut rk = [0u32; 32];
    for i in 0..32 {
        let next = k[i % 4]
            ^ l_key(tau(k[(i + 1) % 4]
                ^ k[(i + 2) % 4]
                ^ k[(i + 3) % 4]
                ^ CK[i]));
        k[i % 4] = next;
        rk[i] = next;
    }
    k.zeroize();
    rk
}

/// Round keys in bit-sliced form, in the order the rounds use them, with the
/// circuit's affine constants folded in.
///
/// The circuit omits the S-box's output constant `C`, so each new word
/// `X_{i+4}` comes out as the true word XOR `K_{i+4}`, where
/// `K_{i+4} = K_i ⊕ L(C‖C‖C‖C)` and `K_0..K_3 = 0`. The offsets cancel after
/// 8 groups of 4 rounds (32 rounds: `K_32..K_35 = 0`), and inside the rounds
/// they are removed by XORing `K_{i+1} ⊕ K_{i+2} ⊕ K_{i+3}` into round key
/// `i`, together with the circuit's input constant. Both are public
/// constants, so this costs nothing per block.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(super) struct BsKeys {
    planes: [[u64; 8]; 32],
}

impl BsKeys {
    /// Bit-slices `rk` (given in the order the rounds use them: forward for
    /// encryption, reversed for decryption).
    pub(super) fn new(rk: &[u32; 32]) -> Box<Self> {
        let offset = |i: usize| if (i / 4) % 2 == 1 { L_OUT_CONST } else { 0 };
        let mut keys = Box::new(BsKeys {
            planes: [[0u64; 8]; 32],
        });
        for (i, planes) in keys.planes.iter_mut().enumerate() {
            let k = rk[i] ^ IN_CONST ^ offset(i + 1) ^ offset(i + 2) ^ offset(i + 3);
            for (j, plane) in planes.iter_mut().enumerate() {
                // Bit j of byte p (p = 0 most significant), broadcast to that
                // byte's 16 lanes 16p..16p+16: spread the four bits from
                // 8 apart to 16 apart, reverse the 16-bit groups, then smear
                // each isolated bit over its group (shifts, not a multiply:
                // some small cores multiply in data-dependent time).
                let mut v = u64::from((k >> j) & 0x0101_0101);
                v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
                v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
                v = v.swap_bytes() >> 8;
                v |= v << 1;
                v |= v << 2;
                v |= v << 4;
                v |= v << 8;
                *plane = v;
            }
        }
        keys
    }
}

/// Exchanges index bits inside one register: the bits selected by `mask`
/// trade places with the bits `shift` positions above them.
#[inline(always)]
fn swap_in<W: Planes, const S: i32>(x: W, mask: u64) -> W {
    let t = (x.shr::<S>() ^ x) & W::splat(mask);
    x ^ t ^ t.shl::<S>()
}

/// Exchanges register-index bit `reg_bit` with position-index bit
/// `log2(shift)` across all 16 register pairs.
#[inline(always)]
fn swap_cross<W: Planes, const S: i32>(r: &mut [W; 32], reg_bit: usize, mask: u64) {
    let m = W::splat(mask);
    for lo in 0..32 {
        if lo & (1 << reg_bit) == 0 {
            let hi = lo | (1 << reg_bit);
            let t = (r[lo].shr::<S>() ^ r[hi]) & m;
            r[hi] ^= t;
            r[lo] ^= t.shl::<S>();
        }
    }
}

/// Loaded registers: `r[2k+h]` = bytes `8h..8h+8` of block `k` (little-endian),
/// i.e. register index bits (h, k0..k3), position bits (j0..j2, p0, p1, w0).
/// Afterwards: register index bits (w1, j0, j1, j2, w0), position bits
/// (k0..k3, p0, p1).
#[inline(always)]
fn to_planes<W: Planes>(r: &mut [W; 32]) {
    for v in r.iter_mut() {
        *v = swap_in::<W, 24>(*v, 0x0000_0000_ff00_ff00); // position bits 3 <-> 5
        *v = swap_in::<W, 16>(*v, 0x0000_0000_ffff_0000); // position bits 4 <-> 5
    }
    swap_cross::<W, 1>(r, 1, 0x5555_5555_5555_5555);
    swap_cross::<W, 2>(r, 2, 0x3333_3333_3333_3333);
    swap_cross::<W, 4>(r, 3, 0x0f0f_0f0f_0f0f_0f0f);
    swap_cross::<W, 8>(r, 4, 0x00ff_00ff_00ff_00ff);
}

/// The inverse of [`to_planes`] (the same involutions in reverse order).
#[inline(always)]
fn from_planes<W: Planes>(r: &mut [W; 32]) {
    swap_cross::<W, 8>(r, 4, 0x00ff_00ff_00ff_00ff);
    swap_cross::<W, 4>(r, 3, 0x0f0f_0f0f_0f0f_0f0f);
    swap_cross::<W, 2>(r, 2, 0x3333_3333_3333_3333);
    swap_cross::<W, 1>(r, 1, 0x5555_5555_5555_5555);
    for v in r.iter_mut() {
        *v = swap_in::<W, 16>(*v, 0x0000_0000_ffff_0000);
        *v = swap_in::<W, 24>(*v, 0x0000_0000_ff00_ff00);
    }
}

/// Register holding plane `j` of word `w` after [`to_planes`].
#[inline(always)]
const fn reg(w: usize, j: usize) -> usize {
    (w >> 1) | (j << 1) | ((w & 1) << 4)
}

/// One round: `x0 ^= L(τ(x1 ⊕ x2 ⊕ x3 ⊕ rk))` (GB/T 32907 §6.1).
#[inline(always)]
fn round<W: Planes>(x0: &mut [W; 8], x1: &[W; 8], x2: &[W; 8], x3: &[W; 8], k: &[W; 8]) {
    let mut t = [k[0]; 8];
    for j in 0..8 {
        t[j] = x1[j] ^ x2[j] ^ x3[j] ^ k[j];
    }
    sbox_planes(&mut t);
    // B <<< 2 on every word: planes move up by two; the top two planes wrap
    // into the next more significant byte (a rotation of the lanes by 16).
    let r2 = [
        t[6].rotr16(),
        t[7].rotr16(),
        t[0],
        t[1],
        t[2],
        t[3],
        t[4],
        t[5],
    ];
    // L(B) = B ⊕ B<<<2 ⊕ B<<<10 ⊕ B<<<18 ⊕ B<<<24, and B<<<8m is a rotation
    // of the planes by 16m lanes.
    for j in 0..8 {
        x0[j] ^= t[j] ^ t[j].rotr48() ^ r2[j] ^ r2[j].rotr16() ^ r2[j].rotr32();
    }
}

/// Encrypts (or, with reversed keys, decrypts) `16 * W::GROUPS` blocks in
/// place; `keys` are the bit-sliced round keys splatted to `W`.
#[inline(always)]
fn crypt_batch<W: Planes>(keys: &[[W; 8]; 32], buf: &mut [u8]) {
    debug_assert_eq!(buf.len(), BATCH_BYTES * W::GROUPS);
    let load = |i: usize| {
        W::from_fn(|g| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[g * BATCH_BYTES + 8 * i..g * BATCH_BYTES + 8 * i + 8]);
            u64::from_le_bytes(b)
        })
    };
    let mut r: [W; 32] = core::array::from_fn(load);
    to_planes(&mut r);
    let x: [[W; 8]; 4] = core::array::from_fn(|w| core::array::from_fn(|j| r[reg(w, j)]));
    let [mut a, mut b, mut c, mut d] = x;
    let mut i = 0;
    while i < 32 {
        round(&mut a, &b, &c, &d, &keys[i]);
        round(&mut b, &c, &d, &a, &keys[i + 1]);
        round(&mut c, &d, &a, &b, &keys[i + 2]);
        round(&mut d, &a, &b, &c, &keys[i + 3]);
        i += 4;
    }
    // The output is (X35, X34, X33, X32) (GB/T 32907 §7.1, the reverse
    // transform R).
    for (w, word) in [d, c, b, a].iter().enumerate() {
        for (j, plane) in word.iter().enumerate() {
            r[reg(w, j)] = *plane;
        }
    }
    from_planes(&mut r);
    for (i, v) in r.iter().enumerate() {
        for g in 0..W::GROUPS {
            let at = g * BATCH_BYTES + 8 * i;
            buf[at..at + 8].copy_from_slice(&v.get(g).to_le_bytes());
        }
    }
}

/// Runs the cipher over `data` (a multiple of 16 bytes) with bit-sliced
/// round keys `keys`: 32 blocks at a time on x86-64 (16 elsewhere), a short
/// tail padded into one batch of 32 or 16 blocks.
pub(super) fn crypt_blocks(keys: &BsKeys, data: &mut [u8]) {
    debug_assert_eq!(data.len() % 16, 0);
    const WIDE: usize = Wide::GROUPS * BATCH_BYTES;
    let wide_len = data.len() / WIDE * WIDE;
    let (bulk, rem) = data.split_at_mut(wide_len);
    if !bulk.is_empty() || rem.len() > BATCH_BYTES {
        let wide: [[Wide; 8]; 32] =
            core::array::from_fn(|i| core::array::from_fn(|j| Wide::splat(keys.planes[i][j])));
        for chunk in bulk.chunks_exact_mut(WIDE) {
            crypt_batch(&wide, chunk);
        }
        if rem.len() > BATCH_BYTES {
            let mut buf = [0u8; WIDE];
            buf[..rem.len()].copy_from_slice(rem);
            crypt_batch(&wide, &mut buf);
            rem.copy_from_slice(&buf[..rem.len()]);
            buf.zeroize();
            return;
        }
    }
    if !rem.is_empty() {
        let mut buf = [0u8; BATCH_BYTES];
        buf[..rem.len()].copy_from_slice(rem);
        crypt_batch(&keys.planes, &mut buf);
        rem.copy_from_slice(&buf[..rem.len()]);
        buf.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GF(2^8) multiplication modulo `poly` (test reference only).
    fn gf_mul(mut a: u8, mut b: u8, poly: u16) -> u8 {
        let mut r = 0u8;
        while b != 0 {
            if b & 1 == 1 {
                r ^= a;
            }
            let carry = a & 0x80 != 0;
            a <<= 1;
            if carry {
                a ^= (poly & 0xff) as u8;
            }
            b >>= 1;
        }
        r
    }

    fn gf_inv(a: u8) -> u8 {
        // a^254, with 0 -> 0.
        let mut r = 1u8;
        for _ in 0..254 {
            r = gf_mul(r, a, 0x1f5);
        }
        if a == 0 {
            0
        } else {
            r
        }
    }

    /// `A·x` with A the circulant matrix of 0xA7 (row i = 0xA7 <<< i).
    fn mat_a(x: u8) -> u8 {
        let mut y = 0u8;
        for i in 0..8 {
            let row = 0xa7u8.rotate_left(i);
            y |= (((row & x).count_ones() & 1) as u8) << i;
        }
        y
    }

    /// The SM4 S-box from its algebraic definition.
    fn sbox_ref(x: u8) -> u8 {
        mat_a(gf_inv(mat_a(x) ^ 0xd3)) ^ 0xd3
    }

    #[test]
    fn reference_sbox_matches_standard_table_prefix() {
        // GB/T 32907 §6.2 table, first row.
        let row0 = [
            0xd6, 0x90, 0xe9, 0xfe, 0xcc, 0xe1, 0x3d, 0xb7, 0x16, 0xb6, 0x14, 0xc2, 0x28, 0xfb,
            0x2c, 0x05,
        ];
        for (x, want) in row0.iter().enumerate() {
            assert_eq!(sbox_ref(x as u8), *want);
        }
    }

    #[test]
    fn circuit_matches_sbox_on_all_inputs() {
        for x in 0..=255u8 {
            let w = u32::from_be_bytes([x, x ^ 0x5a, x.wrapping_add(17), !x]);
            let got = tau(w).to_be_bytes();
            let want = [
                sbox_ref(x),
                sbox_ref(x ^ 0x5a),
                sbox_ref(x.wrapping_add(17)),
                sbox_ref(!x),
            ];
            assert_eq!(got, want, "input {x:#04x}");
        }
    }

    #[test]
    fn transposition_round_trips_and_places_bits() {
        let mut r = [0u64; 32];
        let mut s = 0x0123_4567_89ab_cdefu64;
        for v in r.iter_mut() {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *v = s;
        }
        let orig = r;
        to_planes(&mut r);
        // Check every bit against the documented layout.
        for k in 0..16 {
            for byte in 0..16 {
                let b = (orig[2 * k + byte / 8] >> (8 * (byte % 8))) as u8;
                let (w, p) = (byte / 4, byte % 4);
                for j in 0..8 {
                    let bit = (r[reg(w, j)] >> (16 * p + k)) & 1;
                    assert_eq!(bit as u8, (b >> j) & 1);
                }
            }
        }
        from_planes(&mut r);
        assert_eq!(r, orig);
    }

    #[test]
    fn every_batch_shape_agrees_with_the_single_block_path() {
        let key = [0x3cu8; 16];
        let rk = expand_key(&key);
        let keys = BsKeys::new(&rk);
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let data: Vec<u8> = (0..16 * 70)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                (s >> 56) as u8
            })
            .collect();
        let mut want = data.clone();
        for b in want.chunks_exact_mut(16) {
            crypt_block(&rk, b.try_into().unwrap());
        }
        // Every length through the dispatcher (wide batches, padded tails).
        for blocks in 0..=70 {
            let mut got = data[..16 * blocks].to_vec();
            crypt_blocks(&keys, &mut got);
            assert_eq!(got, want[..16 * blocks], "{blocks} blocks");
        }
        // The plain u64 batch on its own (the only width on non-x86 targets).
        let mut got = data[..BATCH_BYTES * 4].to_vec();
        for chunk in got.chunks_exact_mut(BATCH_BYTES) {
            crypt_batch(&keys.planes, chunk);
        }
        assert_eq!(got, want[..BATCH_BYTES * 4]);
    }
}
