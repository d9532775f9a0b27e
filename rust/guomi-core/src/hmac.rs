//! HMAC-SM3 (RFC 2104; GB/T 15852.2-2012 MAC algorithm 2 with SM3).
//!
//! `HMAC(K, m) = H((K0 ^ opad) || H((K0 ^ ipad) || m))`, with `K0` the key
//! padded with zeros to the 64-byte block (or first hashed, if longer than a
//! block). The two key-pad blocks are compressed once, in [`HmacSm3::new`],
//! and kept as chaining values: every further MAC under the same key (a
//! clone of the object, every PBKDF2 iteration, every HKDF block) starts from
//! them and pays only for its message plus one outer block.
//!
//! Tags are compared in constant time ([`subtle`]); key material and the
//! precomputed states are zeroized on drop.
#![forbid(unsafe_code)]

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};
use crate::sm3::{self, Sm3, BLOCK_SIZE, DIGEST_SIZE, IV};

/// Shortest tag [`HmacSm3::verify_truncated`] accepts (RFC 2104 §5 advises
/// at least half the hash length and not less than 80 bits).
pub const MIN_TAG_SIZE: usize = 10;

/// HMAC-SM3 with precomputed inner and outer key states.
#[derive(Clone)]
pub struct HmacSm3 {
    /// Wipes itself on drop.
    inner: Sm3,
    istate: [u32; 8],
    ostate: [u32; 8],
}

impl Drop for HmacSm3 {
    fn drop(&mut self) {
        self.istate.zeroize();
        self.ostate.zeroize();
    }
}

impl ZeroizeOnDrop for HmacSm3 {}

/// The chaining values after compressing `K0 ^ ipad` and `K0 ^ opad`
/// (RFC 2104 steps 1-2 and 5), computed on words without a byte buffer.
#[inline]
fn key_states(key: &[u8]) -> ([u32; 8], [u32; 8]) {
    let mut k0 = [0u32; 16];
    if key.len() > BLOCK_SIZE {
        let mut hk = sm3::digest(key);
        sm3::load_be_words(&hk, &mut k0);
        hk.zeroize();
    } else {
        sm3::load_be_words(key, &mut k0);
    }
    let mut pad = [0u32; 16];
    for (p, k) in pad.iter_mut().zip(k0.iter()) {
        *p = k ^ 0x3636_3636;
    }
    let mut istate = IV;
    sm3::compress_block(&mut istate, &pad);
    for (p, k) in pad.iter_mut().zip(k0.iter()) {
        *p = k ^ 0x5c5c_5c5c;
    }
    let mut ostate = IV;
    sm3::compress_block(&mut ostate, &pad);
    pad.zeroize();
    k0.zeroize();
    (istate, ostate)
}

impl core::fmt::Debug for HmacSm3 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HmacSm3 { .. }")
    }
}

/// The outer hash over a 32-byte inner digest given as words: the outer
/// message is 64 (pad block, already in `ostate`) + 32 bytes, so the last
/// block is the digest, the 0x80 marker, zeros and the bit length 768.
#[inline(always)]
pub(crate) fn outer_words(ostate: &[u32; 8], inner: &[u32; 8]) -> [u32; 8] {
    let mut st = *ostate;
    let mut w = [0u32; 16];
    w[..8].copy_from_slice(inner);
    w[8] = 0x8000_0000;
    w[15] = ((BLOCK_SIZE + DIGEST_SIZE) * 8) as u32;
    sm3::compress_block(&mut st, &w);
    st
}

/// HMAC of a 32-byte message given as words, from precomputed states: two
/// compressions. The PBKDF2 inner loop is exactly this.
#[inline(always)]
pub(crate) fn hmac_words(istate: &[u32; 8], ostate: &[u32; 8], msg: &[u32; 8]) -> [u32; 8] {
    outer_words(ostate, &outer_words(istate, msg))
}

impl HmacSm3 {
    /// A MAC keyed with `key` (any length; keys longer than 64 bytes are
    /// hashed first, RFC 2104 §2).
    pub fn new(key: &[u8]) -> Self {
        let (istate, ostate) = key_states(key);
        HmacSm3 {
            inner: Sm3::from_state(istate, BLOCK_SIZE as u64),
            istate,
            ostate,
        }
    }

    /// Absorbs message bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// Back to the state right after [`HmacSm3::new`], same key.
    pub fn reset(&mut self) {
        self.inner = Sm3::from_state(self.istate, BLOCK_SIZE as u64);
    }

    pub(crate) fn finalize_words(&mut self) -> [u32; 8] {
        let inner = self.inner.finalize_words();
        outer_words(&self.ostate, &inner)
    }

    pub(crate) fn states(&self) -> (&[u32; 8], &[u32; 8]) {
        (&self.istate, &self.ostate)
    }

    /// The 32-byte tag; consumes the MAC.
    pub fn finalize(mut self) -> [u8; DIGEST_SIZE] {
        sm3::state_to_bytes(&self.finalize_words())
    }

    /// The tag of everything absorbed so far, leaving the MAC usable.
    pub fn peek(&self) -> [u8; DIGEST_SIZE] {
        let mut inner = self.inner.clone();
        sm3::state_to_bytes(&outer_words(&self.ostate, &inner.finalize_words()))
    }

    /// Checks a full 32-byte tag in constant time.
    pub fn verify(&self, tag: &[u8]) -> Result<()> {
        self.verify_truncated(tag, DIGEST_SIZE)
    }

    /// Checks a tag truncated to its leftmost `tag_len` bytes (RFC 2104 §5),
    /// `MIN_TAG_SIZE <= tag_len <= 32`. A tag whose length is not `tag_len`
    /// fails like a wrong tag. The comparison is constant time; lengths are
    /// public.
    pub fn verify_truncated(&self, tag: &[u8], tag_len: usize) -> Result<()> {
        if !(MIN_TAG_SIZE..=DIGEST_SIZE).contains(&tag_len) || tag.len() != tag_len {
            return Err(Error::invalid_signature());
        }
        let mut mac = self.peek();
        let ok: bool = mac[..tag_len].ct_eq(tag).into();
        mac.zeroize();
        if ok {
            Ok(())
        } else {
            Err(Error::invalid_signature())
        }
    }
}

/// One-shot HMAC-SM3 of `msg` under `key`: no streaming state, blocks of
/// `msg` compressed in place, padding built in registers.
pub fn hmac_sm3(key: &[u8], msg: &[u8]) -> [u8; DIGEST_SIZE] {
    let (mut istate, mut ostate) = key_states(key);
    let whole = msg.len() - msg.len() % BLOCK_SIZE;
    sm3::compress(&mut istate, &msg[..whole]);
    sm3::finish(&mut istate, &msg[whole..], (BLOCK_SIZE + msg.len()) as u64);
    let tag = outer_words(&ostate, &istate);
    istate.zeroize();
    ostate.zeroize();
    sm3::state_to_bytes(&tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_reset_and_verify() {
        let key = [0x0bu8; 20];
        let want = hmac_sm3(&key, b"Hi There");
        let mut h = HmacSm3::new(&key);
        h.update(b"Hi ");
        h.update(b"There");
        assert_eq!(h.peek(), want);
        assert!(h.verify(&want).is_ok());
        assert!(h.verify_truncated(&want[..16], 16).is_ok());
        assert!(h.verify_truncated(&want[..16], 32).is_err());
        assert!(h.verify_truncated(&want[..9], 9).is_err());
        let mut bad = want;
        bad[31] ^= 1;
        assert!(h.verify(&bad).is_err());
        h.reset();
        h.update(b"Hi There");
        assert_eq!(h.finalize(), want);
    }

    #[test]
    fn long_key_is_hashed_first() {
        let key = [0x61u8; 100];
        assert_eq!(hmac_sm3(&key, b"m"), hmac_sm3(&sm3::digest(&key), b"m"));
        // A key of exactly one block is used as is.
        let key64 = [0x62u8; 64];
        assert_ne!(hmac_sm3(&key64, b"m"), hmac_sm3(&sm3::digest(&key64), b"m"));
    }
}
