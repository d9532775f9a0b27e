"""Same-run benchmark of guomi-stream/v1 file encryption through the CLI.

Contenders, interleaved in every round on the same 1 GiB file (on tmpfs by default, so
the disk is not what is measured):

- ``openssl enc -sm4-ctr`` encrypt and decrypt (OpenSSL 3.0 CLI; no authentication);
- ``guomi encrypt -r sm2:... -o OUT IN`` and ``guomi decrypt -i KEY -o OUT IN``
  (SM4-GCM segments, header, SM2 recipient, temp file + fsync + rename; process start-up
  included, as for openssl);
- ``dd bs=4M`` copying the same file (no crypto at all): the ceiling any file-to-file tool
  has on this machine, since each byte is read into user space and written back;
- guomi's raw SM4-GCM in this process (``SM4GCM.encrypt/decrypt`` over the same 1 GiB in
  4 MiB messages, no I/O): the ceiling the file path is compared with.

With ``--signed`` (SM2-signed files, ``docs/spec/stream.md`` §6) three more contenders join
every round: ``guomi encrypt --sign-key`` and ``guomi decrypt --verify-key`` (a file input:
one SM3 pass to verify before decrypting, one while decrypting), and the anchor for a signed
extract, ``openssl dgst -sm3 -sign KEY -sigopt distid:1234567812345678`` over the plaintext
(to be added to ``openssl enc``'s time). A second table gives the cost of signing against
the unsigned CLI and against openssl enc + openssl dgst.

Throughput in MB/s (10^6 bytes/s) by wall clock and by CPU time (user + system of the
child processes from ``RUSAGE_CHILDREN``; ``process_time`` for the in-process raw GCM),
which is the steadier figure on a shared, loaded machine; medians over rounds; ratios taken
within the same run. Usage:
``.venv/bin/python bench/bench_stream.py [--rounds N] [--size-mib N] [--dir D] [--signed]``
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from guomi import _rust
from guomi.primitives.sm4 import SM4GCM

MIB = 1 << 20
GUOMI = str(Path(sys.executable).with_name("guomi"))


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+system) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def make_input(path: Path, size: int) -> None:
    block = os.urandom(16 * MIB)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


def raw_gcm(size: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """(wall, CPU) seconds to encrypt and to decrypt ``size`` bytes with SM4-GCM in 4 MiB messages."""
    gcm = SM4GCM(bytes(16))
    msg = os.urandom(4 * MIB)
    nonce = bytes(12)
    n = size // len(msg)
    sealed = gcm.encrypt(nonce, msg, None)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        gcm.encrypt(nonce, msg, None)
    enc = (time.perf_counter() - start, time.process_time() - cpu)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        gcm.decrypt(nonce, sealed, None)
    dec = (time.perf_counter() - start, time.process_time() - cpu)
    return enc, dec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    ap.add_argument("--signed", action="store_true", help="also SM2-signed files (spec §6)")
    args = ap.parse_args()
    size = args.size_mib * MIB
    work = Path(tempfile.mkdtemp(prefix="guomi-bench-stream-", dir=args.dir))
    try:
        src = work / "in.bin"
        make_input(src, size)
        key_file = work / "key.txt"
        recipient = subprocess.run(
            [GUOMI, "keygen", "-o", str(key_file)], check=True, capture_output=True, text=True
        ).stdout.split()[-1]
        k, iv = os.urandom(16).hex(), os.urandom(16).hex()
        ossl = ["openssl", "enc", "-sm4-ctr", "-K", k, "-iv", iv]
        names = ["ossl_enc", "ossl_dec", "g_enc", "g_dec", "raw_enc", "raw_dec", "dd"]
        if args.signed:
            names += ["g_enc_signed", "g_dec_verified", "ossl_sign"]
            sk, pk = _signing_pems(work)
        times: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
        for r in range(args.rounds):
            times["ossl_enc"].append(timed([*ossl, "-e", "-in", str(src), "-out", str(work / "o.enc")]))
            times["g_enc"].append(
                timed([GUOMI, "encrypt", "-r", recipient, "-o", str(work / "g.gms"), str(src)])
            )
            times["ossl_dec"].append(
                timed([*ossl, "-d", "-in", str(work / "o.enc"), "-out", str(work / "o.dec")])
            )
            times["g_dec"].append(
                timed([GUOMI, "decrypt", "-i", str(key_file), "-o", str(work / "g.dec"), str(work / "g.gms")])
            )
            times["dd"].append(
                timed(["dd", f"if={src}", f"of={work / 'dd.out'}", "bs=4M", "status=none", "conv=fsync"])
            )
            (work / "dd.out").unlink()
            enc, dec = raw_gcm(size)
            times["raw_enc"].append(enc)
            times["raw_dec"].append(dec)
            if args.signed:
                times["g_enc_signed"].append(
                    timed(
                        [
                            GUOMI,
                            "encrypt",
                            "-r",
                            recipient,
                            "--sign-key",
                            str(sk),
                            "-o",
                            str(work / "s.gms"),
                            str(src),
                        ]
                    )
                )
                times["g_dec_verified"].append(
                    timed(
                        [
                            GUOMI,
                            "decrypt",
                            "-i",
                            str(key_file),
                            "--verify-key",
                            str(pk),
                            "-o",
                            str(work / "s.dec"),
                            str(work / "s.gms"),
                        ]
                    )
                )
                times["ossl_sign"].append(
                    timed(
                        [
                            "openssl",
                            "dgst",
                            "-sm3",
                            "-sign",
                            str(sk),
                            "-sigopt",
                            "distid:1234567812345678",
                            "-out",
                            str(work / "o.sig"),
                            str(src),
                        ]
                    )
                )
                (work / "s.dec").unlink()
            # The CLI never writes over an existing file (without --force): clear the outputs.
            for name in ("o.dec", "g.dec", "g.gms", "s.gms", "o.enc"):
                (work / name).unlink(missing_ok=True)
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
        ossl_version = subprocess.run(
            ["openssl", "version"], check=False, capture_output=True, text=True
        ).stdout.strip()
        print("```text")
        print(f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
        print(f"cpu: {platform.processor() or platform.machine()}; backend {_rust.backend()}; {ossl_version}")
        load = os.getloadavg()[0]
        print(
            f"file: {args.size_mib} MiB in {work.parent}; rounds: {args.rounds} (medians); load: {load:.1f}"
        )
        print("```")
        for which, label in ((0, "wall clock"), (1, "CPU time (user + system, all threads)")):
            rate = {n: size / statistics.median(t[which] for t in v) / 1e6 for n, v in times.items()}
            print()
            print(f"{label}:")
            print()
            print(
                "| operation (MB/s) | openssl enc -sm4-ctr | guomi CLI (SM4-GCM stream) "
                "| guomi raw SM4-GCM | dd copy (I/O ceiling) | CLI / openssl | raw / CLI | dd / CLI |"
            )
            print("|---|---|---|---|---|---|---|---|")
            for op, o, g, raw in (
                ("encrypt", "ossl_enc", "g_enc", "raw_enc"),
                ("decrypt", "ossl_dec", "g_dec", "raw_dec"),
            ):
                print(
                    f"| {op} {args.size_mib} MiB file | {rate[o]:.0f} | {rate[g]:.0f} | {rate[raw]:.0f} | "
                    f"{rate['dd']:.0f} | {rate[g] / rate[o]:.2f}x | {rate[raw] / rate[g]:.2f}x | "
                    f"{rate['dd'] / rate[g]:.2f}x |"
                )
        if args.signed:
            _signed_table(times, size, args.size_mib)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _signing_pems(work: Path) -> tuple[Path, Path]:
    from guomi.primitives import sm2  # noqa: PLC0415
    from guomi.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat  # noqa: PLC0415

    key = sm2.generate_private_key()
    sk, pk = work / "sign.pem", work / "sign.pub.pem"
    sk.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    pk.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return sk, pk


def _signed_table(times: dict[str, list[tuple[float, float]]], size: int, size_mib: int) -> None:
    """Signed files: rates (MB/s) and same-run ratios, by wall clock and by CPU time."""
    for which, label in ((0, "wall clock"), (1, "CPU time")):
        sec = {n: statistics.median(t[which] for t in v) for n, v in times.items()}
        rate = {n: size / s / 1e6 for n, s in sec.items()}
        anchor_enc = size / (sec["ossl_enc"] + sec["ossl_sign"]) / 1e6
        print()
        print(f"signed files, {label}:")
        print()
        print(
            "| operation (MB/s) | guomi unsigned | guomi signed / verified | signed / unsigned "
            "| openssl enc + dgst -sign | guomi signed / openssl |"
        )
        print("|---|---|---|---|---|---|")
        print(
            f"| encrypt {size_mib} MiB file | {rate['g_enc']:.0f} | {rate['g_enc_signed']:.0f} | "
            f"{rate['g_enc_signed'] / rate['g_enc']:.2f}x | {anchor_enc:.0f} | "
            f"{rate['g_enc_signed'] / anchor_enc:.2f}x |"
        )
        print(
            f"| decrypt {size_mib} MiB file | {rate['g_dec']:.0f} | {rate['g_dec_verified']:.0f} | "
            f"{rate['g_dec_verified'] / rate['g_dec']:.2f}x | | |"
        )


if __name__ == "__main__":
    main()
