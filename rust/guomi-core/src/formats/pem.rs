//! PEM armour (RFC 7468) through the `pem-rfc7468` crate.
//!
//! The crate is strict about the block itself (matching labels, base64
//! alphabet and padding, no headers); we only locate the block first, so that
//! explanatory text around it is ignored as RFC 7468 §2 says parsers should.

use zeroize::Zeroizing;

use super::{FormatError, FormatResult};

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

/// The first `-----BEGIN ...-----` .. `-----END ...-----` block of `data`.
fn locate_block(data: &[u8]) -> FormatResult<&[u8]> {
    let start = find(data, BEGIN, 0)
        .ok_or_else(|| FormatError::encoding("no PEM block found: missing '-----BEGIN ' line"))?;
    let end_marker = find(data, END, start + BEGIN.len())
        .ok_or_else(|| FormatError::encoding("truncated PEM block: missing '-----END ' line"))?;
    let close = find(data, DASHES, end_marker + END.len())
        .ok_or_else(|| FormatError::encoding("malformed PEM '-----END ' line"))?;
    let block = &data[start..close + DASHES.len()];
    if find(block, b"Proc-Type:", 0).is_some() || find(block, b"DEK-Info:", 0).is_some() {
        return Err(FormatError::unsupported(
            "legacy OpenSSL PEM encryption (Proc-Type/DEK-Info headers) is not supported: \
             convert the key with `openssl pkcs8 -topk8 -v2 sm4-cbc`",
        ));
    }
    Ok(block)
}

fn pem_error(err: pem_rfc7468::Error) -> FormatError {
    FormatError::encoding(format!("malformed PEM: {err}"))
}

/// Decodes a private key block; the DER is returned in a zeroizing buffer.
pub(crate) fn decode_private(data: &[u8]) -> FormatResult<(String, Zeroizing<Vec<u8>>)> {
    let block = locate_block(data)?;
    let (label, der) = pem_rfc7468::decode_vec(block).map_err(pem_error)?;
    Ok((label.to_owned(), Zeroizing::new(der)))
}

/// Decodes a public key block.
pub(crate) fn decode_public(data: &[u8]) -> FormatResult<(String, Vec<u8>)> {
    let block = locate_block(data)?;
    let (label, der) = pem_rfc7468::decode_vec(block).map_err(pem_error)?;
    Ok((label.to_owned(), der))
}

/// PEM-encodes `der` under `label` with 64-column lines and LF line endings,
/// ending in a newline (as OpenSSL writes). The text is zeroized on drop
/// because it may hold a private key.
pub fn pem_encode(label: &str, der: &[u8]) -> FormatResult<Zeroizing<String>> {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der)
        .map(Zeroizing::new)
        .map_err(|e| FormatError::encoding(format!("cannot PEM-encode: {e}")))
}
