//! PEM armour (RFC 7468) through the `pem-rfc7468` crate.
//!
//! The crate is strict about the block itself (matching labels, base64
//! alphabet and padding, no headers); we only locate the block first, so that
//! explanatory text around it is ignored as RFC 7468 §2 says parsers should,
//! and blocks of other kinds (a certificate in front of the key) are skipped
//! as OpenSSL skips them.
#![forbid(unsafe_code)]

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// PKCS#8 `PrivateKeyInfo` (RFC 7468 §10).
pub const LABEL_PRIVATE_KEY: &str = "PRIVATE KEY";
/// PKCS#8 `EncryptedPrivateKeyInfo` (RFC 7468 §11).
pub const LABEL_ENCRYPTED_PRIVATE_KEY: &str = "ENCRYPTED PRIVATE KEY";
/// SEC1 `ECPrivateKey` (RFC 5915 §4).
pub const LABEL_EC_PRIVATE_KEY: &str = "EC PRIVATE KEY";
/// SEC1 `ECPrivateKey` of an SM2 key as `openssl ec` (3.0) labels it.
pub const LABEL_SM2_PRIVATE_KEY: &str = "SM2 PRIVATE KEY";
/// `SubjectPublicKeyInfo` (RFC 7468 §13).
pub const LABEL_PUBLIC_KEY: &str = "PUBLIC KEY";

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// One `-----BEGIN <label>-----` .. `-----END ...-----` block: its label
/// and the whole block text. `None` when there is no further BEGIN line.
fn next_block(data: &[u8], from: usize) -> Result<Option<(&str, &[u8], usize)>> {
    let Some(start) = find(data, BEGIN, from) else {
        return Ok(None);
    };
    let label_start = start + BEGIN.len();
    let label_end = find(data, DASHES, label_start)
        .ok_or_else(|| Error::invalid_encoding("malformed PEM '-----BEGIN ' line"))?;
    let label = std::str::from_utf8(&data[label_start..label_end])
        .ok()
        .filter(|l| !l.contains('\n') && l.is_ascii())
        .ok_or_else(|| Error::invalid_encoding("malformed PEM '-----BEGIN ' line"))?;
    let end_marker = find(data, END, label_end)
        .ok_or_else(|| Error::invalid_encoding("truncated PEM block: missing '-----END ' line"))?;
    let close = find(data, DASHES, end_marker + END.len())
        .ok_or_else(|| Error::invalid_encoding("malformed PEM '-----END ' line"))?;
    let stop = close + DASHES.len();
    Ok(Some((label, &data[start..stop], stop)))
}

/// Finds the first PEM block whose label is in `accept`, skipping blocks
/// with other labels (a certificate before the key, say) as OpenSSL's
/// `PEM_read_bio_PrivateKey` does, and decodes it. If no block qualifies,
/// `Err(Ok(labels))` lists the labels seen (empty: no PEM at all).
fn decode_first(
    data: &[u8],
    accept: &[&str],
) -> std::result::Result<(String, Vec<u8>), Result<Vec<String>>> {
    let mut seen = Vec::new();
    let mut pos = 0;
    loop {
        let (label, block, next) = match next_block(data, pos) {
            Ok(Some(b)) => b,
            Ok(None) => return Err(Ok(seen)),
            Err(e) => return Err(Err(e)),
        };
        if accept.contains(&label) {
            if find(block, b"Proc-Type:", 0).is_some() || find(block, b"DEK-Info:", 0).is_some() {
                return Err(Err(Error::unsupported(
                    "legacy OpenSSL PEM encryption (Proc-Type/DEK-Info headers) is not \
                     supported: convert the key with `openssl pkcs8 -topk8 -v2 sm4-cbc`",
                )));
            }
            return match pem_rfc7468::decode_vec(block) {
                Ok((label, der)) => Ok((label.to_owned(), der)),
                Err(e) => Err(Err(pem_error(e))),
            };
        }
        seen.push(label.to_owned());
        pos = next;
    }
}

const PRIVATE_LABELS: [&str; 4] = [
    LABEL_PRIVATE_KEY,
    LABEL_ENCRYPTED_PRIVATE_KEY,
    LABEL_EC_PRIVATE_KEY,
    LABEL_SM2_PRIVATE_KEY,
];

fn not_found(seen: Result<Vec<String>>, wanted: &str, other: &[&str]) -> Error {
    let seen = match seen {
        Ok(seen) => seen,
        Err(e) => return e,
    };
    if seen.is_empty() {
        return Error::invalid_encoding("no PEM block found: missing '-----BEGIN ' line");
    }
    if let Some(l) = seen.iter().find(|l| other.contains(&l.as_str())) {
        return Error::invalid_encoding(format!(
            "PEM block is a {l}, not a {wanted}; use the other loader"
        ));
    }
    Error::unsupported(format!(
        "no {wanted} in the PEM data: found only unsupported labels {seen:?}"
    ))
}

fn pem_error(err: pem_rfc7468::Error) -> Error {
    Error::invalid_encoding(format!("malformed PEM: {err}"))
}

/// Decodes the first private key block (`PRIVATE KEY`, `ENCRYPTED PRIVATE
/// KEY`, `EC PRIVATE KEY`, `SM2 PRIVATE KEY`); the DER is returned in a
/// zeroizing buffer.
pub(crate) fn decode_private(data: &[u8]) -> Result<(String, Zeroizing<Vec<u8>>)> {
    decode_first(data, &PRIVATE_LABELS)
        .map(|(label, der)| (label, Zeroizing::new(der)))
        .map_err(|seen| not_found(seen, "private key", &[LABEL_PUBLIC_KEY]))
}

/// Decodes the first `PUBLIC KEY` block.
pub(crate) fn decode_public(data: &[u8]) -> Result<(String, Vec<u8>)> {
    decode_first(data, &[LABEL_PUBLIC_KEY])
        .map_err(|seen| not_found(seen, "public key", &PRIVATE_LABELS))
}

/// PEM-encodes `der` under `label` with 64-column lines and LF line endings,
/// ending in a newline (as OpenSSL writes). The text is zeroized on drop
/// because it may hold a private key.
pub fn pem_encode(label: &str, der: &[u8]) -> Result<Zeroizing<String>> {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der)
        .map(Zeroizing::new)
        .map_err(|e| Error::invalid_encoding(format!("cannot PEM-encode: {e}")))
}
