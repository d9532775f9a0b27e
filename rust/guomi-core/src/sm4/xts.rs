//! SM4-XTS: the tweakable block mode for storage (IEEE Std 1619-2018 and
//! GB/T 17964-2021), with ciphertext stealing.
//!
//! The 32-byte key is `key1 || key2`: key1 encrypts the data, key2 encrypts
//! the 16-byte tweak to give `T_0`. Block `j` is processed as
//! `C_j = E_key1(P_j xor T_j) xor T_j` with `T_{j+1} = T_j · x`. The two
//! standards differ only in how "multiply by x" maps onto bytes:
//!
//! - **IEEE 1619** (§5.2): the tweak is a little-endian 128-bit integer;
//!   shift left by one, and if bit 127 fell out, xor `0x87` into byte 0.
//! - **GB/T 17964-2021**: the tweak uses GCM's bit-reflected representation
//!   (byte 0's most significant bit is `x^0`); multiplying by x is a right
//!   shift of the big-endian integer, and if bit 0 fell out, xor `0xE1` into
//!   byte 0.
//!
//! Both agree on block 0 and differ afterwards. The tweak update is done
//! with masks (no branch on the secret tweak). Many tweaks are computed
//! first, then one parallel `encrypt_blocks` call runs over the whole chunk.
//!
//! A data unit must be at least one block; like OpenSSL we also cap it at
//! 2^20 blocks (IEEE 1619 §5.1). The two key halves must differ (as FIPS
//! 140-3 IG C.I requires for XTS-AES): [`Sm4Xts::new`] rejects equal halves.
#![forbid(unsafe_code)]

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::Sm4;
use crate::error::{Error, Result};

/// Largest data unit accepted: 2^20 blocks (16 MiB), as in IEEE 1619 §5.1.
pub const MAX_DATA_UNIT_LEN: usize = (1 << 20) * 16;

/// Blocks whose tweaks are computed per parallel `encrypt_blocks` call.
const CHUNK_BLOCKS: usize = 128;

/// Which tweak arithmetic to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XtsStandard {
    /// GB/T 17964-2021: multiplication by x in GCM's bit-reflected form.
    Gb,
    /// IEEE Std 1619: little-endian, reduction constant 0x87.
    Ieee,
}

/// An SM4-XTS key pair (data key, tweak key). Zeroized on drop.
#[derive(Clone, ZeroizeOnDrop)]
pub struct Sm4Xts {
    data: Sm4,
    tweak: Sm4,
    #[zeroize(skip)]
    standard: XtsStandard,
}

impl core::fmt::Debug for Sm4Xts {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Sm4Xts {{ standard: {:?}, .. }}", self.standard)
    }
}

impl Sm4Xts {
    /// An XTS instance for a 32-byte key `key1 || key2`; the halves must differ.
    pub fn new(key: &[u8], standard: XtsStandard) -> Result<Self> {
        if key.len() != 32 {
            return Err(Error::invalid_key(format!(
                "SM4-XTS key must be 32 bytes (data key || tweak key), got {}",
                key.len()
            )));
        }
        // Constant-time comparison: the halves are secret.
        if bool::from(key[..16].ct_eq(&key[16..])) {
            return Err(Error::invalid_key(
                "SM4-XTS key halves (data key and tweak key) must differ",
            ));
        }
        Self::new_allowing_equal_halves(key, standard)
    }

    /// As [`Sm4Xts::new`] without the distinct-halves check. Only for
    /// reproducing published vectors that use equal halves (e.g. all-zero
    /// keys); equal halves weaken XTS and must not be used for data.
    #[doc(hidden)]
    pub fn new_allowing_equal_halves(key: &[u8], standard: XtsStandard) -> Result<Self> {
        if key.len() != 32 {
            return Err(Error::invalid_key(format!(
                "SM4-XTS key must be 32 bytes (data key || tweak key), got {}",
                key.len()
            )));
        }
        Ok(Sm4Xts {
            data: Sm4::new(&key[..16])?,
            tweak: Sm4::new(&key[16..])?,
            standard,
        })
    }

    /// The tweak arithmetic in use.
    pub fn standard(&self) -> XtsStandard {
        self.standard
    }

    fn check(tweak: &[u8], len: usize) -> Result<()> {
        if tweak.len() != 16 {
            return Err(Error::invalid_argument(format!(
                "tweak must be 16 bytes, got {}",
                tweak.len()
            )));
        }
        if len < 16 {
            return Err(Error::invalid_argument(format!(
                "data must be at least 16 bytes for XTS, got {len}"
            )));
        }
        if len > MAX_DATA_UNIT_LEN {
            return Err(Error::invalid_argument(format!(
                "data must be at most {MAX_DATA_UNIT_LEN} bytes (2^20 blocks) per XTS data unit, got {len}"
            )));
        }
        Ok(())
    }

    /// Encrypts `input` into `out` (same length, at least 16 bytes).
    pub fn encrypt(&self, tweak: &[u8], input: &[u8], out: &mut [u8]) -> Result<()> {
        if out.len() != input.len() {
            return Err(Error::invalid_argument(
                "output buffer must be as long as the input",
            ));
        }
        Self::check(tweak, input.len())?;
        out.copy_from_slice(input);
        self.encrypt_in_place(tweak, out)
    }

    /// Decrypts `input` into `out` (same length, at least 16 bytes).
    pub fn decrypt(&self, tweak: &[u8], input: &[u8], out: &mut [u8]) -> Result<()> {
        if out.len() != input.len() {
            return Err(Error::invalid_argument(
                "output buffer must be as long as the input",
            ));
        }
        Self::check(tweak, input.len())?;
        out.copy_from_slice(input);
        self.decrypt_in_place(tweak, out)
    }

    fn first_tweak(&self, tweak: &[u8]) -> [u8; 16] {
        let mut t = [0u8; 16];
        t.copy_from_slice(tweak);
        self.tweak.encrypt_block(&mut t);
        t
    }

    /// Encrypts a data unit in place.
    pub fn encrypt_in_place(&self, tweak: &[u8], buf: &mut [u8]) -> Result<()> {
        Self::check(tweak, buf.len())?;
        let mut t = self.first_tweak(tweak);
        let r = buf.len() % 16;
        // With stealing, the last full block is handled separately.
        let bulk_blocks = buf.len() / 16 - usize::from(r != 0);
        self.bulk(&mut t, &mut buf[..bulk_blocks * 16], true);
        if r != 0 {
            // IEEE 1619 §5.3.2: CC = E(P_{m-1}, T_{m-1}); C_m = first r bytes
            // of CC; C_{m-1} = E(P_m || tail of CC, T_m).
            let tail = &mut buf[bulk_blocks * 16..];
            let mut cc = [0u8; 16];
            cc.copy_from_slice(&tail[..16]);
            self.one_block(&t, &mut cc, true);
            self.mul_x(&mut t);
            let mut pp = [0u8; 16];
            pp[..r].copy_from_slice(&tail[16..]);
            pp[r..].copy_from_slice(&cc[r..]);
            self.one_block(&t, &mut pp, true);
            tail[16..].copy_from_slice(&cc[..r]);
            tail[..16].copy_from_slice(&pp);
            cc.zeroize();
            pp.zeroize();
        }
        t.zeroize();
        Ok(())
    }

    /// Decrypts a data unit in place.
    pub fn decrypt_in_place(&self, tweak: &[u8], buf: &mut [u8]) -> Result<()> {
        Self::check(tweak, buf.len())?;
        let mut t = self.first_tweak(tweak);
        let r = buf.len() % 16;
        let bulk_blocks = buf.len() / 16 - usize::from(r != 0);
        self.bulk(&mut t, &mut buf[..bulk_blocks * 16], false);
        if r != 0 {
            // IEEE 1619 §5.4.2: PP = D(C_{m-1}, T_m); P_m = first r bytes of
            // PP; P_{m-1} = D(C_m || tail of PP, T_{m-1}).
            let tail = &mut buf[bulk_blocks * 16..];
            let mut t_next = t;
            self.mul_x(&mut t_next);
            let mut pp = [0u8; 16];
            pp.copy_from_slice(&tail[..16]);
            self.one_block(&t_next, &mut pp, false);
            let mut cc = [0u8; 16];
            cc[..r].copy_from_slice(&tail[16..]);
            cc[r..].copy_from_slice(&pp[r..]);
            self.one_block(&t, &mut cc, false);
            tail[16..].copy_from_slice(&pp[..r]);
            tail[..16].copy_from_slice(&cc);
            cc.zeroize();
            pp.zeroize();
            t_next.zeroize();
        }
        t.zeroize();
        Ok(())
    }

    fn one_block(&self, t: &[u8; 16], b: &mut [u8; 16], encrypt: bool) {
        for (x, y) in b.iter_mut().zip(t) {
            *x ^= y;
        }
        if encrypt {
            self.data.encrypt_block(b);
        } else {
            self.data.decrypt_block(b);
        }
        for (x, y) in b.iter_mut().zip(t) {
            *x ^= y;
        }
    }

    /// Whole blocks: per chunk, write the tweaks, xor, one parallel cipher
    /// call, xor again. `t` enters as the first block's tweak and leaves as
    /// the tweak of the block after the last.
    fn bulk(&self, t: &mut [u8; 16], data: &mut [u8], encrypt: bool) {
        let mut tweaks = [0u8; CHUNK_BLOCKS * 16];
        for chunk in data.chunks_mut(CHUNK_BLOCKS * 16) {
            let tw = &mut tweaks[..chunk.len()];
            // The tweak stays in a register as an integer in its standard's
            // byte order; only the stores convert.
            match self.standard {
                XtsStandard::Ieee => {
                    let mut v = u128::from_le_bytes(*t);
                    for slot in tw.chunks_exact_mut(16) {
                        slot.copy_from_slice(&v.to_le_bytes());
                        v = mul_x_ieee_u128(v);
                    }
                    *t = v.to_le_bytes();
                }
                XtsStandard::Gb => {
                    let mut v = u128::from_be_bytes(*t);
                    for slot in tw.chunks_exact_mut(16) {
                        slot.copy_from_slice(&v.to_be_bytes());
                        v = mul_x_gb_u128(v);
                    }
                    *t = v.to_be_bytes();
                }
            }
            xor_in_place(chunk, tw);
            if encrypt {
                self.data.encrypt_blocks(chunk);
            } else {
                self.data.decrypt_blocks(chunk);
            }
            xor_in_place(chunk, tw);
        }
        tweaks.zeroize();
    }

    #[inline(always)]
    fn mul_x(&self, t: &mut [u8; 16]) {
        match self.standard {
            XtsStandard::Ieee => mul_x_ieee(t),
            XtsStandard::Gb => mul_x_gb(t),
        }
    }
}

#[inline(always)]
fn xor_in_place(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.chunks_exact_mut(16).zip(src.chunks_exact(16)) {
        let a = u128::from_ne_bytes(d.try_into().unwrap_or([0u8; 16]));
        let b = u128::from_ne_bytes(s.try_into().unwrap_or([0u8; 16]));
        d.copy_from_slice(&(a ^ b).to_ne_bytes());
    }
}

/// IEEE 1619 §5.2 on the little-endian integer: `T << 1`, xor 0x87 on
/// carry (selected by mask, no branch).
#[inline(always)]
fn mul_x_ieee_u128(v: u128) -> u128 {
    let mask = 0u128.wrapping_sub(v >> 127);
    (v << 1) ^ (mask & 0x87)
}

/// GB/T 17964-2021 on the big-endian integer (GCM's reflected form):
/// `T >> 1`, xor 0xE1 into the top byte on carry (by mask).
#[inline(always)]
fn mul_x_gb_u128(v: u128) -> u128 {
    let mask = 0u128.wrapping_sub(v & 1);
    (v >> 1) ^ (mask & (0xe1 << 120))
}

#[inline(always)]
fn mul_x_ieee(t: &mut [u8; 16]) {
    *t = mul_x_ieee_u128(u128::from_le_bytes(*t)).to_le_bytes();
}

#[inline(always)]
fn mul_x_gb(t: &mut [u8; 16]) {
    *t = mul_x_gb_u128(u128::from_be_bytes(*t)).to_be_bytes();
}
