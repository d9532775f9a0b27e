//! The bodies of the fuzz targets, shared by the libFuzzer binaries
//! (`fuzz_targets/*.rs`) and by the corpus regression test in guomi-core
//! (`rust/guomi-core/tests/fuzz_corpus.rs` replays `fuzz/corpus/<target>/*`
//! through the same checks). Each body panics when an invariant breaks:
//! a parser that panics, or one that accepts an input it must refuse.
#![forbid(unsafe_code)]

pub mod checks;
