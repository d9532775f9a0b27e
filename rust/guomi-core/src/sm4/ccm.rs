//! SM4-CCM (NIST SP 800-38C with SM4; RFC 8998).
//!
//! - Nonce of 7..=13 bytes; the length field then has `q = 15 - nonce_len`
//!   bytes and the message may be at most `2^(8q) - 1` bytes (§A.1).
//! - Tag of 4, 6, 8, 10, 12, 14 or 16 bytes (§A.1: `t` even, 4..16).
//! - Associated data length encoded in 2, 6 or 10 bytes (§A.2.2).
//! - The CBC-MAC is inherently sequential (one block at a time); the CTR
//!   encryption uses the parallel `ctr128_xor` kernel (the counter lives in
//!   the low `q` bytes and can never carry out of them because of the length
//!   limit, so a 128-bit increment is the same as CCM's `q`-byte increment).
//! - Decryption needs the plaintext to compute the MAC; it is written to the
//!   caller's buffer, and on a wrong tag that buffer is wiped before
//!   [`Error::invalid_tag`] is returned, so no unauthenticated plaintext
//!   escapes.
#![forbid(unsafe_code)]

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::Sm4;
use crate::error::{Error, Result};

/// An SM4-CCM key and tag length. Zeroized on drop.
#[derive(Clone, ZeroizeOnDrop)]
pub struct Sm4Ccm {
    cipher: Sm4,
    #[zeroize(skip)]
    tag_len: usize,
}

impl core::fmt::Debug for Sm4Ccm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Sm4Ccm {{ tag_len: {}, .. }}", self.tag_len)
    }
}

/// Checks a CCM tag length (4..=16, even).
pub fn check_tag_len(tag_len: usize) -> Result<()> {
    if (4..=16).contains(&tag_len) && tag_len & 1 == 0 {
        Ok(())
    } else {
        Err(Error::invalid_argument(format!(
            "tag_length must be one of 4, 6, 8, 10, 12, 14, 16 for CCM, got {tag_len}"
        )))
    }
}

/// Checks a CCM nonce length (7..=13).
pub fn check_nonce_len(nonce_len: usize) -> Result<()> {
    if (7..=13).contains(&nonce_len) {
        Ok(())
    } else {
        Err(Error::invalid_argument(format!(
            "nonce must be 7 to 13 bytes long for CCM, got {nonce_len}"
        )))
    }
}

/// Largest message for a nonce of `nonce_len` bytes: `2^(8q) - 1`, `q = 15 - nonce_len`.
/// (A nonce length outside 7..=13 is the caller's error; it gives 0 or the
/// `q = 8` limit rather than a panic.)
pub fn max_message_len(nonce_len: usize) -> u64 {
    let q = 15usize.saturating_sub(nonce_len);
    if q >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * q)) - 1
    }
}

impl Sm4Ccm {
    /// A CCM instance for a 16-byte key and a tag of `tag_len` bytes.
    pub fn new(key: &[u8], tag_len: usize) -> Result<Self> {
        check_tag_len(tag_len)?;
        Ok(Sm4Ccm {
            cipher: Sm4::new(key)?,
            tag_len,
        })
    }

    /// The tag length in bytes.
    pub fn tag_len(&self) -> usize {
        self.tag_len
    }

    fn check(nonce: &[u8], msg_len: usize) -> Result<()> {
        check_nonce_len(nonce.len())?;
        if msg_len as u64 > max_message_len(nonce.len()) {
            return Err(Error::invalid_argument(format!(
                "data is too long for a {}-byte CCM nonce: at most {} bytes (2^(8q)-1 with q = {})",
                nonce.len(),
                max_message_len(nonce.len()),
                15 - nonce.len()
            )));
        }
        Ok(())
    }

    /// The counter block `A_i` with `i = 0` (SP 800-38C §A.3).
    fn ctr0(nonce: &[u8]) -> [u8; 16] {
        let mut a = [0u8; 16];
        a[0] = (14 - nonce.len()) as u8; // q - 1
        a[1..1 + nonce.len()].copy_from_slice(nonce);
        a
    }

    /// XORs the CTR keystream `E(A1), E(A2), ...` into `buf` and returns
    /// `S0 = E(A0)` (SP 800-38C §6.1 steps 5-8). Short payloads get S0 and
    /// their keystream from one kernel call (the per-call cost of the wide
    /// SM4 kernels dominates there).
    fn ctr_crypt(&self, nonce: &[u8], buf: &mut [u8]) -> [u8; 16] {
        const SMALL: usize = 240;
        let mut ctr = Self::ctr0(nonce);
        let mut s0 = [0u8; 16];
        if buf.len() <= SMALL {
            let mut tmp = [0u8; 16 + SMALL];
            let tmp_used = &mut tmp[..16 + buf.len()];
            tmp_used[16..].copy_from_slice(buf);
            self.cipher.ctr128_xor(&mut ctr, tmp_used);
            s0.copy_from_slice(&tmp_used[..16]);
            buf.copy_from_slice(&tmp_used[16..]);
            tmp.zeroize();
        } else {
            s0 = ctr;
            self.cipher.encrypt_block(&mut s0);
            ctr[15] = 1;
            self.cipher.ctr128_xor(&mut ctr, buf);
        }
        ctr.zeroize();
        s0
    }

    /// CBC-MAC over the formatted `B0 || AAD encoding || padded payload`
    /// (SP 800-38C §A.2), full 16 bytes.
    fn cbc_mac(&self, nonce: &[u8], aad: &[u8], payload: &[u8]) -> [u8; 16] {
        let q = 15 - nonce.len();
        let mut mac = MacStream::new(&self.cipher);
        // B0: flags || N || Q.
        let mut b0 = [0u8; 16];
        b0[0] = (u8::from(!aad.is_empty()) << 6)
            | ((((self.tag_len - 2) / 2) as u8) << 3)
            | (q as u8 - 1);
        b0[1..1 + nonce.len()].copy_from_slice(nonce);
        let len_be = (payload.len() as u64).to_be_bytes();
        b0[16 - q.min(8)..].copy_from_slice(&len_be[8 - q.min(8)..]);
        mac.push(&b0);

        if !aad.is_empty() {
            // §A.2.2: 2 bytes if a < 2^16 - 2^8, else 0xff 0xfe + 4 bytes if
            // a < 2^32, else 0xff 0xff + 8 bytes; then the data, zero-padded.
            let a = aad.len() as u64;
            let mut prefix = [0u8; 10];
            let plen = if a < (1 << 16) - (1 << 8) {
                prefix[..2].copy_from_slice(&(a as u16).to_be_bytes());
                2
            } else if a < (1 << 32) {
                prefix[..2].copy_from_slice(&[0xff, 0xfe]);
                prefix[2..6].copy_from_slice(&(a as u32).to_be_bytes());
                6
            } else {
                prefix[..2].copy_from_slice(&[0xff, 0xff]);
                prefix[2..10].copy_from_slice(&a.to_be_bytes());
                10
            };
            mac.push(&prefix[..plen]);
            mac.push(aad);
            mac.pad();
        }
        mac.push(payload);
        mac.pad();
        mac.finish()
    }

    /// Encrypts `plaintext` into `out` (`plaintext.len() + tag_len` bytes:
    /// ciphertext, then tag).
    pub fn encrypt(
        &self,
        nonce: &[u8],
        aad: &[u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<()> {
        Self::check(nonce, plaintext.len())?;
        let n = plaintext.len();
        if out.len() != n + self.tag_len {
            return Err(Error::invalid_argument(
                "output buffer must be plaintext length + tag length",
            ));
        }
        let (ct, tag_out) = out.split_at_mut(n);
        // MAC and encrypt the same private copy (the input may change under
        // us while the GIL is released).
        ct.copy_from_slice(plaintext);
        let mut mac = self.cbc_mac(nonce, aad, ct);
        // T xor MSB_t(S0); the payload with A1, A2, ...
        let mut s0 = self.ctr_crypt(nonce, ct);
        for ((d, m), s) in tag_out.iter_mut().zip(mac.iter()).zip(s0.iter()) {
            *d = m ^ s;
        }
        mac.zeroize();
        s0.zeroize();
        Ok(())
    }

    /// Decrypts `ciphertext_and_tag` into `out` (`len - tag_len` bytes) and
    /// checks the tag; on failure `out` is zeroed and [`Error::invalid_tag`]
    /// is returned. An input shorter than the tag is also `invalid_tag`.
    pub fn decrypt(
        &self,
        nonce: &[u8],
        aad: &[u8],
        ciphertext_and_tag: &[u8],
        out: &mut [u8],
    ) -> Result<()> {
        check_nonce_len(nonce.len())?;
        if ciphertext_and_tag.len() < self.tag_len {
            return Err(Error::invalid_tag());
        }
        let n = ciphertext_and_tag.len() - self.tag_len;
        Self::check(nonce, n)?;
        if out.len() != n {
            return Err(Error::invalid_argument(
                "output buffer must be ciphertext length - tag length",
            ));
        }
        let (ct, tag) = ciphertext_and_tag.split_at(n);
        out.copy_from_slice(ct);
        let mut s0 = self.ctr_crypt(nonce, out);
        let mut mac = self.cbc_mac(nonce, aad, out);
        for (m, s) in mac.iter_mut().zip(s0.iter()) {
            *m ^= s;
        }
        let ok = mac[..self.tag_len].ct_eq(tag);
        mac.zeroize();
        s0.zeroize();
        if bool::from(ok) {
            Ok(())
        } else {
            out.zeroize();
            Err(Error::invalid_tag())
        }
    }
}

/// Bytes gathered per call of the chained CBC kernel.
const MAC_CHUNK: usize = 2048;

/// CBC-MAC as CBC encryption with a zero IV whose last ciphertext block is
/// the MAC: the formatted input is gathered into a scratch buffer and run
/// through `Sm4::cbc_encrypt_blocks`, whose SIMD paths keep the chaining
/// value in registers across blocks (much lower latency per block than one
/// `encrypt_block` call each). The scratch buffer holds plaintext and is
/// zeroized on drop.
struct MacStream<'a> {
    cipher: &'a Sm4,
    state: [u8; 16],
    buf: [u8; MAC_CHUNK],
    fill: usize,
    /// Largest `fill` reached: only that prefix of `buf` needs wiping.
    high: usize,
}

impl<'a> MacStream<'a> {
    fn new(cipher: &'a Sm4) -> Self {
        MacStream {
            cipher,
            state: [0u8; 16],
            buf: [0u8; MAC_CHUNK],
            fill: 0,
            high: 0,
        }
    }

    /// Appends bytes to the formatted input.
    fn push(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let take = (MAC_CHUNK - self.fill).min(data.len());
            self.buf[self.fill..self.fill + take].copy_from_slice(&data[..take]);
            self.fill += take;
            data = &data[take..];
            if self.fill == MAC_CHUNK {
                self.flush();
            }
        }
    }

    /// Zero-pads the input to a block boundary.
    fn pad(&mut self) {
        let r = self.fill % 16;
        if r != 0 {
            self.buf[self.fill..self.fill + 16 - r].fill(0);
            self.fill += 16 - r;
            if self.fill == MAC_CHUNK {
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        self.high = self.high.max(self.fill);
        // `fill` is a multiple of 16 here (callers pad before finishing and
        // MAC_CHUNK is a multiple of 16).
        self.cipher
            .cbc_encrypt_blocks(&mut self.state, &mut self.buf[..self.fill]);
        self.fill = 0;
    }

    /// The MAC (the input must have been padded).
    fn finish(mut self) -> [u8; 16] {
        debug_assert_eq!(self.fill % 16, 0);
        self.flush();
        self.state
    }
}

impl Drop for MacStream<'_> {
    fn drop(&mut self) {
        let used = self.high.max(self.fill);
        self.buf[..used].zeroize();
        self.state.zeroize();
    }
}
