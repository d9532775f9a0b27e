//! PKCS#8, SEC1 and SubjectPublicKeyInfo for SM2 keys, via `pkcs8`, `sec1`
//! and `spki`.
#![forbid(unsafe_code)]

use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier};
use der::{Decode, Encode, Reader, SliceReader, Tag, Tagged};
use sec1::{EcParameters, EcPrivateKey};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

use super::oids::{self, ID_EC_PUBLIC_KEY, SM2};
use super::{check_scalar_range, DecodedPrivateKey, PrivateKeyContainer, SCALAR_LEN};

/// Tells PKCS#8, encrypted PKCS#8 and SEC1 apart by their first two fields:
/// `PrivateKeyInfo ::= SEQUENCE { INTEGER, SEQUENCE, ... }`,
/// `EncryptedPrivateKeyInfo ::= SEQUENCE { SEQUENCE, OCTET STRING }`,
/// `ECPrivateKey ::= SEQUENCE { INTEGER, OCTET STRING, ... }`.
pub(crate) fn sniff_private_container(der: &[u8]) -> Result<PrivateKeyContainer> {
    let outer = AnyRef::from_der(der).map_err(|e| Error::der("private key DER", e))?;
    if outer.tag() != Tag::Sequence {
        return Err(Error::invalid_encoding(format!(
            "malformed private key DER: expected a SEQUENCE, found {}",
            outer.tag()
        )));
    }
    let mut reader =
        SliceReader::new(outer.value()).map_err(|e| Error::der("private key DER", e))?;
    let first = AnyRef::decode(&mut reader).map_err(|e| Error::der("private key DER", e))?;
    let second = AnyRef::decode(&mut reader).map_err(|e| Error::der("private key DER", e))?;
    match (first.tag(), second.tag()) {
        (Tag::Integer, Tag::Sequence) => Ok(PrivateKeyContainer::Pkcs8),
        (Tag::Integer, Tag::OctetString) => Ok(PrivateKeyContainer::Sec1),
        (Tag::Sequence, Tag::OctetString) => Ok(PrivateKeyContainer::EncryptedPkcs8),
        (Tag::Sequence, Tag::BitString) => Err(Error::invalid_encoding(
            "this is a SubjectPublicKeyInfo (a public key), not a private key; \
             use the public key loader",
        )),
        (a, b) => Err(Error::invalid_encoding(format!(
            "not a PKCS#8, encrypted PKCS#8 or SEC1 private key (a SEQUENCE starting {a}, {b})"
        ))),
    }
}

/// Checks that an `AlgorithmIdentifier` names SM2: `id-ecPublicKey` with
/// named curve SM2, or the SM2 OID as the algorithm with absent, NULL or
/// SM2-curve parameters.
fn check_algorithm(alg: &AlgorithmIdentifierRef<'_>) -> Result<()> {
    if alg.oid == ID_EC_PUBLIC_KEY {
        let params = alg
            .parameters
            .ok_or_else(|| Error::invalid_encoding("id-ecPublicKey without curve parameters"))?;
        return check_curve_any(&params);
    }
    if alg.oid == SM2 {
        return match alg.parameters {
            None => Ok(()),
            Some(p) if p.is_null() => Ok(()),
            Some(p) => check_curve_any(&p),
        };
    }
    Err(Error::unsupported(format!(
        "key algorithm {} ({}) is not SM2: expected id-ecPublicKey (1.2.840.10045.2.1) \
         with curve 1.2.156.10197.1.301",
        alg.oid,
        oids::describe(&alg.oid)
    )))
}

/// The EC domain parameters must be the named curve SM2.
fn check_curve_any(params: &AnyRef<'_>) -> Result<()> {
    match params.tag() {
        Tag::ObjectIdentifier => {
            let oid: ObjectIdentifier =
                params.decode_as().map_err(|e| Error::der("curve OID", e))?;
            check_curve_oid(&oid)
        }
        Tag::Sequence => Err(Error::unsupported(
            "explicit EC domain parameters are not supported: only the named curve SM2 \
             (1.2.156.10197.1.301)",
        )),
        Tag::Null => Err(Error::unsupported(
            "implicitlyCA EC parameters are not supported: only the named curve SM2",
        )),
        other => Err(Error::invalid_encoding(format!(
            "malformed EC parameters: expected a curve OID, found {other}"
        ))),
    }
}

fn check_curve_oid(oid: &ObjectIdentifier) -> Result<()> {
    if *oid == SM2 {
        Ok(())
    } else {
        Err(Error::unsupported(format!(
            "EC curve {oid} ({}) is not SM2 (1.2.156.10197.1.301)",
            oids::describe(oid)
        )))
    }
}

/// Checks the SEC1 shape of an encoded point (X9.62 §4.3.6): 65 bytes
/// starting 0x04, or 33 bytes starting 0x02/0x03. On-curve is the caller's.
fn check_point_shape(point: &[u8]) -> Result<()> {
    match (point.len(), point.first()) {
        (65, Some(0x04)) | (33, Some(0x02 | 0x03)) => Ok(()),
        (n, Some(p)) => Err(Error::invalid_encoding(format!(
            "malformed SM2 public key: {n} bytes with prefix 0x{p:02x}; expected 65 bytes \
             starting 0x04 or 33 bytes starting 0x02/0x03"
        ))),
        (_, None) => Err(Error::invalid_encoding("malformed SM2 public key: empty")),
    }
}

/// The private scalar from an `ECPrivateKey.privateKey` OCTET STRING. RFC
/// 5915 fixes its length at ceil(log2(n)/8) = 32; old OpenSSL releases
/// dropped leading zero bytes, so shorter strings are left-padded.
fn scalar_from_octets(octets: &[u8]) -> Result<Zeroizing<[u8; SCALAR_LEN]>> {
    if octets.is_empty() || octets.len() > SCALAR_LEN {
        return Err(Error::invalid_encoding(format!(
            "malformed SM2 private key: the private value is {} bytes, expected 32",
            octets.len()
        )));
    }
    let mut d = Zeroizing::new([0u8; SCALAR_LEN]);
    d[SCALAR_LEN - octets.len()..].copy_from_slice(octets);
    check_scalar_range(&d)?;
    Ok(d)
}

/// `[n]` with the constructed bit, as EXPLICIT tagging and IMPLICIT `SET`s use.
fn context(number: der::TagNumber, constructed: bool) -> Tag {
    Tag::ContextSpecific {
        constructed,
        number,
    }
}

/// Reads the next field if it carries exactly `tag`. The `der` crate's own
/// context-specific readers skip lower-numbered `[n]` fields they do not
/// expect, which let an `ECPrivateKey` whose `[1] publicKey` was re-tagged
/// `[0]` load with its public key silently dropped; here every field is
/// either consumed in order or left for the end-of-structure check.
fn optional_field<'a>(
    reader: &mut SliceReader<'a>,
    tag: Tag,
    what: &'static str,
) -> Result<Option<AnyRef<'a>>> {
    if reader.is_finished() || reader.peek_tag().map_err(|e| Error::der(what, e))? != tag {
        return Ok(None);
    }
    AnyRef::decode(reader)
        .map(Some)
        .map_err(|e| Error::der(what, e))
}

/// Fails unless every byte of the structure was read: a field that is out
/// of order, re-tagged or unknown is an encoding error, never skipped.
fn expect_end(reader: &SliceReader<'_>, what: &'static str, fields: &'static str) -> Result<()> {
    if reader.is_finished() {
        return Ok(());
    }
    let found = reader
        .peek_tag()
        .map(|t| t.to_string())
        .unwrap_or_else(|_| "bytes".to_owned());
    Err(Error::invalid_encoding(format!(
        "malformed {what}: unexpected {found} after the last field (expected {fields}, in this order)"
    )))
}

/// The outer SEQUENCE of `der` (no bytes after it) and a reader over its body.
fn sequence_body<'a>(der: &'a [u8], what: &'static str) -> Result<SliceReader<'a>> {
    let outer = AnyRef::from_der(der).map_err(|e| Error::der(what, e))?;
    if outer.tag() != Tag::Sequence {
        return Err(Error::invalid_encoding(format!(
            "malformed {what}: expected a SEQUENCE, found {}",
            outer.tag()
        )));
    }
    SliceReader::new(outer.value()).map_err(|e| Error::der(what, e))
}

/// The next field, which must carry `tag`.
fn required_field<'a>(
    reader: &mut SliceReader<'a>,
    tag: Tag,
    what: &'static str,
) -> Result<AnyRef<'a>> {
    let field = AnyRef::decode(reader).map_err(|e| Error::der(what, e))?;
    if field.tag() != tag {
        return Err(Error::invalid_encoding(format!(
            "malformed {what}: expected {tag}, found {}",
            field.tag()
        )));
    }
    Ok(field)
}

/// The contents of an EXPLICIT `[0] ECParameters`: exactly one named-curve OID.
fn check_explicit_curve(field: &AnyRef<'_>) -> Result<()> {
    let inner = AnyRef::from_der(field.value()).map_err(|e| Error::der("EC parameters", e))?;
    check_curve_any(&inner)
}

/// The point inside an EXPLICIT `[1] BIT STRING` (no unused bits).
fn explicit_public_key<'a>(field: &AnyRef<'a>) -> Result<&'a [u8]> {
    let bits = BitStringRef::from_der(field.value())
        .map_err(|e| Error::der("ECPrivateKey publicKey", e))?;
    let point = bits.as_bytes().ok_or_else(|| {
        Error::invalid_encoding("malformed ECPrivateKey: publicKey BIT STRING has unused bits")
    })?;
    check_point_shape(point)?;
    Ok(point)
}

/// Reads an `ECPrivateKey` (RFC 5915 §3) strictly, field by field:
/// `SEQUENCE { INTEGER 1, OCTET STRING, [0] ECParameters OPTIONAL,
/// [1] BIT STRING OPTIONAL }` and nothing else. `outer_curve_known` is true
/// inside PKCS#8, where the curve is in the `AlgorithmIdentifier` and the
/// `parameters` field is optional; a standalone SEC1 key must name it.
fn decode_ec_private_key(
    der: &[u8],
    outer_curve_known: bool,
    container: PrivateKeyContainer,
) -> Result<DecodedPrivateKey> {
    const WHAT: &str = "ECPrivateKey";
    let mut reader = sequence_body(der, WHAT)?;
    let version = required_field(&mut reader, Tag::Integer, WHAT)?;
    if version.value() != [1] {
        return Err(Error::invalid_encoding(
            "malformed ECPrivateKey: version must be 1 (ecPrivkeyVer1)",
        ));
    }
    let private_key = required_field(&mut reader, Tag::OctetString, WHAT)?;
    let parameters = optional_field(&mut reader, context(der::TagNumber::N0, true), WHAT)?;
    let public_key = optional_field(&mut reader, context(der::TagNumber::N1, true), WHAT)?;
    expect_end(
        &reader,
        WHAT,
        "version, privateKey, [0] parameters, [1] publicKey",
    )?;
    match &parameters {
        Some(field) => check_explicit_curve(field)?,
        None if outer_curve_known => {}
        None => {
            return Err(Error::invalid_encoding(
                "SEC1 ECPrivateKey without curve parameters: cannot tell it is an SM2 key",
            ))
        }
    }
    let public_key = public_key.as_ref().map(explicit_public_key).transpose()?;
    let scalar = scalar_from_octets(private_key.value())?;
    Ok(DecodedPrivateKey {
        scalar,
        public_key: public_key.map(<[u8]>::to_vec),
        container,
    })
}

/// Reads a PKCS#8 `PrivateKeyInfo` (v1) or `OneAsymmetricKey` (v2, RFC 5958
/// §2) strictly: `SEQUENCE { INTEGER 0|1, AlgorithmIdentifier, OCTET STRING,
/// [0] IMPLICIT Attributes OPTIONAL, [1] IMPLICIT BIT STRING OPTIONAL }`,
/// the public key only in v2, nothing else.
pub(crate) fn decode_pkcs8(der: &[u8]) -> Result<DecodedPrivateKey> {
    const WHAT: &str = "PKCS#8 PrivateKeyInfo";
    let mut reader = sequence_body(der, WHAT)?;
    let version = required_field(&mut reader, Tag::Integer, WHAT)?;
    let v2 = match version.value() {
        [0] => false,
        [1] => true,
        _ => {
            return Err(Error::invalid_encoding(
                "malformed PKCS#8 PrivateKeyInfo: version must be 0 (v1) or 1 (v2)",
            ))
        }
    };
    let algorithm = AlgorithmIdentifierRef::decode(&mut reader).map_err(|e| Error::der(WHAT, e))?;
    let private_key = required_field(&mut reader, Tag::OctetString, WHAT)?;
    let _attributes = optional_field(&mut reader, context(der::TagNumber::N0, true), WHAT)?;
    let outer_public = optional_field(&mut reader, context(der::TagNumber::N1, false), WHAT)?;
    expect_end(
        &reader,
        WHAT,
        "version, privateKeyAlgorithm, privateKey, [0] attributes, [1] publicKey",
    )?;
    if outer_public.is_some() && !v2 {
        return Err(Error::invalid_encoding(
            "malformed PKCS#8 PrivateKeyInfo: a v1 key cannot carry a publicKey field",
        ));
    }
    check_algorithm(&algorithm)?;
    let mut key = decode_ec_private_key(private_key.value(), true, PrivateKeyContainer::Pkcs8)?;
    // RFC 5958 v2 may carry the public key outside too; it must agree.
    if let Some(field) = outer_public {
        let outer = match field.value().split_first() {
            Some((0, point)) => point,
            _ => {
                return Err(Error::invalid_encoding(
                    "malformed PKCS#8 publicKey: empty or with unused bits",
                ))
            }
        };
        check_point_shape(outer)?;
        match &key.public_key {
            Some(inner) if inner.as_slice() != outer => {
                return Err(Error::invalid_key(
                    "PKCS#8 key carries two different public keys",
                ))
            }
            Some(_) => {}
            None => key.public_key = Some(outer.to_vec()),
        }
    }
    Ok(key)
}

/// Reads a standalone SEC1 `ECPrivateKey`.
pub(crate) fn decode_sec1(der: &[u8]) -> Result<DecodedPrivateKey> {
    decode_ec_private_key(der, false, PrivateKeyContainer::Sec1)
}

/// Reads a `SubjectPublicKeyInfo` and returns the encoded point.
pub(crate) fn decode_spki(der: &[u8]) -> Result<Vec<u8>> {
    let spki = SubjectPublicKeyInfoRef::from_der(der)
        .map_err(|e| Error::der("SubjectPublicKeyInfo", e))?;
    check_algorithm(&spki.algorithm)?;
    let point = spki.subject_public_key.as_bytes().ok_or_else(|| {
        Error::invalid_encoding("malformed SubjectPublicKeyInfo: BIT STRING has unused bits")
    })?;
    check_point_shape(point)?;
    Ok(point.to_vec())
}

fn sm2_algorithm() -> AlgorithmIdentifierRef<'static> {
    AlgorithmIdentifierRef {
        oid: ID_EC_PUBLIC_KEY,
        parameters: Some(AnyRef::from(&SM2)),
    }
}

fn encode_err(what: &'static str) -> impl Fn(der::Error) -> Error {
    move |e| Error::invalid_encoding(format!("cannot encode {what}: {e}"))
}

/// `ECPrivateKey { version 1, privateKey, [0] curve?, [1] publicKey }`.
fn ec_private_key_der(
    scalar: &[u8; SCALAR_LEN],
    public_key: &[u8],
    with_curve: bool,
) -> Result<Zeroizing<Vec<u8>>> {
    check_scalar_range(scalar)?;
    check_point_shape(public_key)?;
    let ec = EcPrivateKey {
        private_key: scalar,
        parameters: with_curve.then_some(EcParameters::NamedCurve(SM2)),
        public_key: Some(public_key),
    };
    let mut out = Zeroizing::new(Vec::with_capacity(128));
    ec.encode_to_vec(&mut out)
        .map_err(encode_err("ECPrivateKey"))?;
    Ok(out)
}

/// PKCS#8 `PrivateKeyInfo` of an SM2 key: algorithm `id-ecPublicKey` +
/// curve SM2, and inside an `ECPrivateKey` with the curve and the public
/// key. RFC 5915 §3 says the inner `parameters` MUST be present, and GmSSL
/// 3.1 refuses a key without them; OpenSSL omits them but reads them, so
/// this is byte for byte what GmSSL's `sm2_private_key_info_to_der` writes,
/// and OpenSSL's `openssl ec` SEC1 wrapped in PKCS#8.
/// `public_key` is the SEC1 point (normally 65 bytes uncompressed); the
/// caller guarantees it is `scalar * G`.
pub fn encode_pkcs8_der(
    scalar: &[u8; SCALAR_LEN],
    public_key: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let inner = ec_private_key_der(scalar, public_key, true)?;
    let info = pkcs8::PrivateKeyInfo {
        algorithm: sm2_algorithm(),
        private_key: &inner,
        public_key: None,
    };
    let mut out = Zeroizing::new(Vec::with_capacity(160));
    info.encode_to_vec(&mut out)
        .map_err(encode_err("PrivateKeyInfo"))?;
    Ok(out)
}

/// SEC1 `ECPrivateKey` with the named curve SM2 and the public key, as
/// `openssl ec` writes it.
pub fn encode_sec1_der(scalar: &[u8; SCALAR_LEN], public_key: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    ec_private_key_der(scalar, public_key, true)
}

/// `SubjectPublicKeyInfo` of an SM2 public key (`id-ecPublicKey` + curve
/// SM2), as `openssl pkey -pubout` writes it.
pub fn encode_spki_der(public_key: &[u8]) -> Result<Vec<u8>> {
    check_point_shape(public_key)?;
    let spki = SubjectPublicKeyInfoRef {
        algorithm: sm2_algorithm(),
        subject_public_key: BitStringRef::from_bytes(public_key)
            .map_err(encode_err("SubjectPublicKeyInfo"))?,
    };
    spki.to_der().map_err(encode_err("SubjectPublicKeyInfo"))
}
