//! Database field encryption and blind indexes (`docs/spec/field.md`).
//!
//! The kernel of `guomi.fields` and `guomi.bulk`: one value format, batch
//! entry points over whole lists or Arrow-layout packed buffers, no I/O
//! (nonces are handed in by the caller, which reads the OS CSPRNG).
//!
//! - [`FieldCipher`]: SM4-GCM (randomized, suite 0x01) or the deterministic
//!   SIV-style suite 0x02 under per-column keys, one per key version.
//!   Binary value: `0x01 | suite | key_id (u32 BE) | nonce (12) |
//!   SM4-GCM(type_tag || canonical bytes) | tag (16)`; text armour
//!   `gm1.` + unpadded base64url of the binary value.
//! - [`BlindIndex`]: HMAC-SM3 (or PBKDF2-HMAC-SM3 for the slow variant) of
//!   `pack(type_tag || transform(value))`, truncated to `bits` and returned
//!   as a non-negative `i64` (fits a signed BIGINT on DB2 and Oracle).
//!
//! Everything secret-dependent (SM4, GHASH, SM3) is the constant-time code
//! of the other modules; the encoding steps here touch only ciphertext and
//! public lengths. The transforms branch on plaintext characters (they are
//! string functions, run before the MAC), as every blind-index scheme does.

pub mod armour;
pub mod csv;
pub mod mb_sm3;
pub mod transform;

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::hmac::HmacSm3;
use crate::kdf::pbkdf2_hmac_sm3;
use crate::sm4::gcm::Sm4Gcm;
use crate::sm4::ghash::{Ghash, GhashKey};
use crate::sm4::Sm4;

pub use transform::Transform;

/// Format version byte of every field value.
pub const FORMAT_VERSION: u8 = 0x01;
/// Randomized SM4-GCM suite.
pub const SUITE_SM4_GCM: u8 = 0x01;
/// Deterministic SIV-style suite (synthetic nonce from HMAC-SM3).
pub const SUITE_SM4_SIV: u8 = 0x02;
/// Header: version, suite, key id.
pub const HEADER_SIZE: usize = 6;
/// GCM nonce length.
pub const NONCE_SIZE: usize = 12;
/// GCM tag length.
pub const TAG_SIZE: usize = 16;
/// Bytes added to the canonical value: header, nonce, type tag byte, GCM tag.
pub const OVERHEAD: usize = HEADER_SIZE + NONCE_SIZE + 1 + TAG_SIZE;
/// Domain label at the front of every associated data string.
pub const AD_LABEL: &[u8] = b"guomi/field/v1";
/// Domain label of the blind-index message.
pub const INDEX_LABEL: &[u8] = b"guomi/field/v1/index";

/// CipherSweet-style length-prefixed packing: `LE64(n) || (LE64(len) || piece)*`.
/// Unambiguous for any pieces, so no two tuples pack to the same bytes.
pub fn pack(pieces: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + pieces.iter().map(|p| 8 + p.len()).sum::<usize>());
    pack_into(&mut out, pieces);
    out
}

/// [`pack`] appending to `out`.
pub fn pack_into(out: &mut Vec<u8>, pieces: &[&[u8]]) {
    out.extend_from_slice(&(pieces.len() as u64).to_le_bytes());
    for p in pieces {
        out.extend_from_slice(&(p.len() as u64).to_le_bytes());
        out.extend_from_slice(p);
    }
}

/// The associated data of a field value (spec §4).
pub fn associated_data(
    suite: u8,
    key_id: u32,
    table: &[u8],
    column: &[u8],
    context: Option<&[u8]>,
) -> Vec<u8> {
    let ver = [FORMAT_VERSION];
    let s = [suite];
    let kid = key_id.to_be_bytes();
    let mut out = Vec::with_capacity(AD_LABEL.len() + 80 + table.len() + column.len());
    out.extend_from_slice(AD_LABEL);
    match context {
        None => pack_into(&mut out, &[&ver, &s, &kid, table, column]),
        Some(c) => pack_into(&mut out, &[&ver, &s, &kid, table, column, c]),
    }
    out
}

/// Values per SM4 kernel call in [`FieldCipher::encrypt_many`]: their
/// counter blocks (about 3 per short value) fill the wide kernels many
/// times over, and the keystream (a few KiB) stays in L1.
const MANY_GROUP: usize = 64;

/// One key version's column keys.
struct ColumnKey {
    key_id: u32,
    gcm: Sm4Gcm,
    /// The same SM4 key and GHASH key as `gcm`, for the batch path
    /// ([`FieldCipher::encrypt_many`]), which runs the counter blocks of
    /// many values through one kernel call.
    sm4: Sm4,
    ghash: GhashKey,
    /// GHASH state after the (padded) context-free associated data of the
    /// randomized suite: the same for every value of the column, so the
    /// batch path starts each value's GHASH from here.
    ad_state: [u8; 16],
    /// Synthetic-nonce PRF of the deterministic suite.
    siv: HmacSm3,
    /// Associated data for values without a row context, one per suite.
    ad_plain: [Vec<u8>; 2],
}

impl Drop for ColumnKey {
    fn drop(&mut self) {
        self.ad_state.zeroize();
    }
}

/// Encrypts and decrypts one column's values (all key versions known to the
/// keyring; new values under `primary`).
pub struct FieldCipher {
    table: Vec<u8>,
    column: Vec<u8>,
    suite: u8,
    primary: usize,
    keys: Vec<ColumnKey>,
}

impl core::fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "FieldCipher {{ suite: {}, keys: {}, .. }}",
            self.suite,
            self.keys.len()
        )
    }
}

/// A parsed binary field value (borrowed).
#[derive(Clone, Copy, Debug)]
pub struct ValueParts<'a> {
    /// Suite byte.
    pub suite: u8,
    /// Key version id.
    pub key_id: u32,
    /// The 12-byte nonce.
    pub nonce: &'a [u8],
    /// Ciphertext followed by the tag.
    pub sealed: &'a [u8],
}

/// Splits a binary field value into its parts, checking only the layout.
pub fn parse(value: &[u8]) -> Result<ValueParts<'_>> {
    if value.len() < OVERHEAD {
        return Err(Error::invalid_encoding("field value is too short"));
    }
    if value[0] != FORMAT_VERSION {
        return Err(Error::invalid_encoding("unknown field format version"));
    }
    let suite = value[1];
    if suite != SUITE_SM4_GCM && suite != SUITE_SM4_SIV {
        return Err(Error::invalid_encoding("unknown field suite"));
    }
    let key_id = u32::from_be_bytes([value[2], value[3], value[4], value[5]]);
    Ok(ValueParts {
        suite,
        key_id,
        nonce: &value[HEADER_SIZE..HEADER_SIZE + NONCE_SIZE],
        sealed: &value[HEADER_SIZE + NONCE_SIZE..],
    })
}

impl FieldCipher {
    /// A cipher for `table.column`. `keys` are `(key_id, enc_key[16],
    /// siv_key[32])` derived per spec §5; `primary` names the version used
    /// to encrypt; `suite` the suite used to encrypt.
    pub fn new(
        table: &[u8],
        column: &[u8],
        suite: u8,
        keys: &[(u32, &[u8], &[u8])],
        primary: u32,
    ) -> Result<Self> {
        if suite != SUITE_SM4_GCM && suite != SUITE_SM4_SIV {
            return Err(Error::invalid_argument("unknown field suite"));
        }
        let mut out = Vec::with_capacity(keys.len());
        for &(key_id, enc, siv) in keys {
            if siv.len() != 32 {
                return Err(Error::invalid_key("SIV key must be 32 bytes"));
            }
            let sm4 = Sm4::new(enc)?;
            let mut h = [0u8; 16];
            sm4.encrypt_block(&mut h);
            let ghash = GhashKey::new(&h);
            h.zeroize();
            let ad_plain = [
                associated_data(SUITE_SM4_GCM, key_id, table, column, None),
                associated_data(SUITE_SM4_SIV, key_id, table, column, None),
            ];
            let mut g = Ghash::new(&ghash);
            g.update_padded(&ad_plain[0]);
            let ad_state = g.finalize();
            out.push(ColumnKey {
                key_id,
                gcm: Sm4Gcm::new(enc, TAG_SIZE, false)?,
                sm4,
                ghash,
                ad_state,
                siv: HmacSm3::new(siv),
                ad_plain,
            });
        }
        let primary = out
            .iter()
            .position(|k| k.key_id == primary)
            .ok_or_else(|| Error::invalid_argument("primary key id is not among the keys"))?;
        Ok(FieldCipher {
            table: table.to_vec(),
            column: column.to_vec(),
            suite,
            primary,
            keys: out,
        })
    }

    /// The suite new values are encrypted with.
    pub fn suite(&self) -> u8 {
        self.suite
    }

    /// Length of the binary value for a canonical value of `len` bytes.
    pub const fn sealed_len(len: usize) -> usize {
        OVERHEAD + len
    }

    fn ad<'s>(
        &'s self,
        k: &'s ColumnKey,
        suite: u8,
        context: Option<&[u8]>,
    ) -> std::borrow::Cow<'s, [u8]> {
        match context {
            None => std::borrow::Cow::Borrowed(&k.ad_plain[(suite - 1) as usize]),
            Some(c) => std::borrow::Cow::Owned(associated_data(
                suite,
                k.key_id,
                &self.table,
                &self.column,
                Some(c),
            )),
        }
    }

    /// Encrypts `type_tag || value` into `out` (exactly
    /// [`FieldCipher::sealed_len`]`(value.len())` bytes). `random_nonce` is
    /// used by the randomized suite and ignored by the deterministic one.
    pub fn encrypt_into(
        &self,
        type_tag: u8,
        value: &[u8],
        context: Option<&[u8]>,
        random_nonce: &[u8; NONCE_SIZE],
        out: &mut [u8],
    ) -> Result<()> {
        if out.len() != Self::sealed_len(value.len()) {
            return Err(Error::invalid_argument(
                "output buffer has the wrong length",
            ));
        }
        let k = &self.keys[self.primary];
        let ad = self.ad(k, self.suite, context);
        out[0] = FORMAT_VERSION;
        out[1] = self.suite;
        out[2..6].copy_from_slice(&k.key_id.to_be_bytes());
        let (head, body) = out.split_at_mut(HEADER_SIZE + NONCE_SIZE);
        let nonce = &mut head[HEADER_SIZE..];
        let n = value.len() + 1;
        let (ct, tag_out) = body.split_at_mut(n);
        ct[0] = type_tag;
        ct[1..].copy_from_slice(value);
        if self.suite == SUITE_SM4_SIV {
            let mut syn = synthetic_nonce(&k.siv, &ad, ct);
            nonce.copy_from_slice(&syn[..NONCE_SIZE]);
            syn.zeroize();
        } else {
            nonce.copy_from_slice(random_nonce);
        }
        let mut tag = k.gcm.encrypt_in_place_detached(nonce, &ad, ct)?;
        tag_out.copy_from_slice(&tag);
        tag.zeroize();
        Ok(())
    }

    /// Length of one output of [`FieldCipher::encrypt_many`] for a
    /// canonical value of `len` bytes.
    pub const fn output_len(len: usize, armoured: bool) -> usize {
        if armoured {
            armour::armoured_len(Self::sealed_len(len))
        } else {
            Self::sealed_len(len)
        }
    }

    /// Encrypts many values without a row context, each `(type_tag,
    /// canonical bytes)`, into `out`: the values' outputs back to back
    /// (binary, or `gm1.` text when `armoured`), exactly the sum of
    /// [`FieldCipher::output_len`]. `nonces` holds 12 random bytes per
    /// value (ignored by the deterministic suite).
    ///
    /// Byte for byte what [`FieldCipher::encrypt_into`] (then
    /// [`armour::encode_into`]) gives with the same nonces; faster for short
    /// values because the counter blocks (`J0`, then the keystream) of
    /// [`MANY_GROUP`] values go through one wide SM4 kernel call instead of
    /// one mostly empty call each, and each value's GHASH starts from the
    /// column's precomputed associated-data state.
    pub fn encrypt_many(
        &self,
        items: &[(u8, &[u8])],
        nonces: &[u8],
        armoured: bool,
        out: &mut [u8],
    ) -> Result<()> {
        let mut starts = Vec::with_capacity(items.len());
        let mut pos = 0;
        for (_, v) in items {
            starts.push(pos);
            pos += Self::output_len(v.len(), armoured);
        }
        if out.len() != pos {
            return Err(Error::invalid_argument(
                "output buffer has the wrong length",
            ));
        }
        self.encrypt_many_at(items, nonces, armoured, out, &starts)
    }

    /// As [`FieldCipher::encrypt_many`], with value `i`'s output written at
    /// `out[starts[i]..]` ([`FieldCipher::output_len`] bytes; the ranges
    /// ascending and disjoint, the bytes between them left as they are), so
    /// a caller can encrypt straight into a larger record (a CSV line).
    pub fn encrypt_many_at(
        &self,
        items: &[(u8, &[u8])],
        nonces: &[u8],
        armoured: bool,
        out: &mut [u8],
        starts: &[usize],
    ) -> Result<()> {
        if nonces.len() != items.len() * NONCE_SIZE || starts.len() != items.len() {
            return Err(Error::invalid_argument(
                "need 12 nonce bytes and one output position per value",
            ));
        }
        let mut end = 0;
        for ((_, v), &start) in items.iter().zip(starts) {
            if (v.len() + 1) as u64 > crate::sm4::gcm::MAX_PLAINTEXT_LEN {
                return Err(Error::invalid_argument(
                    "a value is longer than GCM allows (SP 800-38D §5.2.1.1)",
                ));
            }
            let stop = start.checked_add(Self::output_len(v.len(), armoured));
            match stop {
                Some(stop) if start >= end && stop <= out.len() => end = stop,
                _ => {
                    return Err(Error::invalid_argument(
                        "output positions overlap or run past the buffer",
                    ))
                }
            }
        }
        let mut bin = Vec::new();
        if self.suite != SUITE_SM4_GCM {
            // The synthetic nonce needs a MAC per value first: no batching.
            for (i, (tag, v)) in items.iter().enumerate() {
                let nonce: &[u8; NONCE_SIZE] = nonces[i * NONCE_SIZE..(i + 1) * NONCE_SIZE]
                    .try_into()
                    .expect("12 bytes");
                let dst = &mut out[starts[i]..starts[i] + Self::output_len(v.len(), armoured)];
                if armoured {
                    bin.resize(Self::sealed_len(v.len()), 0);
                    self.encrypt_into(*tag, v, None, nonce, &mut bin)?;
                    armour::encode_into(&bin, dst);
                } else {
                    self.encrypt_into(*tag, v, None, nonce, dst)?;
                }
            }
            return Ok(());
        }
        let k = &self.keys[self.primary];
        let ad_state = u128::from_be_bytes(k.ad_state);
        let mut header = [0u8; HEADER_SIZE];
        header[0] = FORMAT_VERSION;
        header[1] = SUITE_SM4_GCM;
        header[2..].copy_from_slice(&k.key_id.to_be_bytes());
        let ad_bits = (k.ad_plain[0].len() as u128) << 67; // bit length, high half
        let mut ks: Vec<u8> = Vec::new();
        let mut gbuf: Vec<u8> = Vec::new();
        for (g, group) in items.chunks(MANY_GROUP).enumerate() {
            // Counter blocks: J0 (for the tag) then inc32(J0)... per value.
            ks.clear();
            for (j, (_, v)) in group.iter().enumerate() {
                let i = g * MANY_GROUP + j;
                let blocks = (v.len() + 1).div_ceil(16) as u32;
                let mut ctr = [0u8; 16];
                ctr[..NONCE_SIZE].copy_from_slice(&nonces[i * NONCE_SIZE..(i + 1) * NONCE_SIZE]);
                for c in 1..=blocks + 1 {
                    ctr[12..].copy_from_slice(&c.to_be_bytes());
                    ks.extend_from_slice(&ctr);
                }
            }
            k.sm4.encrypt_blocks(&mut ks);
            let mut at = 0;
            for (j, (tag, v)) in group.iter().enumerate() {
                let i = g * MANY_GROUP + j;
                let n = v.len() + 1;
                let blocks = n.div_ceil(16);
                let ekj0 = block_at(&ks, at);
                at += 16;
                let sealed = Self::sealed_len(v.len());
                let dst = &mut out[starts[i]..starts[i] + Self::output_len(v.len(), armoured)];
                let value: &mut [u8] = if armoured {
                    bin.resize(sealed, 0);
                    &mut bin
                } else {
                    dst
                };
                value[..HEADER_SIZE].copy_from_slice(&header);
                value[HEADER_SIZE..HEADER_SIZE + NONCE_SIZE]
                    .copy_from_slice(&nonces[i * NONCE_SIZE..(i + 1) * NONCE_SIZE]);
                let (ct, tag_out) = value[HEADER_SIZE + NONCE_SIZE..].split_at_mut(n);
                // Block by block as 128-bit words: the plaintext `type_tag ||
                // value`, zero-padded, XOR the keystream; the padded
                // ciphertext goes to GHASH (the first block XORed with the
                // column's AD state, which resumes GHASH after the AD).
                gbuf.resize(16 * (blocks + 1), 0);
                for b in 0..blocks {
                    let mut p = [0u8; 16];
                    let lo = 16 * b;
                    let hi = (lo + 16).min(n);
                    if b == 0 {
                        p[0] = *tag;
                        p[1..hi].copy_from_slice(&v[..hi - 1]);
                    } else {
                        p[..hi - lo].copy_from_slice(&v[lo - 1..hi - 1]);
                    }
                    let mut c = u128::from_be_bytes(p) ^ block_at(&ks, at);
                    p.zeroize(); // a plaintext copy
                    at += 16;
                    if hi - lo < 16 {
                        c &= !(u128::MAX >> (8 * (hi - lo))); // zero the padding
                    }
                    let c_bytes = c.to_be_bytes();
                    ct[lo..hi].copy_from_slice(&c_bytes[..hi - lo]);
                    let x = if b == 0 { c ^ ad_state } else { c };
                    gbuf[lo..lo + 16].copy_from_slice(&x.to_be_bytes());
                }
                let lengths = ad_bits | ((n as u128) << 3);
                gbuf[16 * blocks..].copy_from_slice(&lengths.to_be_bytes());
                let mut gh = Ghash::new(&k.ghash);
                gh.update_blocks(&gbuf);
                let mut t = (u128::from_be_bytes(gh.finalize()) ^ ekj0).to_be_bytes();
                tag_out.copy_from_slice(&t);
                t.zeroize();
                if armoured {
                    armour::encode_into(&bin, dst);
                }
            }
        }
        ks.zeroize();
        gbuf.zeroize();
        Ok(())
    }

    /// Verifies and decrypts a binary value into `out` (`value.len() -
    /// OVERHEAD + 1` bytes: type tag, then canonical bytes). Any failure
    /// (unknown key, wrong cell, tampering) is [`Error::invalid_tag`] or an
    /// encoding error, and leaves `out` zeroed.
    pub fn decrypt_into(&self, value: &[u8], context: Option<&[u8]>, out: &mut [u8]) -> Result<()> {
        let parts = parse(value)?;
        if out.len() != value.len() - OVERHEAD + 1 {
            return Err(Error::invalid_argument(
                "output buffer has the wrong length",
            ));
        }
        let Some(k) = self.keys.iter().find(|k| k.key_id == parts.key_id) else {
            return Err(Error::new(
                crate::error::ErrorKind::InvalidTag,
                format!(
                    "field value is under key {}, which this keyring does not hold",
                    parts.key_id
                ),
            ));
        };
        let ad = self.ad(k, parts.suite, context);
        k.gcm.decrypt(parts.nonce, &ad, parts.sealed, out)?;
        if parts.suite == SUITE_SM4_SIV {
            // The nonce must be the one the plaintext implies: a
            // deterministic value is then a function of (key, cell, value).
            let mut syn = synthetic_nonce(&k.siv, &ad, out);
            let ok: bool = syn[..NONCE_SIZE].ct_eq(parts.nonce).into();
            syn.zeroize();
            if !ok {
                out.zeroize();
                return Err(Error::invalid_tag());
            }
        }
        Ok(())
    }
}

/// The 16 bytes of `buf` at `at` as a big-endian integer.
#[inline]
fn block_at(buf: &[u8], at: usize) -> u128 {
    let mut b = [0u8; 16];
    b.copy_from_slice(&buf[at..at + 16]);
    u128::from_be_bytes(b)
}

/// SIV: `HMAC-SM3(K_siv, pack(AD, type_tag || value))`, first 12 bytes used.
fn synthetic_nonce(siv: &HmacSm3, ad: &[u8], tagged_value: &[u8]) -> [u8; 32] {
    let mut h = siv.clone();
    h.update(&2u64.to_le_bytes());
    h.update(&(ad.len() as u64).to_le_bytes());
    h.update(ad);
    h.update(&(tagged_value.len() as u64).to_le_bytes());
    h.update(tagged_value);
    h.finalize()
}

/// One blind index of one column under one index key.
#[derive(Clone)]
pub struct BlindIndex {
    mac: HmacSm3,
    key: Vec<u8>,
    bits: u32,
    slow_iterations: u32,
    transform: Transform,
}

impl Drop for BlindIndex {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl core::fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "BlindIndex {{ bits: {}, .. }}", self.bits)
    }
}

impl BlindIndex {
    /// An index keyed with `key` (32 bytes, spec §6), truncated to `bits`
    /// (1..=63); `slow_iterations > 0` selects PBKDF2-HMAC-SM3.
    pub fn new(key: &[u8], bits: u32, slow_iterations: u32, transform: Transform) -> Result<Self> {
        if !(1..=63).contains(&bits) {
            return Err(Error::invalid_argument("blind index bits must be 1..63"));
        }
        if key.len() != 32 {
            return Err(Error::invalid_key("blind index key must be 32 bytes"));
        }
        Ok(BlindIndex {
            mac: HmacSm3::new(key),
            key: key.to_vec(),
            bits,
            slow_iterations,
            transform,
        })
    }

    /// The transform applied before hashing.
    pub fn transform(&self) -> Transform {
        self.transform
    }

    /// The index of an already transformed value with its type tag.
    pub fn index_transformed(&self, type_tag: u8, value: &[u8]) -> i64 {
        let header = [1u64.to_le_bytes(), ((value.len() + 1) as u64).to_le_bytes()];
        let mut digest = if self.slow_iterations == 0 {
            let mut h = self.mac.clone();
            h.update(INDEX_LABEL);
            h.update(&header[0]);
            h.update(&header[1]);
            h.update(&[type_tag]);
            h.update(value);
            h.finalize()
        } else {
            // PBKDF2 with the value as password and the index key as salt:
            // the salt is secret, so the work factor adds to, not replaces,
            // the key (spec §6.3).
            let mut msg = Vec::with_capacity(INDEX_LABEL.len() + 17 + value.len());
            msg.extend_from_slice(INDEX_LABEL);
            msg.extend_from_slice(&header[0]);
            msg.extend_from_slice(&header[1]);
            msg.push(type_tag);
            msg.extend_from_slice(value);
            let mut d = [0u8; 32];
            // Arguments are checked: iterations >= 1, output 32 bytes.
            let _ = pbkdf2_hmac_sm3(&msg, &self.key, self.slow_iterations, &mut d);
            msg.zeroize();
            d
        };
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        digest.zeroize();
        let v = u64::from_be_bytes(first) >> (64 - self.bits);
        v as i64
    }

    /// Indexes many already transformed values. Fast (HMAC) indexes of
    /// values with the same number of SM3 blocks go eight at a time through
    /// [`mb_sm3`]; the rest (and the slow PBKDF2 variant) one by one. Same
    /// results as [`BlindIndex::index_transformed`].
    pub fn index_many_transformed(&self, items: &[(u8, &[u8])], out: &mut [i64]) {
        const PREFIX: usize = 20 + 16 + 1; // label, pack header, type tag
        const MAX_BLOCKS: usize = 4;
        debug_assert_eq!(INDEX_LABEL.len(), 20);
        if self.slow_iterations != 0 {
            for (o, (t, v)) in out.iter_mut().zip(items) {
                *o = self.index_transformed(*t, v);
            }
            return;
        }
        let mut groups: [Vec<usize>; MAX_BLOCKS + 1] = Default::default();
        for (i, (_, v)) in items.iter().enumerate() {
            let nb = (PREFIX + v.len() + 9).div_ceil(64);
            if nb <= MAX_BLOCKS {
                groups[nb].push(i);
            } else {
                out[i] = self.index_transformed(items[i].0, items[i].1);
            }
        }
        let (istate, ostate) = self.mac.states();
        let mut buf = vec![0u8; 8 * MAX_BLOCKS * 64];
        for (nb, group) in groups.iter().enumerate() {
            let mut chunks = group.chunks_exact(8);
            for chunk in &mut chunks {
                let stride = nb * 64;
                for (lane, &i) in chunk.iter().enumerate() {
                    let (tag, v) = items[i];
                    let m = &mut buf[lane * stride..(lane + 1) * stride];
                    m.fill(0);
                    m[..20].copy_from_slice(INDEX_LABEL);
                    m[20..28].copy_from_slice(&1u64.to_le_bytes());
                    m[28..36].copy_from_slice(&((v.len() + 1) as u64).to_le_bytes());
                    m[36] = tag;
                    m[PREFIX..PREFIX + v.len()].copy_from_slice(v);
                    m[PREFIX + v.len()] = 0x80;
                    let bits = ((64 + PREFIX + v.len()) as u64) * 8;
                    m[stride - 8..].copy_from_slice(&bits.to_be_bytes());
                }
                let mut st = mb_sm3::splat_state(istate);
                let mut block = [mb_sm3::Lanes::default(); 16];
                for b in 0..nb {
                    for lane in 0..8 {
                        let m = &buf[lane * stride + b * 64..lane * stride + (b + 1) * 64];
                        for (wi, c) in m.chunks_exact(4).enumerate() {
                            block[wi].0[lane] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
                        }
                    }
                    mb_sm3::compress8(&mut st, &block);
                }
                // Outer hash: H((K ^ opad) || inner digest), one block.
                let mut ost = mb_sm3::splat_state(ostate);
                for (wi, lanes) in st.iter().enumerate() {
                    block[wi] = *lanes;
                }
                for (wi, w) in block.iter_mut().enumerate().skip(8) {
                    *w = mb_sm3::Lanes(
                        [match wi {
                            8 => 0x8000_0000,
                            15 => ((64 + 32) * 8) as u32,
                            _ => 0,
                        }; 8],
                    );
                }
                mb_sm3::compress8(&mut ost, &block);
                for (lane, &i) in chunk.iter().enumerate() {
                    let v = (u64::from(ost[0].0[lane]) << 32) | u64::from(ost[1].0[lane]);
                    out[i] = (v >> (64 - self.bits)) as i64;
                }
                block = [mb_sm3::Lanes::default(); 16];
                st = [mb_sm3::Lanes::default(); 8];
                let _ = (&block, &st);
            }
            for &i in chunks.remainder() {
                out[i] = self.index_transformed(items[i].0, items[i].1);
            }
        }
        buf.zeroize();
    }

    /// Indexes a batch: nulls give 0; values the kernel cannot transform
    /// (casefold of non-ASCII text) give 0 and their positions go to
    /// `fallback`, for the caller to transform and index raw.
    pub fn index_batch(
        &self,
        values: &[Option<(u8, &[u8])>],
        out: &mut [i64],
        fallback: &mut Vec<usize>,
    ) -> Result<()> {
        let mut arena: Vec<u8> = Vec::new();
        let mut spans: Vec<(usize, u8, usize, usize)> = Vec::with_capacity(values.len());
        let mut direct: Vec<(usize, u8, &[u8])> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            out[i] = 0;
            let Some((tag, b)) = *v else { continue };
            if self.transform == Transform::Identity {
                direct.push((i, tag, b));
                continue;
            }
            if tag != transform::TYPE_STR {
                arena.zeroize();
                return Err(Error::invalid_argument(format!(
                    "value {i}: a string transform needs string values"
                )));
            }
            let start = arena.len();
            match self.transform.apply(b, &mut arena) {
                Ok(true) => spans.push((i, transform::TYPE_STR, start, arena.len())),
                Ok(false) => {
                    arena.truncate(start);
                    fallback.push(i);
                }
                Err(e) => {
                    arena.zeroize();
                    return Err(Error::new(e.kind(), format!("value {i}: {}", e.message())));
                }
            }
        }
        let mut items: Vec<(u8, &[u8])> = Vec::with_capacity(direct.len() + spans.len());
        let mut where_: Vec<usize> = Vec::with_capacity(items.capacity());
        for (i, t, b) in &direct {
            items.push((*t, b));
            where_.push(*i);
        }
        for (i, t, s, e) in &spans {
            items.push((*t, &arena[*s..*e]));
            where_.push(*i);
        }
        let mut hashes = vec![0i64; items.len()];
        self.index_many_transformed(&items, &mut hashes);
        for (i, h) in where_.iter().zip(hashes) {
            out[*i] = h;
        }
        drop(items);
        arena.zeroize();
        Ok(())
    }

    /// Applies the transform (which needs string values, type tag 0x01) and
    /// indexes. `None` when the transform cannot run here (casefold of a
    /// non-ASCII value: the caller folds it with Python's full Unicode
    /// case folding and calls [`BlindIndex::index_transformed`]).
    pub fn index(&self, type_tag: u8, value: &[u8], scratch: &mut Vec<u8>) -> Result<Option<i64>> {
        if self.transform == Transform::Identity {
            return Ok(Some(self.index_transformed(type_tag, value)));
        }
        if type_tag != transform::TYPE_STR {
            return Err(Error::invalid_argument(
                "a string transform needs string values",
            ));
        }
        scratch.clear();
        if !self.transform.apply(value, scratch)? {
            return Ok(None);
        }
        let r = self.index_transformed(transform::TYPE_STR, scratch);
        scratch.zeroize();
        Ok(Some(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(suite: u8) -> FieldCipher {
        let enc = [7u8; 16];
        let siv = [9u8; 32];
        FieldCipher::new(b"customer", b"email", suite, &[(42, &enc, &siv)], 42).unwrap()
    }

    #[test]
    fn round_trip_and_cell_binding() {
        for suite in [SUITE_SM4_GCM, SUITE_SM4_SIV] {
            let c = cipher(suite);
            let mut out = vec![0u8; FieldCipher::sealed_len(5)];
            c.encrypt_into(1, b"hello", Some(b"7"), &[1u8; 12], &mut out)
                .unwrap();
            let mut pt = vec![0u8; 6];
            c.decrypt_into(&out, Some(b"7"), &mut pt).unwrap();
            assert_eq!(&pt, b"\x01hello");
            assert!(c.decrypt_into(&out, Some(b"8"), &mut pt).is_err());
            assert!(c.decrypt_into(&out, None, &mut pt).is_err());
            for i in 0..out.len() * 8 {
                let mut bad = out.clone();
                bad[i / 8] ^= 1 << (i % 8);
                assert!(c.decrypt_into(&bad, Some(b"7"), &mut pt).is_err());
            }
        }
    }

    #[test]
    fn encrypt_many_matches_encrypt_into() {
        for suite in [SUITE_SM4_GCM, SUITE_SM4_SIV] {
            let c = cipher(suite);
            let values: Vec<Vec<u8>> = (0..200usize)
                .map(|n| (0..(n % 70)).map(|k| (k * 13 + n) as u8).collect())
                .collect();
            let items: Vec<(u8, &[u8])> = values
                .iter()
                .enumerate()
                .map(|(i, v)| ((i % 3) as u8 + 1, v.as_slice()))
                .collect();
            let nonces: Vec<u8> = (0..items.len() * 12).map(|i| (i * 7) as u8).collect();
            for armoured in [false, true] {
                let total = items
                    .iter()
                    .map(|(_, v)| FieldCipher::output_len(v.len(), armoured))
                    .sum();
                let mut out = vec![0u8; total];
                c.encrypt_many(&items, &nonces, armoured, &mut out).unwrap();
                let mut pos = 0;
                for (i, (tag, v)) in items.iter().enumerate() {
                    let nonce: &[u8; 12] = nonces[i * 12..i * 12 + 12].try_into().unwrap();
                    let mut bin = vec![0u8; FieldCipher::sealed_len(v.len())];
                    c.encrypt_into(*tag, v, None, nonce, &mut bin).unwrap();
                    let want = if armoured {
                        let mut t = vec![0u8; armour::armoured_len(bin.len())];
                        armour::encode_into(&bin, &mut t);
                        t
                    } else {
                        bin
                    };
                    assert_eq!(&out[pos..pos + want.len()], &want[..], "value {i}");
                    pos += want.len();
                }
                assert_eq!(pos, out.len());
            }
            assert!(c.encrypt_many(&items, &nonces[1..], true, &mut []).is_err());
        }
    }

    #[test]
    fn deterministic_suite_is_deterministic() {
        let c = cipher(SUITE_SM4_SIV);
        let mut a = vec![0u8; FieldCipher::sealed_len(3)];
        let mut b = a.clone();
        c.encrypt_into(1, b"abc", None, &[1u8; 12], &mut a).unwrap();
        c.encrypt_into(1, b"abc", None, &[2u8; 12], &mut b).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn multi_buffer_index_matches_scalar() {
        for slow in [0u32, 3] {
            let idx = BlindIndex::new(&[5u8; 32], 40, slow, Transform::Identity).unwrap();
            let values: Vec<Vec<u8>> = (0..300usize)
                .map(|n| (0..(n % 250)).map(|k| (k * 7 + n) as u8).collect())
                .collect();
            let items: Vec<(u8, &[u8])> = values.iter().map(|v| (1u8, v.as_slice())).collect();
            let mut out = vec![0i64; items.len()];
            idx.index_many_transformed(&items, &mut out);
            for (o, (t, v)) in out.iter().zip(&items) {
                assert_eq!(*o, idx.index_transformed(*t, v));
            }
        }
        let ci = BlindIndex::new(&[5u8; 32], 30, 0, Transform::Casefold).unwrap();
        let vals: Vec<Option<(u8, &[u8])>> = vec![
            Some((1, b"ABC")),
            None,
            Some((1, "Stra\u{df}e".as_bytes())),
            Some((1, b"x")),
        ];
        let mut out = vec![0i64; 4];
        let mut fb = Vec::new();
        ci.index_batch(&vals, &mut out, &mut fb).unwrap();
        assert_eq!(fb, vec![2]);
        assert_eq!(out[0], ci.index_transformed(1, b"abc"));
        assert_eq!(out[1], 0);
        assert_eq!(out[3], ci.index_transformed(1, b"x"));
    }

    #[test]
    fn index_is_truncated_and_non_negative() {
        let idx = BlindIndex::new(&[3u8; 32], 63, 0, Transform::Identity).unwrap();
        assert!(idx.index_transformed(1, b"x") >= 0);
        let idx = BlindIndex::new(&[3u8; 32], 4, 0, Transform::Identity).unwrap();
        assert!(idx.index_transformed(1, b"x") < 16);
        let slow = BlindIndex::new(&[3u8; 32], 32, 10, Transform::Identity).unwrap();
        assert_ne!(
            slow.index_transformed(1, b"x"),
            BlindIndex::new(&[3u8; 32], 32, 0, Transform::Identity)
                .unwrap()
                .index_transformed(1, b"x")
        );
    }
}
