# guomi: the README's two commands are `make run` and `make test`.
# Every target sets up what it needs from scratch: a virtual environment in
# .venv, Python dependencies pinned in pyproject.toml, the Rust extension
# built once in release mode (cached by cargo in target/).

SHELL        := /bin/bash
PYTHON       ?= python3
VENV         := .venv
PY           := $(VENV)/bin/python
STAMP        := $(VENV)/.deps-stamp
EXTRAS       ?= test,lint
# Parallel work on one checkout (several shells, several helpers) must not
# run two maturin builds into one venv at once.
BUILD_LOCK   := flock $(CURDIR)/target/.guomi-build.lock
PYTEST_ARGS  ?=
PROFILE      ?= release

export CARGO_TERM_COLOR ?= never

.PHONY: all run test test-rust test-python build venv lint fmt bench clean ct fuzz

all: build

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "maturin==1.16.0"
	@touch $@

venv: $(STAMP)

## build: compile the Rust core in release mode and install it into .venv
build: $(STAMP)
	@mkdir -p target
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BUILD_LOCK) $(VENV)/bin/maturin develop --profile $(PROFILE) --extras $(EXTRAS) $(CARGO_FEATURES)

## run: the custody service on SQLite under .guomi-data/ on 127.0.0.1:8200: initialised and
## unsealed on first start (shares + root token in .guomi-data/operator-init.json, mode 0600,
## demo only), shown working through the SDK, then serving until Ctrl-C
run: build
	$(PY) -m guomi.demo

## test: set up from scratch and pass every test (Rust and Python)
# The test build exposes the fixed-nonce SM2 hooks the known-answer tests use.
test test-python: CARGO_FEATURES = --features test-hooks
test: build test-rust test-python

test-rust:
	cargo test --workspace --exclude guomi-py --quiet

# The PostgreSQL tests (guomi.kms storage, two servers on one database) need a real
# server: the script installs PostgreSQL from Debian's packages when missing, starts a
# throw-away cluster on 127.0.0.1, exports GUOMI_TEST_POSTGRES_URL and stops it afterwards.
test-python: build
	scripts/ensure-openssl-dev.sh
	scripts/pg-test-server.sh run -- $(PY) -m pytest $(PYTEST_ARGS)

## lint: ruff, mypy --strict, import-linter, clippy -D warnings, rustfmt --check
lint: build
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy --strict src/guomi
	$(VENV)/bin/lint-imports
	cargo clippy --workspace --all-targets -- -D warnings
	cargo fmt --all -- --check

fmt: $(STAMP)
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench
	cargo fmt --all

## bench: same-run benchmarks against OpenSSL, pyca and gmssl; see bench/RESULTS.md
bench:
	$(MAKE) build EXTRAS=test,lint,bench
	$(PY) bench/run.py

## ct: dudect constant-time measurements (rust/guomi-ct), niced; figures in bench/RESULTS.md
ct:
	scripts/ct.sh $(CT_SAMPLES)

## fuzz: every fuzz target (fuzz/, libFuzzer + atheris) for FUZZ_SECONDS each, one at a time
fuzz: build
	PYTHON=$(PY) scripts/fuzz.sh all $(FUZZ_SECONDS)

clean:
	rm -rf $(VENV) target .pytest_cache .mypy_cache .ruff_cache .hypothesis
