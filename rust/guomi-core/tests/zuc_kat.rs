//! Known-answer tests for ZUC-128, 128-EEA3 and 128-EIA3 from the shared
//! vector file (ETSI/SAGE Documents 2 and 3 test sets).

use guomi_core::zuc::{eea3, eia3, Zuc};
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

fn params(v: &Value) -> (Vec<u8>, u32, u32, u32, u64) {
    let count = u32::from_str_radix(v["count"].as_str().unwrap(), 16).unwrap();
    (
        hx(v, "key"),
        count,
        v["bearer"].as_u64().unwrap() as u32,
        v["direction"].as_u64().unwrap() as u32,
        v["length_bits"].as_u64().unwrap(),
    )
}

#[test]
fn zuc_vectors() {
    let vectors = load("zuc.json");
    let mut seen = [0; 3];
    for v in &vectors {
        match v["operation"].as_str().unwrap() {
            "keystream" => {
                let mut z = Zuc::new(&hx(v, "key"), &hx(v, "iv")).unwrap();
                let want = hx(v, "keystream");
                let mut got = vec![0u8; want.len()];
                z.keystream_bytes(&mut got);
                assert_eq!(got, want, "{}", v["id"]);
                seen[0] += 1;
            }
            "eea3" => {
                let (key, count, bearer, dir, bits) = params(v);
                let pt = hx(v, "plaintext");
                let ct = hx(v, "ciphertext");
                let mut out = vec![0u8; pt.len()];
                eea3(&key, count, bearer, dir, &pt, bits, &mut out).unwrap();
                assert_eq!(out, ct, "{}", v["id"]);
                eea3(&key, count, bearer, dir, &ct, bits, &mut out).unwrap();
                assert_eq!(out, pt, "{} (decrypt)", v["id"]);
                seen[1] += 1;
            }
            "eia3" => {
                let (key, count, bearer, dir, bits) = params(v);
                let mac = eia3(&key, count, bearer, dir, &hx(v, "message"), bits).unwrap();
                assert_eq!(mac.to_be_bytes().to_vec(), hx(v, "mac"), "{}", v["id"]);
                seen[2] += 1;
            }
            op => panic!("unknown operation {op}"),
        }
    }
    assert!(seen.iter().all(|&n| n > 0));
}

#[test]
fn parameter_errors() {
    let k = [0u8; 16];
    let mut out = [0u8; 2];
    assert!(Zuc::new(&k[..15], &k).is_err());
    assert!(Zuc::new(&k, &k[..15]).is_err());
    assert!(eea3(&k, 0, 32, 0, &[0; 2], 16, &mut out).is_err());
    assert!(eea3(&k, 0, 0, 2, &[0; 2], 16, &mut out).is_err());
    assert!(eea3(&k, 0, 0, 0, &[0; 1], 16, &mut out).is_err());
    assert!(eea3(&k, 0, 0, 0, &[0; 2], 16, &mut out[..1]).is_err());
    assert!(eia3(&k, 0, 0, 0, &[0; 1], 9).is_err());
    assert!(eia3(&k, 0, 0, 0, &[], 0).is_ok());
}

#[test]
fn keystream_continues_across_calls() {
    let (k, iv) = ([7u8; 16], [9u8; 16]);
    let mut a = Zuc::new(&k, &iv).unwrap();
    let mut whole = vec![0u8; 4 * 300];
    a.keystream_bytes(&mut whole);
    let mut b = Zuc::new(&k, &iv).unwrap();
    let mut parts = Vec::new();
    for n in [1usize, 63, 64, 65, 107] {
        let mut p = vec![0u8; 4 * n];
        b.keystream_bytes(&mut p);
        parts.extend_from_slice(&p);
    }
    assert_eq!(parts, whole);
}
