#!/usr/bin/env bash
# Java for the Spark engine's tests (guomi.bulk, engine="spark"): PySpark 3.5 needs a JRE
# 8/11/17. Installs Debian's openjdk-17-jre-headless when no `java` is on the PATH
# (idempotent; apt-get update first; needs root, as CI has). PySpark itself comes from
# PyPI through the `spark` extra (pyproject.toml), which `make build` installs.
set -euo pipefail

if command -v java >/dev/null 2>&1; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "install-jre: no java and not root: install openjdk-17-jre-headless (Spark tests will fail)" >&2
    exit 0
fi
echo "install-jre: installing openjdk-17-jre-headless from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# the JRE's postinst expects the man directory that slim images delete
mkdir -p /usr/share/man/man1
apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
java -version
