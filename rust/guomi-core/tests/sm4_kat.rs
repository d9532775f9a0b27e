//! SM4 known-answer and cross-path tests (GB/T 32907-2016).
//!
//! Every vector of `shared/vectors/sm4.json` runs on every SM4 path this CPU
//! has (portable bit-sliced, AES-NI, GFNI), through the block API and the
//! streaming modes; the paths are then checked against each other and
//! against a plain table-based reference on random data.

use guomi_core::backend::Backend;
use guomi_core::sm4::modes::{Decryptor, Encryptor, Mode};
use guomi_core::sm4::Sm4;
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vectors/sm4.json"
    );
    let text = std::fs::read_to_string(path).expect("shared/vectors/sm4.json");
    let v: Value = serde_json::from_str(&text).expect("valid JSON");
    v["vectors"].as_array().expect("vectors array").clone()
}

fn hex_field(v: &Value, name: &str) -> Vec<u8> {
    hex::decode(v[name].as_str().unwrap_or_else(|| panic!("field {name}"))).expect("hex")
}

/// One key object per distinct path this CPU can run.
fn all_paths(key: &[u8; 16]) -> Vec<Sm4> {
    let mut out: Vec<Sm4> = Vec::new();
    for b in [Backend::Portable, Backend::AesNiAvx2, Backend::GfniAvx512] {
        let c = Sm4::with_backend(key, b);
        if !out.iter().any(|o| o.backend() == c.backend()) {
            out.push(c);
        }
    }
    out
}

fn key16(v: &[u8]) -> [u8; 16] {
    v.try_into().expect("16-byte key")
}

/// A deterministic byte generator (xorshift64*), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Table-based textbook SM4 (reference only: NOT constant time). The S-box
/// is built from its algebraic definition, `A·inv(A·x ⊕ C) ⊕ C`.
mod reference {
    fn gf_mul(mut a: u8, mut b: u8) -> u8 {
        let mut r = 0;
        while b != 0 {
            if b & 1 == 1 {
                r ^= a;
            }
            let hi = a & 0x80 != 0;
            a <<= 1;
            if hi {
                a ^= 0xf5;
            }
            b >>= 1;
        }
        r
    }
    fn mat_a(x: u8) -> u8 {
        (0..8).fold(0, |y, i| {
            y | ((((0xa7u8.rotate_left(i) & x).count_ones() & 1) as u8) << i)
        })
    }
    pub fn sbox() -> [u8; 256] {
        core::array::from_fn(|x| {
            let a = mat_a(x as u8) ^ 0xd3;
            let inv = (1..=255u8).find(|&c| gf_mul(a, c) == 1).unwrap_or(0);
            mat_a(inv) ^ 0xd3
        })
    }
    fn tau(s: &[u8; 256], w: u32) -> u32 {
        u32::from_be_bytes(w.to_be_bytes().map(|b| s[b as usize]))
    }
    pub fn round_keys(s: &[u8; 256], key: &[u8; 16]) -> [u32; 32] {
        const FK: [u32; 4] = [0xa3b1bac6, 0x56aa3350, 0x677d9197, 0xb27022dc];
        let mut k: Vec<u32> = (0..4)
            .map(|i| u32::from_be_bytes(key[4 * i..4 * i + 4].try_into().unwrap()) ^ FK[i])
            .collect();
        for i in 0..32 {
            let ck = u32::from_be_bytes([0, 1, 2, 3].map(|j| ((4 * i + j) * 7 % 256) as u8));
            let t = tau(s, k[i + 1] ^ k[i + 2] ^ k[i + 3] ^ ck);
            k.push(k[i] ^ t ^ t.rotate_left(13) ^ t.rotate_left(23));
        }
        k[4..].try_into().unwrap()
    }
    pub fn crypt(s: &[u8; 256], rk: &[u32; 32], block: &mut [u8]) {
        let mut x: Vec<u32> = (0..4)
            .map(|i| u32::from_be_bytes(block[4 * i..4 * i + 4].try_into().unwrap()))
            .collect();
        for r in rk {
            let t = tau(s, x[x.len() - 3] ^ x[x.len() - 2] ^ x[x.len() - 1] ^ r);
            let l =
                t ^ t.rotate_left(2) ^ t.rotate_left(10) ^ t.rotate_left(18) ^ t.rotate_left(24);
            x.push(x[x.len() - 4] ^ l);
        }
        let n = x.len();
        for i in 0..4 {
            block[4 * i..4 * i + 4].copy_from_slice(&x[n - 1 - i].to_be_bytes());
        }
    }
}

#[test]
fn block_vectors_including_one_million_iterations() {
    let mut seen = 0;
    for v in vectors().iter().filter(|v| v["mode"] == "block") {
        let key = key16(&hex_field(v, "key"));
        let pt = hex_field(v, "plaintext");
        let ct = hex_field(v, "ciphertext");
        let iterations = v["iterations"].as_u64().unwrap_or(1);
        for c in all_paths(&key) {
            let mut b: [u8; 16] = pt.clone().try_into().unwrap();
            // Many blocks per call makes the 10^6-iteration vector cheap on
            // the parallel kernels: 16 copies of the same block all iterate.
            let mut many = b.repeat(16);
            for _ in 0..iterations {
                c.encrypt_blocks(&mut many);
            }
            for chunk in many.chunks(16) {
                assert_eq!(chunk, &ct[..], "{} on {:?}", v["id"], c.backend());
            }
            if iterations <= 1000 {
                for _ in 0..iterations {
                    c.encrypt_block(&mut b);
                }
                assert_eq!(
                    &b[..],
                    &ct[..],
                    "{} single block on {:?}",
                    v["id"],
                    c.backend()
                );
                for _ in 0..iterations {
                    c.decrypt_block(&mut b);
                }
                assert_eq!(&b[..], &pt[..]);
            }
            for _ in 0..iterations {
                c.decrypt_blocks(&mut many);
            }
            for chunk in many.chunks(16) {
                assert_eq!(chunk, &pt[..], "{} decrypt on {:?}", v["id"], c.backend());
            }
        }
        seen += 1;
    }
    assert!(seen >= 2);
}

fn mode_of(v: &Value) -> Option<Mode> {
    let iv = || -> [u8; 16] { hex_field(v, "iv").try_into().unwrap() };
    Some(match v["mode"].as_str()? {
        "ecb" => Mode::Ecb,
        "cbc" => Mode::Cbc(iv()),
        "cfb" => Mode::Cfb(iv()),
        "ofb" => Mode::Ofb(iv()),
        "ctr" => Mode::Ctr(iv()),
        _ => return None,
    })
}

#[test]
fn mode_vectors_every_path_every_split() {
    let mut seen = 0;
    for v in vectors() {
        let Some(mode) = mode_of(&v) else { continue };
        let key = key16(&hex_field(&v, "key"));
        let pt = hex_field(&v, "plaintext");
        let ct = hex_field(&v, "ciphertext");
        for c in all_paths(&key) {
            // Every split point, including empty updates.
            for split in 0..=pt.len() {
                let mut e = Encryptor::new(c.clone(), mode.clone());
                let mut out = e.update(&pt[..split]).unwrap();
                out.extend(e.update(&[]).unwrap());
                out.extend(e.update(&pt[split..]).unwrap());
                out.extend(e.finalize().expect("whole blocks"));
                assert_eq!(
                    out,
                    ct,
                    "{} encrypt split {split} on {:?}",
                    v["id"],
                    c.backend()
                );
                let mut d = Decryptor::new(c.clone(), mode.clone());
                let mut back = d.update(&ct[..split]).unwrap();
                back.extend(d.update(&ct[split..]).unwrap());
                back.extend(d.finalize().expect("whole blocks"));
                assert_eq!(
                    back,
                    pt,
                    "{} decrypt split {split} on {:?}",
                    v["id"],
                    c.backend()
                );
            }
        }
        seen += 1;
    }
    assert_eq!(seen, 10);
}

#[test]
fn paths_agree_with_reference_on_random_data() {
    let sbox = reference::sbox();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..8 {
        let key = key16(&rng.bytes(16));
        let rk = reference::round_keys(&sbox, &key);
        let mut rk_rev = rk;
        rk_rev.reverse();
        // Lengths around every kernel width, 0..=70 blocks plus a large one.
        let blocks = if round == 7 {
            1000
        } else {
            rng.next() as usize % 71
        };
        let pt = rng.bytes(16 * blocks);
        let mut want = pt.clone();
        for b in want.chunks_mut(16) {
            reference::crypt(&sbox, &rk, b);
        }
        for c in all_paths(&key) {
            let mut got = pt.clone();
            c.encrypt_blocks(&mut got);
            assert_eq!(got, want, "{blocks} blocks on {:?}", c.backend());
            c.decrypt_blocks(&mut got);
            assert_eq!(got, pt);
        }
        let mut back = want.clone();
        for b in back.chunks_mut(16) {
            reference::crypt(&sbox, &rk_rev, b);
        }
        assert_eq!(back, pt);
    }
}

#[test]
fn every_length_0_to_1100_agrees_across_paths() {
    let mut rng = Rng(7);
    let key = key16(&rng.bytes(16));
    let paths = all_paths(&key);
    let base = &paths[0];
    let data = rng.bytes(1100);
    for len in (0..=1100).step_by(16) {
        let mut want = data[..len].to_vec();
        base.encrypt_blocks(&mut want);
        for c in &paths[1..] {
            let mut got = data[..len].to_vec();
            c.encrypt_blocks(&mut got);
            assert_eq!(got, want, "{len} bytes on {:?}", c.backend());
        }
    }
    for len in 0..=1100 {
        let ctr0 = [0xff; 16];
        let mut want = data[..len].to_vec();
        let mut cw = ctr0;
        base.ctr128_xor(&mut cw, &mut want);
        for c in &paths[1..] {
            let mut got = data[..len].to_vec();
            let mut cg = ctr0;
            c.ctr128_xor(&mut cg, &mut got);
            assert_eq!(got, want, "ctr {len} bytes on {:?}", c.backend());
            assert_eq!(cg, cw);
        }
    }
}

#[test]
fn ctr_counters_wrap_as_specified() {
    let key = [0x42u8; 16];
    for c in all_paths(&key) {
        // 128-bit: carries through every byte and wraps at 2^128.
        let mut ctr = [0xffu8; 16];
        ctr[0] = 0x7f;
        let start = ctr;
        let mut data = vec![0u8; 48];
        c.ctr128_xor(&mut ctr, &mut data);
        let mut expect_ctr = [0u8; 16];
        expect_ctr[0] = 0x80;
        expect_ctr[15] = 2;
        assert_eq!(ctr, expect_ctr);
        let mut ks = Vec::new();
        let mut cb = u128::from_be_bytes(start);
        for _ in 0..3 {
            let mut b = cb.to_be_bytes();
            c.encrypt_block(&mut b);
            ks.extend_from_slice(&b);
            cb = cb.wrapping_add(1);
        }
        assert_eq!(data, ks);
        let mut ctr = [0xffu8; 16];
        let mut one = [0u8; 1];
        c.ctr128_xor(&mut ctr, &mut one);
        assert_eq!(ctr, [0u8; 16]);

        // 32-bit (GCM inc32): the upper 96 bits never change.
        let mut ctr = [0xabu8; 16];
        ctr[12..].copy_from_slice(&[0xff; 4]);
        let start = ctr;
        let mut data = vec![0u8; 40];
        c.ctr32_xor(&mut ctr, &mut data);
        assert_eq!(&ctr[..12], &start[..12]);
        assert_eq!(&ctr[12..], &[0, 0, 0, 2]);
        let mut b1 = start;
        c.encrypt_block(&mut b1);
        let mut b2 = start;
        b2[12..].copy_from_slice(&[0, 0, 0, 0]);
        c.encrypt_block(&mut b2);
        assert_eq!(&data[..16], &b1);
        assert_eq!(&data[16..32], &b2);
    }
}

#[test]
fn ctr_streaming_in_pieces_equals_one_shot() {
    let mut rng = Rng(99);
    let key = key16(&rng.bytes(16));
    for c in all_paths(&key) {
        let data = rng.bytes(5000);
        let mut one = data.clone();
        let mut ctr = [3u8; 16];
        c.ctr128_xor(&mut ctr, &mut one);
        let mut e = Encryptor::new(c.clone(), Mode::Ctr([3u8; 16]));
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < data.len() {
            let n = (rng.next() as usize % 700).min(data.len() - pos);
            out.extend(e.update(&data[pos..pos + n]).unwrap());
            pos += n;
        }
        out.extend(e.finalize().unwrap());
        assert_eq!(out, one);
    }
}

#[test]
fn key_length_is_checked_and_debug_hides_key() {
    for len in [0usize, 15, 17, 32] {
        let err = Sm4::new(&vec![1u8; len]).unwrap_err();
        assert_eq!(err.kind(), guomi_core::ErrorKind::InvalidKey);
        assert!(err.message().contains("16"));
    }
    let c = Sm4::new(&[0x5a; 16]).unwrap();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("5a") && !dbg.contains("90"), "{dbg}");
}

#[test]
fn mode_contexts_report_errors_instead_of_panicking() {
    use guomi_core::ErrorKind;
    let c = Sm4::new(&[9u8; 16]).unwrap();
    for mode in [Mode::Ecb, Mode::Cbc([1; 16])] {
        // A partial final block is an error, for both directions.
        let mut e = Encryptor::new(c.clone(), mode.clone());
        assert_eq!(e.update(&[0u8; 20]).unwrap().len(), 16);
        assert_eq!(e.finalize().unwrap_err().kind(), ErrorKind::InvalidArgument);
        let mut d = Decryptor::new(c.clone(), mode.clone());
        assert!(d.update(&[0u8; 5]).unwrap().is_empty());
        assert_eq!(d.finalize().unwrap_err().kind(), ErrorKind::InvalidArgument);
        // Everything after finalize fails.
        assert_eq!(
            d.update(&[0u8; 16]).unwrap_err().kind(),
            ErrorKind::AlreadyFinalized
        );
        assert_eq!(
            d.finalize().unwrap_err().kind(),
            ErrorKind::AlreadyFinalized
        );
        assert!(d.is_finalized());
    }
    for mode in [Mode::Cfb([2; 16]), Mode::Ofb([3; 16]), Mode::Ctr([4; 16])] {
        let mut e = Encryptor::new(c.clone(), mode.clone());
        // An output buffer that is too small is refused without writing.
        let mut small = [0u8; 4];
        let err = e.update_into(&[0u8; 5], &mut small).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert_eq!(e.output_len(5), 5);
        assert_eq!(e.update(&[0u8; 5]).unwrap().len(), 5);
        assert!(e.finalize().unwrap().is_empty());
        assert_eq!(
            e.update(&[]).unwrap_err().kind(),
            ErrorKind::AlreadyFinalized
        );
        assert_eq!(format!("{:?}", mode), mode.name());
    }
    // Stray tail bytes passed to the block API are left alone, not read past.
    let mut odd = [7u8; 20];
    c.encrypt_blocks(&mut odd[..16]);
    let before = odd;
    let mut odd2 = [7u8; 20];
    // (debug_assert fires in debug builds for a non-multiple; only check
    // the release behaviour where it is compiled out.)
    if !cfg!(debug_assertions) {
        c.encrypt_blocks(&mut odd2);
        assert_eq!(odd2, before);
    }
}

#[test]
fn cbc_and_cfb_decryption_parallel_path_matches_sequential() {
    // Decrypt in one big call (parallel path) and block by block (sequential
    // tail path); both must equal the plaintext.
    let mut rng = Rng(1234);
    let key = key16(&rng.bytes(16));
    for c in all_paths(&key) {
        for mode in [Mode::Cbc([5; 16]), Mode::Cfb([6; 16])] {
            let pt = rng.bytes(16 * 300);
            let mut e = Encryptor::new(c.clone(), mode.clone());
            let ct = e.update(&pt).unwrap();
            let mut d1 = Decryptor::new(c.clone(), mode.clone());
            assert_eq!(d1.update(&ct).unwrap(), pt, "{mode:?} on {:?}", c.backend());
            let mut d2 = Decryptor::new(c.clone(), mode.clone());
            let mut out = Vec::new();
            for b in ct.chunks(16) {
                out.extend(d2.update(b).unwrap());
            }
            assert_eq!(out, pt);
        }
    }
}
