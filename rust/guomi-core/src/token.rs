//! Opening the custody service's key-committing SM4-GCM ciphertext tokens
//! (`docs/spec/token.md` §3 text form, §4 header, §5 associated data, §6
//! key-committing AEAD), for batches.
//!
//! The service (`guomi.kms`, Python) seals and opens single tokens itself;
//! this module is the same opening done for a whole `batch_input` in one
//! call, without the GIL. It is as strict as the Python parser
//! (`guomi.api.parse_text` + `TokenHeader.decode` + `open_aead`): every check
//! it makes there is made here, and a token that fails any of them is simply
//! reported as "not opened" -- the caller then takes its single-token path,
//! which finds the same failure and words the error. So this module never
//! needs to say *why* a token failed, and it never accepts what the Python
//! path refuses.
//!
//! The text body is ciphertext (public), so its base64url decoding uses a
//! table. The plaintext is secret: its base64 text is made by
//! [`b64_encode_ct`], arithmetic with no secret-indexed table or branch.
#![forbid(unsafe_code)]

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};
use crate::hmac::HmacSm3;
use crate::sm4::gcm::Sm4Gcm;

/// Binary header: format version (1) | algorithm id (1) | key version (4, BE).
pub const HEADER_SIZE: usize = 6;
/// The only token format version.
pub const FORMAT_VERSION: u8 = 1;
/// Algorithm identifier of `sm4-gcm` keys (`guomi.api.ALGORITHM_IDS`).
pub const ALG_SM4_GCM: u8 = 0x01;
/// GCM nonce.
pub const NONCE_SIZE: usize = 12;
/// HMAC-SM3 key commitment (§6).
pub const COMMIT_SIZE: usize = 32;
/// GCM tag.
pub const TAG_SIZE: usize = 16;
/// §6: the commitment is HMAC-SM3(commit key, label || nonce || AD).
pub const COMMIT_LABEL: &[u8] = b"guomi/token/v1/commit";
/// Length of the AD label `guomi/token/v1\0` that starts every token's AD (§5).
const AD_LABEL_SIZE: usize = 15;
/// Longest key-version text (`MAX_KEY_VERSION` has 10 digits).
const MAX_VERSION_DIGITS: usize = 10;

/// The binary token and key version of a text token
/// `guomi:v1:<key_version>:<base64url(binary), unpadded>`, or `None` if the
/// Python parser would refuse it: exactly four `:`-separated parts, prefix
/// `guomi`, format `v1`, a decimal version of at most 10 digits without a
/// leading zero, a non-empty canonical unpadded base64url body, a 6-byte
/// header of format 1 whose version is >= 1 and equal to the text's.
pub fn parse_text(text: &[u8]) -> Option<(u32, Vec<u8>)> {
    let mut parts = text.split(|&c| c == b':');
    let (prefix, format, version_text, body) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || prefix != b"guomi" || format != b"v1" {
        return None;
    }
    if version_text.is_empty()
        || version_text.len() > MAX_VERSION_DIGITS
        || version_text[0] == b'0'
        || !version_text.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let text_version = version_text
        .iter()
        .fold(0u64, |v, &d| v * 10 + u64::from(d - b'0'));
    let blob = decode_url_canonical(body)?;
    if blob.len() < HEADER_SIZE || blob[0] != FORMAT_VERSION {
        return None;
    }
    let version = u32::from_be_bytes([blob[2], blob[3], blob[4], blob[5]]);
    if version < 1 || u64::from(version) != text_version {
        return None;
    }
    Some((version, blob))
}

/// The 6-bit value of a base64url character, or a value >= 64 for any
/// other byte: branch-free range arithmetic, which vectorises (the text is
/// ciphertext, so this is for speed, not secrecy).
#[inline(always)]
fn url_value(c: u8) -> u8 {
    let mask = |b: bool| 0u8.wrapping_sub(u8::from(b));
    let upper = mask(c.wrapping_sub(b'A') < 26);
    let lower = mask(c.wrapping_sub(b'a') < 26);
    let digit = mask(c.wrapping_sub(b'0') < 10);
    let dash = mask(c == b'-');
    let under = mask(c == b'_');
    (upper & c.wrapping_sub(b'A'))
        | (lower & c.wrapping_sub(b'a' - 26))
        | (digit & c.wrapping_add(52 - b'0'))
        | (dash & 62)
        | (under & 63)
        | (!(upper | lower | digit | dash | under) & 0x80)
}

/// Unpadded base64url in its one canonical spelling (no padding, no `+` `/`,
/// zero trailing bits), or `None`: one pass mapping characters to 6-bit
/// values, then one packing pass.
fn decode_url_canonical(body: &[u8]) -> Option<Vec<u8>> {
    if body.is_empty() || body.len() % 4 == 1 {
        return None;
    }
    let mut vals = body.to_vec();
    let mut bad = 0u8;
    for v in vals.iter_mut() {
        *v = url_value(*v);
        bad |= *v;
    }
    if bad & 0xc0 != 0 {
        return None;
    }
    let full = body.len() / 4;
    let rest = &vals[full * 4..];
    let mut out = vec![0u8; full * 3 + rest.len().saturating_sub(1)];
    for (c, o) in vals.chunks_exact(4).zip(out.chunks_exact_mut(3)) {
        o[0] = (c[0] << 2) | (c[1] >> 4);
        o[1] = (c[1] << 4) | (c[2] >> 2);
        o[2] = (c[2] << 6) | c[3];
    }
    let o = full * 3;
    match *rest {
        [] => {}
        [a, b] if b & 0xf == 0 => out[o] = (a << 2) | (b >> 4),
        [a, b, c] if c & 0x3 == 0 => {
            out[o] = (a << 2) | (b >> 4);
            out[o + 1] = (b << 4) | (c >> 2);
        }
        _ => return None,
    }
    Some(out)
}

/// Length of the padded standard base64 text of `n` bytes.
pub const fn b64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// All ones if `x > k`, else zero, for `x, k < 64`: the top bit of `k - x`
/// (no comparison, no branch).
#[inline(always)]
fn gt_mask(x: u8, k: u8) -> u8 {
    0u8.wrapping_sub(k.wrapping_sub(x) >> 7)
}

/// The standard-alphabet character of a 6-bit value, without a table or a
/// branch (the value is secret: plaintext).
#[inline(always)]
fn b64_char_ct(x: u8) -> u8 {
    // 'A'..'Z' for 0..25, then shifted into 'a'..'z', '0'..'9', '+', '/'.
    x.wrapping_add(b'A')
        .wrapping_add(gt_mask(x, 25) & 6)
        .wrapping_sub(gt_mask(x, 51) & 75)
        .wrapping_sub(gt_mask(x, 61) & 15)
        .wrapping_add(gt_mask(x, 62) & 3)
}

/// Padded standard base64 (RFC 4648 §4) of `data` into `out` (exactly
/// [`b64_len`] bytes), in constant time with respect to the data's value:
/// first the 6-bit groups, then one branch-free mapping pass over them
/// (which the compiler vectorises).
pub fn b64_encode_ct(data: &[u8], out: &mut [u8]) {
    let full = data.len() / 3;
    for (c, o) in data.chunks_exact(3).zip(out.chunks_exact_mut(4)) {
        o[0] = c[0] >> 2;
        o[1] = ((c[0] & 3) << 4) | (c[1] >> 4);
        o[2] = ((c[1] & 15) << 2) | (c[2] >> 6);
        o[3] = c[2] & 63;
    }
    let rest = &data[full * 3..];
    let o = &mut out[full * 4..];
    match rest.len() {
        1 => {
            o[0] = rest[0] >> 2;
            o[1] = (rest[0] & 3) << 4;
        }
        2 => {
            o[0] = rest[0] >> 2;
            o[1] = ((rest[0] & 3) << 4) | (rest[1] >> 4);
            o[2] = (rest[1] & 15) << 2;
        }
        _ => {}
    }
    let chars = full * 4 + if rest.is_empty() { 0 } else { rest.len() + 1 };
    for b in out[..chars].iter_mut() {
        *b = b64_char_ct(*b);
    }
    for b in out[chars..].iter_mut() {
        *b = b'=';
    }
}

/// Plaintext length of a binary token (header included), or `None` if it is
/// too short to hold nonce, commitment and tag.
pub fn plaintext_len(blob: &[u8]) -> Option<usize> {
    blob.len()
        .checked_sub(HEADER_SIZE + NONCE_SIZE + COMMIT_SIZE + TAG_SIZE)
}

/// One version of one `sm4-gcm` key, able to open its tokens: the SM4-GCM
/// key, the commitment key and the fixed head of the associated data (§5:
/// label, header, length-prefixed key name). Both keys wipe themselves on
/// drop (`Sm4Gcm` and `HmacSm3` are `ZeroizeOnDrop`).
pub struct Sm4GcmTokenKey {
    gcm: Sm4Gcm,
    commit: HmacSm3,
    ad_head: Vec<u8>,
}

impl ZeroizeOnDrop for Sm4GcmTokenKey {}

impl core::fmt::Debug for Sm4GcmTokenKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Sm4GcmTokenKey { .. }")
    }
}

impl Sm4GcmTokenKey {
    /// From the version's derived encryption key (16 bytes), commitment key
    /// (32 bytes) and the AD head of (algorithm, version, key name).
    pub fn new(enc_key: &[u8], commit_key: &[u8], ad_head: &[u8]) -> Result<Self> {
        if commit_key.len() != COMMIT_SIZE {
            return Err(Error::invalid_key("commitment key must be 32 bytes"));
        }
        Ok(Sm4GcmTokenKey {
            gcm: Sm4Gcm::new(enc_key, TAG_SIZE, false)?,
            commit: HmacSm3::new(commit_key),
            ad_head: ad_head.to_vec(),
        })
    }

    /// Opens a binary token (header included; its header already checked by
    /// [`parse_text`]) with the caller's associated data (empty = none) and
    /// writes the standard base64 of the plaintext into `out` (exactly
    /// [`b64_len`] of [`plaintext_len`] bytes). `scratch` holds the
    /// plaintext meanwhile and is wiped. On any failure (too short, wrong
    /// commitment, wrong tag) `out` is not written.
    pub fn open_b64(
        &self,
        blob: &[u8],
        caller_ad: &[u8],
        scratch: &mut Vec<u8>,
        out: &mut [u8],
    ) -> Result<()> {
        let n = plaintext_len(blob).ok_or_else(Error::invalid_tag)?;
        if out.len() != b64_len(n) {
            return Err(Error::invalid_argument(
                "output must be the plaintext's base64 length",
            ));
        }
        let header = &blob[..HEADER_SIZE];
        let body = &blob[HEADER_SIZE..];
        let nonce = &body[..NONCE_SIZE];
        let commitment = &body[NONCE_SIZE..NONCE_SIZE + COMMIT_SIZE];
        let ct = &body[NONCE_SIZE + COMMIT_SIZE..];
        // §5: ad_head (label, header, name) || u32 len(caller AD) || caller AD.
        // The header the head was built with must be this token's header.
        if self.ad_head.get(AD_LABEL_SIZE..AD_LABEL_SIZE + HEADER_SIZE) != Some(header) {
            return Err(Error::invalid_tag());
        }
        let ad_len = u32::try_from(caller_ad.len()).map_err(|_| Error::invalid_tag())?;
        let mut mac = self.commit.clone();
        mac.update(COMMIT_LABEL);
        mac.update(nonce);
        mac.update(&self.ad_head);
        mac.update(&ad_len.to_be_bytes());
        mac.update(caller_ad);
        let mut expect = mac.finalize();
        let ok: bool = expect.ct_eq(commitment).into();
        expect.zeroize();
        if !ok {
            return Err(Error::invalid_tag());
        }
        let mut ad = Vec::with_capacity(self.ad_head.len() + 4 + caller_ad.len());
        ad.extend_from_slice(&self.ad_head);
        ad.extend_from_slice(&ad_len.to_be_bytes());
        ad.extend_from_slice(caller_ad);
        scratch.clear();
        scratch.resize(n, 0);
        let r = self.gcm.decrypt(nonce, &ad, ct, scratch);
        if r.is_ok() {
            b64_encode_ct(scratch, out);
        }
        scratch.zeroize();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64_matches_table_encoder_for_every_value() {
        const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for x in 0..64u8 {
            assert_eq!(b64_char_ct(x), STD[usize::from(x)]);
        }
        for (data, text) in [
            (&b""[..], &b""[..]),
            (b"f", b"Zg=="),
            (b"fo", b"Zm8="),
            (b"foo", b"Zm9v"),
            (b"foob", b"Zm9vYg=="),
            (b"\xff\xfe\xfd", b"//79"),
        ] {
            let mut out = vec![0u8; b64_len(data.len())];
            b64_encode_ct(data, &mut out);
            assert_eq!(out, text);
        }
    }

    #[test]
    fn parse_text_is_strict() {
        // header: format 1, sm4-gcm, version 7; then 3 more bytes.
        let blob = [1u8, 1, 0, 0, 0, 7, 0xaa, 0xbb, 0xcc];
        let mut text = b"guomi:v1:7:".to_vec();
        text.extend_from_slice(b"AQEAAAAHqrvM");
        assert_eq!(parse_text(&text), Some((7, blob.to_vec())));
        for bad in [
            &b"guomi:v1:7:AQEAAAAHqrvM:"[..],
            b"guomi:v2:7:AQEAAAAHqrvM",
            b"gumi:v1:7:AQEAAAAHqrvM",
            b"guomi:v1:07:AQEAAAAHqrvM",
            b"guomi:v1:8:AQEAAAAHqrvM",
            b"guomi:v1::AQEAAAAHqrvM",
            b"guomi:v1:7:",
            b"guomi:v1:7:AQEAAAAHqrvM=",
            b"guomi:v1:7:AQEAAAAHqrv+",
            b"guomi:v1:7:AQEAAAAHqrvMA",
            b"guomi:v1:7:AQEAAAAHqrvMAB", // non-zero trailing bits
            b"guomi:v1:12345678901:AQEAAAAHqrvM",
            b"guomi:v1:7:AQEAAA", // shorter than the header
        ] {
            assert_eq!(parse_text(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        // Canonical two-character tail (zero trailing bits) is accepted.
        assert!(decode_url_canonical(b"AQEAAAAHqrvMAA").is_some());
    }

    /// A token sealed as the service seals it (docs/spec/token.md §5-6), built here.
    fn seal(enc: &[u8], commit: &[u8], ad_head: &[u8], caller_ad: &[u8], pt: &[u8]) -> Vec<u8> {
        let nonce = [7u8; NONCE_SIZE];
        let mut ad = ad_head.to_vec();
        ad.extend_from_slice(&(caller_ad.len() as u32).to_be_bytes());
        ad.extend_from_slice(caller_ad);
        let mut msg = COMMIT_LABEL.to_vec();
        msg.extend_from_slice(&nonce);
        msg.extend_from_slice(&ad);
        let mut blob = ad_head[AD_LABEL_SIZE..AD_LABEL_SIZE + HEADER_SIZE].to_vec();
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&crate::hmac::hmac_sm3(commit, &msg));
        let mut ct = vec![0u8; pt.len() + TAG_SIZE];
        Sm4Gcm::new(enc, TAG_SIZE, false)
            .unwrap()
            .encrypt(&nonce, &ad, pt, &mut ct)
            .unwrap();
        blob.extend_from_slice(&ct);
        blob
    }

    #[test]
    fn open_b64_round_trip_and_refusals() {
        let (enc, commit) = ([3u8; 16], [4u8; 32]);
        let mut ad_head = b"guomi/token/v1\x00".to_vec();
        ad_head.extend_from_slice(&[1, ALG_SM4_GCM, 0, 0, 0, 2]);
        ad_head.extend_from_slice(&[0, 6]);
        ad_head.extend_from_slice(b"orders");
        let key = Sm4GcmTokenKey::new(&enc, &commit, &ad_head).unwrap();
        let blob = seal(&enc, &commit, &ad_head, b"ctx", b"hello world");
        let mut scratch = Vec::new();
        let mut out = vec![0u8; b64_len(11)];
        key.open_b64(&blob, b"ctx", &mut scratch, &mut out).unwrap();
        assert_eq!(out, b"aGVsbG8gd29ybGQ=");
        assert!(scratch.iter().all(|&b| b == 0), "plaintext scratch wiped");
        // Wrong AD, flipped commitment, flipped ciphertext: refused, output left zero.
        for (i, ad) in [
            (usize::MAX, &b"ctX"[..]),
            (HEADER_SIZE + NONCE_SIZE, b"ctx"),
            (blob.len() - 1, b"ctx"),
        ] {
            let mut bad = blob.clone();
            if i != usize::MAX {
                bad[i] ^= 1;
            }
            let mut out = vec![0u8; b64_len(11)];
            assert!(key.open_b64(&bad, ad, &mut scratch, &mut out).is_err());
            assert!(out.iter().all(|&b| b == 0));
        }
        // A token of another version (its header differs from the key's AD head).
        let mut other = blob.clone();
        other[5] = 3;
        assert!(key
            .open_b64(&other, b"ctx", &mut scratch, &mut out)
            .is_err());
        // Too short for nonce + commitment + tag.
        assert!(key
            .open_b64(&blob[..HEADER_SIZE + 40], b"ctx", &mut scratch, &mut out)
            .is_err());
        assert!(Sm4GcmTokenKey::new(&enc, &commit[..31], &ad_head).is_err());
    }
}
