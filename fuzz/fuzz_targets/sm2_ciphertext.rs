//! libFuzzer entry point; the checks live in `guomi_fuzz::checks::sm2_ciphertext`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| guomi_fuzz::checks::sm2_ciphertext(data));
