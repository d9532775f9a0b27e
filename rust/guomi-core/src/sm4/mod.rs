//! SM4 (GB/T 32907-2016): the block cipher and everything built on it.
//!
//! PLACEHOLDER being replaced by the SM4 work: the public surface below is the
//! contract the modes, GCM, CCM and XTS are written against.
//!
//! - [`Sm4`]: an expanded key; single blocks and many blocks at once.
//! - `modes`: ECB / CBC / CFB / OFB / CTR streaming state machines.
//! - `xts`, `gcm`, `ccm`: the tweakable and authenticated modes.

use crate::error::{Error, Result};
use zeroize::{Zeroize, ZeroizeOnDrop};

pub mod ccm;
pub mod gcm;
pub mod ghash;
pub mod xts;

/// SM4 block size in bytes.
pub const BLOCK_SIZE: usize = 16;
/// SM4 key size in bytes.
pub const KEY_SIZE: usize = 16;

/// True when the AES-NI kernel is compiled in and usable.
pub fn aesni_available() -> bool {
    false
}
/// True when the GFNI kernel is compiled in and usable.
pub fn gfni_available() -> bool {
    false
}

/// An SM4 key, expanded into its 32 round keys. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Sm4 {
    rk: [u32; 32],
}

impl core::fmt::Debug for Sm4 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Sm4 { .. }")
    }
}

impl Sm4 {
    /// Expands a 16-byte key.
    pub fn new(key: &[u8]) -> Result<Self> {
        let _ = key;
        Err(Error::invalid_key("placeholder"))
    }
    /// Encrypts one block in place.
    pub fn encrypt_block(&self, block: &mut [u8; 16]) {
        let _ = block;
        unimplemented!()
    }
    /// Decrypts one block in place.
    pub fn decrypt_block(&self, block: &mut [u8; 16]) {
        let _ = block;
        unimplemented!()
    }
    /// Encrypts `data.len() / 16` independent blocks in place (ECB), using
    /// the widest parallel kernel available. `data.len()` must be a multiple of 16.
    pub fn encrypt_blocks(&self, data: &mut [u8]) {
        let _ = data;
        unimplemented!()
    }
    /// Decrypts independent blocks in place (ECB). Length must be a multiple of 16.
    pub fn decrypt_blocks(&self, data: &mut [u8]) {
        let _ = data;
        unimplemented!()
    }
    /// XORs the CTR keystream into `data` (any length; a final partial block
    /// uses a prefix of its keystream block). `counter` is the next counter
    /// block, incremented as a 128-bit big-endian integer per block and left
    /// pointing at the block after the last one used.
    pub fn ctr128_xor(&self, counter: &mut [u8; 16], data: &mut [u8]) {
        let _ = (counter, data);
        unimplemented!()
    }
    /// As [`Sm4::ctr128_xor`] but only the low 32 bits of the counter are
    /// incremented (wrapping), as GCM requires (NIST SP 800-38D inc32).
    pub fn ctr32_xor(&self, counter: &mut [u8; 16], data: &mut [u8]) {
        let _ = (counter, data);
        unimplemented!()
    }
}
