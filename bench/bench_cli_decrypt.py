"""Same-run benchmark: ``guomi decrypt`` against ``guomi encrypt`` of one file on one disk.

Issue 13 asks that decrypting a 512 MiB file take at most 1.2x the time of encrypting it
on the same disk. Every round runs, interleaved, on a file in ``--dir`` (default: a
temporary directory under the current one, so on the checkout's disk, not tmpfs):

- ``guomi encrypt -r sm2:... -o OUT IN`` (SM4-GCM segments, temp file + fsync + rename);
- ``guomi decrypt -i KEY -o OUT IN`` of that output (the same, plus mode 0600);
- ``dd bs=4M conv=fsync`` copying the plaintext: the same bytes read and written and
  synced with no crypto, the ceiling of any file-to-file tool on this disk.

Outputs are deleted before each run, so every run creates its file as a user would.
Printed: median wall seconds and CPU seconds (user + system, from ``RUSAGE_CHILDREN``) per
contender, and the decrypt/encrypt ratios. Usage:
``.venv/bin/python bench/bench_cli_decrypt.py [--size-mib 512] [--rounds 5] [--dir D]``
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIB = 1 << 20
GUOMI = [sys.executable, "-m", "guomi.cli"]


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+system) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="guomi-bench-", dir=args.dir or Path.cwd()) as tmp:
        d = Path(tmp)
        plain, sealed, back, copy = d / "plain.bin", d / "plain.gms", d / "back.bin", d / "copy.bin"
        block = os.urandom(16 * MIB)
        with open(plain, "wb") as f:
            for _ in range(args.size_mib // 16):
                f.write(block)
        keygen = subprocess.run(
            [*GUOMI, "keygen", "-o", str(d / "key.txt")], check=True, capture_output=True, text=True
        )
        recipient = keygen.stdout.strip().splitlines()[-1]
        cmds = {
            "guomi encrypt": [*GUOMI, "encrypt", "-r", recipient, "-o", str(sealed), str(plain)],
            "guomi decrypt": [*GUOMI, "decrypt", "-i", str(d / "key.txt"), "-o", str(back), str(sealed)],
            "dd bs=4M conv=fsync": ["dd", f"if={plain}", f"of={copy}", "bs=4M", "conv=fsync", "status=none"],
        }
        outputs = {"guomi encrypt": sealed, "guomi decrypt": back, "dd bs=4M conv=fsync": copy}
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
        timed(cmds["guomi encrypt"])  # warm-up: the ciphertext the decrypt runs read
        for _ in range(args.rounds):
            for name, cmd in cmds.items():  # encrypt first: decrypt reads what it wrote
                outputs[name].unlink(missing_ok=True)
                results[name].append(timed(cmd))
        if back.read_bytes() != plain.read_bytes():
            raise SystemExit("decrypted file differs from the plaintext")
    size_mb = args.size_mib * MIB / 1e6
    print(
        f"{datetime.date.today()} {platform.machine()} {os.cpu_count()} CPUs, {args.size_mib} MiB, "
        f"{args.rounds} rounds, dir {args.dir or Path.cwd()}"
    )
    print("| contender | wall s (median) | MB/s | CPU s (median) |")
    print("|---|---|---|---|")
    medians = {}
    for name, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        medians[name] = (wall, cpu)
        print(f"| {name} | {wall:.2f} | {size_mb / wall:.0f} | {cpu:.2f} |")
    (ew, ec), (dw, dc) = medians["guomi encrypt"], medians["guomi decrypt"]
    print(f"\ndecrypt / encrypt: wall {dw / ew:.2f}x, CPU {dc / ec:.2f}x")
    walls = {name: [f"{w:.2f}" for w, _ in runs] for name, runs in results.items()}
    print(f"all wall times: {walls}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
