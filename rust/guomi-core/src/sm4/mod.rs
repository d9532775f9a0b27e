//! SM4 (GB/T 32907-2016): the block cipher and everything built on it.
//!
//! - [`Sm4`]: an expanded key; single blocks and many blocks at once, CTR
//!   keystreams. It picks its implementation path once, at construction, from
//!   [`crate::backend::active`]: the AES-NI/AVX2 or GFNI/AVX-512 kernels on
//!   x86-64 when the CPU has them, the bit-sliced `portable` kernel
//!   everywhere else. Every path is constant time (no table indexed by key or
//!   data, no secret-dependent branch).
//! - [`modes`]: ECB / CBC / CFB / OFB / CTR streaming state machines.
//! - [`xts`], [`gcm`], [`ccm`] (with [`ghash`]): the tweakable and
//!   authenticated modes.

use crate::backend::{self, Backend};
use crate::error::{Error, Result};
use std::sync::OnceLock;
use zeroize::{Zeroize, ZeroizeOnDrop};

pub mod ccm;
pub mod gcm;
pub mod ghash;
pub mod modes;
pub mod xts;

mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

/// SM4 block size in bytes.
pub const BLOCK_SIZE: usize = 16;
/// SM4 key size in bytes.
pub const KEY_SIZE: usize = 16;

/// Blocks of keystream generated per kernel call in CTR mode (1 KiB on the
/// stack): wide enough for every kernel's full parallel width.
const CTR_CHUNK_BLOCKS: usize = 64;

/// True when the AES-NI kernel is compiled in and usable on this CPU.
pub fn aesni_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        x86::avx2::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// True when the GFNI kernel is compiled in and usable on this CPU.
pub fn gfni_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        x86::avx512::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The kernel an [`Sm4`] runs, fixed at construction.
#[derive(Clone)]
enum Kernel {
    /// Bit-sliced round keys for encryption and, made on first use (CTR,
    /// GCM, CCM and the CFB/OFB modes never decrypt blocks), for decryption
    /// (boxed: 2 KiB each, zeroized on drop).
    Portable {
        enc: Box<portable::BsKeys>,
        dec: OnceLock<Box<portable::BsKeys>>,
    },
    #[cfg(target_arch = "x86_64")]
    AesNi,
    #[cfg(target_arch = "x86_64")]
    Gfni,
}

/// An SM4 key, expanded into its 32 round keys. Zeroized on drop; its
/// `Debug` output shows no key material.
#[derive(Clone)]
pub struct Sm4 {
    /// Round keys in encryption order.
    rk: [u32; 32],
    /// Round keys in decryption order (GB/T 32907 §7.2: reversed).
    rk_rev: [u32; 32],
    kernel: Kernel,
}

impl Drop for Sm4 {
    fn drop(&mut self) {
        self.rk.zeroize();
        self.rk_rev.zeroize();
        // The boxed bit-sliced keys zeroize themselves (ZeroizeOnDrop).
    }
}

impl ZeroizeOnDrop for Sm4 {}

impl core::fmt::Debug for Sm4 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Sm4 {{ backend: {:?}, .. }}", self.backend())
    }
}

impl Sm4 {
    /// Expands a 16-byte key (GB/T 32907 §7.3); any other length is an
    /// [`crate::ErrorKind::InvalidKey`] error.
    pub fn new(key: &[u8]) -> Result<Self> {
        let key: &[u8; KEY_SIZE] = key.try_into().map_err(|_| {
            Error::invalid_key(format!(
                "SM4 key must be {KEY_SIZE} bytes, got {}",
                key.len()
            ))
        })?;
        Ok(Self::with_backend(key, backend::active()))
    }

    /// Expands `key` for an explicitly chosen path (falling back to the
    /// portable kernel when `wanted` is not usable on this CPU). For tests and
    /// benchmarks that compare the paths.
    pub fn with_backend(key: &[u8; KEY_SIZE], wanted: Backend) -> Self {
        let rk = portable::expand_key(key);
        let mut rk_rev = rk;
        rk_rev.reverse();
        let kernel = Self::pick(wanted).unwrap_or_else(|| Kernel::Portable {
            enc: portable::BsKeys::new(&rk),
            dec: OnceLock::new(),
        });
        Sm4 { rk, rk_rev, kernel }
    }

    /// The SIMD kernel for `wanted`, if it is compiled in and usable.
    fn pick(wanted: Backend) -> Option<Kernel> {
        #[cfg(target_arch = "x86_64")]
        {
            if wanted == Backend::GfniAvx512 && x86::avx512::available() {
                return Some(Kernel::Gfni);
            }
            if matches!(wanted, Backend::AesNiAvx2 | Backend::GfniAvx512) && x86::avx2::available()
            {
                return Some(Kernel::AesNi);
            }
        }
        let _ = wanted;
        None
    }

    /// The implementation path this key runs on.
    pub fn backend(&self) -> Backend {
        match self.kernel {
            Kernel::Portable { .. } => Backend::Portable,
            #[cfg(target_arch = "x86_64")]
            Kernel::AesNi => Backend::AesNiAvx2,
            #[cfg(target_arch = "x86_64")]
            Kernel::Gfni => Backend::GfniAvx512,
        }
    }

    /// Runs the 32 rounds over every whole block of `data` in place.
    #[inline]
    fn run(&self, data: &mut [u8], decrypt: bool) {
        // Callers pass whole blocks; a stray tail is left untouched rather
        // than read out of bounds by a SIMD kernel.
        let whole = data.len() - data.len() % BLOCK_SIZE;
        let data = &mut data[..whole];
        if data.is_empty() {
            return;
        }
        match &self.kernel {
            Kernel::Portable { .. } if data.len() == BLOCK_SIZE => {
                // One block (the chained modes): the single-block circuit is
                // cheaper than a padded 16/32-block batch.
                let block: &mut [u8; 16] = data.try_into().expect("one block");
                portable::crypt_block(if decrypt { &self.rk_rev } else { &self.rk }, block)
            }
            Kernel::Portable { enc, dec } => {
                let keys = if decrypt {
                    dec.get_or_init(|| portable::BsKeys::new(&self.rk_rev))
                } else {
                    enc
                };
                portable::crypt_blocks(keys, data)
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::AesNi => {
                let rk = if decrypt { &self.rk_rev } else { &self.rk };
                // SAFETY: `Kernel::AesNi` is only chosen when
                // `x86::avx2::available()` confirmed the CPU features the
                // kernel is compiled for; `data` is a whole number of blocks.
                unsafe { x86::avx2::encrypt_blocks(rk, data) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Gfni => {
                let rk = if decrypt { &self.rk_rev } else { &self.rk };
                // SAFETY: `Kernel::Gfni` is only chosen when
                // `x86::avx512::available()` confirmed the CPU features; `data`
                // is a whole number of blocks.
                unsafe { x86::avx512::encrypt_blocks(rk, data) }
            }
        }
    }

    /// Encrypts one block in place.
    pub fn encrypt_block(&self, block: &mut [u8; 16]) {
        self.run(block, false);
    }

    /// Decrypts one block in place.
    pub fn decrypt_block(&self, block: &mut [u8; 16]) {
        self.run(block, true);
    }

    /// Encrypts `data.len() / 16` independent blocks in place (ECB), using
    /// the widest parallel kernel available. `data.len()` must be a multiple
    /// of 16 (a trailing partial block is left unchanged).
    pub fn encrypt_blocks(&self, data: &mut [u8]) {
        debug_assert_eq!(data.len() % BLOCK_SIZE, 0);
        self.run(data, false);
    }

    /// Decrypts independent blocks in place (ECB). Length must be a multiple
    /// of 16 (a trailing partial block is left unchanged).
    pub fn decrypt_blocks(&self, data: &mut [u8]) {
        debug_assert_eq!(data.len() % BLOCK_SIZE, 0);
        self.run(data, true);
    }

    /// XORs the CTR keystream into `data` (any length; a final partial block
    /// uses a prefix of its keystream block). `counter` is the next counter
    /// block, incremented as a 128-bit big-endian integer per block and left
    /// pointing at the block after the last one used.
    pub fn ctr128_xor(&self, counter: &mut [u8; 16], data: &mut [u8]) {
        match self.kernel {
            // The SIMD kernels build the counters in registers (fused CTR).
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::AesNi` is only chosen when
            // `x86::avx2::available()` confirmed the CPU features.
            Kernel::AesNi => unsafe { x86::avx2::ctr128_xor(&self.rk, counter, data) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::Gfni` is only chosen when
            // `x86::avx512::available()` confirmed the CPU features.
            Kernel::Gfni => unsafe { x86::avx512::ctr128_xor(&self.rk, counter, data) },
            _ => self.ctr_xor(counter, data, |c| c.wrapping_add(1)),
        }
    }

    /// As [`Sm4::ctr128_xor`] but only the low 32 bits of the counter are
    /// incremented (wrapping), as GCM requires (NIST SP 800-38D inc32).
    pub fn ctr32_xor(&self, counter: &mut [u8; 16], data: &mut [u8]) {
        match self.kernel {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in `ctr128_xor`.
            Kernel::AesNi => unsafe { x86::avx2::ctr32_xor(&self.rk, counter, data) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in `ctr128_xor`.
            Kernel::Gfni => unsafe { x86::avx512::ctr32_xor(&self.rk, counter, data) },
            _ => self.ctr_xor(counter, data, |c| {
                (c & !0xffff_ffffu128) | u128::from((c as u32).wrapping_add(1))
            }),
        }
    }

    /// CBC-encrypts the whole blocks of `data` in place (`C_i = E(P_i ^
    /// C_{i-1})`), `iv` holding `C_{i-1}` on entry and the last ciphertext
    /// block on return. The SIMD paths keep the chain in registers (only the
    /// rounds on the block-to-block dependency chain).
    pub(crate) fn cbc_encrypt_blocks(&self, iv: &mut [u8; 16], data: &mut [u8]) {
        #[cfg(target_arch = "x86_64")]
        if self.simd_chain(iv, data, x86::chain::Chain::CbcEncrypt) {
            return;
        }
        for block in data.chunks_exact_mut(BLOCK_SIZE) {
            let b: &mut [u8; 16] = block.try_into().expect("16-byte chunk");
            xor_in_place(b, iv);
            self.encrypt_block(b);
            *iv = *b;
        }
    }

    /// CFB-128-encrypts the whole blocks of `data` in place (`C_i = P_i ^
    /// E(C_{i-1})`), `fb` holding `C_{i-1}` on entry and the last ciphertext
    /// block on return.
    pub(crate) fn cfb_encrypt_blocks(&self, fb: &mut [u8; 16], data: &mut [u8]) {
        #[cfg(target_arch = "x86_64")]
        if self.simd_chain(fb, data, x86::chain::Chain::CfbEncrypt) {
            return;
        }
        for block in data.chunks_exact_mut(BLOCK_SIZE) {
            let mut ks = *fb;
            self.encrypt_block(&mut ks);
            xor_in_place(block, &ks);
            fb.copy_from_slice(block);
        }
    }

    /// XORs the OFB keystream into the whole blocks of `data` (`O_i =
    /// E(O_{i-1})`), `reg` holding `O_{i-1}` on entry and the last `O_i` on
    /// return.
    pub(crate) fn ofb_xor_blocks(&self, reg: &mut [u8; 16], data: &mut [u8]) {
        #[cfg(target_arch = "x86_64")]
        if self.simd_chain(reg, data, x86::chain::Chain::Ofb) {
            return;
        }
        for block in data.chunks_exact_mut(BLOCK_SIZE) {
            self.encrypt_block(reg);
            xor_in_place(block, reg);
        }
    }

    /// The SIMD sequential-mode kernel, if this key runs on a SIMD path.
    #[cfg(target_arch = "x86_64")]
    fn simd_chain(&self, reg: &mut [u8; 16], data: &mut [u8], mode: x86::chain::Chain) -> bool {
        match self.kernel {
            // SAFETY: `Kernel::AesNi` is only chosen when
            // `x86::avx2::available()` confirmed the CPU features.
            Kernel::AesNi => unsafe { x86::avx2::chain(&self.rk, reg, data, mode) },
            // SAFETY: `Kernel::Gfni` is only chosen when
            // `x86::avx512::available()` confirmed the CPU features.
            Kernel::Gfni => unsafe { x86::avx512::chain(&self.rk, reg, data, mode) },
            Kernel::Portable { .. } => return false,
        }
        true
    }

    #[inline]
    fn ctr_xor(&self, counter: &mut [u8; 16], data: &mut [u8], inc: impl Fn(u128) -> u128) {
        let mut ctr = u128::from_be_bytes(*counter);
        let mut ks = [0u8; CTR_CHUNK_BLOCKS * BLOCK_SIZE];
        for chunk in data.chunks_mut(CTR_CHUNK_BLOCKS * BLOCK_SIZE) {
            let blocks = chunk.len().div_ceil(BLOCK_SIZE);
            for block in ks[..blocks * BLOCK_SIZE].chunks_exact_mut(BLOCK_SIZE) {
                block.copy_from_slice(&ctr.to_be_bytes());
                ctr = inc(ctr);
            }
            self.run(&mut ks[..blocks * BLOCK_SIZE], false);
            xor_in_place(chunk, &ks[..chunk.len()]);
        }
        *counter = ctr.to_be_bytes();
        ks.zeroize();
    }
}

/// `dst ^= src` over `dst.len()` bytes (`src` at least as long).
#[inline]
pub(crate) fn xor_in_place(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= *s;
    }
}
