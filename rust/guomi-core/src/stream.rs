//! The payload of the `guomi-stream/v1` file format (`docs/spec/stream.md` §5):
//! STREAM segments of SM4-GCM (Hoang, Reyhanitabar, Rogaway, Vizár 2015).
//!
//! Segment `i` of a file is `SM4-GCM(payload_key, u88(i) || last_flag, "", p_i)`.
//! This module seals or opens a run of consecutive segments in one call so
//! the Python layer pays its per-call cost once per batch (megabytes), not
//! once per 64 KiB segment. Header parsing, key wrapping and I/O live in
//! Python (`guomi.envelope.stream`); the core stays I/O-free.
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::sm4::gcm::Sm4Gcm;

/// GCM tag length used by every segment (full 16 bytes, SP 800-38D App. C).
pub const TAG_SIZE: usize = 16;
/// Smallest segment size the format allows (2^12).
pub const MIN_SEGMENT_SIZE: usize = 1 << 12;
/// Largest segment size the format allows (2^24).
pub const MAX_SEGMENT_SIZE: usize = 1 << 24;
/// A writer refuses to produce more segments than this (spec §5).
pub const MAX_SEGMENTS: u64 = 1 << 32;

/// The payload key of one file with its segment size. Zeroized on drop
/// (through [`Sm4Gcm`]).
#[derive(Clone, Debug)]
pub struct StreamKey {
    gcm: Sm4Gcm,
    segment_size: usize,
}

/// `u88(index) || last_flag` (spec §5).
fn nonce(index: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    // u88 big-endian: the top 3 bytes stay zero because index < 2^64.
    n[3..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// Number of segments a batch of `len` bytes (plaintext or ciphertext) holds,
/// where a full segment is `unit` bytes.
fn count(len: usize, unit: usize, last: bool) -> usize {
    if len == 0 {
        usize::from(last)
    } else {
        len.div_ceil(unit)
    }
}

impl StreamKey {
    /// A stream key from the 16-byte `payload_key` and a segment size that is
    /// a power of two in 4 KiB..=16 MiB.
    pub fn new(payload_key: &[u8], segment_size: usize) -> Result<Self> {
        if !segment_size.is_power_of_two()
            || !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&segment_size)
        {
            return Err(Error::invalid_argument(format!(
                "segment size must be a power of two from {MIN_SEGMENT_SIZE} to {MAX_SEGMENT_SIZE}, got {segment_size}"
            )));
        }
        Ok(StreamKey {
            gcm: Sm4Gcm::new(payload_key, TAG_SIZE, false)?,
            segment_size,
        })
    }

    /// Plaintext segment size in bytes.
    pub fn segment_size(&self) -> usize {
        self.segment_size
    }

    /// Length of the sealed form of a `plaintext_len`-byte batch, checking
    /// that the batch is well formed: every segment full except, when
    /// `last`, the final one (which may be short; an empty batch is one
    /// empty final segment only when `last`).
    pub fn sealed_len(&self, plaintext_len: usize, last: bool) -> Result<usize> {
        if !last && (plaintext_len == 0 || !plaintext_len.is_multiple_of(self.segment_size)) {
            return Err(Error::invalid_argument(
                "a batch that does not end the stream must be a non-zero whole number of segments",
            ));
        }
        let n = count(plaintext_len, self.segment_size, last);
        plaintext_len
            .checked_add(n * TAG_SIZE)
            .ok_or_else(|| Error::invalid_argument("batch too large"))
    }

    /// Length of the plaintext of a `sealed_len`-byte batch, with the same
    /// shape rules as [`StreamKey::sealed_len`] on the sealed side (a final
    /// segment shorter than a tag, or an empty batch, is truncated).
    pub fn opened_len(&self, sealed_len: usize, last: bool) -> Result<usize> {
        let unit = self.segment_size + TAG_SIZE;
        if sealed_len == 0 {
            return Err(Error::invalid_encoding(
                "truncated: no segment where one was expected",
            ));
        }
        if !last && !sealed_len.is_multiple_of(unit) {
            return Err(Error::invalid_argument(
                "a batch that does not end the stream must be a whole number of segments",
            ));
        }
        let n = sealed_len.div_ceil(unit);
        let tail = sealed_len - (n - 1) * unit;
        if tail < TAG_SIZE {
            return Err(Error::invalid_encoding(
                "truncated: final segment is shorter than its tag",
            ));
        }
        Ok(sealed_len - n * TAG_SIZE)
    }

    fn check_index(first_index: u64, n: usize) -> Result<()> {
        let end = first_index
            .checked_add(n as u64)
            .ok_or_else(|| Error::invalid_argument("segment index overflow"))?;
        if end > MAX_SEGMENTS {
            return Err(Error::invalid_argument(
                "stream too long: more than 2^32 segments",
            ));
        }
        Ok(())
    }

    /// Seals consecutive segments `first_index..` of `plaintext` into `out`
    /// (exactly [`StreamKey::sealed_len`] bytes); the final segment of the
    /// batch carries `last_flag = 1` iff `last`.
    pub fn seal(
        &self,
        first_index: u64,
        last: bool,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<()> {
        let want = self.sealed_len(plaintext.len(), last)?;
        if out.len() != want {
            return Err(Error::invalid_argument(
                "output buffer must be the sealed length of the batch",
            ));
        }
        let s = self.segment_size;
        let n = count(plaintext.len(), s, last);
        Self::check_index(first_index, n)?;
        for i in 0..n {
            let p0 = i * s;
            let p1 = (p0 + s).min(plaintext.len());
            let o0 = i * (s + TAG_SIZE);
            let o1 = o0 + (p1 - p0) + TAG_SIZE;
            let is_last = last && i + 1 == n;
            self.gcm.encrypt(
                &nonce(first_index + i as u64, is_last),
                b"",
                &plaintext[p0..p1],
                &mut out[o0..o1],
            )?;
        }
        Ok(())
    }

    /// Opens consecutive segments `first_index..` of `sealed` into `out`
    /// (exactly [`StreamKey::opened_len`] bytes). Every segment's tag is
    /// checked before its plaintext is written; on any failure `out` is
    /// zeroed and the error names the failing segment index, so no
    /// plaintext of a failed batch is released.
    pub fn open(&self, first_index: u64, last: bool, sealed: &[u8], out: &mut [u8]) -> Result<()> {
        let want = self.opened_len(sealed.len(), last)?;
        if out.len() != want {
            return Err(Error::invalid_argument(
                "output buffer must be the opened length of the batch",
            ));
        }
        let s = self.segment_size;
        let unit = s + TAG_SIZE;
        let n = sealed.len().div_ceil(unit);
        Self::check_index(first_index, n)?;
        for i in 0..n {
            let c0 = i * unit;
            let c1 = (c0 + unit).min(sealed.len());
            let o0 = i * s;
            let o1 = o0 + (c1 - c0 - TAG_SIZE);
            let index = first_index + i as u64;
            let is_last = last && i + 1 == n;
            if let Err(e) = self.gcm.decrypt(
                &nonce(index, is_last),
                b"",
                &sealed[c0..c1],
                &mut out[o0..o1],
            ) {
                zeroize::Zeroize::zeroize(&mut out[..]);
                if e.kind() == crate::error::ErrorKind::InvalidTag {
                    return Err(Error::new(
                        crate::error::ErrorKind::InvalidTag,
                        format!("segment {index} failed authentication"),
                    ));
                }
                return Err(e);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 16] = [7u8; 16];

    fn seal_all(k: &StreamKey, pt: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; k.sealed_len(pt.len(), true).unwrap()];
        k.seal(0, true, pt, &mut out).unwrap();
        out
    }

    #[test]
    fn round_trip_sizes_and_batches_agree() {
        let k = StreamKey::new(&KEY, 4096).unwrap();
        for len in [0usize, 1, 4095, 4096, 4097, 3 * 4096, 3 * 4096 + 5] {
            let pt: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let ct = seal_all(&k, &pt);
            let mut back = vec![0u8; k.opened_len(ct.len(), true).unwrap()];
            k.open(0, true, &ct, &mut back).unwrap();
            assert_eq!(back, pt);
            // Segment-at-a-time sealing gives the same bytes as one batch.
            if len > 4096 {
                let mut first = vec![0u8; 4096 + 16];
                k.seal(0, false, &pt[..4096], &mut first).unwrap();
                assert_eq!(&first[..], &ct[..4096 + 16]);
                let mut rest = vec![0u8; k.sealed_len(len - 4096, true).unwrap()];
                k.seal(1, true, &pt[4096..], &mut rest).unwrap();
                assert_eq!(&rest[..], &ct[4096 + 16..]);
            }
        }
    }

    #[test]
    fn segment_matches_plain_gcm() {
        let k = StreamKey::new(&KEY, 4096).unwrap();
        let pt = [1u8; 10];
        let mut out = vec![0u8; 26];
        k.seal(5, true, &pt, &mut out).unwrap();
        let gcm = Sm4Gcm::new(&KEY, 16, false).unwrap();
        let mut expect = vec![0u8; 26];
        let nonce = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 1];
        gcm.encrypt(&nonce, b"", &pt, &mut expect).unwrap();
        assert_eq!(out, expect);
    }

    #[test]
    fn wrong_index_flag_or_truncation_fail() {
        let k = StreamKey::new(&KEY, 4096).unwrap();
        let pt = vec![9u8; 2 * 4096];
        let ct = seal_all(&k, &pt);
        let mut back = vec![0u8; 2 * 4096];
        assert!(k.open(1, true, &ct, &mut back).is_err());
        assert!(back.iter().all(|&b| b == 0));
        let mut one = vec![0u8; 4096];
        // Dropping the final segment: the first one is not marked last.
        let e = k.open(0, true, &ct[..4096 + 16], &mut one).unwrap_err();
        assert!(e.message().contains("segment 0"));
        assert!(k.opened_len(0, true).is_err());
        assert!(k.opened_len(4096 + 16 + 5, true).is_err());
        assert!(k.opened_len(4096 + 16 + 5, false).is_err());
    }

    #[test]
    fn bad_shapes_are_errors_not_panics() {
        assert!(StreamKey::new(&KEY, 1000).is_err());
        assert!(StreamKey::new(&KEY, 1 << 25).is_err());
        assert!(StreamKey::new(&[0u8; 15], 4096).is_err());
        let k = StreamKey::new(&KEY, 4096).unwrap();
        assert!(k.sealed_len(5, false).is_err());
        assert!(k.sealed_len(0, false).is_err());
        let mut out = [0u8; 3];
        assert!(k.seal(0, true, &[1, 2], &mut out).is_err());
        assert!(k.seal(u64::MAX, true, &[1], &mut [0u8; 17]).is_err());
        assert!(k.seal(MAX_SEGMENTS - 1, true, &[1], &mut [0u8; 17]).is_ok());
    }
}
