//! Known-answer tests for SM3 and HMAC-SM3 from the shared vector files
//! (GB/T 32905-2016 Annex A, padding edges, Crypto++ set, Bouncy Castle,
//! Wycheproof), plus KDF consistency checks.

use guomi_core::hmac::{hmac_sm3, HmacSm3};
use guomi_core::kdf::{hkdf_sm3, pbkdf2_hmac_sm3, sm3_kdf};
use guomi_core::sm3::{digest, Sm3};
use serde_json::Value;

fn load(name: &str) -> Vec<Value> {
    let path = format!(
        "{}/../../../shared/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap();
    v["vectors"].as_array().unwrap().clone()
}

fn hx(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(v[field].as_str().unwrap()).unwrap()
}

#[test]
fn sm3_vectors() {
    let vectors = load("sm3.json");
    assert!(vectors.len() >= 40);
    for v in &vectors {
        let msg = hx(v, "msg");
        let want = hx(v, "digest");
        assert_eq!(msg.len() as u64, v["msg_len"].as_u64().unwrap());
        assert_eq!(digest(&msg).to_vec(), want, "{}", v["id"]);
        // Streaming in uneven pieces gives the same digest.
        let mut h = Sm3::new();
        for piece in msg.chunks(7) {
            h.update(piece);
        }
        assert_eq!(h.finalize().to_vec(), want, "{} (streamed)", v["id"]);
    }
}

#[test]
fn hmac_sm3_vectors() {
    let vectors = load("hmac_sm3.json");
    let (mut valid, mut invalid) = (0, 0);
    for v in &vectors {
        let key = hx(v, "key");
        let msg = hx(v, "msg");
        let tag = hx(v, "tag");
        let tag_len = v["tag_len"].as_u64().unwrap() as usize;
        let mut h = HmacSm3::new(&key);
        h.update(&msg);
        let full = hmac_sm3(&key, &msg);
        assert_eq!(h.peek(), full);
        let ok = h.verify_truncated(&tag, tag_len).is_ok();
        match v["result"].as_str().unwrap() {
            "valid" => {
                assert_eq!(&full[..tag_len], &tag[..], "{}", v["id"]);
                assert!(ok, "{}", v["id"]);
                valid += 1;
            }
            "invalid" => {
                assert!(!ok, "{} must be rejected", v["id"]);
                invalid += 1;
            }
            r => panic!("unknown result {r}"),
        }
    }
    assert!(valid > 0 && invalid > 0);
}

#[test]
fn kdfs_are_defined_by_sm3_and_hmac() {
    // SM2 KDF = SM3(Z || ct) blocks; check the first two by hand.
    let z = [0x42u8; 64];
    let mut out = [0u8; 40];
    sm3_kdf(&z, &mut out);
    let mut m = z.to_vec();
    m.extend_from_slice(&1u32.to_be_bytes());
    assert_eq!(&out[..32], &digest(&m));
    m.truncate(64);
    m.extend_from_slice(&2u32.to_be_bytes());
    assert_eq!(&out[32..], &digest(&m)[..8]);

    // HKDF: T(1) = HMAC(PRK, info || 0x01), PRK = HMAC(salt, IKM).
    let mut okm = [0u8; 32];
    hkdf_sm3(b"ikm", b"salt", b"info", &mut okm).unwrap();
    let prk = hmac_sm3(b"salt", b"ikm");
    assert_eq!(okm, hmac_sm3(&prk, b"info\x01"));

    // PBKDF2 with one iteration: T1 = HMAC(P, S || INT(1)).
    let mut dk = [0u8; 32];
    pbkdf2_hmac_sm3(b"pw", b"salt", 1, &mut dk).unwrap();
    assert_eq!(dk, hmac_sm3(b"pw", b"salt\x00\x00\x00\x01"));
}
