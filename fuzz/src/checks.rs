//! Fuzz-target bodies: one function per parser family. Each feeds the bytes
//! to guomi-core and panics when an invariant breaks, so libFuzzer reports
//! it as a crash:
//! - no parser panics, whatever the input;
//! - nothing invalid is accepted: an accepted DER signature or ciphertext
//!   re-encodes to exactly the input (DER is canonical, so a lenient parse
//!   shows up as a difference); an accepted SEC1 key has no bytes the parser
//!   did not account for; an accepted private key's stored public key is
//!   `d*G`; an opened stream segment re-seals to exactly the input.
//!
//! This file is also compiled into guomi-core's corpus regression test
//! (`rust/guomi-core/tests/fuzz_corpus.rs`), so it names the crate by its
//! path (`guomi_core`) and uses no fuzz-only dependency.

use guomi_core::formats::{self, PrivateKeyContainer};
use guomi_core::sm2::{self, asn1, encrypt::Layout, sign::Signature};
use guomi_core::stream::StreamKey;
use guomi_core::ErrorKind;

/// A fixed SM2 key (d = 0x0102...20); the fuzzers need a key, not a secret.
fn fixed_key() -> sm2::PrivateKey {
    let d: Vec<u8> = (1..=32).collect();
    sm2::PrivateKey::from_bytes(&d).expect("fixed scalar in range")
}

/// Password of the encrypted-PKCS#8 seeds.
pub const FUZZ_PASSWORD: &[u8] = b"fuzz";

/// Highest PBKDF2 count a fuzz input may demand: the target fuzzes the
/// parser, not PBKDF2; the limit the library enforces (10 M) is tested by
/// the negative vectors.
const FUZZ_MAX_ITERATIONS: u32 = 2048;

fn der_header_len(content_len: usize) -> usize {
    match content_len {
        0..=127 => 2,
        128..=255 => 3,
        _ => 4,
    }
}

fn tlv_len(content_len: usize) -> usize {
    der_header_len(content_len) + content_len
}

/// An accepted SEC1 `ECPrivateKey` must consist of exactly the fields the
/// decoder returned: version, the private value (1..=32 bytes), optionally
/// the named curve `[0]` (12 bytes) and the public key `[1]`. Any other
/// length means some bytes were skipped (e.g. a re-tagged field).
fn check_sec1_fully_accounted(input: &[u8], public_key: Option<&[u8]>) {
    let public = public_key.map_or(0, |p| tlv_len(tlv_len(p.len() + 1)));
    let curve = tlv_len(tlv_len(8)); // [0] { OID 1.2.156.10197.1.301 }
    let ok = (1..=32usize).any(|scalar_len| {
        [0, curve].iter().any(|&params| {
            let body = 3 + tlv_len(scalar_len) + params + public;
            tlv_len(body) == input.len()
        })
    });
    assert!(
        ok,
        "SEC1 key accepted with bytes the decoder did not account for"
    );
}

fn check_private(key: &formats::DecodedPrivateKey) {
    // Strict loading checks the stored public key: an accepted key is consistent.
    let sm2_key = key
        .to_sm2_key()
        .expect("an accepted private key must be a valid SM2 key pair");
    if let Some(stored) = key.public_key() {
        let parsed = sm2::PublicKey::from_sec1_bytes(stored).expect("stored point valid");
        assert!(
            parsed == *sm2_key.public_key(),
            "stored public key is not d*G"
        );
    }
    // Our own encoding of it reads back to the same scalar.
    let der = formats::encode_pkcs8_der(key.scalar(), &sm2_key.public_key().to_uncompressed())
        .expect("re-encode");
    let again = formats::decode_private_key_der(&der, None).expect("re-decode");
    assert_eq!(again.scalar(), key.scalar());
}

/// PEM/DER private and public keys; the first byte chooses the loader.
pub fn keys(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(key) = formats::decode_private_key_der(rest, None) {
                if key.container() == PrivateKeyContainer::Sec1 {
                    check_sec1_fully_accounted(rest, key.public_key());
                }
                check_private(&key);
            }
        }
        1 => {
            if let Ok(key) = formats::decode_private_key_pem(rest, None) {
                check_private(&key);
            }
        }
        2 => {
            if let Ok(point) = formats::decode_public_key_der(rest) {
                check_public(&point);
            }
        }
        _ => {
            if let Ok(point) = formats::decode_public_key_pem(rest) {
                check_public(&point);
            }
        }
    }
}

fn check_public(point: &[u8]) {
    assert!(matches!((point.len(), point[0]), (65, 4) | (33, 2 | 3)));
    if formats::to_sm2_public_key(point).is_ok() {
        let der = formats::encode_spki_der(point).expect("re-encode");
        assert_eq!(
            formats::decode_public_key_der(&der).expect("re-decode"),
            point
        );
    }
}

/// Encrypted PKCS#8 (PBES2): the parameters, then decryption with the
/// fuzz password.
pub fn pkcs8_encrypted(data: &[u8]) {
    let Ok(info) = formats::encrypted_pkcs8_parameters(data) else {
        // Whatever the parameters parser refuses, the loader must refuse too.
        if let Ok(key) = formats::decode_private_key_der(data, Some(FUZZ_PASSWORD)) {
            assert!(
                key.container() != PrivateKeyContainer::EncryptedPkcs8,
                "loader accepted an encrypted key whose parameters do not parse"
            );
        }
        return;
    };
    if info.iterations > FUZZ_MAX_ITERATIONS {
        return;
    }
    match formats::decode_private_key_der(data, Some(FUZZ_PASSWORD)) {
        Ok(key) => check_private(&key),
        Err(e) => assert!(e.kind() != ErrorKind::PasswordNotExpected),
    }
    let no_password = formats::decode_private_key_der(data, None);
    assert!(
        no_password.is_err(),
        "an encrypted key loaded without a password"
    );
}

/// DER and raw (r||s) SM2 signatures, verified against a fixed key.
pub fn sm2_signature(data: &[u8]) {
    let key = fixed_key();
    let e = [0x5au8; 32];
    if let Ok(sig) = asn1::signature_from_der(data) {
        assert_eq!(
            asn1::signature_to_der(&sig),
            data,
            "a DER signature was accepted in a non-canonical encoding"
        );
        // Verification must return, never panic (the seeds are valid signatures).
        let _ = sm2::sign::verify_digest(key.public_key(), &e, &sig);
    }
    if let Ok(sig) = Signature::from_raw(data) {
        assert_eq!(data.len(), 64);
        let _ = sm2::sign::verify_digest(key.public_key(), &e, &sig);
    }
}

/// SM2 ciphertexts in all three layouts, decrypted with a fixed key.
pub fn sm2_ciphertext(data: &[u8]) {
    let key = fixed_key();
    for layout in [Layout::C1C3C2, Layout::C1C2C3, Layout::Der] {
        let Ok(plain) = sm2::encrypt::decrypt(&key, data, layout) else {
            continue;
        };
        if layout == Layout::Der {
            let (x, y, c3, c2) = der_parts(data);
            assert_eq!(c2.len(), plain.len());
            let reencoded = asn1::cipher_to_der(&x, &y, &c3, c2).expect("re-encode");
            assert_eq!(reencoded, data, "non-canonical DER ciphertext accepted");
        } else {
            assert_eq!(data.len(), 65 + 32 + plain.len());
        }
    }
}

/// (x1, y1, C3, C2) of an accepted DER ciphertext, read with a minimal TLV
/// walk (the input was accepted, so it is well formed).
fn der_parts(data: &[u8]) -> ([u8; 32], [u8; 32], [u8; 32], &[u8]) {
    fn tlv(b: &[u8]) -> (&[u8], &[u8]) {
        let (len, hdr) = match b[1] {
            n if n < 0x80 => (n as usize, 2),
            0x81 => (b[2] as usize, 3),
            0x82 => (((b[2] as usize) << 8) | b[3] as usize, 4),
            0x83 => (
                ((b[2] as usize) << 16) | ((b[3] as usize) << 8) | b[4] as usize,
                5,
            ),
            _ => panic!("length form the DER parser should have refused"),
        };
        (&b[hdr..hdr + len], &b[hdr + len..])
    }
    fn pad(v: &[u8]) -> [u8; 32] {
        let v = if v.len() == 33 { &v[1..] } else { v };
        let mut out = [0u8; 32];
        out[32 - v.len()..].copy_from_slice(v);
        out
    }
    let (body, _) = tlv(data);
    let (x, rest) = tlv(body);
    let (y, rest) = tlv(rest);
    let (c3, rest) = tlv(rest);
    let (c2, _) = tlv(rest);
    (pad(x), pad(y), pad(c3), c2)
}

/// guomi-stream segments opened with a fixed payload key: the first byte
/// carries the last-batch flag and the first index; an opened batch must
/// re-seal to exactly its input (no forgery, no malleability).
pub fn stream_segment(data: &[u8]) {
    let Some((&head, sealed)) = data.split_first() else {
        return;
    };
    let key = StreamKey::new(&[7u8; 16], 4096).expect("stream key");
    let last = head & 1 == 1;
    let first_index = u64::from(head >> 1);
    let Ok(n) = key.opened_len(sealed.len(), last) else {
        return;
    };
    let mut out = vec![0u8; n];
    if key.open(first_index, last, sealed, &mut out).is_ok() {
        let mut again = vec![0u8; sealed.len()];
        key.seal(first_index, last, &out, &mut again)
            .expect("re-seal");
        assert_eq!(
            again, sealed,
            "an opened stream batch does not re-seal to its input"
        );
    } else {
        assert!(
            out.iter().all(|&b| b == 0),
            "plaintext released by a failed open"
        );
    }
}
