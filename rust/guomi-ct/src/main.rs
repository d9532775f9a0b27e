//! dudect-style constant-time measurements of guomi-core (`make ct`).
//!
//! Each benchmark times one operation on inputs from two classes and runs
//! Welch's t-test on the two timing distributions (dudect-bencher: Reparaz,
//! Balasch and Verbauwhede, "Dude, is my code constant time?", 2017, with
//! its cropping percentiles). The classes differ only in a secret: a fixed
//! secret (Left) against fresh random secrets (Right), or a tag wrong in its
//! first byte against one wrong in its last. |t| above ~5 (dudect's
//! threshold is 4.5-5 after enough samples) would mean the timing depends on
//! the secret; values below that, with millions of samples, are the evidence
//! recorded in bench/RESULTS.md.
//!
//! Not a test: timing is noisy on shared machines, so this runs on demand
//! (`make ct`, niced and bounded), never in `make test`.
//!
//! Samples per benchmark: `GUOMI_CT_SAMPLES` (default 100000; the SM2
//! benchmarks use a tenth of it, each sample being a scalar multiplication).
#![forbid(unsafe_code)]

use dudect_bencher::rand::{Rng, RngExt};
use dudect_bencher::{ctbench_main, BenchRng, Class, CtRunner};
use guomi_core::backend::Backend;
use guomi_core::hmac::HmacSm3;
use guomi_core::sm2::{self, encrypt::Layout, sign};
use guomi_core::sm4::{gcm::Sm4Gcm, Sm4};

fn samples() -> usize {
    std::env::var("GUOMI_CT_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// A fair coin: true puts the sample in the Left (fixed) class.
fn left(rng: &mut BenchRng) -> bool {
    rng.random::<bool>()
}

fn class(left: bool) -> Class {
    if left {
        Class::Left
    } else {
        Class::Right
    }
}

fn random<const N: usize>(rng: &mut BenchRng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill_bytes(&mut b);
    b
}

/// SM4 key schedule + 8-block encryption: fixed key (Left) vs random keys.
fn sm4_key(runner: &mut CtRunner, rng: &mut BenchRng, backend: Backend) {
    let fixed = [0x5au8; 16];
    let inputs: Vec<(bool, [u8; 16])> = (0..samples())
        .map(|_| {
            let c = left(rng);
            let key = if c { fixed } else { random(rng) };
            (c, key)
        })
        .collect();
    for (c, key) in inputs {
        runner.run_one(class(c), || {
            let mut buf = [0u8; 128];
            let cipher = Sm4::with_backend(&key, backend);
            cipher.encrypt_blocks(&mut buf);
            buf[0]
        });
    }
}

/// SM4 8-block encryption under one key: fixed plaintext (Left) vs random.
fn sm4_data(runner: &mut CtRunner, rng: &mut BenchRng, backend: Backend) {
    let cipher = Sm4::with_backend(&random(rng), backend);
    let fixed = [0u8; 128];
    let inputs: Vec<(bool, [u8; 128])> = (0..samples())
        .map(|_| {
            let c = left(rng);
            let data: [u8; 128] = if c { fixed } else { random(rng) };
            (c, data)
        })
        .collect();
    for (c, data) in inputs {
        runner.run_one(class(c), || {
            // A copy per call (a fixed cost): the closure is Fn.
            let mut data = data;
            cipher.encrypt_blocks(&mut data);
            data[0]
        });
    }
}

fn sm4_key_portable(r: &mut CtRunner, g: &mut BenchRng) {
    sm4_key(r, g, Backend::Portable)
}
fn sm4_key_aesni_avx2(r: &mut CtRunner, g: &mut BenchRng) {
    sm4_key(r, g, Backend::AesNiAvx2)
}
fn sm4_key_gfni_avx512(r: &mut CtRunner, g: &mut BenchRng) {
    sm4_key(r, g, Backend::GfniAvx512)
}
fn sm4_data_portable(r: &mut CtRunner, g: &mut BenchRng) {
    sm4_data(r, g, Backend::Portable)
}
fn sm4_data_aesni_avx2(r: &mut CtRunner, g: &mut BenchRng) {
    sm4_data(r, g, Backend::AesNiAvx2)
}
fn sm4_data_gfni_avx512(r: &mut CtRunner, g: &mut BenchRng) {
    sm4_data(r, g, Backend::GfniAvx512)
}

fn sm2_key(rng: &mut BenchRng) -> sm2::PrivateKey {
    loop {
        if let Ok(k) = sm2::PrivateKey::from_bytes(&random::<32>(rng)) {
            return k;
        }
    }
}

/// SM2 signing, scalar multiplication by the nonce: one key, fixed k (Left)
/// vs random k (the fixed-nonce test hook; signing itself derives k).
fn sm2_sign_nonce(runner: &mut CtRunner, rng: &mut BenchRng) {
    let key = sm2_key(rng);
    let e = random::<32>(rng);
    let fixed_k = random::<32>(rng);
    let inputs: Vec<(bool, [u8; 32])> = (0..samples() / 10)
        .map(|_| {
            let c = left(rng);
            let k = if c { fixed_k } else { random(rng) };
            (c, k)
        })
        .collect();
    for (c, k) in inputs {
        runner.run_one(class(c), || {
            sign::sign_digest_with_k_for_tests(&key, &e, &k).is_ok()
        });
    }
}

/// Control for [`sm2_sign_nonce`]: two different fixed nonces. A large |t|
/// here would mean the time depends on k's value; a small one with a large
/// |t| for fixed-vs-random points at the machine (caches, predictors
/// learning one repeated input), not at a k-dependent path.
fn sm2_sign_nonce_two_fixed(runner: &mut CtRunner, rng: &mut BenchRng) {
    let key = sm2_key(rng);
    let e = random::<32>(rng);
    let (k1, k2) = (random::<32>(rng), random::<32>(rng));
    let inputs: Vec<(bool, [u8; 32])> = (0..samples() / 10)
        .map(|_| {
            let c = left(rng);
            (c, if c { k1 } else { k2 })
        })
        .collect();
    for (c, k) in inputs {
        runner.run_one(class(c), || {
            sign::sign_digest_with_k_for_tests(&key, &e, &k).is_ok()
        });
    }
}

/// SM2 key setup (d*G by the fixed-base comb, (1 + d)^-1): fixed d (Left)
/// vs random d; narrows down [`sm2_sign_nonce`] to the scalar multiplication.
fn sm2_keygen(runner: &mut CtRunner, rng: &mut BenchRng) {
    let fixed = sm2_key(rng).to_bytes();
    let inputs: Vec<(bool, [u8; 32])> = (0..samples() / 10)
        .map(|_| {
            let c = left(rng);
            (c, if c { fixed } else { sm2_key(rng).to_bytes() })
        })
        .collect();
    for (c, d) in inputs {
        runner.run_one(class(c), || sm2::PrivateKey::from_bytes(&d).is_ok());
    }
}

/// SM2 signing with the private key: fixed key (Left) vs random keys, fresh
/// entropy for both (the scalar d enters (1 + d)^-1 and s = ... - r*d).
fn sm2_sign_key(runner: &mut CtRunner, rng: &mut BenchRng) {
    let fixed = sm2_key(rng);
    let e = random::<32>(rng);
    let n = samples() / 10;
    let mut inputs = Vec::with_capacity(n);
    for _ in 0..n {
        let c = left(rng);
        let key = if c { fixed.clone() } else { sm2_key(rng) };
        inputs.push((c, key, random::<32>(rng)));
    }
    for (c, key, entropy) in inputs {
        runner.run_one(class(c), || sign::sign_digest(&key, &e, &entropy).r[0]);
    }
}

/// SM2 decryption (d*C1, KDF, C3 check): one key, one fixed ciphertext
/// (Left) vs fresh ciphertexts of the same length (Right).
fn sm2_decrypt(runner: &mut CtRunner, rng: &mut BenchRng) {
    let key = sm2_key(rng);
    let msg = [0x42u8; 32];
    let encrypt = |rng: &mut BenchRng| {
        sm2::encrypt::encrypt_with_k_for_tests(key.public_key(), &msg, Layout::C1C3C2, &random(rng))
            .expect("k in range")
    };
    let fixed = encrypt(rng);
    let inputs: Vec<(bool, Vec<u8>)> = (0..samples() / 10)
        .map(|_| {
            let c = left(rng);
            let ct = if c { fixed.clone() } else { encrypt(rng) };
            (c, ct)
        })
        .collect();
    for (c, ct) in inputs {
        runner.run_one(class(c), || {
            sm2::encrypt::decrypt(&key, &ct, Layout::C1C3C2).is_ok()
        });
    }
}

/// SM2 decryption under the private key: fixed key (Left) vs random keys,
/// each sample a fresh ciphertext for its key (so C1 is random in both
/// classes and only the secret differs).
fn sm2_decrypt_key(runner: &mut CtRunner, rng: &mut BenchRng) {
    let fixed = sm2_key(rng);
    let msg = [0x42u8; 32];
    let n = samples() / 10;
    let mut inputs = Vec::with_capacity(n);
    for _ in 0..n {
        let c = left(rng);
        let key = if c { fixed.clone() } else { sm2_key(rng) };
        let ct = sm2::encrypt::encrypt_with_k_for_tests(
            key.public_key(),
            &msg,
            Layout::C1C3C2,
            &random(rng),
        )
        .expect("k in range");
        inputs.push((c, key, ct));
    }
    for (c, key, ct) in inputs {
        runner.run_one(class(c), || {
            sm2::encrypt::decrypt(&key, &ct, Layout::C1C3C2).is_ok()
        });
    }
}

/// HMAC-SM3 tag check: a tag wrong in its first byte (Left) vs in its last.
fn hmac_sm3_verify(runner: &mut CtRunner, rng: &mut BenchRng) {
    let mac = {
        let mut m = HmacSm3::new(&random::<32>(rng));
        m.update(b"guomi ct");
        m
    };
    let good = mac.peek();
    let inputs: Vec<(bool, [u8; 32])> = (0..samples())
        .map(|_| {
            let c = left(rng);
            let mut tag = good;
            tag[if c { 0 } else { 31 }] ^= 1;
            (c, tag)
        })
        .collect();
    for (c, tag) in inputs {
        runner.run_one(class(c), || mac.verify(&tag).is_err());
    }
}

/// SM4-GCM tag check on decryption: tag wrong in byte 0 (Left) vs byte 15.
fn sm4_gcm_tag(runner: &mut CtRunner, rng: &mut BenchRng) {
    let gcm = Sm4Gcm::new(&random::<16>(rng), 16, false).expect("key");
    let nonce = random::<12>(rng);
    let mut sealed = vec![0u8; 64 + 16];
    gcm.encrypt(&nonce, b"", &[7u8; 64], &mut sealed)
        .expect("seal");
    let inputs: Vec<(bool, Vec<u8>)> = (0..samples())
        .map(|_| {
            let c = left(rng);
            let mut ct = sealed.clone();
            let at = if c { 64 } else { 79 };
            ct[at] ^= 1;
            (c, ct)
        })
        .collect();
    for (c, ct) in inputs {
        runner.run_one(class(c), || {
            let mut out = [0u8; 64];
            gcm.decrypt(&nonce, b"", &ct, &mut out).is_err()
        });
    }
}

ctbench_main!(
    sm4_key_portable,
    sm4_key_aesni_avx2,
    sm4_key_gfni_avx512,
    sm4_data_portable,
    sm4_data_aesni_avx2,
    sm4_data_gfni_avx512,
    sm2_sign_nonce,
    sm2_sign_nonce_two_fixed,
    sm2_sign_key,
    sm2_keygen,
    sm2_decrypt,
    sm2_decrypt_key,
    hmac_sm3_verify,
    sm4_gcm_tag
);
