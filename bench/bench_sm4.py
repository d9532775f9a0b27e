"""Same-run benchmark of SM4 ECB/CTR/CBC/CFB/OFB against its anchors.

Contenders, each measured once per round, rounds interleaved:
- guomi on every SM4 path this CPU has (the fastest one and the forced
  portable bit-sliced path, plus AES-NI when GFNI is the default), through
  the public ``Cipher`` API on 1 MiB inputs;
- ``openssl speed -evp sm4-{ecb,ctr,cbc,cfb,ofb} -bytes 1048576 -seconds 1
  -mr`` (``-decrypt`` for the CBC/CFB decryption rows);
- pyca/cryptography ``algorithms.SM4`` (CFB/OFB from ``hazmat.decrepit``);
- the pure-Python ``gmssl`` package (ECB/CBC on 16 KiB: it runs at about
  0.15 MB/s), and ``gmssl_pyx`` if it happens to be installed.

The table shows medians over rounds and guomi's ratio to each anchor, then
the per-call cost of a small (64-byte) CTR encryption from Python.

Time is CPU time on both sides by default (``time.thread_time()`` here, which
includes guomi's GIL-released work since it runs on the calling thread; user
CPU time in ``openssl speed`` without ``-elapsed``): the benchmark machines
are shared and loaded, and CPU time is what stays comparable under load.
``--wall`` uses wall-clock time on both sides instead.

Usage: ``.venv/bin/python bench/bench_sm4.py [--rounds N] [--backends a,b] [--wall]``
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import subprocess
import time
import warnings
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher as PycaCipher
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers import modes as pyca_modes

from guomi import _rust
from guomi.primitives.sm4 import Cipher, modes

try:
    from cryptography.hazmat.decrepit.ciphers import modes as decrepit_modes
except ImportError:  # pragma: no cover - older pyca
    decrepit_modes = pyca_modes  # type: ignore[assignment,unused-ignore]
try:  # the pure-Python peer (bench extra)
    from gmssl.sm4 import SM4_ENCRYPT, CryptSM4  # type: ignore[import-untyped,unused-ignore]
except ImportError:  # pragma: no cover
    CryptSM4 = None
try:  # optional C peer; measured only if installed
    import gmssl_pyx  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover
    gmssl_pyx = None

MIB = 1 << 20
CLOCK: Callable[[], float] = time.thread_time
WALL = False
KEY = bytes(range(16))
IV = bytes(range(16, 32))
GMSSL_BYTES = 16 * 1024

# operation -> (guomi mode factory, decrypt?, openssl cipher, openssl -decrypt?)
OPS: dict[str, tuple[Callable[[], modes.Mode], bool, str, bool]] = {
    "ECB encrypt": (modes.ECB, False, "sm4-ecb", False),
    "CTR encrypt": (lambda: modes.CTR(IV), False, "sm4-ctr", False),
    "CBC encrypt": (lambda: modes.CBC(IV), False, "sm4-cbc", False),
    "CBC decrypt": (lambda: modes.CBC(IV), True, "sm4-cbc", True),
    "CFB encrypt": (lambda: modes.CFB(IV), False, "sm4-cfb", False),
    "CFB decrypt": (lambda: modes.CFB(IV), True, "sm4-cfb", True),
    "OFB encrypt": (lambda: modes.OFB(IV), False, "sm4-ofb", False),
}


def pyca_mode(op: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        name = op.split(maxsplit=1)[0]
        return {
            "ECB": pyca_modes.ECB,
            "CTR": lambda: pyca_modes.CTR(IV),
            "CBC": lambda: pyca_modes.CBC(IV),
            "CFB": lambda: decrepit_modes.CFB(IV),
            "OFB": lambda: decrepit_modes.OFB(IV),
        }[name]()


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
    wanted = [
        "sse2",
        "ssse3",
        "aes",
        "pclmulqdq",
        "avx2",
        "vaes",
        "vpclmulqdq",
        "gfni",
        "avx512f",
        "avx512bw",
    ]
    return f"{model}; flags: {' '.join(f for f in wanted if f in flags)}"


def rate(fn: Callable[[], object], nbytes: int, min_time: float = 0.25) -> float:
    """MB/s of ``fn`` (which processes ``nbytes``), timed over >= ``min_time``."""
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


def openssl_speed(cipher: str, decrypt: bool, nbytes: int = MIB) -> float:
    """MB/s from ``openssl speed -evp <cipher>`` (machine-readable)."""
    cmd = ["openssl", "speed", "-evp", cipher, "-bytes", str(nbytes), "-seconds", "1", "-mr"]
    if WALL:
        cmd.append("-elapsed")
    if decrypt:
        cmd.insert(2, "-decrypt")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("+F:"):
            return float(line.rsplit(":", 1)[1]) / 1e6
    raise RuntimeError(f"no +F line from openssl speed: {out!r}")


def guomi_run(mode: Callable[[], modes.Mode], decrypt: bool, data: bytes) -> Callable[[], bytes]:
    cipher = Cipher(KEY, mode())  # expanded once: the path in force now

    def run() -> bytes:
        ctx = cipher.decryptor() if decrypt else cipher.encryptor()
        return ctx.update(data) + ctx.finalize()

    return run


def pyca_run(op: str, decrypt: bool, data: bytes) -> Callable[[], bytes]:
    cipher = PycaCipher(algorithms.SM4(KEY), pyca_mode(op))

    def run() -> bytes:
        ctx = cipher.decryptor() if decrypt else cipher.encryptor()
        return ctx.update(data) + ctx.finalize()

    return run


def gmssl_runs(data: bytes) -> dict[str, Callable[[], object]]:
    out: dict[str, Callable[[], object]] = {}
    if CryptSM4 is None:
        print("(gmssl not installed: pip install gmssl==3.2.2, or make bench)")
        return out
    c = CryptSM4()
    c.set_key(KEY, SM4_ENCRYPT)
    small = data[:GMSSL_BYTES]
    out["ECB encrypt"] = lambda: c.crypt_ecb(small)
    out["CBC encrypt"] = lambda: c.crypt_cbc(IV, small)
    return out


def gmssl_pyx_runs(data: bytes) -> dict[str, Callable[[], object]]:
    if gmssl_pyx is None:
        return {}
    out: dict[str, Callable[[], object]] = {}
    fn = getattr(gmssl_pyx, "sm4_cbc_padding_encrypt", None)
    if fn is not None:
        out["CBC encrypt"] = lambda: fn(KEY, IV, data)
    ctr = getattr(gmssl_pyx, "sm4_ctr_encrypt", None)
    if ctr is not None:
        out["CTR encrypt"] = lambda: ctr(KEY, IV, data)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--backends", default="", help="comma-separated; default: every path this CPU has")
    ap.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time")
    args = ap.parse_args()
    global CLOCK, WALL
    if args.wall:
        CLOCK, WALL = time.perf_counter, True

    fast = _rust.detected_backend()
    order = ["gfni-avx512", "aesni-avx2", "portable"]
    avail = order[order.index(fast) :] if fast in order else ["portable"]
    backends = [b for b in args.backends.split(",") if b] or avail

    data = bytes(range(256)) * (MIB // 256)
    gm = gmssl_runs(data)
    gpyx = gmssl_pyx_runs(data)
    small = bytes(64)
    samples: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        samples.setdefault(name, []).append(value)

    for _ in range(args.rounds):
        for op, (mode, decrypt, ossl, ossl_dec) in OPS.items():
            add(f"openssl {op}", openssl_speed(ossl, ossl_dec))
            add(f"pyca {op}", rate(pyca_run(op, decrypt, data), MIB))
            for b in backends:
                in_force = _rust.set_backend(b)
                add(f"guomi[{in_force}] {op}", rate(guomi_run(mode, decrypt, data), MIB))
            if op in gm:
                add(f"gmssl {op}", rate(gm[op], GMSSL_BYTES, min_time=0.5))
            if op in gpyx:
                add(f"gmssl_pyx {op}", rate(gpyx[op], MIB))
        pyca_ctr = PycaCipher(algorithms.SM4(KEY), pyca_modes.CTR(IV))
        add("pyca CTR 64 B", per_call_us(lambda p=pyca_ctr: p.encryptor().update(small), 5000))
        for b in backends:
            in_force = _rust.set_backend(b)
            c = Cipher(KEY, modes.CTR(IV))
            add(f"guomi[{in_force}] CTR 64 B", per_call_us(lambda c=c: c.encryptor().update(small)))
    _rust.set_backend(fast)
    med = {k: statistics.median(v) for k, v in samples.items()}

    print(f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"cpu: {cpu_facts()}; python {platform.python_version()}; {_openssl_version()}")
    clock = "wall clock (perf_counter, openssl -elapsed)" if WALL else "CPU time (thread_time, openssl user)"
    print(
        f"rounds: {args.rounds} (medians); inputs 1 MiB (gmssl: {GMSSL_BYTES // 1024} KiB); timing: {clock}\n"
    )
    head = "| operation (MB/s) | " + " | ".join(f"guomi {b}" for b in backends)
    head += " | openssl | pyca | gmssl | "
    head += " | ".join(f"{b} / openssl" for b in backends) + " | "
    head += " | ".join(f"{b} / pyca" for b in backends) + " |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for op in OPS:
        g = [med[f"guomi[{b}] {op}"] for b in backends]
        o, p = med[f"openssl {op}"], med[f"pyca {op}"]
        gms = f"{med[f'gmssl {op}']:.2f}" if f"gmssl {op}" in med else "-"
        row = f"| {op} | " + " | ".join(f"{x:.0f}" for x in g) + f" | {o:.0f} | {p:.0f} | {gms} | "
        row += " | ".join(f"{x / o:.2f}x" for x in g) + " | " + " | ".join(f"{x / p:.2f}x" for x in g) + " |"
        print(row)
    print()
    for op in OPS:
        if f"gmssl {op}" in med:
            ratio = ", ".join(f"{b} {med[f'guomi[{b}] {op}'] / med[f'gmssl {op}']:.0f}x" for b in backends)
            print(f"- vs pure-Python gmssl, {op}: {ratio}")
        if f"gmssl_pyx {op}" in med:
            print(f"- gmssl_pyx {op}: {med[f'gmssl_pyx {op}']:.0f} MB/s")
    pv = med["pyca CTR 64 B"]
    for b in backends:
        gv = med[f"guomi[{b}] CTR 64 B"]
        line = f"- CTR 64 B per call (encryptor()+update) [{b}]: {gv:.2f} us"
        print(f"{line} vs pyca {pv:.2f} us ({pv / gv:.1f}x)")


def _openssl_version() -> str:
    try:
        return subprocess.run(
            ["openssl", "version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "openssl ?"


if __name__ == "__main__":
    main()
