//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`, grown and
//! minimised by `make fuzz`) through the same checks the fuzz targets run
//! (`fuzz/src/checks.rs`, compiled in here), so every input the fuzzers
//! found interesting stays a regression test of `cargo test`.

#[path = "../../../fuzz/src/checks.rs"]
mod checks;

use std::path::PathBuf;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("corpus entry").path();
        check(&std::fs::read(&path).expect("corpus file"));
        n += 1;
    }
    assert!(n > 0, "empty corpus {}", dir.display());
}

#[test]
fn keys_corpus() {
    replay("keys", checks::keys);
}

#[test]
fn pkcs8_encrypted_corpus() {
    replay("pkcs8_encrypted", checks::pkcs8_encrypted);
}

#[test]
fn sm2_signature_corpus() {
    replay("sm2_signature", checks::sm2_signature);
}

#[test]
fn sm2_ciphertext_corpus() {
    replay("sm2_ciphertext", checks::sm2_ciphertext);
}

#[test]
fn stream_segment_corpus() {
    replay("stream_segment", checks::stream_segment);
}
