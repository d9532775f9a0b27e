#!/usr/bin/env bash
# SoftHSM2 (a PKCS#11 token in software, from Debian's packages) for the tests of the
# pkcs11 seal (tests/ops/test_pkcs11_seal.py). Idempotent: does nothing when the module
# is already installed. `make test` calls it.
set -euo pipefail

module_present() {
    for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
             /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so; do
        [ -e "$m" ] && return 0
    done
    return 1
}

if module_present && command -v softhsm2-util >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
# Other jobs on the machine may hold the dpkg lock for a while: wait for it.
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq softhsm2 >/dev/null
module_present || { echo "install-softhsm.sh: libsofthsm2.so not found after install" >&2; exit 1; }
