#!/usr/bin/env bash
# Coverage-guided fuzzing of guomi-core's parsers with libFuzzer (fuzz/).
#
#   scripts/fuzz.sh build                  build every target
#   scripts/fuzz.sh run TARGET [SECONDS]   fuzz one target (default 600 s; builds if needed), then
#                                          merge what it found into fuzz/corpus/TARGET
#   scripts/fuzz.sh all [SECONDS]          every target, one after the other
#
# Python targets (py_*) run fuzz/python/<name>.py under atheris (pinned below,
# installed into the venv when missing; PYTHON=... picks the interpreter).
#   scripts/fuzz.sh list                   the target names
#
# The targets are built exactly as `cargo fuzz build -s none` builds them
# (libfuzzer-sys + LLVM's SanitizerCoverage through -Cpasses=sancov-module),
# which needs no nightly compiler, so the stable toolchain is enough and
# nothing has to be installed besides the crates cargo fetches (libfuzzer-sys
# compiles libFuzzer with the system C++ compiler; g++ is installed here when
# missing). Runs are niced: the machine is shared.
# Logs: target/fuzz-logs/TARGET.log (the last lines carry the figures).
set -euo pipefail
cd "$(dirname "$0")/.."

TRIPLE=x86_64-unknown-linux-gnu
FUZZ_TARGET_DIR=${FUZZ_TARGET_DIR:-target/fuzz}
BIN_DIR=$FUZZ_TARGET_DIR/$TRIPLE/release
TARGETS=(sm2_signature sm2_ciphertext stream_segment pkcs8_encrypted keys)
# Python-side parsers, fuzzed with atheris (libFuzzer inside CPython).
PY_TARGETS=(py_tokens py_stream py_keyset py_http_bodies)
PY=${PYTHON:-.venv/bin/python}
ATHERIS_VERSION=2.3.0

ensure_cxx() {
    if ! command -v c++ >/dev/null 2>&1; then
        sudo apt-get update -qq && sudo apt-get install -y -qq g++
    fi
}

build() {
    ensure_cxx
    RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
--cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
    nice -n 19 cargo build --release --manifest-path fuzz/Cargo.toml \
        --target "$TRIPLE" --target-dir "$FUZZ_TARGET_DIR" --bins
}

ensure_atheris() {
    "$PY" -c "import atheris" 2>/dev/null || "$PY" -m pip install --quiet "atheris==$ATHERIS_VERSION"
}

# The command line of one target's fuzzer.
fuzzer() {
    case $1 in
        py_*) echo "env PYTHONPATH=src $PY fuzz/python/${1#py_}.py" ;;
        *) echo "$BIN_DIR/$1" ;;
    esac
}

run() {
    local target=$1 seconds=${2:-600}
    local cmd
    cmd=$(fuzzer "$target")
    local seeds=fuzz/corpus/$target work=target/fuzz-work/$target
    local log=target/fuzz-logs/$target.log
    mkdir -p "$seeds" "$work" target/fuzz-logs
    echo "fuzzing $target for ${seconds}s (log: $log)"
    # -timeout: an input taking 10 s is reported as a hang; -rss_limit_mb: as an OOM.
    # shellcheck disable=SC2086 # $cmd is a command line
    nice -n 19 $cmd "$work" "$seeds" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="target/fuzz-logs/$target-" >"$log" 2>&1
    # Keep a minimised corpus in the repository: the inputs that add coverage.
    case $target in
        py_*)
            # atheris cannot run libFuzzer's -merge (it re-executes argv[0],
            # the script); its in-run corpus is already small: keep it beside
            # the seeds.
            cp "$work"/* "$seeds"/ 2>/dev/null || true
            ;;
        *)
            local merged
            merged=$(mktemp -d)
            # shellcheck disable=SC2086
            nice -n 19 $cmd -merge=1 "$merged" "$seeds" "$work" >>"$log" 2>&1
            if [ -n "$(ls -A "$merged")" ]; then
                rm -f "$seeds"/*
                cp "$merged"/* "$seeds"/
            fi
            rm -rf "$merged"
            ;;
    esac
    # The fuzzing run's own summary (the merge that follows prints its own DONE line).
    grep -m1 -E "^#[0-9]+[[:space:]]+DONE" "$log" || true
    grep -E "^Done [0-9]+ runs|stat::number_of_executed_units|stat::average_exec_per_sec" "$log" | head -3
}

case "${1:-all}" in
    build) build ;;
    list) printf '%s\n' "${TARGETS[@]}" "${PY_TARGETS[@]}" ;;
    run)
        case $2 in
            py_*) ensure_atheris ;;
            *) [ -x "$BIN_DIR/$2" ] || build ;;
        esac
        run "$2" "${3:-600}"
        ;;
    all)
        build
        ensure_atheris
        for t in "${TARGETS[@]}" "${PY_TARGETS[@]}"; do run "$t" "${2:-600}"; done
        ;;
    *) echo "usage: $0 build|list|run TARGET [SECONDS]|all [SECONDS]" >&2; exit 2 ;;
esac
