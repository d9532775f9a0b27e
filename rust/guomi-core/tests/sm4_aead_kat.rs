//! Known-answer tests for SM4-GCM, SM4-CCM, GMAC and SM4-XTS against the
//! shared vectors (`../shared/vectors/sm4_aead.json`, `sm4_xts.json`), on
//! every backend this CPU supports, plus round-trip and edge-case checks.

use guomi_core::sm4::ccm::Sm4Ccm;
use guomi_core::sm4::gcm::Sm4Gcm;
use guomi_core::sm4::xts::{Sm4Xts, XtsStandard};
use guomi_core::ErrorKind;
use serde_json::Value;

fn vectors(file: &str) -> Vec<Value> {
    let dir = std::env::var("GUOMI_VECTORS_DIR").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors").to_string()
    });
    let text =
        std::fs::read_to_string(format!("{dir}/{file}")).expect("shared vectors must be present");
    let v: Value = serde_json::from_str(&text).expect("valid JSON");
    v["vectors"].as_array().expect("vectors array").clone()
}

fn h(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(v[field].as_str().unwrap_or("")).expect("hex field")
}

/// Serialises the tests of this binary that switch the (process-global)
/// backend, so each really runs on the path it names.
static BACKEND_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `f` once per backend this CPU supports.
fn each_backend(mut f: impl FnMut(&str)) {
    use guomi_core::backend::{detect, force, Backend};
    let _guard = BACKEND_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut list = vec![Backend::Portable];
    let d = detect();
    if d != Backend::Portable {
        list.push(Backend::AesNiAvx2);
    }
    if d == Backend::GfniAvx512 {
        list.push(Backend::GfniAvx512);
    }
    for b in list {
        let got = force(b);
        f(got.name());
    }
    force(detect());
}

#[test]
fn gcm_and_gmac_vectors() {
    let all = vectors("sm4_aead.json");
    let mut checked = 0;
    each_backend(|backend| {
        for v in all
            .iter()
            .filter(|v| v["mode"] == "gcm" || v["mode"] == "gmac")
        {
            let id = v["id"].as_str().unwrap();
            let (key, iv, aad, pt, ct, tag) = (
                h(v, "key"),
                h(v, "iv"),
                h(v, "aad"),
                h(v, "plaintext"),
                h(v, "ciphertext"),
                h(v, "tag"),
            );
            let tag_len = v["tag_len"].as_u64().unwrap() as usize;
            let valid = v["result"] == "valid";
            let gcm = match Sm4Gcm::new(&key, tag_len, true) {
                Ok(g) => g,
                Err(e) => {
                    assert!(
                        !valid,
                        "{id} [{backend}]: valid vector rejected at construction: {e}"
                    );
                    checked += 1;
                    continue;
                }
            };
            let mut ct_tag = ct.clone();
            ct_tag.extend_from_slice(&tag);
            let mut out = vec![0u8; pt.len()];
            let dec = gcm.decrypt(&iv, &aad, &ct_tag, &mut out);
            if valid {
                dec.unwrap_or_else(|e| panic!("{id} [{backend}]: decrypt failed: {e}"));
                assert_eq!(out, pt, "{id} [{backend}]: plaintext");
                let mut enc = vec![0u8; pt.len() + tag_len];
                gcm.encrypt(&iv, &aad, &pt, &mut enc).unwrap();
                assert_eq!(enc, ct_tag, "{id} [{backend}]: ciphertext||tag");
            } else {
                assert!(dec.is_err(), "{id} [{backend}]: invalid vector accepted");
                assert!(
                    out.iter().all(|&b| b == 0),
                    "{id}: plaintext written on failure"
                );
            }
            checked += 1;
        }
    });
    assert!(checked >= 56);
}

#[test]
fn ccm_vectors() {
    let all = vectors("sm4_aead.json");
    let mut checked = 0;
    each_backend(|backend| {
        for v in all.iter().filter(|v| v["mode"] == "ccm") {
            let id = v["id"].as_str().unwrap();
            let (key, iv, aad, pt, ct, tag) = (
                h(v, "key"),
                h(v, "iv"),
                h(v, "aad"),
                h(v, "plaintext"),
                h(v, "ciphertext"),
                h(v, "tag"),
            );
            let tag_len = v["tag_len"].as_u64().unwrap() as usize;
            let valid = v["result"] == "valid";
            let ccm = match Sm4Ccm::new(&key, tag_len) {
                Ok(c) => c,
                Err(e) => {
                    assert!(
                        !valid,
                        "{id} [{backend}]: valid vector rejected at construction: {e}"
                    );
                    checked += 1;
                    continue;
                }
            };
            let mut ct_tag = ct.clone();
            ct_tag.extend_from_slice(&tag);
            let mut out = vec![0u8; ct.len()];
            let dec = ccm.decrypt(&iv, &aad, &ct_tag, &mut out);
            if valid {
                dec.unwrap_or_else(|e| panic!("{id} [{backend}]: decrypt failed: {e}"));
                assert_eq!(out, pt, "{id} [{backend}]: plaintext");
                let mut enc = vec![0u8; pt.len() + tag_len];
                ccm.encrypt(&iv, &aad, &pt, &mut enc).unwrap();
                assert_eq!(enc, ct_tag, "{id} [{backend}]: ciphertext||tag");
            } else {
                assert!(dec.is_err(), "{id} [{backend}]: invalid vector accepted");
                assert!(
                    out.iter().all(|&b| b == 0),
                    "{id}: plaintext left on failure"
                );
            }
            checked += 1;
        }
    });
    assert!(checked >= 93);
}

#[test]
fn xts_vectors() {
    let all = vectors("sm4_xts.json");
    each_backend(|backend| {
        for v in &all {
            let id = v["id"].as_str().unwrap();
            let (key, tweak, pt, ct) = (
                h(v, "key"),
                h(v, "tweak"),
                h(v, "plaintext"),
                h(v, "ciphertext"),
            );
            let std = match v["standard"].as_str().unwrap() {
                "GB" => XtsStandard::Gb,
                "IEEE" => XtsStandard::Ieee,
                other => panic!("{id}: unknown standard {other}"),
            };
            let equal_halves = key[..16] == key[16..];
            if equal_halves {
                // The public constructor refuses these keys; the bytes are
                // still checked through the explicit escape hatch.
                let e = Sm4Xts::new(&key, std).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidKey, "{id}");
            }
            let xts = Sm4Xts::new_allowing_equal_halves(&key, std).unwrap();
            let mut out = vec![0u8; pt.len()];
            xts.encrypt(&tweak, &pt, &mut out).unwrap();
            assert_eq!(out, ct, "{id} [{backend}]: encrypt");
            let mut back = vec![0u8; ct.len()];
            xts.decrypt(&tweak, &ct, &mut back).unwrap();
            assert_eq!(back, pt, "{id} [{backend}]: decrypt");
        }
    });
}

fn pseudo_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect()
}

#[test]
fn backends_agree_on_long_messages() {
    // Lengths around the 8-block GHASH aggregation, the CTR chunking and
    // the XTS tweak chunking, compared across backends.
    let key = pseudo_bytes(16, 1);
    let xkey = pseudo_bytes(32, 2);
    let data = pseudo_bytes(20000, 3);
    let aad = pseudo_bytes(300, 4);
    let lens = [
        0usize, 1, 15, 16, 17, 127, 128, 129, 239, 240, 241, 255, 256, 2047, 2048, 2049, 4100,
        5000, 8192, 8193, 20000,
    ];
    let mut results: Vec<Vec<Vec<u8>>> = Vec::new();
    each_backend(|_| {
        let gcm = Sm4Gcm::new(&key, 16, false).unwrap();
        let ccm = Sm4Ccm::new(&key, 16).unwrap();
        let xts_gb = Sm4Xts::new(&xkey, XtsStandard::Gb).unwrap();
        let xts_ieee = Sm4Xts::new(&xkey, XtsStandard::Ieee).unwrap();
        let mut r = Vec::new();
        for &n in &lens {
            for nonce_len in [12usize, 8, 13] {
                let nonce = &data[..nonce_len];
                let mut out = vec![0u8; n + 16];
                gcm.encrypt(nonce, &aad[..n % 300], &data[..n], &mut out)
                    .unwrap();
                let mut back = vec![0u8; n];
                gcm.decrypt(nonce, &aad[..n % 300], &out, &mut back)
                    .unwrap();
                assert_eq!(back, &data[..n]);
                r.push(out);
                let mut out = vec![0u8; n + 16];
                ccm.encrypt(nonce, &aad[..n % 300], &data[..n], &mut out)
                    .unwrap();
                let mut back = vec![0u8; n];
                ccm.decrypt(nonce, &aad[..n % 300], &out, &mut back)
                    .unwrap();
                assert_eq!(back, &data[..n]);
                r.push(out);
            }
            if n >= 16 {
                for x in [&xts_gb, &xts_ieee] {
                    let mut out = vec![0u8; n];
                    x.encrypt(&data[..16], &data[..n], &mut out).unwrap();
                    let mut back = vec![0u8; n];
                    x.decrypt(&data[..16], &out, &mut back).unwrap();
                    assert_eq!(back, &data[..n]);
                    r.push(out);
                }
            }
        }
        results.push(r);
    });
    for r in &results[1..] {
        assert_eq!(r, &results[0], "backends disagree");
    }
}

#[test]
fn parameter_errors() {
    let key = [7u8; 16];
    assert_eq!(
        Sm4Gcm::new(&key[..15], 16, false).unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
    for t in [0usize, 3, 4, 8, 11, 17] {
        assert_eq!(
            Sm4Gcm::new(&key, t, false).unwrap_err().kind(),
            ErrorKind::InvalidArgument,
            "tag {t}"
        );
    }
    assert!(Sm4Gcm::new(&key, 4, true).is_ok());
    assert!(Sm4Gcm::new(&key, 8, true).is_ok());
    assert!(Sm4Gcm::new(&key, 6, true).is_err());
    let gcm = Sm4Gcm::new(&key, 16, false).unwrap();
    let mut out = [0u8; 16];
    assert_eq!(
        gcm.encrypt(&[], &[], &[], &mut out).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    // Too-short ciphertext is an authentication failure, like pyca.
    assert_eq!(
        gcm.decrypt(&[0; 12], &[], &[0; 15], &mut [])
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidTag
    );

    for t in [2usize, 3, 5, 17, 18] {
        assert_eq!(
            Sm4Ccm::new(&key, t).unwrap_err().kind(),
            ErrorKind::InvalidArgument,
            "ccm tag {t}"
        );
    }
    let ccm = Sm4Ccm::new(&key, 16).unwrap();
    for nl in [0usize, 6, 14, 16] {
        let mut out = [0u8; 16];
        assert_eq!(
            ccm.encrypt(&vec![0; nl], &[], &[], &mut out)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidArgument
        );
    }
    // q = 2 (13-byte nonce): at most 65535 bytes.
    let big = vec![0u8; 65536];
    let mut out = vec![0u8; 65536 + 16];
    assert_eq!(
        ccm.encrypt(&[0; 13], &[], &big, &mut out)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    let mut out = vec![0u8; 65535 + 16];
    assert!(ccm.encrypt(&[0; 13], &[], &big[..65535], &mut out).is_ok());

    let mut xkey = [1u8; 32];
    assert_eq!(
        Sm4Xts::new(&xkey, XtsStandard::Gb).unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
    xkey[31] = 2;
    assert_eq!(
        Sm4Xts::new(&xkey[..31], XtsStandard::Gb)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidKey
    );
    let xts = Sm4Xts::new(&xkey, XtsStandard::Ieee).unwrap();
    let mut o = [0u8; 15];
    assert_eq!(
        xts.encrypt(&[0; 16], &[0; 15], &mut o).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let mut o = [0u8; 16];
    assert_eq!(
        xts.encrypt(&[0; 15], &[0; 16], &mut o).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn ccm_long_aad_prefixes() {
    // AAD lengths on both sides of the 2-byte / 6-byte encoding boundary
    // (2^16 - 2^8) must round-trip and give different tags.
    let ccm = Sm4Ccm::new(&[9u8; 16], 16).unwrap();
    let aad = pseudo_bytes(65281, 5);
    for a in [65279usize, 65280, 65281] {
        let mut out = [0u8; 16 + 5];
        ccm.encrypt(&[1; 12], &aad[..a], b"hello", &mut out)
            .unwrap();
        let mut back = [0u8; 5];
        ccm.decrypt(&[1; 12], &aad[..a], &out, &mut back).unwrap();
        assert_eq!(&back, b"hello");
    }
}

#[test]
fn gcm_detached_in_place_matches_combined() {
    let gcm = Sm4Gcm::new(&pseudo_bytes(16, 9), 16, false).unwrap();
    let data = pseudo_bytes(600, 10);
    for n in [0usize, 5, 240, 241, 600] {
        let mut combined = vec![0u8; n + 16];
        gcm.encrypt(&[3; 12], b"ad", &data[..n], &mut combined)
            .unwrap();
        let mut buf = data[..n].to_vec();
        let tag = gcm
            .encrypt_in_place_detached(&[3; 12], b"ad", &mut buf)
            .unwrap();
        assert_eq!(&combined[..n], &buf[..]);
        assert_eq!(&combined[n..], &tag[..]);
        // A wrong tag leaves the buffer untouched.
        let mut bad = tag;
        bad[0] ^= 1;
        let e = gcm
            .decrypt_in_place_detached(&[3; 12], b"ad", &mut buf, &bad)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidTag);
        assert_eq!(&combined[..n], &buf[..]);
        gcm.decrypt_in_place_detached(&[3; 12], b"ad", &mut buf, &tag)
            .unwrap();
        assert_eq!(&buf[..], &data[..n]);
    }
}

#[test]
fn ghash_path_follows_backend() {
    use guomi_core::backend::{detect, force, Backend};
    use guomi_core::sm4::ghash::{GhashKey, Path};
    let _guard = BACKEND_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    force(Backend::Portable);
    assert_eq!(GhashKey::new(&[1; 16]).path(), Path::Soft);
    assert!(!Sm4Gcm::new(&[1; 16], 16, false).unwrap().uses_clmul());
    force(detect());
    #[cfg(target_arch = "x86_64")]
    if detect() != Backend::Portable && std::arch::is_x86_feature_detected!("pclmulqdq") {
        assert_ne!(GhashKey::new(&[1; 16]).path(), Path::Soft);
        assert!(Sm4Gcm::new(&[1; 16], 16, false).unwrap().uses_clmul());
    }
}

#[test]
fn debug_output_has_no_key_material() {
    let key = [0xabu8; 16];
    let gcm = format!("{:?}", Sm4Gcm::new(&key, 16, false).unwrap());
    let ccm = format!("{:?}", Sm4Ccm::new(&key, 16).unwrap());
    let mut xkey = [0xabu8; 32];
    xkey[31] = 0;
    let xts = format!("{:?}", Sm4Xts::new(&xkey, XtsStandard::Gb).unwrap());
    for s in [gcm, ccm, xts] {
        assert!(
            !s.to_lowercase().contains("ab, ab") && !s.contains("171"),
            "{s}"
        );
    }
}
