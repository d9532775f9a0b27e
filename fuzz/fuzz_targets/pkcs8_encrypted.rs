//! libFuzzer entry point; the checks live in `guomi_fuzz::checks::pkcs8_encrypted`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| guomi_fuzz::checks::pkcs8_encrypted(data));
