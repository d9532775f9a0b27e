"""Same-run benchmark of SM2 (sign, verify, encrypt, decrypt, key generation,
key exchange) against OpenSSL's EVP API and the PyPI peers.

Contenders, each measured once per round, rounds interleaved, 32-byte messages,
single-threaded:
- guomi: ``guomi.primitives.sm2`` (DER signatures, DER ciphertexts, default ID);
- OpenSSL 3.0 EVP: ``bench/openssl_sm2_bench.c``, compiled here with gcc against
  libcrypto (needs the libssl-dev headers: ``apt-get install libssl-dev``; the
  script says so and leaves the column out if they are missing). It times its
  own loop, so process start-up is not counted: a C anchor with no Python call
  overhead at all;
- ``tongsuopy`` (Tongsuo; sign/verify only, it has no SM2 encryption API),
  ``gmssl-pyx`` and ``gmssl-fast`` (GmSSL), the pure-Python ``gmssl``.
- For scale, ``openssl speed ecdsap256`` (OpenSSL's assembly P-256) once.

Rates are operations per CPU-second of the measuring process by default
(``time.process_time`` in Python, ``CLOCK_PROCESS_CPUTIME_ID`` in C): the
machine is shared by several builds at once and wall-clock rates swing by 2x
between minutes, while CPU time still counts exactly the work each contender
does on one core. ``--wall`` uses wall-clock time for every contender instead.

Prints the CPU, medians over rounds (ops/s) and guomi's ratio to each anchor as
markdown. Usage: ``.venv/bin/python bench/bench_sm2.py [--rounds N] [--wall]``
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from guomi.primitives import sm2

try:
    import gmssl_pyx
except ImportError:  # pragma: no cover - optional peer
    gmssl_pyx = None
try:
    import gmssl_fast
except ImportError:  # pragma: no cover - optional peer
    gmssl_fast = None
try:
    from tongsuopy.crypto import hashes as ts_hashes
    from tongsuopy.crypto.asymciphers import ec as ts_ec
except ImportError:  # pragma: no cover - optional peer
    ts_ec = None
try:
    from gmssl import sm2 as gmssl_sm2
except ImportError:  # pragma: no cover - optional peer
    gmssl_sm2 = None

HERE = Path(__file__).resolve().parent
MSG = b"a" * 32
OPS = [
    "sign",
    "verify",
    "verify, one-off key",
    "encrypt",
    "encrypt, one-off key",
    "decrypt",
    "keygen",
    "key exchange",
]
TARGETS = {
    "sign": 10,
    "verify": 4,
    "verify, one-off key": 4,
    "encrypt": 8,
    "encrypt, one-off key": 8,
    "decrypt": 4,
}


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def per_second(fn: Callable[[], object], clock: Callable[[], float], min_time: float = 0.25) -> float:
    """Calls of ``fn`` per second of ``clock``, timed over at least ``min_time`` seconds."""
    n = 1
    while True:
        t0 = clock()
        for _ in range(n):
            fn()
        dt = clock() - t0
        if dt >= min_time:
            return n / dt
        n = max(n * 2, int(n * min_time / max(dt, 1e-9) * 1.2))


def build_openssl_anchor(workdir: Path) -> Path | None:
    """Compiles openssl_sm2_bench.c; None (with a clear message) if impossible."""
    if shutil.which("gcc") is None:
        print("NOTE: gcc not found: the OpenSSL EVP column is left out", file=sys.stderr)
        return None
    if not Path("/usr/include/openssl/evp.h").exists():
        print(
            "NOTE: OpenSSL headers missing (run: apt-get install -y libssl-dev): "
            "the OpenSSL EVP column is left out",
            file=sys.stderr,
        )
        return None
    exe = workdir / "openssl_sm2_bench"
    res = subprocess.run(
        ["gcc", "-O2", "-o", str(exe), str(HERE / "openssl_sm2_bench.c"), "-lcrypto"],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        print(f"NOTE: compiling the OpenSSL anchor failed:\n{res.stderr}", file=sys.stderr)
        return None
    return exe


def openssl_rate(exe: Path, op: str, cache: dict[str, int], wall: bool) -> float:
    """ops/s of the C program for ``op``, with an iteration count sized for ~0.25 s."""
    iters = cache.get(op, 200)
    out = subprocess.run([str(exe), op, str(iters)], capture_output=True, text=True, check=True).stdout
    rate = float(out.split()[2 if wall else 1])
    cache[op] = max(50, int(rate * 0.25))
    return rate


def openssl_speed_p256(wall: bool) -> tuple[float, float] | None:
    """P-256 sign/verify per second: CPU (user) time, or wall time with ``-elapsed``."""
    if shutil.which("openssl") is None:
        return None
    cmd = ["openssl", "speed", "-seconds", "2", *(["-elapsed"] if wall else []), "ecdsap256"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    m = re.search(r"256 bits ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", out)
    return (float(m.group(1)), float(m.group(2))) if m else None


def contenders() -> dict[str, dict[str, Callable[[], object]]]:
    """op -> {contender: zero-argument callable}; everything prepared up front."""
    out: dict[str, dict[str, Callable[[], object]]] = {op: {} for op in OPS}
    key = sm2.generate_private_key()
    pub = key.public_key()
    sig = key.sign(MSG)
    ct = pub.encrypt(MSG)
    peer = sm2.generate_private_key()
    peer_eph = sm2.generate_private_key().public_key()

    def guomi_kx() -> object:
        # One full side: a fresh ephemeral key, then the shared key and confirmations.
        x = sm2.SM2KeyExchange(key, initiator=True)
        return x.compute(peer.public_key(), peer_eph, 16)

    out["sign"]["guomi"] = lambda: key.sign(MSG)
    out["verify"]["guomi"] = lambda: pub.verify(sig, MSG)
    out["encrypt"]["guomi"] = lambda: pub.encrypt(MSG)
    # A public key used a few times gets its own comb table (33 KiB); these two
    # rows show the cost for a key seen once: parse the point, then operate.
    pub65 = pub.public_bytes_raw()
    out["verify, one-off key"]["guomi"] = lambda: sm2.SM2PublicKey.from_encoded_point(pub65).verify(sig, MSG)
    out["encrypt, one-off key"]["guomi"] = lambda: sm2.SM2PublicKey.from_encoded_point(pub65).encrypt(MSG)
    out["decrypt"]["guomi"] = lambda: key.decrypt(ct)
    out["keygen"]["guomi"] = sm2.generate_private_key
    out["key exchange"]["guomi"] = guomi_kx

    if ts_ec is not None:
        tk = ts_ec.generate_private_key(ts_ec.SM2())
        tsig = tk.sign(MSG, ts_ec.ECDSA(ts_hashes.SM3()))
        tpub = tk.public_key()
        out["sign"]["tongsuopy"] = lambda: tk.sign(MSG, ts_ec.ECDSA(ts_hashes.SM3()))
        out["verify"]["tongsuopy"] = lambda: tpub.verify(tsig, MSG, ts_ec.ECDSA(ts_hashes.SM3()))
        out["keygen"]["tongsuopy"] = lambda: ts_ec.generate_private_key(ts_ec.SM2())
    if gmssl_pyx is not None:
        gpub, gpriv = gmssl_pyx.sm2_key_generate()
        gsig = gmssl_pyx.sm2_sign(gpriv, gpub, MSG)
        gct = gmssl_pyx.sm2_encrypt(gpub, MSG)
        out["sign"]["gmssl-pyx"] = lambda: gmssl_pyx.sm2_sign(gpriv, gpub, MSG)
        out["verify"]["gmssl-pyx"] = lambda: gmssl_pyx.sm2_verify(gpub, MSG, gsig)
        out["encrypt"]["gmssl-pyx"] = lambda: gmssl_pyx.sm2_encrypt(gpub, MSG)
        out["decrypt"]["gmssl-pyx"] = lambda: gmssl_pyx.sm2_decrypt(gpriv, gct)
        out["keygen"]["gmssl-pyx"] = gmssl_pyx.sm2_key_generate
    if gmssl_fast is not None:
        f = gmssl_fast.SM2.generate()
        fsig = f.sign(MSG)
        fct = f.encrypt(MSG)
        out["sign"]["gmssl-fast"] = lambda: f.sign(MSG)
        out["verify"]["gmssl-fast"] = lambda: f.verify(MSG, fsig)
        out["encrypt"]["gmssl-fast"] = lambda: f.encrypt(MSG)
        out["decrypt"]["gmssl-fast"] = lambda: f.decrypt(fct)
        out["keygen"]["gmssl-fast"] = gmssl_fast.SM2.generate
    if gmssl_sm2 is not None:
        k2 = sm2.generate_private_key()
        # gmssl lstrip("04")s a hex public key starting with "04", mangling x: avoid such keys.
        while k2.public_key().public_bytes_raw()[1:].hex().startswith("04"):
            k2 = sm2.generate_private_key()
        c = gmssl_sm2.CryptSM2(
            private_key=k2.private_value.to_bytes(32, "big").hex(),
            public_key=k2.public_key().public_bytes_raw()[1:].hex(),
            mode=1,
        )
        psig = c.sign_with_sm3(MSG, os.urandom(32).hex())
        pct = c.encrypt(MSG)
        out["sign"]["gmssl (pure Python)"] = lambda: c.sign_with_sm3(MSG, os.urandom(32).hex())
        out["verify"]["gmssl (pure Python)"] = lambda: c.verify_with_sm3(psig, MSG)
        out["encrypt"]["gmssl (pure Python)"] = lambda: c.encrypt(MSG)
        out["decrypt"]["gmssl (pure Python)"] = lambda: c.decrypt(pct)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--wall", action="store_true", help="wall-clock instead of CPU time")
    args = ap.parse_args()
    clock_fn = time.perf_counter if args.wall else time.process_time

    table = contenders()
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_openssl_anchor(Path(tmp))
        iters: dict[str, int] = {}
        samples: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for op in OPS:
                for name, fn in table[op].items():
                    samples.setdefault((op, name), []).append(per_second(fn, clock_fn))
                if exe is not None and op in ("sign", "verify", "encrypt", "decrypt", "keygen"):
                    samples.setdefault((op, "OpenSSL 3.0 EVP (C)"), []).append(
                        openssl_rate(exe, op, iters, args.wall)
                    )
    # The one-off-key rows are compared with the same rounds' EVP figure of
    # their operation (OpenSSL caches nothing per key either way).
    for op in OPS:
        base = op.split(",")[0]
        if base != op and (base, "OpenSSL 3.0 EVP (C)") in samples:
            samples[(op, "OpenSSL 3.0 EVP (C)")] = samples[(base, "OpenSSL 3.0 EVP (C)")]
    p256 = openssl_speed_p256(args.wall)

    med = {k: statistics.median(v) for k, v in samples.items()}
    clock = "wall-clock" if args.wall else "CPU-time"
    cmd = f"bench/bench_sm2.py --rounds {args.rounds}" + (" --wall" if args.wall else "")
    print(f"`.venv/bin/python {cmd}` on {datetime.date.today()}, {cpu_model()}, single thread,")
    print(f"32-byte messages, {clock} ops/s, medians of {args.rounds} interleaved rounds.\n")
    print("| op | contender | ops/s | guomi / contender |")
    print("|---|---|---:|---:|")
    for op in OPS:
        g = med.get((op, "guomi"))
        for (o, name), v in sorted(med.items(), key=lambda kv: (OPS.index(kv[0][0]), kv[0][1] != "guomi")):
            if o != op:
                continue
            ratio = "" if name == "guomi" or g is None else f"{g / v:.1f}x"
            print(f"| {op} | {name} | {v:,.0f} | {ratio} |")
    ossl = {op: med.get((op, "OpenSSL 3.0 EVP (C)")) for op in TARGETS}
    print("\nTargets vs OpenSSL EVP (same run):")
    for op, want in TARGETS.items():
        g, o = med.get((op, "guomi")), ossl[op]
        if g and o:
            verdict = "met" if g / o >= want else "NOT met"
            print(f"- {op}: {g / o:.1f}x (target >= {want}x): {verdict}")
    if p256:
        s, v = p256
        print(
            f"\n`openssl speed -seconds 2{' -elapsed' if args.wall else ''} ecdsap256` "
            f"(assembly P-256, same machine): {s:,.0f} sign/s, "
            f"{v:,.0f} verify/s; guomi SM2 is {med[('sign', 'guomi')] / s:.2f}x of P-256 sign and "
            f"{med[('verify', 'guomi')] / v:.2f}x of P-256 verify (ambition: >= 0.5x)."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
