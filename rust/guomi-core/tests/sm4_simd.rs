//! The x86-64 SIMD SM4 kernels (AES-NI/AVX2/VAES and GFNI/AVX-512) against
//! the portable kernel and the standard's vectors, through the public API.
//!
//! Every path must produce identical bytes for every length; the tests here
//! cover all block counts 0..=70 (every tail shape of the 8- and 16-block
//! groups and of the 64/128-block main loops), larger inputs, CTR counters
//! near their wrap points and the GB/T 32907 / draft-ribose vectors, on each
//! path this CPU supports. A path the CPU lacks is reported, not faked.

use guomi_core::backend::{self, Backend};
use guomi_core::sm4::modes::{Decryptor, Encryptor, Mode};
use guomi_core::sm4::Sm4;
use serde_json::Value;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/vectors/sm4.json"
);

/// xorshift64*: deterministic inputs without a dev-dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            *b = (self.next() >> 56) as u8;
        }
    }
    fn key(&mut self) -> [u8; 16] {
        let mut k = [0u8; 16];
        self.fill(&mut k);
        k
    }
}

/// The SIMD paths this CPU runs, checked against its feature flags so a
/// broken detection cannot make these tests vacuous.
fn simd_backends() -> Vec<Backend> {
    let key = [0u8; 16];
    let mut out = Vec::new();
    for b in [Backend::AesNiAvx2, Backend::GfniAvx512] {
        if Sm4::with_backend(&key, b).backend() == b {
            out.push(b);
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        let aesni = std::arch::is_x86_feature_detected!("aes")
            && std::arch::is_x86_feature_detected!("avx2");
        assert_eq!(
            out.contains(&Backend::AesNiAvx2),
            aesni,
            "AES-NI path detection"
        );
        let gfni = std::arch::is_x86_feature_detected!("gfni")
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw");
        assert_eq!(
            out.contains(&Backend::GfniAvx512),
            gfni,
            "GFNI path detection"
        );
    }
    if out.is_empty() {
        eprintln!("note: no SIMD SM4 path on this CPU; only the portable path was tested");
    }
    out
}

fn all_backends() -> Vec<Backend> {
    let mut v = vec![Backend::Portable];
    v.extend(simd_backends());
    v
}

fn unhex(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(
        v[field]
            .as_str()
            .unwrap_or_else(|| panic!("missing {field}")),
    )
    .expect("hex")
}

#[test]
fn every_block_count_matches_portable() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for b in simd_backends() {
        for n in (0..=70usize).chain([127, 128, 129, 255, 1000, 4099]) {
            let key = rng.key();
            let portable = Sm4::with_backend(&key, Backend::Portable);
            let simd = Sm4::with_backend(&key, b);
            let mut data = vec![0u8; 16 * n];
            rng.fill(&mut data);

            let mut want = data.clone();
            portable.encrypt_blocks(&mut want);
            let mut got = data.clone();
            simd.encrypt_blocks(&mut got);
            assert!(
                got == want,
                "{b:?}: encrypt {n} blocks differs from portable"
            );

            simd.decrypt_blocks(&mut got);
            assert!(got == data, "{b:?}: decrypt {n} blocks does not invert");
            portable.decrypt_blocks(&mut want);
            assert!(want == data);
        }
    }
}

#[test]
fn large_input_matches_portable() {
    let mut rng = Rng(0xfeed_f00d_dead_beef);
    let key = rng.key();
    // 1 MiB + 3 blocks: many main-loop iterations and a tail.
    let mut data = vec![0u8; (1 << 20) + 48];
    rng.fill(&mut data);
    let portable = Sm4::with_backend(&key, Backend::Portable);
    let mut want = data.clone();
    portable.encrypt_blocks(&mut want);
    for b in simd_backends() {
        let simd = Sm4::with_backend(&key, b);
        let mut got = data.clone();
        simd.encrypt_blocks(&mut got);
        assert!(got == want, "{b:?}: 1 MiB encrypt differs from portable");
        simd.decrypt_blocks(&mut got);
        assert!(got == data, "{b:?}: 1 MiB decrypt does not invert");
    }
}

#[test]
fn single_blocks_match_portable() {
    let mut rng = Rng(0x5151_5151_5151_5151);
    for b in simd_backends() {
        for _ in 0..64 {
            let key = rng.key();
            let portable = Sm4::with_backend(&key, Backend::Portable);
            let simd = Sm4::with_backend(&key, b);
            let mut blk = [0u8; 16];
            rng.fill(&mut blk);
            let (mut x, mut y) = (blk, blk);
            portable.encrypt_block(&mut x);
            simd.encrypt_block(&mut y);
            assert_eq!(x, y, "{b:?}");
            simd.decrypt_block(&mut y);
            assert_eq!(y, blk, "{b:?}");
        }
    }
}

/// Counters whose low 32 bits (and, for one, all 128 bits) wrap inside the
/// message, plus random ones.
fn counters(rng: &mut Rng) -> Vec<[u8; 16]> {
    let mut v = vec![
        [0u8; 16],
        [0xff; 16],
        {
            let mut c = [0x11u8; 16];
            c[12..].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
            c
        },
        {
            let mut c = [0u8; 16];
            c[8..].copy_from_slice(&0x0000_0000_ffff_ffc3u64.to_be_bytes());
            c
        },
        {
            let mut c = [0u8; 16];
            c[..12].copy_from_slice(&[0xff; 12]);
            c[12..].copy_from_slice(&0xffff_ff80u32.to_be_bytes());
            c
        },
    ];
    for _ in 0..3 {
        let mut c = [0u8; 16];
        rng.fill(&mut c);
        v.push(c);
    }
    v
}

#[test]
fn ctr_matches_portable_across_counter_wraps() {
    let mut rng = Rng(0xc0c0_c0c0_1234_5678);
    for b in simd_backends() {
        for ctr0 in counters(&mut rng) {
            for len in [
                0usize,
                1,
                15,
                16,
                17,
                100,
                255,
                1024,
                1040,
                2047,
                4096 + 7,
                20000,
            ] {
                let key = rng.key();
                let portable = Sm4::with_backend(&key, Backend::Portable);
                let simd = Sm4::with_backend(&key, b);
                let mut data = vec![0u8; len];
                rng.fill(&mut data);
                for wide in [false, true] {
                    let (mut cp, mut cs) = (ctr0, ctr0);
                    let (mut want, mut got) = (data.clone(), data.clone());
                    if wide {
                        portable.ctr128_xor(&mut cp, &mut want);
                        simd.ctr128_xor(&mut cs, &mut got);
                    } else {
                        portable.ctr32_xor(&mut cp, &mut want);
                        simd.ctr32_xor(&mut cs, &mut got);
                    }
                    let what = if wide { "ctr128" } else { "ctr32" };
                    assert!(
                        got == want,
                        "{b:?} {what} len {len} ctr {ctr0:02x?}: keystream"
                    );
                    assert_eq!(cs, cp, "{b:?} {what} len {len}: next counter");
                }
            }
        }
    }
}

#[test]
fn ctr_split_calls_match_one_call() {
    // Streaming CTR: calls of whole blocks continue the same keystream.
    let mut rng = Rng(0x7777_0000_aaaa_5555);
    for b in all_backends() {
        let key = rng.key();
        let sm4 = Sm4::with_backend(&key, b);
        let mut data = vec![0u8; 16 * 300];
        rng.fill(&mut data);
        let mut ctr0 = [0u8; 16];
        rng.fill(&mut ctr0);
        let mut one = data.clone();
        let mut c1 = ctr0;
        sm4.ctr128_xor(&mut c1, &mut one);
        let mut parts = data.clone();
        let mut c2 = ctr0;
        let mut off = 0;
        for blocks in [1usize, 7, 64, 65, 3, 160] {
            let end = off + 16 * blocks;
            sm4.ctr128_xor(&mut c2, &mut parts[off..end]);
            off = end;
        }
        assert_eq!(off, data.len());
        assert!(one == parts, "{b:?}");
        assert_eq!(c1, c2, "{b:?}");
    }
}

#[test]
fn streaming_modes_match_portable_in_random_chunks() {
    // The sequential modes (CBC/CFB encryption, OFB) run a dedicated chained
    // kernel on the SIMD paths; streaming in odd chunk sizes crosses every
    // whole-block / partial-block boundary of it.
    let mut rng = Rng(0x5eed_0000_cbc0_cfb0);
    for b in simd_backends() {
        for which in 0..5 {
            let key = rng.key();
            let mut iv = [0u8; 16];
            rng.fill(&mut iv);
            let mode = match which {
                0 => Mode::Cbc(iv),
                1 => Mode::Cfb(iv),
                2 => Mode::Ofb(iv),
                3 => Mode::Ctr(iv),
                _ => Mode::Ecb,
            };
            let len = if which == 0 || which == 4 {
                16 * 97
            } else {
                16 * 97 + 11
            };
            let mut data = vec![0u8; len];
            rng.fill(&mut data);
            let mut want = Encryptor::new(Sm4::with_backend(&key, Backend::Portable), mode.clone());
            let mut want_ct = want.update(&data).unwrap();
            want_ct.extend(want.finalize().unwrap());

            let mut enc = Encryptor::new(Sm4::with_backend(&key, b), mode.clone());
            let mut got = Vec::new();
            let mut off = 0;
            while off < len {
                let step = ((rng.next() % 70) as usize).min(len - off);
                got.extend(enc.update(&data[off..off + step]).unwrap());
                off += step;
            }
            got.extend(enc.finalize().unwrap());
            assert!(got == want_ct, "{b:?} {mode:?}: streaming ciphertext");

            let mut dec = Decryptor::new(Sm4::with_backend(&key, b), mode.clone());
            let mut back = dec.update(&got).unwrap();
            back.extend(dec.finalize().unwrap());
            assert!(back == data, "{b:?} {mode:?}: round trip");
        }
    }
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

#[test]
fn standard_vectors_on_every_backend() {
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(VECTORS).expect("read sm4.json")).unwrap();
    let vectors = doc["vectors"].as_array().expect("vectors");
    let mut checked = 0;
    for b in all_backends() {
        for v in vectors {
            let id = v["id"].as_str().unwrap();
            let key: [u8; 16] = unhex(v, "key").try_into().expect("16-byte key");
            let pt = unhex(v, "plaintext");
            let ct = unhex(v, "ciphertext");
            let sm4 = Sm4::with_backend(&key, b);
            assert_eq!(sm4.backend(), b);
            match v["mode"].as_str().unwrap() {
                "block" => {
                    let iterations = v["iterations"].as_u64().unwrap();
                    let mut blk: [u8; 16] = pt.clone().try_into().unwrap();
                    for _ in 0..iterations {
                        sm4.encrypt_block(&mut blk);
                    }
                    assert_eq!(blk.to_vec(), ct, "{b:?} {id}");
                    if iterations == 1 {
                        sm4.decrypt_block(&mut blk);
                        assert_eq!(blk.to_vec(), pt, "{b:?} {id} decrypt");
                    }
                }
                "ecb" => {
                    let mut d = pt.clone();
                    sm4.encrypt_blocks(&mut d);
                    assert_eq!(d, ct, "{b:?} {id}");
                    sm4.decrypt_blocks(&mut d);
                    assert_eq!(d, pt, "{b:?} {id} decrypt");
                }
                "cbc" => {
                    // Decrypt is the parallel direction: D(C_i) ^ C_{i-1}.
                    let iv = unhex(v, "iv");
                    let mut d = ct.clone();
                    sm4.decrypt_blocks(&mut d);
                    let prev: Vec<u8> = iv.iter().chain(&ct[..ct.len() - 16]).copied().collect();
                    assert_eq!(xor(&d, &prev), pt, "{b:?} {id}");
                }
                "ctr" => {
                    let mut ctr: [u8; 16] = unhex(v, "iv").try_into().unwrap();
                    let mut d = pt.clone();
                    sm4.ctr128_xor(&mut ctr, &mut d);
                    assert_eq!(d, ct, "{b:?} {id}");
                }
                "cfb" | "ofb" => {
                    // Sequential modes: one block at a time through the kernel.
                    let mut fb: [u8; 16] = unhex(v, "iv").try_into().unwrap();
                    let mut out = Vec::new();
                    for (p, c) in pt.chunks(16).zip(ct.chunks(16)) {
                        sm4.encrypt_block(&mut fb);
                        out.extend(xor(p, &fb));
                        if v["mode"] == "cfb" {
                            fb.copy_from_slice(c);
                        }
                    }
                    assert_eq!(out, ct, "{b:?} {id}");
                }
                other => panic!("unknown mode {other}"),
            }
            checked += 1;
        }
    }
    assert!(checked >= vectors.len());
}

#[test]
fn force_selects_each_supported_backend() {
    // The only test in this binary that touches the process-wide choice; the
    // others pick their path per key with `Sm4::with_backend`.
    let key = [0x42u8; 16];
    for b in all_backends() {
        assert_eq!(backend::force(b), b);
        assert_eq!(backend::active(), b);
        assert_eq!(Sm4::new(&key).unwrap().backend(), b);
    }
    // A path the CPU lacks falls back to portable rather than crashing.
    #[cfg(target_arch = "x86_64")]
    if !simd_backends().contains(&Backend::GfniAvx512) {
        assert_eq!(backend::force(Backend::GfniAvx512), Backend::Portable);
    }
    backend::force(backend::detect());
    assert_eq!(backend::active(), backend::detect());
}
