//! Object identifiers used by the SM2 key formats.
//!
//! Where producers disagree on an OID, the one we write comes first and the
//! others are accepted on input only; the comments say who uses which.
#![forbid(unsafe_code)]

use der::asn1::ObjectIdentifier;

/// `id-ecPublicKey` (ANSI X9.62, RFC 5480 §2.1.1): the algorithm OID of an
/// EC key; the curve is its parameter.
pub const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// The SM2 curve, `sm2p256v1` (GM/T 0006-2012 "sm2", 1.2.156.10197.1.301).
/// Written as the named-curve parameter of `id-ecPublicKey`; some producers
/// also put it in the algorithm OID position, which we accept on input.
pub const SM2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");

/// PBES2 (RFC 8018 §A.4).
pub const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");

/// PBKDF2 (RFC 8018 §A.2).
pub const PBKDF2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.12");

/// `hmacWithSHA256` (RFC 8018 §B.1.2): the PRF OpenSSL 3.0 writes for
/// `openssl pkcs8 -topk8 -v2 sm4-cbc`.
pub const HMAC_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.9");

/// HMAC-SM3 as GmSSL (`oid_hmac_sm3 = {oid_sm_algors,401,2}` in
/// src/pkcs8.c) and Bouncy Castle (`GMObjectIdentifiers.hmac_sm3 =
/// sm3.branch("2")`) write it in PBKDF2 parameters: 1.2.156.10197.1.401.2.
/// This is the one we write.
pub const HMAC_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.401.2");

/// `id-hmacWithSM3` as GM/T 0091-2020 Table A.1 defines it
/// (1.2.156.10197.1.401.3.1), also what newer OpenSSL releases name
/// `hmacWithSM3`. Accepted on input as a synonym of [`HMAC_SM3`].
pub const HMAC_SM3_GMT0091: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.156.10197.1.401.3.1");

/// SM4 in CBC mode (GM/T 0006-2012, 1.2.156.10197.1.104.2); parameter: the
/// 16-byte IV as an OCTET STRING.
pub const SM4_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.104.2");

/// AES-128-CBC (NIST CSOR), accepted on input only.
pub const AES128_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.2");
/// AES-192-CBC, accepted on input only.
pub const AES192_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.22");
/// AES-256-CBC, accepted on input only.
pub const AES256_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.42");

/// A short human name for OIDs that show up in error messages.
pub fn describe(oid: &ObjectIdentifier) -> &'static str {
    const KNOWN: &[(&str, &str)] = &[
        ("1.2.840.10045.3.1.7", "NIST P-256"),
        ("1.3.132.0.34", "NIST P-384"),
        ("1.3.132.0.35", "NIST P-521"),
        ("1.3.132.0.10", "secp256k1"),
        ("1.2.840.113549.1.1.1", "RSA"),
        ("1.3.101.112", "Ed25519"),
        ("1.3.101.110", "X25519"),
        ("1.2.840.10040.4.1", "DSA"),
        ("1.2.840.113549.2.7", "hmacWithSHA1"),
        ("1.3.6.1.4.1.11591.4.11", "scrypt"),
        ("1.2.840.113549.3.7", "DES-EDE3-CBC"),
    ];
    let s = oid.to_string();
    KNOWN
        .iter()
        .find(|(o, _)| *o == s)
        .map(|(_, n)| *n)
        .unwrap_or("unrecognised")
}
