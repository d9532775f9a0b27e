# guomi: the README's two commands are `make run` and `make test`.
# Every target sets up what it needs from scratch: a virtual environment in .venv, the
# Python packages of the extras it needs (pinned in pyproject.toml), the Rust extension
# built once (cached by cargo in target/). Stamp files in .venv remember what was done, so
# a second `make run` with nothing changed starts in seconds: the Rust extension is rebuilt
# only when a Rust source, Cargo file or pyproject.toml changed, and packages are installed
# again only when pyproject.toml changed.

SHELL        := /bin/bash
PYTHON       ?= python3
VENV         := .venv
PY           := $(VENV)/bin/python
PROFILE      ?= release
PYTEST_ARGS  ?=
# Parallel work on one checkout (several shells, several helpers) must not
# run two maturin builds into one venv at once.
BUILD_LOCK   := flock $(CURDIR)/target/.guomi-build.lock

# The extras each target installs (pyproject.toml [project.optional-dependencies]; `+`
# separates names). `run` needs only the service and the command line; `test` and `lint`
# need every runtime extra plus their tools. When an extra is added to pyproject.toml it
# joins `all`, and so `test` and `lint`, by itself.
RUN_EXTRAS   := server+cli
TEST_EXTRAS  := all+test
LINT_EXTRAS  := all+lint
BENCH_EXTRAS := all+test+bench

VENV_STAMP   := $(VENV)/.venv-stamp
BUILD_STAMP  := $(VENV)/.build-$(PROFILE)-stamp
TEST_BUILD_STAMP := $(VENV)/.build-$(PROFILE)-test-hooks-stamp
extras_stamp  = $(VENV)/.extras-$(1)-stamp
RUST_SOURCES := Cargo.toml $(wildcard Cargo.lock) $(shell find rust -name '*.rs' -o -name 'Cargo.toml' -o -name 'build.rs' 2>/dev/null)

export CARGO_TERM_COLOR ?= never

.PHONY: all run test test-rust test-python build build-test venv lint fmt bench ci ct fuzz clean

all: build

$(VENV_STAMP):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "maturin==1.16.0"
	@touch $@

venv: $(VENV_STAMP)

# The packages of a set of extras, e.g. .venv/.extras-server+cli-stamp.
$(VENV)/.extras-%-stamp: pyproject.toml scripts/extras.py | $(VENV_STAMP)
	$(PY) scripts/extras.py $* > $(VENV)/.extras-$*.txt
	$(PY) -m pip install --quiet -r $(VENV)/.extras-$*.txt
	@touch $@

# The Rust extension and guomi itself (editable: Python sources are used in place), built
# with maturin only when a Rust source changed. Switching PROFILE rebuilds.
$(BUILD_STAMP): $(RUST_SOURCES) pyproject.toml | $(VENV_STAMP)
	@mkdir -p target
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BUILD_LOCK) $(VENV)/bin/maturin develop --profile $(PROFILE)
	@rm -f $(VENV)/.build-*-stamp
	@touch $@

# The same, with the fixed-nonce SM2 hooks the known-answer tests use (cargo feature
# test-hooks; never in a published wheel: pyproject's maturin features are empty).
$(TEST_BUILD_STAMP): $(RUST_SOURCES) pyproject.toml | $(VENV_STAMP)
	@mkdir -p target
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BUILD_LOCK) $(VENV)/bin/maturin develop --profile $(PROFILE) --features test-hooks
	@rm -f $(VENV)/.build-*-stamp
	@touch $@

## build: compile the Rust core (release; PROFILE=dev-opt for quick builds) into .venv
build: $(BUILD_STAMP)

build-test: $(TEST_BUILD_STAMP)

## run: the custody service on SQLite under .guomi-data/ on 127.0.0.1:8200: initialised and
## unsealed on first start (shares + root token in .guomi-data/operator-init.json, mode 0600,
## demo only), shown working through the SDK, then serving until Ctrl-C
run: $(BUILD_STAMP) $(call extras_stamp,$(RUN_EXTRAS))
	$(PY) -m guomi.demo

## test: set up from scratch and pass every test (Rust and Python)
test: test-rust test-python

test-rust:
	cargo test --workspace --exclude guomi-py --quiet

# The PostgreSQL tests (guomi.kms storage, two servers on one database) need a real
# server: the script installs PostgreSQL from Debian's packages when missing, starts a
# throw-away cluster on 127.0.0.1, exports GUOMI_TEST_POSTGRES_URL and stops it afterwards.
# The assessment-pack browser tests (layout, screenshot, PDF) need headless Chromium:
# scripts/install-chromium.sh installs Debian's package when it is missing.
test-python: $(TEST_BUILD_STAMP) $(call extras_stamp,$(TEST_EXTRAS))
	scripts/install-jre.sh
	scripts/install-chromium.sh >/dev/null
	scripts/install-softhsm.sh
	scripts/ensure-openssl-dev.sh
	scripts/pg-test-server.sh run -- $(PY) -m pytest $(PYTEST_ARGS)

## lint: ruff, ruff format --check, mypy --strict, import-linter (a contract per layer),
## clippy -D warnings, rustfmt --check
lint: $(TEST_BUILD_STAMP) $(call extras_stamp,$(LINT_EXTRAS))
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy --strict src/guomi
	$(VENV)/bin/lint-imports
	cargo clippy --workspace --all-targets -- -D warnings
	cargo fmt --all -- --check

## ci: what .ci/run runs on a fresh machine: the README's test command, then lint
ci: test lint

fmt: $(call extras_stamp,$(LINT_EXTRAS))
	$(VENV)/bin/ruff format src tests bench scripts
	$(VENV)/bin/ruff check --fix src tests bench scripts
	cargo fmt --all

## bench: same-run benchmarks against OpenSSL, pyca and gmssl; see bench/RESULTS.md
bench: $(BUILD_STAMP) $(call extras_stamp,$(BENCH_EXTRAS))
	$(PY) bench/run.py

## ct: dudect constant-time measurements (rust/guomi-ct), niced; figures in bench/RESULTS.md
ct:
	scripts/ct.sh $(CT_SAMPLES)

## fuzz: every fuzz target (fuzz/, libFuzzer + atheris) for FUZZ_SECONDS each, one at a time
fuzz: build
	PYTHON=$(PY) scripts/fuzz.sh all $(FUZZ_SECONDS)

clean:
	rm -rf $(VENV) target .pytest_cache .mypy_cache .ruff_cache .hypothesis
