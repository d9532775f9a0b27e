#!/usr/bin/env bash
# dudect-style constant-time measurements (rust/guomi-ct): builds the harness
# in release mode and runs every benchmark once, niced and bounded in time.
#   scripts/ct.sh [SAMPLES]      samples per SM4/HMAC/GCM benchmark (default
#                                1000000; the SM2 benchmarks take a tenth)
# Output: the t-statistics per benchmark (|t| < 5 is the pass mark), also
# saved to target/ct/last-run.txt. Not part of `make test`: timing on a shared
# machine is evidence to record, not a gate.
set -euo pipefail
cd "$(dirname "$0")/.."
SAMPLES=${1:-1000000}
CARGO_TARGET_DIR=target/ct nice -n 10 cargo build --release --manifest-path rust/guomi-ct/Cargo.toml
GUOMI_CT_SAMPLES=$SAMPLES timeout "${CT_TIMEOUT:-1800}" nice -n 10 target/ct/release/guomi-ct \
    | tee target/ct/last-run.txt
