//! SM2 known-answer tests on the recommended curve from
//! shared/vectors/sm2.json (GM/T 0003.5-2012 / GB/T 32918.5-2017 examples):
//! Z_A and e, signature reproduction from k and verification, encryption
//! reproduction from k in all three layouts and decryption, key exchange
//! from the given ephemeral keys (both roles).
//!
//! The examples on the standard's older TEST curve (p = 8542d69e...) are
//! not run here: guomi-core implements the recommended curve only, with
//! constants baked into its field arithmetic. They are checked in the Python
//! suite against a slow generic reference kept for tests.

use guomi_core::sm2::encrypt::{decrypt, encrypt_with_k_for_tests, Layout};
use guomi_core::sm2::exchange::key_exchange;
use guomi_core::sm2::sign::{
    sign_digest, sign_digest_with_k_for_tests, verify, verify_digest, Signature,
};
use guomi_core::sm2::{asn1, compute_e, compute_za, PrivateKey, PublicKey};
use serde_json::Value;

fn vectors(op: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vectors/sm2.json"
    ))
    .expect("shared/vectors/sm2.json");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["operation"] == op && x["curve"] == "sm2p256v1")
        .cloned()
        .collect()
}

fn h(v: &Value, k: &str) -> Vec<u8> {
    hex::decode(v[k].as_str().unwrap_or_else(|| panic!("field {k}"))).unwrap()
}
fn h32(v: &Value, k: &str) -> [u8; 32] {
    h(v, k).try_into().unwrap()
}

#[test]
fn sign_vectors() {
    let vs = vectors("sign");
    assert!(!vs.is_empty());
    for v in vs {
        let sk = PrivateKey::from_bytes(&h(&v, "private_key")).unwrap();
        assert_eq!(
            sk.public_key().to_uncompressed().to_vec(),
            h(&v, "public_key")
        );
        let pk = PublicKey::from_sec1_bytes(&h(&v, "public_key")).unwrap();
        let za = compute_za(&pk, &h(&v, "user_id")).unwrap();
        assert_eq!(za.to_vec(), h(&v, "za"));
        let e = compute_e(&za, &h(&v, "msg"));
        assert_eq!(e.to_vec(), h(&v, "e"));
        let sig = sign_digest_with_k_for_tests(&sk, &e, &h32(&v, "k")).unwrap();
        assert_eq!(sig.r.to_vec(), h(&v, "r"));
        assert_eq!(sig.s.to_vec(), h(&v, "s"));
        assert_eq!(asn1::signature_to_der(&sig), h(&v, "signature_der"));
        let parsed = asn1::signature_from_der(&h(&v, "signature_der")).unwrap();
        assert_eq!(parsed, sig);
        verify(&pk, &h(&v, "user_id"), &h(&v, "msg"), &parsed).unwrap();
        verify_digest(&pk, &e, &parsed).unwrap();
        // A fresh hedged signature verifies too, and a flipped bit does not.
        let fresh = sign_digest(&sk, &e, &[7u8; 32]);
        verify_digest(&pk, &e, &fresh).unwrap();
        let mut bad = fresh;
        bad.s[31] ^= 1;
        assert!(verify_digest(&pk, &e, &bad).is_err());
        let mut e2 = e;
        e2[0] ^= 0x80;
        assert!(verify_digest(&pk, &e2, &fresh).is_err());
        assert!(Signature::from_raw(&fresh.to_raw()).unwrap() == fresh);
    }
}

#[test]
fn encrypt_vectors() {
    let vs = vectors("encrypt");
    assert!(!vs.is_empty());
    for v in vs {
        let sk = PrivateKey::from_bytes(&h(&v, "private_key")).unwrap();
        let pk = PublicKey::from_sec1_bytes(&h(&v, "public_key")).unwrap();
        let msg = h(&v, "msg");
        for (layout, field) in [
            (Layout::C1C3C2, "ciphertext_c1c3c2"),
            (Layout::C1C2C3, "ciphertext_c1c2c3"),
            (Layout::Der, "ciphertext_der"),
        ] {
            let ct = encrypt_with_k_for_tests(&pk, &msg, layout, &h32(&v, "k")).unwrap();
            assert_eq!(hex::encode(&ct), hex::encode(h(&v, field)), "{field}");
            assert_eq!(decrypt(&sk, &h(&v, field), layout).unwrap(), msg);
            let mut bad = h(&v, field);
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(decrypt(&sk, &bad, layout).is_err());
        }
    }
}

#[test]
fn key_exchange_vectors() {
    let vs = vectors("key_exchange");
    assert!(!vs.is_empty());
    for v in vs {
        let a = PrivateKey::from_bytes(&h(&v, "a_private_key")).unwrap();
        let b = PrivateKey::from_bytes(&h(&v, "b_private_key")).unwrap();
        let ra = PrivateKey::from_bytes(&h(&v, "a_ephemeral_private_key")).unwrap();
        let rb = PrivateKey::from_bytes(&h(&v, "b_ephemeral_private_key")).unwrap();
        assert_eq!(
            a.public_key().to_uncompressed().to_vec(),
            h(&v, "a_public_key")
        );
        assert_eq!(
            rb.public_key().to_uncompressed().to_vec(),
            h(&v, "b_ephemeral_public_key")
        );
        let za = compute_za(a.public_key(), &h(&v, "a_user_id")).unwrap();
        let zb = compute_za(b.public_key(), &h(&v, "b_user_id")).unwrap();
        assert_eq!(za.to_vec(), h(&v, "za"));
        assert_eq!(zb.to_vec(), h(&v, "zb"));
        let klen = v["klen"].as_u64().unwrap() as usize;
        let ka = key_exchange(
            &a,
            &ra,
            b.public_key(),
            rb.public_key(),
            true,
            &za,
            &zb,
            klen,
        )
        .unwrap();
        let kb = key_exchange(
            &b,
            &rb,
            a.public_key(),
            ra.public_key(),
            false,
            &za,
            &zb,
            klen,
        )
        .unwrap();
        assert_eq!(ka.key, h(&v, "shared_key"));
        assert_eq!(kb.key, h(&v, "shared_key"));
        assert_eq!(ka.s_b.to_vec(), h(&v, "s_b"));
        assert_eq!(kb.s_b.to_vec(), h(&v, "s_b"));
        assert_eq!(ka.s_a.to_vec(), h(&v, "s_a"));
        assert_eq!(kb.s_a.to_vec(), h(&v, "s_a"));
    }
}

#[test]
fn strict_inputs() {
    // Private keys 0, n-1, n are rejected; n-2 is the largest valid one.
    let n =
        hex::decode("fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123").unwrap();
    let mut nm1 = n.clone();
    nm1[31] -= 1;
    let mut nm2 = n.clone();
    nm2[31] -= 2;
    assert!(PrivateKey::from_bytes(&[0u8; 32]).is_err());
    assert!(PrivateKey::from_bytes(&n).is_err());
    assert!(PrivateKey::from_bytes(&nm1).is_err());
    assert!(PrivateKey::from_bytes(&nm2).is_ok());
    assert!(PrivateKey::from_bytes(&[1u8; 31]).is_err());
    // Non-minimal / negative / trailing DER signatures.
    let good = asn1::signature_to_der(&Signature {
        r: [1; 32],
        s: [2; 32],
    });
    assert!(asn1::signature_from_der(&good).is_ok());
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(asn1::signature_from_der(&trailing).is_err());
    assert!(asn1::signature_from_der(&hex::decode("3008020200010202000001").unwrap()).is_err());
    assert!(asn1::signature_from_der(&hex::decode("30060201ff020101").unwrap()).is_err());
    assert!(asn1::signature_from_der(&hex::decode("3006020101020101").unwrap()).is_ok());
}
