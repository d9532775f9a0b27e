#!/usr/bin/env bash
# Installs headless Chromium from Debian's packages when it is missing (idempotent).
#
# Used by `make test` for the assessment-pack browser tests (tests/assess/test_browser.py:
# layout check, screenshot, PDF) and by `guomi assess` to render report.pdf. Prints the
# browser's path. Never fails the build: without root or apt the browser tests skip
# locally, and CI (which runs as root on Debian) always gets the package.
set -uo pipefail

find_browser() {
    for name in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

if path=$(find_browser); then
    echo "$path"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install-chromium: not root and no passwordless sudo; browser tests will skip" >&2
        exit 0
    fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: no apt-get on this machine; browser tests will skip" >&2
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2 || true
# fonts-noto-cjk: the report's Chinese labels render as glyphs, not boxes.
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >&2 \
    || echo "install-chromium: apt-get install failed; browser tests will skip" >&2

find_browser || exit 0
