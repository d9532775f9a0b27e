#!/usr/bin/env bash
# The SM2 digest-length interop test (tests/primitives/test_sm2_digest_length.py)
# compiles a small C helper against libcrypto: install gcc and the OpenSSL
# headers from Debian when missing (idempotent; apt-get update first).
set -euo pipefail
if command -v gcc >/dev/null 2>&1 && [ -f /usr/include/openssl/ec.h ]; then
    exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq gcc libc6-dev libssl-dev
