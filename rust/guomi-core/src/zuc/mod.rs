//! ZUC-128 with 128-EEA3 (confidentiality) and 128-EIA3 (integrity).
//!
//! References: ETSI/SAGE "Specification of the 3GPP Confidentiality and
//! Integrity Algorithms 128-EEA3 & 128-EIA3", Document 1 (EEA3/EIA3) and
//! Document 2 (ZUC); GM/T 0001-2012 / GB/T 33133.1-2016 (same algorithm).
//!
//! Constant time: the reference evaluates the S-boxes S0 and S1 (Document 2
//! §3.4.2) as 8-bit table lookups indexed by key-dependent state, which leaks
//! through the cache. Here they are never indexed by a secret:
//!
//! - x86-64 with AVX-512 VBMI (preferred): `VPERMI2B` looks all eight
//!   S-box inputs of one clock up in a 128-entry table held in two registers,
//!   once per half of the 256-entry S-box, and bit 7 of each index picks the
//!   half with a mask blend. The whole table is in registers.
//! - x86-64 with AVX2: `VPSHUFB` on the low nibble against each of the 16
//!   table rows, keeping the row whose index equals the high nibble (compare
//!   mask). Every row is read every time; the two 128-bit lanes carry S0 and
//!   S1.
//! - portable: a masked scan of the whole 256-byte table, eight bytes per
//!   word, for every lookup (correct everywhere, slower).
//!
//! The SIMD paths are used when [`crate::backend::active`] is not
//! `Portable` (so `GUOMI_BACKEND=portable` forces the scan); the choice is
//! made when a [`Zuc`] is created. The LFSR runs as a ring buffer for
//! sixteen clocks at a time, so cells are never shifted.
//!
//! Everything else in ZUC is 32-bit arithmetic, shifts and rotations by
//! constants. The EIA3 accumulation selects keystream words with masks, not
//! branches on message bits.

use zeroize::{Zeroize, ZeroizeOnDrop};

mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

use portable::sbox_portable;

use crate::error::{Error, Result};

/// Key length in bytes.
pub const KEY_SIZE: usize = 16;
/// IV length in bytes.
pub const IV_SIZE: usize = 16;

/// S-box S0 (Document 2 §3.4.2).
const S0: [u8; 256] = [
    0x3e, 0x72, 0x5b, 0x47, 0xca, 0xe0, 0x00, 0x33, 0x04, 0xd1, 0x54, 0x98, 0x09, 0xb9, 0x6d, 0xcb,
    0x7b, 0x1b, 0xf9, 0x32, 0xaf, 0x9d, 0x6a, 0xa5, 0xb8, 0x2d, 0xfc, 0x1d, 0x08, 0x53, 0x03, 0x90,
    0x4d, 0x4e, 0x84, 0x99, 0xe4, 0xce, 0xd9, 0x91, 0xdd, 0xb6, 0x85, 0x48, 0x8b, 0x29, 0x6e, 0xac,
    0xcd, 0xc1, 0xf8, 0x1e, 0x73, 0x43, 0x69, 0xc6, 0xb5, 0xbd, 0xfd, 0x39, 0x63, 0x20, 0xd4, 0x38,
    0x76, 0x7d, 0xb2, 0xa7, 0xcf, 0xed, 0x57, 0xc5, 0xf3, 0x2c, 0xbb, 0x14, 0x21, 0x06, 0x55, 0x9b,
    0xe3, 0xef, 0x5e, 0x31, 0x4f, 0x7f, 0x5a, 0xa4, 0x0d, 0x82, 0x51, 0x49, 0x5f, 0xba, 0x58, 0x1c,
    0x4a, 0x16, 0xd5, 0x17, 0xa8, 0x92, 0x24, 0x1f, 0x8c, 0xff, 0xd8, 0xae, 0x2e, 0x01, 0xd3, 0xad,
    0x3b, 0x4b, 0xda, 0x46, 0xeb, 0xc9, 0xde, 0x9a, 0x8f, 0x87, 0xd7, 0x3a, 0x80, 0x6f, 0x2f, 0xc8,
    0xb1, 0xb4, 0x37, 0xf7, 0x0a, 0x22, 0x13, 0x28, 0x7c, 0xcc, 0x3c, 0x89, 0xc7, 0xc3, 0x96, 0x56,
    0x07, 0xbf, 0x7e, 0xf0, 0x0b, 0x2b, 0x97, 0x52, 0x35, 0x41, 0x79, 0x61, 0xa6, 0x4c, 0x10, 0xfe,
    0xbc, 0x26, 0x95, 0x88, 0x8a, 0xb0, 0xa3, 0xfb, 0xc0, 0x18, 0x94, 0xf2, 0xe1, 0xe5, 0xe9, 0x5d,
    0xd0, 0xdc, 0x11, 0x66, 0x64, 0x5c, 0xec, 0x59, 0x42, 0x75, 0x12, 0xf5, 0x74, 0x9c, 0xaa, 0x23,
    0x0e, 0x86, 0xab, 0xbe, 0x2a, 0x02, 0xe7, 0x67, 0xe6, 0x44, 0xa2, 0x6c, 0xc2, 0x93, 0x9f, 0xf1,
    0xf6, 0xfa, 0x36, 0xd2, 0x50, 0x68, 0x9e, 0x62, 0x71, 0x15, 0x3d, 0xd6, 0x40, 0xc4, 0xe2, 0x0f,
    0x8e, 0x83, 0x77, 0x6b, 0x25, 0x05, 0x3f, 0x0c, 0x30, 0xea, 0x70, 0xb7, 0xa1, 0xe8, 0xa9, 0x65,
    0x8d, 0x27, 0x1a, 0xdb, 0x81, 0xb3, 0xa0, 0xf4, 0x45, 0x7a, 0x19, 0xdf, 0xee, 0x78, 0x34, 0x60,
];

/// S-box S1 (Document 2 §3.4.2).
const S1: [u8; 256] = [
    0x55, 0xc2, 0x63, 0x71, 0x3b, 0xc8, 0x47, 0x86, 0x9f, 0x3c, 0xda, 0x5b, 0x29, 0xaa, 0xfd, 0x77,
    0x8c, 0xc5, 0x94, 0x0c, 0xa6, 0x1a, 0x13, 0x00, 0xe3, 0xa8, 0x16, 0x72, 0x40, 0xf9, 0xf8, 0x42,
    0x44, 0x26, 0x68, 0x96, 0x81, 0xd9, 0x45, 0x3e, 0x10, 0x76, 0xc6, 0xa7, 0x8b, 0x39, 0x43, 0xe1,
    0x3a, 0xb5, 0x56, 0x2a, 0xc0, 0x6d, 0xb3, 0x05, 0x22, 0x66, 0xbf, 0xdc, 0x0b, 0xfa, 0x62, 0x48,
    0xdd, 0x20, 0x11, 0x06, 0x36, 0xc9, 0xc1, 0xcf, 0xf6, 0x27, 0x52, 0xbb, 0x69, 0xf5, 0xd4, 0x87,
    0x7f, 0x84, 0x4c, 0xd2, 0x9c, 0x57, 0xa4, 0xbc, 0x4f, 0x9a, 0xdf, 0xfe, 0xd6, 0x8d, 0x7a, 0xeb,
    0x2b, 0x53, 0xd8, 0x5c, 0xa1, 0x14, 0x17, 0xfb, 0x23, 0xd5, 0x7d, 0x30, 0x67, 0x73, 0x08, 0x09,
    0xee, 0xb7, 0x70, 0x3f, 0x61, 0xb2, 0x19, 0x8e, 0x4e, 0xe5, 0x4b, 0x93, 0x8f, 0x5d, 0xdb, 0xa9,
    0xad, 0xf1, 0xae, 0x2e, 0xcb, 0x0d, 0xfc, 0xf4, 0x2d, 0x46, 0x6e, 0x1d, 0x97, 0xe8, 0xd1, 0xe9,
    0x4d, 0x37, 0xa5, 0x75, 0x5e, 0x83, 0x9e, 0xab, 0x82, 0x9d, 0xb9, 0x1c, 0xe0, 0xcd, 0x49, 0x89,
    0x01, 0xb6, 0xbd, 0x58, 0x24, 0xa2, 0x5f, 0x38, 0x78, 0x99, 0x15, 0x90, 0x50, 0xb8, 0x95, 0xe4,
    0xd0, 0x91, 0xc7, 0xce, 0xed, 0x0f, 0xb4, 0x6f, 0xa0, 0xcc, 0xf0, 0x02, 0x4a, 0x79, 0xc3, 0xde,
    0xa3, 0xef, 0xea, 0x51, 0xe6, 0x6b, 0x18, 0xec, 0x1b, 0x2c, 0x80, 0xf7, 0x74, 0xe7, 0xff, 0x21,
    0x5a, 0x6a, 0x54, 0x1e, 0x41, 0x31, 0x92, 0x35, 0xc4, 0x33, 0x07, 0x0a, 0xba, 0x7e, 0x0e, 0x34,
    0x88, 0xb1, 0x98, 0x7c, 0xf3, 0x3d, 0x60, 0x6c, 0x7b, 0xca, 0xd3, 0x1f, 0x32, 0x65, 0x04, 0x28,
    0x64, 0xbe, 0x85, 0x9b, 0x2f, 0x59, 0x8a, 0xd7, 0xb0, 0x25, 0xac, 0xaf, 0x12, 0x03, 0xe2, 0xf2,
];

/// The 15-bit constants d_i of the key loading (Document 2 §3.5.1).
const EK_D: [u32; 16] = [
    0x44d7, 0x26bc, 0x626b, 0x135e, 0x5789, 0x35e2, 0x7135, 0x09af, 0x4d78, 0x2f13, 0x6bc4, 0x1af1,
    0x5e26, 0x3c4d, 0x789a, 0x47ac,
];

// ----------------------------------------------------------------- engine --

#[inline(always)]
fn add_m(a: u32, b: u32) -> u32 {
    // a + b mod (2^31 - 1) on 31-bit values; 0 is represented as 2^31 - 1,
    // exactly as the specification's "if s16 = 0 then s16 = 2^31 - 1".
    let c = a.wrapping_add(b);
    (c & 0x7fff_ffff).wrapping_add(c >> 31)
}

#[inline(always)]
fn mul_pow2(x: u32, k: u32) -> u32 {
    ((x << k) | (x >> (31 - k))) & 0x7fff_ffff
}

#[inline(always)]
fn l1(x: u32) -> u32 {
    x ^ x.rotate_left(2) ^ x.rotate_left(10) ^ x.rotate_left(18) ^ x.rotate_left(24)
}

#[inline(always)]
fn l2(x: u32) -> u32 {
    x ^ x.rotate_left(8) ^ x.rotate_left(14) ^ x.rotate_left(22) ^ x.rotate_left(30)
}

/// The cipher state: the LFSR s0..s15 (31-bit cells) and the FSM registers.
#[derive(Clone, Zeroize)]
struct State {
    s: [u32; 16],
    r1: u32,
    r2: u32,
}

/// One clock: bit reorganisation, F, and the LFSR update. `init` selects
/// initialisation mode (u = W >> 1 fed back) or work mode; returns Z = W ^ X3.
macro_rules! clock {
    ($st:expr, $sbox:expr, $init:expr) => {{
        let st: &mut State = $st;
        let s = &mut st.s;
        // Bit reorganisation (Document 2 §3.3).
        let x0 = ((s[15] & 0x7fff_8000) << 1) | (s[14] & 0xffff);
        let x1 = ((s[11] & 0xffff) << 16) | (s[9] >> 15);
        let x2 = ((s[7] & 0xffff) << 16) | (s[5] >> 15);
        let x3 = ((s[2] & 0xffff) << 16) | (s[0] >> 15);
        // F (§3.4).
        let w = (x0 ^ st.r1).wrapping_add(st.r2);
        let w1 = st.r1.wrapping_add(x1);
        let w2 = st.r2 ^ x2;
        let u = l1((w1 << 16) | (w2 >> 16));
        let v = l2((w2 << 16) | (w1 >> 16));
        let (r1, r2) = $sbox(u, v);
        st.r1 = r1;
        st.r2 = r2;
        // LFSR (§3.2): s16 = 2^15 s15 + 2^17 s13 + 2^21 s10 + 2^20 s4 + (1 + 2^8) s0.
        let mut f = s[0];
        f = add_m(f, mul_pow2(s[0], 8));
        f = add_m(f, mul_pow2(s[4], 20));
        f = add_m(f, mul_pow2(s[10], 21));
        f = add_m(f, mul_pow2(s[13], 17));
        f = add_m(f, mul_pow2(s[15], 15));
        if $init {
            f = add_m(f, w >> 1);
        }
        s.copy_within(1..16, 0);
        s[15] = f;
        w ^ x3
    }};
}

/// Work-mode clock on a ring-buffered LFSR: logical cell s_k lives at index
/// `($o + k) & 15`, and the new cell s16 overwrites s0's slot, so sixteen
/// clocks at offsets 0..15 need no shifting and leave the array in canonical
/// order again. Returns the keystream word Z = W ^ X3.
macro_rules! clock_ring {
    ($s:ident, $r1:ident, $r2:ident, $sbox:expr, $o:expr) => {{
        let x0 = (($s[($o + 15) & 15] & 0x7fff_8000) << 1) | ($s[($o + 14) & 15] & 0xffff);
        let x1 = (($s[($o + 11) & 15] & 0xffff) << 16) | ($s[($o + 9) & 15] >> 15);
        let x2 = (($s[($o + 7) & 15] & 0xffff) << 16) | ($s[($o + 5) & 15] >> 15);
        let x3 = (($s[($o + 2) & 15] & 0xffff) << 16) | ($s[$o & 15] >> 15);
        let w = (x0 ^ $r1).wrapping_add($r2);
        let w1 = $r1.wrapping_add(x1);
        let w2 = $r2 ^ x2;
        let (n1, n2) = $sbox(l1((w1 << 16) | (w2 >> 16)), l2((w2 << 16) | (w1 >> 16)));
        $r1 = n1;
        $r2 = n2;
        let s0 = $s[$o & 15];
        let mut f = add_m(s0, mul_pow2(s0, 8));
        f = add_m(f, mul_pow2($s[($o + 4) & 15], 20));
        f = add_m(f, mul_pow2($s[($o + 10) & 15], 21));
        f = add_m(f, mul_pow2($s[($o + 13) & 15], 17));
        f = add_m(f, mul_pow2($s[($o + 15) & 15], 15));
        $s[$o & 15] = f;
        w ^ x3
    }};
}

/// Fills `out` sixteen words at a time on the ring-buffered state, the tail
/// one word at a time with the shifting form.
macro_rules! fill_body {
    ($st:ident, $out:ident, $sbox:expr) => {{
        let mut chunks = $out.chunks_exact_mut(16);
        let mut s = $st.s;
        let (mut r1, mut r2) = ($st.r1, $st.r2);
        for c in &mut chunks {
            c[0] = clock_ring!(s, r1, r2, $sbox, 0);
            c[1] = clock_ring!(s, r1, r2, $sbox, 1);
            c[2] = clock_ring!(s, r1, r2, $sbox, 2);
            c[3] = clock_ring!(s, r1, r2, $sbox, 3);
            c[4] = clock_ring!(s, r1, r2, $sbox, 4);
            c[5] = clock_ring!(s, r1, r2, $sbox, 5);
            c[6] = clock_ring!(s, r1, r2, $sbox, 6);
            c[7] = clock_ring!(s, r1, r2, $sbox, 7);
            c[8] = clock_ring!(s, r1, r2, $sbox, 8);
            c[9] = clock_ring!(s, r1, r2, $sbox, 9);
            c[10] = clock_ring!(s, r1, r2, $sbox, 10);
            c[11] = clock_ring!(s, r1, r2, $sbox, 11);
            c[12] = clock_ring!(s, r1, r2, $sbox, 12);
            c[13] = clock_ring!(s, r1, r2, $sbox, 13);
            c[14] = clock_ring!(s, r1, r2, $sbox, 14);
            c[15] = clock_ring!(s, r1, r2, $sbox, 15);
        }
        $st.s = s;
        $st.r1 = r1;
        $st.r2 = r2;
        s.zeroize();
        for o in chunks.into_remainder() {
            *o = clock!($st, $sbox, false);
        }
    }};
}

/// The initialisation (32 clocks in init mode, one discarded word) and the keystream fill
/// of one S-box evaluation path, as a pair of functions compiled for that path's features.
macro_rules! backend {
    ($init:ident, $fill:ident, $sbox:path $(, $feature:literal)?) => {
        $(#[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)])?
        fn $init(st: &mut State) {
            for _ in 0..32 {
                let _ = clock!(st, $sbox, true);
            }
            let _ = clock!(st, $sbox, false);
        }

        $(#[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)])?
        fn $fill(st: &mut State, out: &mut [u32]) {
            fill_body!(st, out, $sbox);
        }
    };
}

backend!(init_portable, fill_portable, sbox_portable);
backend!(init_avx2, fill_avx2, x86::sbox_avx2, "avx2");
backend!(
    init_vbmi,
    fill_vbmi,
    x86::sbox_vbmi,
    "avx512f,avx512bw,avx512vbmi"
);

/// How the S-boxes are evaluated (all constant time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    /// Masked scan of the whole table.
    Portable,
    /// VPSHUFB over every 16-entry row (x86-64 AVX2).
    Avx2,
    /// VPERMI2B over the whole table in registers (x86-64 AVX-512 VBMI).
    Vbmi,
}

/// Every path this CPU can run, slowest first.
fn available_paths() -> Vec<Path> {
    #[allow(unused_mut)]
    let mut paths = vec![Path::Portable];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            paths.push(Path::Avx2);
        }
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vbmi")
        {
            paths.push(Path::Vbmi);
        }
    }
    paths
}

/// The path for new objects: the fastest this CPU has, unless the backend
/// is forced to portable (`GUOMI_BACKEND=portable`), which forces it here too.
fn best_path() -> Path {
    if crate::backend::active() == crate::backend::Backend::Portable {
        return Path::Portable;
    }
    *available_paths().last().unwrap_or(&Path::Portable)
}

/// A ZUC-128 keystream generator. State (and so the key) is wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Zuc {
    st: State,
    #[zeroize(skip)]
    path: Path,
}

impl core::fmt::Debug for Zuc {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Zuc { .. }")
    }
}

impl Zuc {
    /// Loads `key` and `iv` (16 bytes each) and runs the 32 initialisation
    /// rounds plus the discarded first work-mode round (Document 2 §3.6).
    pub fn new(key: &[u8], iv: &[u8]) -> Result<Zuc> {
        let key: &[u8; KEY_SIZE] = key
            .try_into()
            .map_err(|_| Error::invalid_key(format!("ZUC key must be {KEY_SIZE} bytes")))?;
        let iv: &[u8; IV_SIZE] = iv
            .try_into()
            .map_err(|_| Error::invalid_argument(format!("ZUC IV must be {IV_SIZE} bytes")))?;
        Ok(Self::from_arrays(key, iv, best_path()))
    }

    fn from_arrays(key: &[u8; KEY_SIZE], iv: &[u8; IV_SIZE], path: Path) -> Zuc {
        let mut st = State {
            s: [0; 16],
            r1: 0,
            r2: 0,
        };
        for i in 0..16 {
            st.s[i] = (u32::from(key[i]) << 23) | (EK_D[i] << 8) | u32::from(iv[i]);
        }
        let mut z = Zuc { st, path };
        z.run_init();
        z
    }

    fn run_init(&mut self) {
        match self.path {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: Path::Avx2 is only chosen when AVX2 was detected at run time.
            Path::Avx2 => unsafe { init_avx2(&mut self.st) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: Path::Vbmi is only chosen when AVX-512 F/BW/VBMI were detected.
            Path::Vbmi => unsafe { init_vbmi(&mut self.st) },
            _ => init_portable(&mut self.st),
        }
    }

    /// Fills `out` with the next keystream words z1, z2, ...
    pub fn fill_words(&mut self, out: &mut [u32]) {
        match self.path {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: Path::Avx2 is only chosen when AVX2 was detected at run time.
            Path::Avx2 => unsafe { fill_avx2(&mut self.st, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: Path::Vbmi is only chosen when AVX-512 F/BW/VBMI were detected.
            Path::Vbmi => unsafe { fill_vbmi(&mut self.st, out) },
            _ => fill_portable(&mut self.st, out),
        }
    }

    /// The next keystream word.
    pub fn next_word(&mut self) -> u32 {
        let mut w = [0u32; 1];
        self.fill_words(&mut w);
        w[0]
    }

    /// Writes the next `out.len() / 4` keystream words big-endian into `out`
    /// (`out.len()` must be a multiple of 4; extra bytes are left untouched).
    pub fn keystream_bytes(&mut self, out: &mut [u8]) {
        let mut buf = [0u32; 64];
        for chunk in out.chunks_mut(256) {
            let n = chunk.len() / 4;
            self.fill_words(&mut buf[..n]);
            for (c, w) in chunk.chunks_exact_mut(4).zip(buf.iter()) {
                c.copy_from_slice(&w.to_be_bytes());
            }
        }
        buf.zeroize();
    }

    /// XORs the keystream (as big-endian bytes) into `data`, consuming
    /// ceil(len / 4) words.
    pub fn apply_keystream(&mut self, data: &mut [u8]) {
        let mut buf = [0u32; 64];
        for chunk in data.chunks_mut(256) {
            let n = chunk.len().div_ceil(4);
            self.fill_words(&mut buf[..n]);
            for (c, w) in chunk.chunks_mut(4).zip(buf.iter()) {
                for (b, k) in c.iter_mut().zip(w.to_be_bytes()) {
                    *b ^= k;
                }
            }
        }
        buf.zeroize();
    }
}

// ------------------------------------------------------------- EEA3 / EIA3 --

fn check_params(bearer: u32, direction: u32, data_len: usize, length_bits: u64) -> Result<()> {
    if bearer > 31 {
        return Err(Error::invalid_argument(format!(
            "BEARER must be a 5-bit value (0..31), got {bearer}"
        )));
    }
    if direction > 1 {
        return Err(Error::invalid_argument(format!(
            "DIRECTION must be 0 or 1, got {direction}"
        )));
    }
    if length_bits > u64::from(u32::MAX) {
        return Err(Error::invalid_argument(
            "LENGTH must fit in 32 bits (at most 2^32 - 1 bits)",
        ));
    }
    let need = length_bits.div_ceil(8);
    if (data_len as u64) < need {
        return Err(Error::invalid_argument(format!(
            "data is {data_len} bytes but LENGTH = {length_bits} bits needs {need} bytes"
        )));
    }
    Ok(())
}

/// The 128-EEA3 IV (Document 1 §3.3): COUNT || BEARER || DIRECTION || 0...,
/// repeated in both halves.
fn eea3_iv(count: u32, bearer: u32, direction: u32) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..4].copy_from_slice(&count.to_be_bytes());
    iv[4] = ((bearer << 3) | (direction << 2)) as u8;
    let (a, b) = iv.split_at_mut(8);
    b.copy_from_slice(a);
    iv
}

/// The 128-EIA3 IV (Document 1 §4.3).
fn eia3_iv(count: u32, bearer: u32, direction: u32) -> [u8; 16] {
    let mut iv = [0u8; 16];
    let c = count.to_be_bytes();
    iv[..4].copy_from_slice(&c);
    iv[4] = (bearer << 3) as u8;
    iv[8..12].copy_from_slice(&c);
    iv[8] ^= (direction << 7) as u8;
    iv[12] = iv[4];
    iv[14] = (direction << 7) as u8;
    iv
}

/// 128-EEA3: encrypts (or decrypts) the first `length_bits` bits of `data`
/// into `out` (ceil(length_bits / 8) bytes). Trailing bits of the last byte
/// beyond `length_bits` are set to zero (Document 1 §3.4).
pub fn eea3(
    key: &[u8],
    count: u32,
    bearer: u32,
    direction: u32,
    data: &[u8],
    length_bits: u64,
    out: &mut [u8],
) -> Result<()> {
    check_params(bearer, direction, data.len(), length_bits)?;
    let n = length_bits.div_ceil(8) as usize;
    if out.len() != n {
        return Err(Error::invalid_argument(
            "EEA3 output buffer has the wrong length",
        ));
    }
    let mut z = Zuc::new(key, &eea3_iv(count, bearer, direction))?;
    out.copy_from_slice(&data[..n]);
    z.apply_keystream(out);
    let rem = (length_bits % 8) as u32;
    if rem != 0 {
        out[n - 1] &= 0xffu8 << (8 - rem);
    }
    Ok(())
}

/// Keystream words one at a time, generated 64 at a time.
struct WordReader {
    zuc: Zuc,
    buf: [u32; 64],
    pos: usize,
}

impl WordReader {
    fn new(zuc: Zuc) -> Self {
        WordReader {
            zuc,
            buf: [0; 64],
            pos: 64,
        }
    }

    fn next(&mut self) -> u32 {
        if self.pos == self.buf.len() {
            self.zuc.fill_words(&mut self.buf);
            self.pos = 0;
        }
        let w = self.buf[self.pos];
        self.pos += 1;
        w
    }
}

impl Drop for WordReader {
    fn drop(&mut self) {
        self.buf.zeroize();
    }
}

/// The 32 keystream bits starting `j` bits into `hi` (then into `lo`).
#[inline(always)]
fn window(hi: u32, lo: u32, j: usize) -> u32 {
    if j == 0 {
        hi
    } else {
        (hi << j) | (lo >> (32 - j))
    }
}

/// 128-EIA3: the 32-bit MAC over the first `length_bits` bits of `data`
/// (Document 1 §4.4: T ^= z[i..i+32] for every message bit i set, then
/// T ^= z[LENGTH..], MAC = T ^ z_L with L = ceil(LENGTH / 32) + 2).
pub fn eia3(
    key: &[u8],
    count: u32,
    bearer: u32,
    direction: u32,
    data: &[u8],
    length_bits: u64,
) -> Result<u32> {
    check_params(bearer, direction, data.len(), length_bits)?;
    let zuc = Zuc::new(key, &eia3_iv(count, bearer, direction))?;
    let mut ks = WordReader::new(zuc);
    let length = length_bits as usize;
    let nw = length.div_ceil(32);
    let (mut cur, mut nxt) = (ks.next(), ks.next());
    let mut t: u32 = 0;
    for wi in 0..nw {
        let mut m = [0u8; 4];
        let off = wi * 4;
        let take = (data.len() - off).min(4);
        m[..take].copy_from_slice(&data[off..off + take]);
        let m = u32::from_be_bytes(m);
        let bits = (length - wi * 32).min(32);
        for j in 0..bits {
            // Message bits may be secret: select with a mask, not a branch.
            let bit = (m >> (31 - j)) & 1;
            t ^= window(cur, nxt, j) & bit.wrapping_neg();
        }
        if wi + 1 < nw || length.is_multiple_of(32) {
            cur = nxt;
            nxt = ks.next();
        }
    }
    let j = length % 32;
    t ^= window(cur, nxt, j);
    // z_L: the word after the last window's second word when LENGTH is not
    // a multiple of 32, else that second word itself.
    let z_l = if j == 0 { nxt } else { ks.next() };
    Ok(t ^ z_l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document2_test_set_1_both_paths() {
        for path in available_paths() {
            let mut z = Zuc::from_arrays(&[0; 16], &[0; 16], path);
            assert_eq!(z.next_word(), 0x27bede74);
            assert_eq!(z.next_word(), 0x018082da);
        }
    }

    #[test]
    fn long_streams_agree_across_paths_and_chunkings() {
        let (k, iv) = ([0x3cu8; 16], [0xa5u8; 16]);
        let mut a = Zuc::from_arrays(&k, &iv, Path::Portable);
        let mut whole = [0u32; 1000];
        a.fill_words(&mut whole);
        for path in available_paths() {
            let mut b = Zuc::from_arrays(&k, &iv, path);
            let mut parts = [0u32; 1000];
            let mut at = 0;
            for n in [1usize, 15, 16, 17, 33, 100, 818] {
                b.fill_words(&mut parts[at..at + n]);
                at += n;
            }
            assert_eq!(at, 1000);
            assert_eq!(parts, whole, "{path:?}");
        }
    }

    #[test]
    fn sbox_paths_agree_on_every_byte() {
        for b in 0..=255u32 {
            let x = b | (b << 8) | (b << 16) | (b << 24);
            let (p, q) = sbox_portable(x, x.rotate_left(8));
            assert_eq!(p >> 24, u32::from(S0[b as usize]));
            assert_eq!(p & 0xff, u32::from(S1[b as usize]));
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 was just detected.
                let r = unsafe { x86::sbox_avx2(x, x.rotate_left(8)) };
                assert_eq!(r, (p, q));
            }
            #[cfg(target_arch = "x86_64")]
            if available_paths().contains(&Path::Vbmi) {
                // SAFETY: AVX-512 F/BW/VBMI were just detected.
                let r = unsafe { x86::sbox_vbmi(x, x.rotate_left(8)) };
                assert_eq!(r, (p, q));
            }
        }
    }
}
