//! SM4-GCM (NIST SP 800-38D with SM4; RFC 8998, GB/T 36624-2018).
//!
//! - Any IV length of at least one byte: 12 bytes is the fast path
//!   (`J0 = IV || 0^31 || 1`), other lengths go through GHASH (§7.1 step 2).
//! - Tag lengths 12..=16 bytes; 4 and 8 only when explicitly allowed
//!   (SP 800-38D §5.2.1.2 and Appendix C restrict them to special uses).
//! - Encryption runs the CTR keystream (the SIMD `ctr32_xor` kernel) and
//!   GHASH over the same chunk while it is hot in cache.
//! - Decryption copies the ciphertext into the output, hashes that copy and
//!   checks the tag (constant-time comparison) *before* any plaintext is
//!   produced, then decrypts the same copy in place (so a buffer changed
//!   concurrently by another thread cannot split what is authenticated from
//!   what is decrypted). On failure the output is zeroed and only
//!   [`Error::invalid_tag`] is returned.
//!
//! GMAC (GB/T 15852.3) is GCM with empty plaintext: `encrypt` with empty
//! data returns just the tag over the associated data.
#![forbid(unsafe_code)]

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::ghash::{length_block, Ghash, GhashKey};
use super::Sm4;
use crate::error::{Error, Result};

/// Largest plaintext SP 800-38D §5.2.1.1 allows: `2^39 - 256` bits.
pub const MAX_PLAINTEXT_LEN: u64 = (1u64 << 36) - 32;
/// Largest associated data: `2^64 - 1` bits, rounded down to whole bytes.
pub const MAX_AAD_LEN: u64 = (1u64 << 61) - 1;
/// Largest IV: `2^64 - 1` bits, rounded down to whole bytes.
pub const MAX_NONCE_LEN: u64 = (1u64 << 61) - 1;

/// Bytes processed per CTR + GHASH step while encrypting: small enough to
/// stay in L1 between the two passes, large enough for the wide kernels.
const CHUNK: usize = 8192;

/// Messages up to this length get E(J0) and their keystream from one
/// `ctr32_xor` call (J0 block + 15 blocks = one 16-block kernel pass).
const SMALL: usize = 240;

/// An SM4-GCM key with its GHASH key and chosen tag length. Zeroized on drop.
#[derive(Clone, ZeroizeOnDrop)]
pub struct Sm4Gcm {
    cipher: Sm4,
    ghash: GhashKey,
    #[zeroize(skip)]
    tag_len: usize,
}

impl core::fmt::Debug for Sm4Gcm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Sm4Gcm {{ tag_len: {}, .. }}", self.tag_len)
    }
}

/// Checks a GCM tag length: 12..=16, or 4 / 8 when `allow_short_tags`.
pub fn check_tag_len(tag_len: usize, allow_short_tags: bool) -> Result<()> {
    match tag_len {
        12..=16 => Ok(()),
        4 | 8 if allow_short_tags => Ok(()),
        4 | 8 => Err(Error::invalid_argument(format!(
            "tag_length {tag_len} is only allowed with allow_short_tags=True \
             (SP 800-38D Appendix C restricts 4- and 8-byte tags)"
        ))),
        _ => Err(Error::invalid_argument(format!(
            "tag_length must be 12..16 bytes (or 4 or 8 with allow_short_tags=True), got {tag_len}"
        ))),
    }
}

impl Sm4Gcm {
    /// A GCM instance for a 16-byte key and a tag of `tag_len` bytes.
    pub fn new(key: &[u8], tag_len: usize, allow_short_tags: bool) -> Result<Self> {
        check_tag_len(tag_len, allow_short_tags)?;
        let cipher = Sm4::new(key)?;
        let mut h = [0u8; 16];
        cipher.encrypt_block(&mut h);
        let ghash = GhashKey::new(&h);
        h.zeroize();
        Ok(Sm4Gcm {
            cipher,
            ghash,
            tag_len,
        })
    }

    /// The tag length in bytes.
    pub fn tag_len(&self) -> usize {
        self.tag_len
    }

    /// True if GHASH uses carry-less multiplication instructions.
    pub fn uses_clmul(&self) -> bool {
        self.ghash.uses_clmul()
    }

    /// `J0` from the IV (SP 800-38D §7.1 step 2).
    fn j0(&self, nonce: &[u8]) -> Result<[u8; 16]> {
        if nonce.is_empty() {
            return Err(Error::invalid_argument(
                "nonce must be at least 1 byte long for GCM, got 0",
            ));
        }
        if nonce.len() as u64 > MAX_NONCE_LEN {
            return Err(Error::invalid_argument(
                "nonce is longer than GCM allows (2^64-1 bits)",
            ));
        }
        if nonce.len() == 12 {
            let mut j0 = [0u8; 16];
            j0[..12].copy_from_slice(nonce);
            j0[15] = 1;
            Ok(j0)
        } else {
            let mut g = Ghash::new(&self.ghash);
            g.update_padded(nonce);
            g.update_blocks(&length_block(0, nonce.len()));
            Ok(g.finalize())
        }
    }

    fn check_aad(aad: &[u8]) -> Result<()> {
        if aad.len() as u64 > MAX_AAD_LEN {
            return Err(Error::invalid_argument(
                "associated_data is longer than GCM allows (2^64-1 bits)",
            ));
        }
        Ok(())
    }

    fn check_pt_len(len: usize) -> Result<()> {
        if len as u64 > MAX_PLAINTEXT_LEN {
            return Err(Error::invalid_argument(format!(
                "data is longer than GCM allows ({MAX_PLAINTEXT_LEN} bytes, SP 800-38D §5.2.1.1)"
            )));
        }
        Ok(())
    }

    /// Encrypts `plaintext` into `out`, which must be exactly
    /// `plaintext.len() + tag_len` bytes: ciphertext, then tag.
    pub fn encrypt(
        &self,
        nonce: &[u8],
        aad: &[u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<()> {
        let n = plaintext.len();
        if out.len() != n.saturating_add(self.tag_len) {
            return Err(Error::invalid_argument(
                "output buffer must be plaintext length + tag length",
            ));
        }
        let (ct, tag_out) = out.split_at_mut(n);
        ct.copy_from_slice(plaintext);
        let mut tag = self.encrypt_in_place_detached(nonce, aad, ct)?;
        tag_out.copy_from_slice(&tag[..self.tag_len]);
        tag.zeroize();
        Ok(())
    }

    /// Encrypts `buf` in place and returns the full 16-byte tag (truncate
    /// it to [`Sm4Gcm::tag_len`]).
    pub fn encrypt_in_place_detached(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; 16]> {
        Self::check_pt_len(buf.len())?;
        Self::check_aad(aad)?;
        let mut j0 = self.j0(nonce)?;
        let mut g = Ghash::new(&self.ghash);
        g.update_padded(aad);
        let mut ekj0 = [0u8; 16];
        if buf.len() <= SMALL {
            // One kernel call for E(J0) and the whole keystream: for short
            // messages the per-call cost of the wide kernels dominates.
            let mut ks = [0u8; 16 + SMALL];
            let ks = &mut ks[..16 + buf.len()];
            let mut ctr = j0;
            self.cipher.ctr32_xor(&mut ctr, ks);
            ekj0.copy_from_slice(&ks[..16]);
            xor_into(buf, &ks[16..]);
            g.update_padded(buf);
            ks.zeroize();
            ctr.zeroize();
        } else {
            ekj0 = j0;
            self.cipher.encrypt_block(&mut ekj0);
            let mut ctr = inc32(&j0);
            let whole = buf.len() - buf.len() % 16;
            let (head, tail) = buf.split_at_mut(whole);
            for chunk in head.chunks_mut(CHUNK) {
                self.cipher.ctr32_xor(&mut ctr, chunk);
                g.update_blocks(chunk);
            }
            if !tail.is_empty() {
                self.cipher.ctr32_xor(&mut ctr, tail);
                g.update_padded(tail);
            }
            ctr.zeroize();
        }
        g.update_blocks(&length_block(aad.len(), buf.len()));
        let mut tag = g.finalize();
        xor_into(&mut tag, &ekj0);
        j0.zeroize();
        ekj0.zeroize();
        Ok(tag)
    }

    /// Checks the tag of `ciphertext_and_tag` and, only if it is right,
    /// decrypts into `out` (exactly `ciphertext_and_tag.len() - tag_len`
    /// bytes). A too-short input or a wrong tag gives [`Error::invalid_tag`]
    /// and leaves `out` all zero.
    pub fn decrypt(
        &self,
        nonce: &[u8],
        aad: &[u8],
        ciphertext_and_tag: &[u8],
        out: &mut [u8],
    ) -> Result<()> {
        if ciphertext_and_tag.len() < self.tag_len {
            return Err(Error::invalid_tag());
        }
        let n = ciphertext_and_tag.len() - self.tag_len;
        if out.len() != n {
            return Err(Error::invalid_argument(
                "output buffer must be ciphertext length - tag length",
            ));
        }
        let (ct, tag) = ciphertext_and_tag.split_at(n);
        // Work on a private copy of the ciphertext (and tag): the input may
        // be a buffer another thread can modify while we run without the
        // GIL, so what is authenticated must be exactly what is decrypted.
        // `out` holds ciphertext until the tag has verified, and is zeroed
        // if it does not.
        let mut tag_copy = [0u8; 16];
        let tag_copy = &mut tag_copy[..tag.len().min(16)];
        tag_copy.copy_from_slice(&tag[..tag_copy.len()]);
        // Copy and hash chunk by chunk, while each chunk is in L1.
        let verified = self.verify_with(nonce, aad, n, tag_copy, |g| {
            for (o, c) in out.chunks_mut(CHUNK).zip(ct.chunks(CHUNK)) {
                o.copy_from_slice(c);
                g.update_padded(o);
            }
        });
        match verified {
            Ok(mut ks) => {
                ks.apply(&self.cipher, out);
                Ok(())
            }
            Err(e) => {
                out.zeroize();
                Err(e)
            }
        }
    }

    /// Decrypts `buf` in place after checking `tag` (of `tag_len` bytes).
    /// On failure `buf` is unchanged.
    pub fn decrypt_in_place_detached(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> Result<()> {
        let mut ks = self.verify(nonce, aad, buf, tag)?;
        ks.apply(&self.cipher, buf);
        Ok(())
    }

    /// Verifies `tag` over (`aad`, `ct`) in constant time; on success returns
    /// what is needed to decrypt `ct` (never plaintext itself).
    fn verify(&self, nonce: &[u8], aad: &[u8], ct: &[u8], tag: &[u8]) -> Result<Keystream> {
        self.verify_with(nonce, aad, ct.len(), tag, |g| g.update_padded(ct))
    }

    /// As [`Sm4Gcm::verify`], with the ciphertext (`ct_len` bytes) fed to
    /// GHASH by `absorb_ct` (which must call `update_padded` on whole-block
    /// pieces, the last one possibly partial).
    fn verify_with<F: FnOnce(&mut Ghash<'_>)>(
        &self,
        nonce: &[u8],
        aad: &[u8],
        ct_len: usize,
        tag: &[u8],
        absorb_ct: F,
    ) -> Result<Keystream> {
        if tag.len() != self.tag_len {
            return Err(Error::invalid_tag());
        }
        Self::check_pt_len(ct_len)?;
        Self::check_aad(aad)?;
        let mut j0 = self.j0(nonce)?;
        let mut g = Ghash::new(&self.ghash);
        g.update_padded(aad);
        absorb_ct(&mut g);
        g.update_blocks(&length_block(aad.len(), ct_len));
        let mut expected = g.finalize();
        let ks = if ct_len <= SMALL {
            // Short messages: E(J0) and the keystream in one kernel call.
            let mut ks = Keystream::Small {
                ks: [0u8; 16 + SMALL],
                len: ct_len,
            };
            if let Keystream::Small { ks, len } = &mut ks {
                let mut ctr = j0;
                self.cipher.ctr32_xor(&mut ctr, &mut ks[..16 + *len]);
                xor_into(&mut expected, &ks[..16]);
                ctr.zeroize();
            }
            ks
        } else {
            let mut ekj0 = j0;
            self.cipher.encrypt_block(&mut ekj0);
            xor_into(&mut expected, &ekj0);
            ekj0.zeroize();
            Keystream::Counter(inc32(&j0))
        };
        j0.zeroize();
        let ok = bool::from(expected[..self.tag_len].ct_eq(tag));
        expected.zeroize();
        if ok {
            Ok(ks)
        } else {
            // `ks` is zeroized by its Drop.
            Err(Error::invalid_tag())
        }
    }
}

/// The keystream of a verified message: precomputed for short ones, the
/// first counter block for long ones. Zeroized on drop.
// The size difference is deliberate: the value lives on the stack for one
// call, and boxing the small-message keystream would cost an allocation on
// exactly the path that exists to be fast.
#[allow(clippy::large_enum_variant)]
enum Keystream {
    Small { ks: [u8; 16 + SMALL], len: usize },
    Counter([u8; 16]),
}

impl Keystream {
    /// XORs the keystream into `buf` (`buf.len()` = the verified length).
    fn apply(&mut self, cipher: &Sm4, buf: &mut [u8]) {
        match self {
            Keystream::Small { ks, len } => xor_into(buf, &ks[16..16 + *len]),
            Keystream::Counter(ctr) => cipher.ctr32_xor(ctr, buf),
        }
    }
}

impl Drop for Keystream {
    fn drop(&mut self) {
        match self {
            Keystream::Small { ks, .. } => ks.zeroize(),
            Keystream::Counter(c) => c.zeroize(),
        }
    }
}

/// `dst ^= src` over the shorter of the two.
#[inline]
fn xor_into(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= s;
    }
}

/// `inc32` (SP 800-38D §6.2): increment the low 32 bits, wrapping.
fn inc32(block: &[u8; 16]) -> [u8; 16] {
    let mut out = *block;
    let c = u32::from_be_bytes([block[12], block[13], block[14], block[15]]).wrapping_add(1);
    out[12..].copy_from_slice(&c.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn length_limits_are_enforced() {
        // SP 800-38D §5.2.1.1: 2^39 - 256 bits of plaintext.
        assert!(Sm4Gcm::check_pt_len(MAX_PLAINTEXT_LEN as usize).is_ok());
        let e = Sm4Gcm::check_pt_len(MAX_PLAINTEXT_LEN as usize + 1).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains("data"));
    }

    #[test]
    fn inc32_wraps_in_the_low_word_only() {
        let mut b = [0xffu8; 16];
        b[11] = 0x07;
        let n = inc32(&b);
        assert_eq!(&n[..12], &b[..12]);
        assert_eq!(&n[12..], &[0, 0, 0, 0]);
    }
}
