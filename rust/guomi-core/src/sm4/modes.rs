//! SM4 confidentiality modes as streaming state machines: ECB, CBC, CFB-128,
//! OFB and CTR as GB/T 17964-2021 and NIST SP 800-38A define them.
//!
//! An [`Encryptor`] / [`Decryptor`] takes `update` calls of any size and
//! keeps whatever does not complete a block:
//!
//! - **ECB, CBC** work on whole blocks only: `update` returns every complete
//!   block so far and buffers up to 15 bytes; `finalize` fails if bytes are
//!   left over (no implicit padding; see the Python `padding.PKCS7`).
//! - **CFB, OFB, CTR** are stream modes: every input byte produces an output
//!   byte immediately; a partly used keystream block is kept for the next
//!   call.
//!
//! Parallelism: ECB, CTR and the *decryption* of CBC and CFB use the
//! multi-block kernel of [`Sm4`] over everything a call provides (CBC
//! decrypts all blocks at once and then XORs the previous ciphertexts; CFB
//! encrypts the previous ciphertexts at once). CBC/CFB encryption and OFB are
//! inherently sequential (each block needs the previous output).
//!
//! Buffers and chaining values are zeroized when a context is dropped.
#![forbid(unsafe_code)]

use super::{xor_in_place, Sm4, BLOCK_SIZE};
use crate::error::{Error, ErrorKind, Result};
use subtle::{Choice, ConstantTimeEq, ConstantTimeGreater, ConstantTimeLess};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A mode and its IV / initial counter block.
#[derive(Clone, PartialEq, Eq)]
pub enum Mode {
    /// Electronic codebook: no IV.
    Ecb,
    /// Cipher block chaining with a 16-byte IV.
    Cbc([u8; 16]),
    /// Full-block (128-bit) cipher feedback with a 16-byte IV.
    Cfb([u8; 16]),
    /// Output feedback with a 16-byte IV.
    Ofb([u8; 16]),
    /// Counter mode: the whole 16-byte block is the initial counter,
    /// incremented as a 128-bit big-endian integer.
    Ctr([u8; 16]),
}

impl core::fmt::Debug for Mode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl Mode {
    /// The mode's name: `"ECB"`, `"CBC"`, `"CFB"`, `"OFB"` or `"CTR"`.
    pub fn name(&self) -> &'static str {
        match self {
            Mode::Ecb => "ECB",
            Mode::Cbc(_) => "CBC",
            Mode::Cfb(_) => "CFB",
            Mode::Ofb(_) => "OFB",
            Mode::Ctr(_) => "CTR",
        }
    }

    /// True for the modes that only accept whole blocks (ECB, CBC).
    pub fn needs_whole_blocks(&self) -> bool {
        matches!(self, Mode::Ecb | Mode::Cbc(_))
    }
}

/// Per-mode chaining state.
#[derive(Clone)]
enum State {
    Ecb,
    /// The previous ciphertext block (the IV at first).
    Cbc {
        prev: [u8; 16],
    },
    /// `fb`: the previous ciphertext block; `ks`: E(fb) while a block is in
    /// progress.
    Cfb {
        fb: [u8; 16],
        ks: [u8; 16],
    },
    /// The current output block O_i (the IV at first).
    Ofb {
        reg: [u8; 16],
    },
    /// The next counter block and the current keystream block.
    Ctr {
        counter: [u8; 16],
        ks: [u8; 16],
    },
}

impl Zeroize for State {
    fn zeroize(&mut self) {
        match self {
            State::Ecb => {}
            State::Cbc { prev } => prev.zeroize(),
            State::Cfb { fb, ks } => {
                fb.zeroize();
                ks.zeroize();
            }
            State::Ofb { reg } => reg.zeroize(),
            State::Ctr { counter, ks } => {
                counter.zeroize();
                ks.zeroize();
            }
        }
    }
}

/// The shared engine of [`Encryptor`] and [`Decryptor`].
#[derive(Clone)]
struct Crypter {
    cipher: Sm4,
    state: State,
    decrypt: bool,
    name: &'static str,
    /// ECB/CBC: buffered bytes of an incomplete block.
    buf: [u8; 16],
    /// ECB/CBC: bytes in `buf`. Stream modes: bytes of the current
    /// keystream block already used (0 = no block in progress).
    pos: usize,
    finalized: bool,
}

impl Drop for Crypter {
    fn drop(&mut self) {
        self.state.zeroize();
        self.buf.zeroize();
    }
}

fn already_finalized() -> Error {
    Error::new(
        ErrorKind::AlreadyFinalized,
        "this cipher context has already been finalized",
    )
}

impl Crypter {
    fn new(cipher: Sm4, mode: Mode, decrypt: bool) -> Self {
        let name = mode.name();
        let state = match mode {
            Mode::Ecb => State::Ecb,
            Mode::Cbc(iv) => State::Cbc { prev: iv },
            Mode::Cfb(iv) => State::Cfb {
                fb: iv,
                ks: [0; 16],
            },
            Mode::Ofb(iv) => State::Ofb { reg: iv },
            Mode::Ctr(iv) => State::Ctr {
                counter: iv,
                ks: [0; 16],
            },
        };
        Crypter {
            cipher,
            state,
            decrypt,
            name,
            buf: [0; 16],
            pos: 0,
            finalized: false,
        }
    }

    fn output_len(&self, input_len: usize) -> usize {
        match self.state {
            State::Ecb | State::Cbc { .. } => {
                (self.pos.saturating_add(input_len) / BLOCK_SIZE) * BLOCK_SIZE
            }
            _ => input_len,
        }
    }

    fn update_into(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        if self.finalized {
            return Err(already_finalized());
        }
        let need = self.output_len(input.len());
        if out.len() < need {
            return Err(Error::invalid_argument(format!(
                "output buffer too small: {} bytes needed, {} given",
                need,
                out.len()
            )));
        }
        let out = &mut out[..need];
        match self.state {
            State::Ecb | State::Cbc { .. } => self.update_blocks(input, out),
            State::Ctr { .. } => self.update_ctr(input, out),
            State::Ofb { .. } => self.update_ofb(input, out),
            State::Cfb { .. } => self.update_cfb(input, out),
        }
        Ok(need)
    }

    /// ECB / CBC: buffer partial blocks, process whole ones.
    fn update_blocks(&mut self, input: &[u8], out: &mut [u8]) {
        let mut i = 0;
        let mut o = 0;
        if self.pos > 0 {
            let take = (BLOCK_SIZE - self.pos).min(input.len());
            self.buf[self.pos..self.pos + take].copy_from_slice(&input[..take]);
            self.pos += take;
            i = take;
            if self.pos < BLOCK_SIZE {
                return;
            }
            let block = self.buf;
            self.whole_blocks(&block, &mut out[..BLOCK_SIZE]);
            o = BLOCK_SIZE;
            self.pos = 0;
        }
        let whole = (input.len() - i) / BLOCK_SIZE * BLOCK_SIZE;
        self.whole_blocks(&input[i..i + whole], &mut out[o..o + whole]);
        i += whole;
        let rest = input.len() - i;
        self.buf[..rest].copy_from_slice(&input[i..]);
        self.pos = rest;
    }

    /// ECB / CBC on `input`, a whole number of blocks, into `out` (same length).
    fn whole_blocks(&mut self, input: &[u8], out: &mut [u8]) {
        if input.is_empty() {
            return;
        }
        out.copy_from_slice(input);
        let n = input.len();
        match &mut self.state {
            State::Ecb if self.decrypt => self.cipher.decrypt_blocks(out),
            State::Ecb => self.cipher.encrypt_blocks(out),
            State::Cbc { prev } if self.decrypt => {
                // P_i = D(C_i) ^ C_{i-1}: all blocks in one parallel call.
                self.cipher.decrypt_blocks(out);
                xor_in_place(&mut out[..BLOCK_SIZE], prev);
                xor_in_place(&mut out[BLOCK_SIZE..], &input[..n - BLOCK_SIZE]);
                prev.copy_from_slice(&input[n - BLOCK_SIZE..]);
            }
            State::Cbc { prev } => {
                // C_i = E(P_i ^ C_{i-1}): sequential by definition.
                self.cipher.cbc_encrypt_blocks(prev, out);
            }
            _ => unreachable!("whole_blocks is only called for ECB and CBC"),
        }
    }

    fn update_ctr(&mut self, input: &[u8], out: &mut [u8]) {
        let State::Ctr { counter, ks } = &mut self.state else {
            return;
        };
        let n = input.len();
        let mut i = 0;
        // Finish the keystream block a previous call started.
        while self.pos > 0 && self.pos < BLOCK_SIZE && i < n {
            out[i] = input[i] ^ ks[self.pos];
            self.pos += 1;
            i += 1;
        }
        if self.pos == BLOCK_SIZE {
            self.pos = 0;
        }
        let whole = (n - i) / BLOCK_SIZE * BLOCK_SIZE;
        out[i..i + whole].copy_from_slice(&input[i..i + whole]);
        self.cipher.ctr128_xor(counter, &mut out[i..i + whole]);
        i += whole;
        if i < n {
            *ks = *counter;
            self.cipher.encrypt_block(ks);
            *counter = u128::from_be_bytes(*counter).wrapping_add(1).to_be_bytes();
            let take = n - i;
            for k in 0..take {
                out[i + k] = input[i + k] ^ ks[k];
            }
            self.pos = take;
        }
    }

    fn update_ofb(&mut self, input: &[u8], out: &mut [u8]) {
        let State::Ofb { reg } = &mut self.state else {
            return;
        };
        let n = input.len();
        let mut i = 0;
        while self.pos > 0 && self.pos < BLOCK_SIZE && i < n {
            out[i] = input[i] ^ reg[self.pos];
            self.pos += 1;
            i += 1;
        }
        if self.pos == BLOCK_SIZE {
            self.pos = 0;
        }
        // O_i = E(O_{i-1}): sequential by definition. Whole blocks in one
        // call (the SIMD paths keep the chain in registers), then a tail.
        let whole = (n - i) / BLOCK_SIZE * BLOCK_SIZE;
        if whole > 0 {
            out[i..i + whole].copy_from_slice(&input[i..i + whole]);
            self.cipher.ofb_xor_blocks(reg, &mut out[i..i + whole]);
            i += whole;
        }
        while i < n {
            self.cipher.encrypt_block(reg);
            let take = (n - i).min(BLOCK_SIZE);
            for k in 0..take {
                out[i + k] = input[i + k] ^ reg[k];
            }
            i += take;
            self.pos = take % BLOCK_SIZE;
        }
    }

    fn update_cfb(&mut self, input: &[u8], out: &mut [u8]) {
        let decrypt = self.decrypt;
        let State::Cfb { fb, ks } = &mut self.state else {
            return;
        };
        let n = input.len();
        let mut i = 0;
        // Finish a block in progress; its ciphertext bytes go into fb.
        while self.pos > 0 && self.pos < BLOCK_SIZE && i < n {
            let (p, c) = if decrypt {
                (input[i] ^ ks[self.pos], input[i])
            } else {
                let c = input[i] ^ ks[self.pos];
                (c, c)
            };
            out[i] = p;
            fb[self.pos] = c;
            self.pos += 1;
            i += 1;
        }
        if self.pos == BLOCK_SIZE {
            self.pos = 0;
        }
        if decrypt {
            // P_i = C_i ^ E(C_{i-1}): encrypt C_{i-1} for all whole blocks at
            // once, using `out` as the scratch space.
            let whole = (n - i) / BLOCK_SIZE * BLOCK_SIZE;
            if whole > 0 {
                let dst = &mut out[i..i + whole];
                dst[..BLOCK_SIZE].copy_from_slice(fb);
                dst[BLOCK_SIZE..].copy_from_slice(&input[i..i + whole - BLOCK_SIZE]);
                self.cipher.encrypt_blocks(dst);
                xor_in_place(dst, &input[i..i + whole]);
                fb.copy_from_slice(&input[i + whole - BLOCK_SIZE..i + whole]);
                i += whole;
            }
        }
        if !decrypt {
            // C_i = P_i ^ E(C_{i-1}): sequential; whole blocks in one call.
            let whole = (n - i) / BLOCK_SIZE * BLOCK_SIZE;
            if whole > 0 {
                out[i..i + whole].copy_from_slice(&input[i..i + whole]);
                self.cipher.cfb_encrypt_blocks(fb, &mut out[i..i + whole]);
                i += whole;
            }
        }
        // A partial block (and for decryption, what remains).
        while i < n {
            *ks = *fb;
            self.cipher.encrypt_block(ks);
            let take = (n - i).min(BLOCK_SIZE);
            for k in 0..take {
                let x = input[i + k] ^ ks[k];
                out[i + k] = x;
                fb[k] = if decrypt { input[i + k] } else { x };
            }
            i += take;
            self.pos = take % BLOCK_SIZE;
        }
    }

    fn finalize(&mut self) -> Result<Vec<u8>> {
        if self.finalized {
            return Err(already_finalized());
        }
        self.finalized = true;
        if matches!(self.state, State::Ecb | State::Cbc { .. }) && self.pos != 0 {
            let left = self.pos;
            self.buf.zeroize();
            self.pos = 0;
            return Err(Error::invalid_argument(format!(
                "SM4-{}: the total data length is not a multiple of the block size \
                 (16 bytes); {left} bytes are left over (pad the data, e.g. with PKCS7)",
                self.name
            )));
        }
        self.state.zeroize();
        Ok(Vec::new())
    }
}

macro_rules! context {
    ($name:ident, $decrypt:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone)]
        pub struct $name(Crypter);

        impl ZeroizeOnDrop for $name {}

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{} {{ mode: {}, .. }}", stringify!($name), self.0.name)
            }
        }

        impl $name {
            /// A new context for `mode` under the expanded key `cipher`.
            pub fn new(cipher: Sm4, mode: Mode) -> Self {
                $name(Crypter::new(cipher, mode, $decrypt))
            }

            /// Bytes the next `update` of `input_len` bytes will return.
            pub fn output_len(&self, input_len: usize) -> usize {
                self.0.output_len(input_len)
            }

            /// Processes `input`, writing [`Self::output_len`] bytes to the
            /// front of `out` and returning that count.
            pub fn update_into(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
                self.0.update_into(input, out)
            }

            /// Processes `input` and returns the output it completes.
            pub fn update(&mut self, input: &[u8]) -> Result<Vec<u8>> {
                let mut out = vec![0u8; self.0.output_len(input.len())];
                let n = self.0.update_into(input, &mut out)?;
                out.truncate(n);
                Ok(out)
            }

            /// Ends the stream. ECB and CBC fail if an incomplete block is
            /// left over; the stream modes have nothing left to return. Any
            /// use afterwards fails with `AlreadyFinalized`.
            pub fn finalize(&mut self) -> Result<Vec<u8>> {
                self.0.finalize()
            }

            /// True once [`Self::finalize`] has been called.
            pub fn is_finalized(&self) -> bool {
                self.0.finalized
            }
        }
    };
}

context!(
    Encryptor,
    false,
    "A streaming SM4 encryption context (ECB, CBC, CFB, OFB or CTR)."
);
context!(
    Decryptor,
    true,
    "A streaming SM4 decryption context (ECB, CBC, CFB, OFB or CTR)."
);

/// Checks the PKCS #7 padding (RFC 5652 §6.3) of the final block `block` and
/// returns the pad length.
///
/// The check reads every byte of the block and combines the comparisons with
/// `subtle`, so its timing does not depend on the pad length or on where a
/// bad byte is (only the final accept/reject is visible, which a padding
/// oracle needs to be kept away from by the protocol, e.g. encrypt-then-MAC).
/// `block` must be 1..=255 bytes long.
pub fn pkcs7_unpad_len(block: &[u8]) -> Result<usize> {
    let n = block.len();
    if n == 0 || n > 255 {
        return Err(Error::invalid_argument(format!(
            "PKCS7 blocks are 1 to 255 bytes, got {n}"
        )));
    }
    let pad = block[n - 1];
    // 1 <= pad <= n
    let mut ok: Choice = !pad.ct_eq(&0) & !u32::from(pad).ct_gt(&(n as u32));
    for (i, b) in block.iter().rev().enumerate() {
        let in_pad = (i as u32).ct_lt(&u32::from(pad));
        ok &= !in_pad | b.ct_eq(&pad);
    }
    if bool::from(ok) {
        Ok(usize::from(pad))
    } else {
        Err(Error::invalid_argument("invalid PKCS7 padding"))
    }
}

#[cfg(test)]
mod tests {
    use super::pkcs7_unpad_len;

    /// The obvious (variable-time) definition, as the reference.
    fn reference(block: &[u8]) -> Option<usize> {
        let p = *block.last()? as usize;
        (p >= 1 && p <= block.len() && block[block.len() - p..].iter().all(|&b| b as usize == p))
            .then_some(p)
    }

    #[test]
    fn pkcs7_accepts_exactly_the_valid_paddings() {
        for n in [1usize, 2, 8, 16, 255] {
            for pad in 0..=255u8 {
                for filler in [0u8, 0xa5] {
                    for bad_at in [None, Some(0usize), Some(1), Some(7), Some(254)] {
                        let mut block = vec![filler; n];
                        let start = n.saturating_sub(pad as usize);
                        for b in &mut block[start..] {
                            *b = pad;
                        }
                        if let Some(k) = bad_at.filter(|&k| k < n) {
                            block[n - 1 - k] ^= 0x01;
                        }
                        let got = pkcs7_unpad_len(&block).ok();
                        assert_eq!(got, reference(&block), "n={n} pad={pad} bad_at={bad_at:?}");
                    }
                }
            }
        }
        assert!(pkcs7_unpad_len(&[]).is_err());
        assert!(pkcs7_unpad_len(&[1u8; 256]).is_err());
    }
}
