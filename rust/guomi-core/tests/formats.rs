//! Integration tests of `guomi_core::formats`: SM2 keys in PKCS#8, encrypted
//! PKCS#8, SEC1 and SPKI, read from OpenSSL 3.0.19 output (generated once
//! with `openssl genpkey -algorithm SM2`, `openssl ec`, `openssl pkey
//! -pubout`, `openssl pkcs8 -topk8 -v2 sm4-cbc|aes-256-cbc -passout
//! pass:correct-horse`) and written back byte for byte. The Python tests
//! drive the live `openssl` binary in both directions; these pin the Rust
//! layer on its own.

use guomi_core::formats::{self, Pbes2Cipher, Pbes2Prf, PrivateKeyContainer};
use guomi_core::ErrorKind;

// The key below: `openssl pkey -text -noout` prints these values.
const SCALAR_HEX: &str = "936fa9b486dc98f7a6e5679c24246c4848e47c9fa1d9d7c9f54aa841f02ff332";
const POINT_HEX: &str = "047e97e2769409e2d0ebe73a6e95b9e3990828e8d9422b004230105003ee9b7fa4\
                         ca70d244f1fe40cb5ad5818b03fff8d23d4276d9bea16aca89b6eeea2f71d230";
const PASSWORD: &[u8] = b"correct-horse";

const PKCS8_PEM: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQgk2+ptIbcmPem5Wec\n\
JCRsSEjkfJ+h2dfJ9UqoQfAv8zKhRANCAAR+l+J2lAni0OvnOm6VueOZCCjo2UIr\n\
AEIwEFAD7pt/pMpw0kTx/kDLWtWBiwP/+NI9QnbZvqFqyom27uovcdIw\n\
-----END PRIVATE KEY-----\n\
";
const SEC1_SM2_PEM: &str = "\
-----BEGIN SM2 PRIVATE KEY-----\n\
MHcCAQEEIJNvqbSG3Jj3puVnnCQkbEhI5HyfodnXyfVKqEHwL/MyoAoGCCqBHM9V\n\
AYItoUQDQgAEfpfidpQJ4tDr5zpulbnjmQgo6NlCKwBCMBBQA+6bf6TKcNJE8f5A\n\
y1rVgYsD//jSPUJ22b6hasqJtu7qL3HSMA==\n\
-----END SM2 PRIVATE KEY-----\n\
";
const SPKI_PEM: &str = "\
-----BEGIN PUBLIC KEY-----\n\
MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEfpfidpQJ4tDr5zpulbnjmQgo6NlC\n\
KwBCMBBQA+6bf6TKcNJE8f5Ay1rVgYsD//jSPUJ22b6hasqJtu7qL3HSMA==\n\
-----END PUBLIC KEY-----\n\
";
const ENC_SM4_SHA256_PEM: &str = "\
-----BEGIN ENCRYPTED PRIVATE KEY-----\n\
MIHrMFYGCSqGSIb3DQEFDTBJMCkGCSqGSIb3DQEFDDAcBAhUQFVUS8HDYgICCAAw\n\
DAYIKoZIhvcNAgkFADAcBggqgRzPVQFoAgQQ/kw9/e/l6YNCkbAGBxoAdQSBkOgx\n\
QgmOXHdhNRie0vR0gd2Gr3/Sr4PJVTvFyGlOnOThRzuxzYXSMuXWM6KcapmP1BaQ\n\
TWEdw9NMgc3XZIlMYnfS5mYoZIYwAkCwCUN8nDLkQ05SF6Y3MXskTmp3Uly09n0e\n\
mGQb3fT0u9rgiliJjj8iahEYx9/ulYF5nf/MJktCLL9PJdtcFwe98MgUejHH/Q==\n\
-----END ENCRYPTED PRIVATE KEY-----\n\
";
const ENC_AES256_PEM: &str = "\
-----BEGIN ENCRYPTED PRIVATE KEY-----\n\
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgkRkJ00eBzFgICCAAw\n\
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEKbE/C035OC7fHpOBdjwLjEEgZBr\n\
gAkJTz9+W9Fj+zT+tVW6PxifKslO+R3XdNCGCvZRu32m1oWUaQy6Tl0+Kms/7+ja\n\
nCPzAwlImIG9HiFNejosBz7CwSj7/37MgVjA1u/pu/QBredcP5NbQcQ1jMt6Mwq0\n\
wdZpvSn9Sq2ARsZ3wbOIZ0eJHsfdFFzVqO6SDzl6mR8fQM15lezjMgpcepX7z3I=\n\
-----END ENCRYPTED PRIVATE KEY-----\n\
";
const P256_PKCS8_PEM: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbWEcm3cNVfDKQQE4\n\
AESRDae8dwNmLLHLi2L5LrovwO2hRANCAATmmqvyaa9c9DKhmyj9RGOQD7Se2/LN\n\
inthR5fiS4tk9CMkaRa7HxQSzODrqWcKb8urL8HuvY2YnlfRnYumgKO0\n\
-----END PRIVATE KEY-----\n\
";
const P256_SPKI_PEM: &str = "\
-----BEGIN PUBLIC KEY-----\n\
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE5pqr8mmvXPQyoZso/URjkA+0ntvy\n\
zYp7YUeX4kuLZPQjJGkWux8UEszg66lnCm/Lqy/B7r2NmJ5X0Z2LpoCjtA==\n\
-----END PUBLIC KEY-----\n\
";

fn scalar() -> [u8; 32] {
    hex::decode(SCALAR_HEX).unwrap().try_into().unwrap()
}
fn point() -> Vec<u8> {
    hex::decode(POINT_HEX).unwrap()
}
fn der_of(pem: &str) -> Vec<u8> {
    pem_rfc7468::decode_vec(pem.as_bytes()).unwrap().1
}
fn kind_of<T: std::fmt::Debug>(r: Result<T, guomi_core::Error>) -> ErrorKind {
    r.expect_err("expected an error").kind()
}

#[test]
fn openssl_pkcs8_pem_and_der_load() {
    let k = formats::decode_private_key_pem(PKCS8_PEM.as_bytes(), None).unwrap();
    assert_eq!(k.scalar(), &scalar());
    assert_eq!(k.public_key(), Some(point().as_slice()));
    assert_eq!(k.container(), PrivateKeyContainer::Pkcs8);
    let k = formats::decode_private_key_der(&der_of(PKCS8_PEM), None).unwrap();
    assert_eq!(k.scalar(), &scalar());
}

#[test]
fn pkcs8_written_as_gmssl_and_rfc5915_want() {
    // Our PKCS#8 is OpenSSL's SEC1 (`openssl ec`, with [0] curve and [1]
    // public key) wrapped in a PrivateKeyInfo; OpenSSL's own PKCS#8 drops the
    // [0] field, GmSSL 3.1 requires it (RFC 5915 §3: MUST be present).
    let der = formats::encode_pkcs8_der(&scalar(), &point()).unwrap();
    let sec1 = der_of(SEC1_SM2_PEM);
    let mut expected = vec![0x30, 0x81, 0x93, 0x02, 0x01, 0x00];
    expected.extend(hex::decode("301306072a8648ce3d020106082a811ccf5501822d").unwrap());
    expected.extend([0x04, sec1.len() as u8]);
    expected.extend_from_slice(&sec1);
    assert_eq!(der.as_slice(), expected.as_slice());
    let pem = formats::pem_encode(formats::LABEL_PRIVATE_KEY, &der).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let k = formats::decode_private_key_pem(pem.as_bytes(), None).unwrap();
    assert_eq!(k.scalar(), &scalar());
    assert_eq!(k.public_key(), Some(point().as_slice()));
}

#[test]
fn openssl_sec1_sm2_label_loads_and_round_trips() {
    let k = formats::decode_private_key_pem(SEC1_SM2_PEM.as_bytes(), None).unwrap();
    assert_eq!(k.scalar(), &scalar());
    assert_eq!(k.public_key(), Some(point().as_slice()));
    assert_eq!(k.container(), PrivateKeyContainer::Sec1);
    let der = formats::encode_sec1_der(&scalar(), &point()).unwrap();
    assert_eq!(der.as_slice(), der_of(SEC1_SM2_PEM).as_slice());
    // The same DER under the generic label, and as bare DER.
    let ec = SEC1_SM2_PEM.replace("SM2 PRIVATE KEY", "EC PRIVATE KEY");
    let k = formats::decode_private_key_pem(ec.as_bytes(), None).unwrap();
    assert_eq!(k.scalar(), &scalar());
    let k = formats::decode_private_key_der(&der, None).unwrap();
    assert_eq!(k.container(), PrivateKeyContainer::Sec1);
}

#[test]
fn spki_round_trip_byte_for_byte() {
    let p = formats::decode_public_key_pem(SPKI_PEM.as_bytes()).unwrap();
    assert_eq!(p, point());
    let der = formats::encode_spki_der(&point()).unwrap();
    assert_eq!(der, der_of(SPKI_PEM));
    assert_eq!(formats::decode_public_key_der(&der).unwrap(), point());
    let pem = formats::pem_encode(formats::LABEL_PUBLIC_KEY, &der).unwrap();
    assert_eq!(pem.as_str(), SPKI_PEM);
}

#[test]
fn compressed_point_in_spki_is_accepted_as_shape() {
    let mut c = vec![0x02 | (point()[64] & 1)];
    c.extend_from_slice(&point()[1..33]);
    let der = formats::encode_spki_der(&c).unwrap();
    assert_eq!(formats::decode_public_key_der(&der).unwrap(), c);
}

#[test]
fn openssl_encrypted_pkcs8_aes256_sha256_prf() {
    let info = formats::encrypted_pkcs8_parameters(&der_of(ENC_AES256_PEM)).unwrap();
    assert_eq!(info.prf, Pbes2Prf::HmacSha256);
    assert_eq!(info.cipher, Pbes2Cipher::Aes256Cbc);
    assert_eq!(info.iterations, 2048);
    let k = formats::decode_private_key_pem(ENC_AES256_PEM.as_bytes(), Some(PASSWORD)).unwrap();
    assert_eq!(k.scalar(), &scalar());
    assert_eq!(k.container(), PrivateKeyContainer::EncryptedPkcs8);
    let e = formats::decode_private_key_pem(ENC_AES256_PEM.as_bytes(), Some(b"wrong")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadPassword);
}

#[test]
fn openssl_encrypted_pkcs8_sm4_sha256_prf() {
    let info = formats::encrypted_pkcs8_parameters(&der_of(ENC_SM4_SHA256_PEM)).unwrap();
    assert_eq!(info.prf, Pbes2Prf::HmacSha256);
    assert_eq!(info.cipher, Pbes2Cipher::Sm4Cbc);
    let k = formats::decode_private_key_pem(ENC_SM4_SHA256_PEM.as_bytes(), Some(PASSWORD)).unwrap();
    assert_eq!(k.scalar(), &scalar());
    // DER input is recognised as encrypted by its structure.
    let k = formats::decode_private_key_der(&der_of(ENC_SM4_SHA256_PEM), Some(PASSWORD)).unwrap();
    assert_eq!(k.scalar(), &scalar());
    for wrong in [&b"wrong"[..], b"", b"correct-horsf", b"correct-horse "] {
        let e = formats::decode_private_key_pem(ENC_SM4_SHA256_PEM.as_bytes(), Some(wrong));
        assert_eq!(kind_of(e), ErrorKind::BadPassword);
    }
}

#[test]
fn encrypted_pkcs8_needs_a_password_and_plain_refuses_one() {
    let e = formats::decode_private_key_pem(ENC_SM4_SHA256_PEM.as_bytes(), None);
    assert_eq!(kind_of(e), ErrorKind::PasswordRequired);
    let e = formats::decode_private_key_pem(PKCS8_PEM.as_bytes(), Some(PASSWORD));
    assert_eq!(kind_of(e), ErrorKind::PasswordNotExpected);
    let e = formats::decode_private_key_pem(SEC1_SM2_PEM.as_bytes(), Some(PASSWORD));
    assert_eq!(kind_of(e), ErrorKind::PasswordNotExpected);
}

#[test]
fn our_encrypted_pkcs8_is_gmssl_shaped_and_round_trips() {
    let plain = formats::encode_pkcs8_der(&scalar(), &point()).unwrap();
    let salt = [0x5au8; 16];
    let iv = [0xa5u8; 16];
    let enc = formats::encrypt_pkcs8_der(&plain, b"pw", &salt, &iv, 1000).unwrap();
    let info = formats::encrypted_pkcs8_parameters(&enc).unwrap();
    assert_eq!(info.prf, Pbes2Prf::HmacSm3);
    assert_eq!(info.cipher, Pbes2Cipher::Sm4Cbc);
    assert_eq!(info.iterations, 1000);
    assert_eq!(info.salt, salt);
    assert_eq!(info.iv, iv);
    assert_eq!(info.key_length, Some(16));
    // PRF AlgorithmIdentifier without parameters (GmSSL rejects a NULL
    // there), OID 1.2.156.10197.1.401.2: 30 0b 06 09 2a 81 1c cf 55 01 83 11 02.
    let prf = hex::decode("300b06092a811ccf5501831102").unwrap();
    assert!(enc.windows(prf.len()).any(|w| w == prf.as_slice()));
    let k = formats::decode_private_key_der(&enc, Some(b"pw")).unwrap();
    assert_eq!(k.scalar(), &scalar());
    assert_eq!(k.container(), PrivateKeyContainer::EncryptedPkcs8);
    let e = formats::decode_private_key_der(&enc, Some(b"pX"));
    assert_eq!(kind_of(e), ErrorKind::BadPassword);
    // Flipping a ciphertext bit (last block: garbles the padding, or the
    // block before: garbles the DER) is a decryption failure too.
    for back in [1usize, 20] {
        let mut bad = enc.clone();
        let n = bad.len();
        bad[n - back] ^= 0x01;
        let e = formats::decode_private_key_der(&bad, Some(b"pw"));
        assert_eq!(kind_of(e), ErrorKind::BadPassword);
    }
    // Short salts and silly iteration counts are refused on output.
    assert!(formats::encrypt_pkcs8_der(&plain, b"pw", &[0u8; 4], &iv, 1000).is_err());
    assert!(formats::encrypt_pkcs8_der(&plain, b"pw", &salt, &iv, 0).is_err());
    assert!(formats::encrypt_pkcs8_der(b"not a key", b"pw", &salt, &iv, 10).is_err());
}

#[test]
fn sm2_oid_as_algorithm_is_accepted() {
    let der = der_of(PKCS8_PEM);
    // Replace AlgorithmIdentifier { id-ecPublicKey, sm2 } (21 bytes at
    // offset 6) by { sm2 } and by { sm2, NULL }, fixing the outer length.
    let alg = hex::decode("301306072a8648ce3d020106082a811ccf5501822d").unwrap();
    assert_eq!(&der[6..27], alg.as_slice());
    for (new_alg, outer_len) in [
        ("300a06082a811ccf5501822d", 0x7e),
        ("300c06082a811ccf5501822d0500", 0x80),
        ("301406082a811ccf5501822d06082a811ccf5501822d", 0x88),
    ] {
        // DER lengths below 0x80 take the short form.
        let mut d = if outer_len < 0x80 {
            vec![0x30, outer_len, 0x02, 0x01, 0x00]
        } else {
            vec![0x30, 0x81, outer_len, 0x02, 0x01, 0x00]
        };
        d.extend(hex::decode(new_alg).unwrap());
        d.extend_from_slice(&der[27..]);
        let k = formats::decode_private_key_der(&d, None).unwrap();
        assert_eq!(k.scalar(), &scalar(), "{new_alg}");
    }
    // Same in an SPKI.
    let spki = der_of(SPKI_PEM);
    let mut d = vec![0x30, 0x50, 0x30, 0x0a, 0x06, 0x08];
    d.extend(hex::decode("2a811ccf5501822d").unwrap());
    d.extend_from_slice(&spki[23..]);
    assert_eq!(formats::decode_public_key_der(&d).unwrap(), point());
}

#[test]
fn other_curves_and_algorithms_are_unsupported() {
    let e = formats::decode_private_key_pem(P256_PKCS8_PEM.as_bytes(), None);
    assert_eq!(kind_of(e), ErrorKind::Unsupported);
    let e = formats::decode_public_key_pem(P256_SPKI_PEM.as_bytes());
    let e = e.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.message().contains("P-256"), "{}", e.message());
    // An unknown algorithm OID (RSA) in the SPKI position.
    let mut spki = der_of(SPKI_PEM);
    let ec = hex::decode("2a8648ce3d0201").unwrap();
    let pos = spki.windows(7).position(|w| w == ec.as_slice()).unwrap();
    spki[pos + 6] = 0x02; // 1.2.840.10045.2.2: not id-ecPublicKey
    let e = formats::decode_public_key_der(&spki);
    assert_eq!(kind_of(e), ErrorKind::Unsupported);
}

#[test]
fn malformed_der_is_an_encoding_error() {
    let der = der_of(PKCS8_PEM);
    // truncated
    for cut in [0, 1, 2, 10, der.len() / 2, der.len() - 1] {
        let e = formats::decode_private_key_der(&der[..cut], None);
        assert_eq!(kind_of(e), ErrorKind::InvalidEncoding, "cut {cut}");
    }
    // trailing garbage
    let mut d = der.clone();
    d.push(0);
    assert_eq!(
        kind_of(formats::decode_private_key_der(&d, None)),
        ErrorKind::InvalidEncoding
    );
    // non-minimal outer length: 30 81 87 -> 30 82 00 87
    let mut d = vec![0x30, 0x82, 0x00, 0x87];
    d.extend_from_slice(&der[3..]);
    assert_eq!(
        kind_of(formats::decode_private_key_der(&d, None)),
        ErrorKind::InvalidEncoding
    );
    // non-minimal INTEGER version: 02 01 00 -> 02 02 00 00
    let mut d = vec![0x30, 0x81, 0x88, 0x02, 0x02, 0x00, 0x00];
    d.extend_from_slice(&der[6..]);
    assert_eq!(
        kind_of(formats::decode_private_key_der(&d, None)),
        ErrorKind::InvalidEncoding
    );
    // SPKI with trailing garbage and truncated
    let spki = der_of(SPKI_PEM);
    let mut d = spki.clone();
    d.extend_from_slice(b"junk");
    assert_eq!(
        kind_of(formats::decode_public_key_der(&d)),
        ErrorKind::InvalidEncoding
    );
    assert_eq!(
        kind_of(formats::decode_public_key_der(&spki[..spki.len() - 1])),
        ErrorKind::InvalidEncoding
    );
    // a public key given to the private loader
    let e = formats::decode_private_key_der(&der_of(SPKI_PEM), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidEncoding);
    assert!(
        e.message().contains("SubjectPublicKeyInfo"),
        "{}",
        e.message()
    );
    // not a key at all
    assert_eq!(
        kind_of(formats::decode_private_key_der(&[0x05, 0x00], None)),
        ErrorKind::InvalidEncoding
    );
}

#[test]
fn scalar_out_of_range_is_an_invalid_key() {
    let der = der_of(PKCS8_PEM);
    let s = scalar();
    let pos = der.windows(32).position(|w| w == s).unwrap();
    let n_minus_1 =
        hex::decode("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54122").unwrap();
    let n =
        hex::decode("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123").unwrap();
    for bad in [vec![0u8; 32], n_minus_1, n, vec![0xff; 32]] {
        let mut d = der.clone();
        d[pos..pos + 32].copy_from_slice(&bad);
        assert_eq!(
            kind_of(formats::decode_private_key_der(&d, None)),
            ErrorKind::InvalidKey
        );
    }
    assert!(formats::encode_pkcs8_der(&[0u8; 32], &point()).is_err());
}

#[test]
fn bad_public_point_shapes_are_rejected() {
    for p in [vec![0x04; 64], vec![0x05; 65], vec![0x04; 33], vec![]] {
        assert!(formats::encode_spki_der(&p).is_err());
    }
    // A 64-byte BIT STRING (no 04 prefix) in a SEC1 key.
    let der = der_of(SEC1_SM2_PEM);
    let p = point();
    let pos = der.windows(65).position(|w| w == p.as_slice()).unwrap();
    let mut d = der.clone();
    d[pos] = 0x05;
    assert_eq!(
        kind_of(formats::decode_private_key_der(&d, None)),
        ErrorKind::InvalidEncoding
    );
}

#[test]
fn pem_armour_problems() {
    let cases: Vec<(String, ErrorKind)> = vec![
        ("no pem here".into(), ErrorKind::InvalidEncoding),
        (PKCS8_PEM.replace("-----END PRIVATE KEY-----\n", ""), ErrorKind::InvalidEncoding),
        (PKCS8_PEM.replace("END PRIVATE KEY", "END PUBLIC KEY"), ErrorKind::InvalidEncoding),
        (PKCS8_PEM.replace("MIGH", "MI#H"), ErrorKind::InvalidEncoding),
        (PKCS8_PEM.replace("PRIVATE KEY", "RSA PRIVATE KEY"), ErrorKind::Unsupported),
        (
            SEC1_SM2_PEM.replace(
                "-----\nMHc",
                "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nMHc",
            ),
            ErrorKind::Unsupported,
        ),
        (SPKI_PEM.to_string(), ErrorKind::InvalidEncoding),
    ];
    for (pem, kind) in cases {
        let e = formats::decode_private_key_pem(pem.as_bytes(), None);
        assert_eq!(kind_of(e), kind, "{pem}");
    }
    // Text around the block is ignored, CRLF line endings are fine.
    let wrapped = format!("Bag Attributes\n{PKCS8_PEM}trailing text\n");
    assert!(formats::decode_private_key_pem(wrapped.as_bytes(), None).is_ok());
    let crlf = PKCS8_PEM.replace('\n', "\r\n");
    assert!(formats::decode_private_key_pem(crlf.as_bytes(), None).is_ok());
    // Blocks of other kinds before the key are skipped, as OpenSSL does.
    let cert = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
    let both = format!("{cert}{SPKI_PEM}{PKCS8_PEM}");
    let k = formats::decode_private_key_pem(both.as_bytes(), None).unwrap();
    assert_eq!(k.scalar(), &scalar());
    let p = formats::decode_public_key_pem(both.as_bytes()).unwrap();
    assert_eq!(p, point());
    let e = formats::decode_private_key_pem(cert.as_bytes(), None);
    assert_eq!(kind_of(e), ErrorKind::Unsupported);
    // A private key given to the public loader.
    assert_eq!(
        kind_of(formats::decode_public_key_pem(PKCS8_PEM.as_bytes())),
        ErrorKind::InvalidEncoding
    );
}

#[test]
fn errors_do_not_leak_the_scalar() {
    let der = der_of(PKCS8_PEM);
    let s = scalar();
    let pos = der.windows(32).position(|w| w == s).unwrap();
    let mut d = der.clone();
    d[pos - 1] = 31; // inner OCTET STRING length lies
    let e = formats::decode_private_key_der(&d, None).unwrap_err();
    let hex_scalar = SCALAR_HEX.to_ascii_lowercase();
    assert!(!e.message().to_ascii_lowercase().contains(&hex_scalar[..8]));
    let k = formats::decode_private_key_der(&der, None).unwrap();
    let dbg = format!("{k:?}");
    assert!(
        !dbg.to_ascii_lowercase().contains(&hex_scalar[..8]),
        "{dbg}"
    );
    assert!(!dbg.contains("147"), "{dbg}"); // 0x93 as a decimal byte
}

/// Test-side copies of the PBES2 structures, to re-encode a key with other
/// parameter choices.
mod pbes2_asn1 {
    use der::asn1::OctetStringRef;
    use spki::AlgorithmIdentifierRef;

    #[derive(der::Sequence)]
    pub struct Epki<'a> {
        pub alg: AlgorithmIdentifierRef<'a>,
        pub data: OctetStringRef<'a>,
    }
    #[derive(der::Sequence)]
    pub struct Pbes2<'a> {
        pub kdf: AlgorithmIdentifierRef<'a>,
        pub enc: AlgorithmIdentifierRef<'a>,
    }
    #[derive(der::Sequence)]
    pub struct Pbkdf2<'a> {
        pub salt: OctetStringRef<'a>,
        pub iterations: u32,
        #[asn1(optional = "true")]
        pub key_length: Option<u32>,
        #[asn1(optional = "true")]
        pub prf: Option<AlgorithmIdentifierRef<'a>>,
    }
}

/// Re-encodes `enc` (our PBES2 output) with another PRF OID, optionally a
/// NULL PRF parameter and without the key length field.
fn reencode_with_prf(
    enc: &[u8],
    prf_oid: &str,
    null_param: bool,
    key_length: Option<u32>,
) -> Vec<u8> {
    use der::asn1::{AnyRef, ObjectIdentifier};
    use der::{Decode, Encode};
    use pbes2_asn1::*;
    let outer = Epki::from_der(enc).unwrap();
    let pbes2: Pbes2 = outer.alg.parameters.unwrap().decode_as().unwrap();
    let kdf: Pbkdf2 = pbes2.kdf.parameters.unwrap().decode_as().unwrap();
    let kdf = Pbkdf2 {
        salt: kdf.salt,
        iterations: kdf.iterations,
        key_length,
        prf: Some(spki::AlgorithmIdentifierRef {
            oid: ObjectIdentifier::new_unwrap(prf_oid),
            parameters: null_param.then_some(AnyRef::NULL),
        }),
    }
    .to_der()
    .unwrap();
    let pbes2 = Pbes2 {
        kdf: spki::AlgorithmIdentifierRef {
            oid: pbes2.kdf.oid,
            parameters: Some(AnyRef::from_der(&kdf).unwrap()),
        },
        enc: pbes2.enc,
    }
    .to_der()
    .unwrap();
    Epki {
        alg: spki::AlgorithmIdentifierRef {
            oid: outer.alg.oid,
            parameters: Some(AnyRef::from_der(&pbes2).unwrap()),
        },
        data: outer.data,
    }
    .to_der()
    .unwrap()
}

#[test]
fn both_hmac_sm3_oids_and_optional_fields_are_accepted() {
    let plain = formats::encode_pkcs8_der(&scalar(), &point()).unwrap();
    let enc = formats::encrypt_pkcs8_der(&plain, b"pw", &[7u8; 16], &[9u8; 16], 500).unwrap();
    // Sanity: re-encoding with the same choices gives back the same bytes.
    assert_eq!(
        reencode_with_prf(&enc, "1.2.156.10197.1.401.2", false, Some(16)),
        enc
    );
    for (oid, null, kl) in [
        ("1.2.156.10197.1.401.3.1", false, Some(16)), // GM/T 0091-2020 / newer OpenSSL
        ("1.2.156.10197.1.401.2", true, None),        // NULL parameters, no key length
        ("1.2.156.10197.1.401.3.1", true, None),
    ] {
        let der = reencode_with_prf(&enc, oid, null, kl);
        let info = formats::encrypted_pkcs8_parameters(&der).unwrap();
        assert_eq!(info.prf, Pbes2Prf::HmacSm3, "{oid}");
        let k = formats::decode_private_key_der(&der, Some(b"pw")).unwrap();
        assert_eq!(k.scalar(), &scalar(), "{oid}");
    }
    // A key length that does not match SM4's 16 bytes, and an unknown PRF.
    let der = reencode_with_prf(&enc, "1.2.156.10197.1.401.2", false, Some(32));
    assert_eq!(
        kind_of(formats::decode_private_key_der(&der, Some(b"pw"))),
        ErrorKind::InvalidEncoding
    );
    let der = reencode_with_prf(&enc, "1.2.840.113549.2.11", false, Some(16)); // hmacWithSHA512
    assert_eq!(
        kind_of(formats::decode_private_key_der(&der, Some(b"pw"))),
        ErrorKind::Unsupported
    );
}

#[test]
fn short_private_value_is_left_padded() {
    // Old OpenSSL releases wrote the SEC1 privateKey without leading zero
    // bytes; such a key must load as the same scalar.
    let mut d = scalar();
    d[0] = 0;
    let public = guomi_core::sm2::PrivateKey::from_bytes(&d)
        .unwrap()
        .public_key()
        .to_uncompressed();
    let sec1 = formats::encode_sec1_der(&d, &public).unwrap();
    let full = [&[0x04u8, 0x20][..], &d[..]].concat();
    let pos = sec1.windows(34).position(|w| w == full.as_slice()).unwrap();
    let mut short = sec1[..pos].to_vec();
    short.extend([0x04, 0x1f]);
    short.extend_from_slice(&d[1..]);
    short.extend_from_slice(&sec1[pos + 34..]);
    short[1] -= 1; // outer SEQUENCE length (short form)
    let k = formats::decode_private_key_der(&short, None).unwrap();
    assert_eq!(k.scalar(), &d);
}

#[test]
fn full_validation_with_the_sm2_core() {
    let k = formats::decode_private_key_pem(PKCS8_PEM.as_bytes(), None).unwrap();
    let key = k.to_sm2_key().unwrap();
    assert_eq!(
        key.public_key().to_uncompressed().as_slice(),
        point().as_slice()
    );
    let p = formats::decode_public_key_pem(SPKI_PEM.as_bytes()).unwrap();
    assert_eq!(&formats::to_sm2_public_key(&p).unwrap(), key.public_key());

    // Stored public key of another key (the scalar's neighbour d+1).
    let mut d2 = scalar();
    d2[31] ^= 1;
    let other = guomi_core::sm2::PrivateKey::from_bytes(&d2).unwrap();
    // The loaders check the pair themselves (strict loading).
    let der = formats::encode_sec1_der(&scalar(), &other.public_key().to_uncompressed()).unwrap();
    let e = formats::decode_private_key_der(&der, None);
    assert_eq!(kind_of(e), ErrorKind::InvalidKey);
    // Stored public key off the curve; SPKI point off the curve.
    let mut off = point();
    off[64] ^= 1;
    let der = formats::encode_pkcs8_der(&scalar(), &off).unwrap();
    let e = formats::decode_private_key_der(&der, None);
    assert_eq!(kind_of(e), ErrorKind::InvalidKey);
    assert_eq!(
        kind_of(formats::to_sm2_public_key(&off)),
        ErrorKind::InvalidKey
    );
    // Compressed stored key of the right point is fine.
    let mut c = vec![0x02 | (point()[64] & 1)];
    c.extend_from_slice(&point()[1..33]);
    let der = formats::encode_sec1_der(&scalar(), &c).unwrap();
    assert!(formats::decode_private_key_der(&der, None)
        .unwrap()
        .to_sm2_key()
        .is_ok());
}
