//! Text armour of field values: `gm1.` + unpadded base64url (RFC 4648 §5).
//!
//! Only ciphertext passes through here (public data), so plain table
//! lookups are fine. Decoding is strict: the canonical encoding only (no
//! padding, no `+`/`/`, zero trailing bits), so one value has one text.

use crate::error::{Error, Result};

/// The recognisable prefix of every text-armoured field value.
pub const PREFIX: &[u8] = b"gm1.";

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const fn decode_table() -> [u8; 256] {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 64 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
}
const DECODE: [u8; 256] = decode_table();

/// Length of the armoured text of a binary value of `n` bytes.
pub const fn armoured_len(n: usize) -> usize {
    PREFIX.len() + (n * 4).div_ceil(3)
}

/// Writes `gm1.` + base64url(`bin`) into `out` (exactly `armoured_len` bytes).
pub fn encode_into(bin: &[u8], out: &mut [u8]) {
    out[..PREFIX.len()].copy_from_slice(PREFIX);
    let out = &mut out[PREFIX.len()..];
    let mut o = 0;
    let mut chunks = bin.chunks_exact(3);
    for c in &mut chunks {
        let v = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        out[o] = ALPHABET[(v >> 18) as usize & 63];
        out[o + 1] = ALPHABET[(v >> 12) as usize & 63];
        out[o + 2] = ALPHABET[(v >> 6) as usize & 63];
        out[o + 3] = ALPHABET[v as usize & 63];
        o += 4;
    }
    let rest = chunks.remainder();
    match rest.len() {
        1 => {
            let v = u32::from(rest[0]) << 16;
            out[o] = ALPHABET[(v >> 18) as usize & 63];
            out[o + 1] = ALPHABET[(v >> 12) as usize & 63];
        }
        2 => {
            let v = (u32::from(rest[0]) << 16) | (u32::from(rest[1]) << 8);
            out[o] = ALPHABET[(v >> 18) as usize & 63];
            out[o + 1] = ALPHABET[(v >> 12) as usize & 63];
            out[o + 2] = ALPHABET[(v >> 6) as usize & 63];
        }
        _ => {}
    }
}

/// Decoded length of an armoured text, or an error if its length is impossible.
pub fn decoded_len(text: &[u8]) -> Result<usize> {
    if !text.starts_with(PREFIX) {
        return Err(Error::invalid_encoding(
            "not a guomi field value (no gm1. prefix)",
        ));
    }
    let n = text.len() - PREFIX.len();
    if n % 4 == 1 {
        return Err(Error::invalid_encoding(
            "field value text has an impossible length",
        ));
    }
    Ok(n / 4 * 3 + (n % 4).saturating_sub(1))
}

/// Decodes an armoured text into `out` (exactly `decoded_len` bytes).
pub fn decode_into(text: &[u8], out: &mut [u8]) -> Result<()> {
    let body = &text[PREFIX.len()..];
    let bad = || Error::invalid_encoding("field value text is not canonical base64url");
    let mut o = 0;
    let mut chunks = body.chunks_exact(4);
    for c in &mut chunks {
        let mut v = 0u32;
        for &ch in c {
            let d = DECODE[ch as usize];
            if d == 0xff {
                return Err(bad());
            }
            v = (v << 6) | u32::from(d);
        }
        out[o] = (v >> 16) as u8;
        out[o + 1] = (v >> 8) as u8;
        out[o + 2] = v as u8;
        o += 3;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut v = 0u32;
        for &ch in rest {
            let d = DECODE[ch as usize];
            if d == 0xff {
                return Err(bad());
            }
            v = (v << 6) | u32::from(d);
        }
        match rest.len() {
            2 => {
                if v & 0xf != 0 {
                    return Err(bad());
                }
                out[o] = (v >> 4) as u8;
            }
            3 => {
                if v & 0x3 != 0 {
                    return Err(bad());
                }
                out[o] = (v >> 10) as u8;
                out[o + 1] = (v >> 2) as u8;
            }
            _ => return Err(bad()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_all_lengths() {
        for n in 0..40usize {
            let bin: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37)).collect();
            let mut text = vec![0u8; armoured_len(n)];
            encode_into(&bin, &mut text);
            assert_eq!(decoded_len(&text).unwrap(), n);
            let mut back = vec![0u8; n];
            decode_into(&text, &mut back).unwrap();
            assert_eq!(back, bin);
        }
        assert!(decode_into(b"gm1.AB", &mut [0u8; 1]).is_err());
        assert!(decode_into(b"gm1.A+==", &mut [0u8; 4]).is_err());
    }
}
