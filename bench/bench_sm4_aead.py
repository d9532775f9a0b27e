"""Same-run benchmark of SM4-GCM, SM4-CCM and SM4-XTS against their anchors.

Anchors (OpenSSL 3.0's CLI has no SM4-GCM/CCM/XTS):
- pyca/cryptography ``algorithms.SM4`` + ``modes.GCM`` (OpenSSL inside its
  wheel) for GCM encrypt/decrypt at 1 MiB and the 64-byte one-shot call;
- ``openssl speed -evp sm4-ctr`` as the reference line for GCM and CCM, and
  ``openssl speed -evp sm4-ecb`` for XTS.

Time is CPU time on both sides (``time.thread_time()`` here, user CPU time
in ``openssl speed`` without ``-elapsed``): the benchmark machines are
shared and loaded, and CPU time is what stays comparable under load. Pass
``--wall`` to use wall-clock time on both sides instead.

Every round measures every contender once, interleaved; the table shows the
median over rounds and guomi's ratio to the anchor. guomi is measured on the
fast path and on the forced portable path (``_rust.set_backend``).

Usage: ``.venv/bin/python bench/bench_sm4_aead.py [--rounds N]``
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import subprocess
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from guomi import _rust
from guomi.primitives.sm4 import SM4CCM, SM4GCM, SM4XTS

MIB = 1 << 20
KEY = bytes(range(16))
NONCE = bytes(range(12))
AAD = b"associated data"


def cpu_facts() -> str:
    model, flags = "?", set()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name") and model == "?":
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ["aes", "pclmulqdq", "avx2", "vaes", "vpclmulqdq", "gfni", "avx512f"]
    return f"{model}; flags: {' '.join(f for f in wanted if f in flags)}"


CLOCK: Callable[[], float] = time.thread_time
WALL = False


def rate(fn: Callable[[], object], nbytes: int, min_time: float = 0.25) -> float:
    """MB/s of ``fn`` (which processes ``nbytes``), timed over >= min_time."""
    fn()
    n, start = 0, CLOCK()
    while True:
        fn()
        n += 1
        el = CLOCK() - start
        if el >= min_time:
            return nbytes * n / el / 1e6


def per_call_us(fn: Callable[[], object], calls: int = 20000) -> float:
    fn()
    start = CLOCK()
    for _ in range(calls):
        fn()
    return (CLOCK() - start) / calls * 1e6


def openssl_speed(cipher: str, nbytes: int = MIB) -> float:
    """MB/s from ``openssl speed -evp <cipher>`` (machine-readable)."""
    cmd = ["openssl", "speed", "-evp", cipher, "-bytes", str(nbytes), "-seconds", "1", "-mr"]
    if WALL:
        cmd.append("-elapsed")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("+F:"):
            return float(line.rsplit(":", 1)[1]) / 1e6
    raise RuntimeError(f"no +F line from openssl speed: {out!r}")


def pyca_gcm_encrypt(key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    return enc.update(data) + enc.finalize() + enc.tag


def pyca_gcm_decrypt(key: bytes, nonce: bytes, ct_tag: bytes, aad: bytes) -> bytes:
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, ct_tag[-16:])).decryptor()
    dec.authenticate_additional_data(aad)
    return dec.update(ct_tag[:-16]) + dec.finalize()


def guomi_set(backend: str) -> dict[str, Callable[[], float]]:
    """Measurements of guomi on ``backend`` (objects built after switching)."""
    _rust.set_backend(backend)
    gcm, ccm = SM4GCM(KEY), SM4CCM(KEY)
    xts = SM4XTS(bytes(range(32)), standard="gb")
    xts_ieee = SM4XTS(bytes(range(32)), standard="ieee")
    data = bytes(MIB)
    sealed = gcm.encrypt(NONCE, data, AAD)
    sealed_ccm = ccm.encrypt(NONCE, data, AAD)
    xct = xts.encrypt(bytes(16), data)
    small = bytes(64)
    sector = bytes(4096)
    return {
        "GCM encrypt 1 MiB": lambda: rate(lambda: gcm.encrypt(NONCE, data, AAD), MIB),
        "GCM decrypt 1 MiB": lambda: rate(lambda: gcm.decrypt(NONCE, sealed, AAD), MIB),
        "CCM encrypt 1 MiB": lambda: rate(lambda: ccm.encrypt(NONCE, data, AAD), MIB),
        "CCM decrypt 1 MiB": lambda: rate(lambda: ccm.decrypt(NONCE, sealed_ccm, AAD), MIB),
        "XTS-GB encrypt 1 MiB": lambda: rate(lambda: xts.encrypt(bytes(16), data), MIB),
        "XTS-GB decrypt 1 MiB": lambda: rate(lambda: xts.decrypt(bytes(16), xct), MIB),
        "XTS-IEEE encrypt 1 MiB": lambda: rate(lambda: xts_ieee.encrypt(bytes(16), data), MIB),
        "XTS-GB encrypt 4 KiB sector (MB/s)": lambda: rate(lambda: xts.encrypt(bytes(16), sector), 4096),
        "CCM encrypt 64 B one-shot (us/call)": lambda: per_call_us(lambda: ccm.encrypt(NONCE, small, None)),
        "GCM encrypt 64 B one-shot (us/call)": lambda: per_call_us(lambda: gcm.encrypt(NONCE, small, None)),
        "SM4GCM(key) + encrypt 64 B (us/call)": lambda: per_call_us(
            lambda: SM4GCM(KEY).encrypt(NONCE, small, None)
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-portable", action="store_true")
    ap.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time")
    args = ap.parse_args()
    global CLOCK, WALL
    if args.wall:
        CLOCK, WALL = time.perf_counter, True

    fast = _rust.detected_backend()
    order = ["gfni-avx512", "aesni-avx2", "portable"]
    # Every path this CPU has, fastest first: the AES-NI path is the one of
    # the target machine class (no GFNI) even when this CPU has GFNI.
    backends = order[order.index(fast) :] if fast in order else [fast]
    if args.no_portable and len(backends) > 1:
        backends = backends[:-1]
    data = bytes(MIB)
    sealed = pyca_gcm_encrypt(KEY, NONCE, data, AAD)
    small = bytes(64)
    anchors: dict[str, Callable[[], float]] = {
        "pyca GCM encrypt 1 MiB": lambda: rate(lambda: pyca_gcm_encrypt(KEY, NONCE, data, AAD), MIB),
        "pyca GCM decrypt 1 MiB": lambda: rate(lambda: pyca_gcm_decrypt(KEY, NONCE, sealed, AAD), MIB),
        "pyca GCM 64 B one-shot (us/call)": lambda: per_call_us(
            lambda: pyca_gcm_encrypt(KEY, NONCE, small, b""), 5000
        ),
        "openssl speed -evp sm4-ctr 1 MiB": lambda: openssl_speed("sm4-ctr"),
        "openssl speed -evp sm4-ecb 1 MiB": lambda: openssl_speed("sm4-ecb"),
    }
    samples: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for name, fn in anchors.items():
            samples.setdefault(name, []).append(fn())
        for b in backends:
            for name, fn in guomi_set(b).items():
                samples.setdefault(f"guomi[{b}] {name}", []).append(fn())
    _rust.set_backend(fast)
    med = {k: statistics.median(v) for k, v in samples.items()}

    ossl_ctr, ossl_ecb = med["openssl speed -evp sm4-ctr 1 MiB"], med["openssl speed -evp sm4-ecb 1 MiB"]
    print(f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"cpu: {cpu_facts()}; python {platform.python_version()}")
    clock = "wall clock (perf_counter, openssl -elapsed)" if WALL else "CPU time (thread_time, openssl user)"
    print(f"rounds: {args.rounds} (medians); timing: {clock}\n")
    print("| operation | guomi | anchor | anchor value | ratio |")
    print("|---|---:|---|---:|---:|")
    for b in backends:
        g = {k.split("] ", 1)[1]: v for k, v in med.items() if k.startswith(f"guomi[{b}] ")}
        rows = [
            ("GCM encrypt 1 MiB", "pyca SM4-GCM", med["pyca GCM encrypt 1 MiB"]),
            ("GCM encrypt 1 MiB", "openssl sm4-ctr", ossl_ctr),
            ("GCM decrypt 1 MiB", "pyca SM4-GCM", med["pyca GCM decrypt 1 MiB"]),
            ("CCM encrypt 1 MiB", "openssl sm4-ctr", ossl_ctr),
            ("CCM decrypt 1 MiB", "openssl sm4-ctr", ossl_ctr),
            ("XTS-GB encrypt 1 MiB", "openssl sm4-ecb", ossl_ecb),
            ("XTS-GB decrypt 1 MiB", "openssl sm4-ecb", ossl_ecb),
            ("XTS-IEEE encrypt 1 MiB", "openssl sm4-ecb", ossl_ecb),
        ]
        for op, anchor, av in rows:
            print(f"| [{b}] {op} (MB/s) | {g[op]:.0f} | {anchor} | {av:.0f} | {g[op] / av:.2f}x |")
        op = "XTS-GB encrypt 4 KiB sector (MB/s)"
        ratio = g[op] / ossl_ecb
        print(f"| [{b}] {op} | {g[op]:.0f} | openssl sm4-ecb 1 MiB | {ossl_ecb:.0f} | {ratio:.2f}x |")
        op = "CCM encrypt 64 B one-shot (us/call)"
        print(f"| [{b}] {op} | {g[op]:.2f} | (no SM4-CCM peer) | | |")
        for op in ("GCM encrypt 64 B one-shot (us/call)", "SM4GCM(key) + encrypt 64 B (us/call)"):
            pv = med["pyca GCM 64 B one-shot (us/call)"]
            ratio = pv / g[op]
            print(f"| [{b}] {op} | {g[op]:.2f} | pyca Cipher+GCM, 64 B | {pv:.2f} | {ratio:.1f}x faster |")


if __name__ == "__main__":
    main()
