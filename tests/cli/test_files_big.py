"""A 2 GiB file through `guomi encrypt` / `guomi decrypt` in bounded memory, and an interrupted run.

The input is a sparse file (no disk blocks, reads as zeros). Peak memory is the child's
``VmHWM`` from ``/proc/self/status``, read by the child itself as the CLI exits: it is the
high-water mark of the process image after ``exec``. (``ru_maxrss`` from ``wait4`` is not
used: it also counts the pytest process's pages shared with the child between fork and
exec, which grow with the rest of the suite.)
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import guomi

GUOMI = str(Path(sys.executable).with_name("guomi"))
SOURCE_ROOT = str(Path(guomi.__file__).resolve().parents[1])
SIZE = 2 << 30
PEAK_LIMIT = 100 << 20
SEGMENT_OVERHEAD = 16 * (SIZE // 65536)

# The `guomi` console script's body, plus a report of the peak resident set on exit.
MEASURED_CLI = """
import os, sys
from guomi.cli import main
sys.argv[0] = "guomi"
try:
    main()
finally:
    with open("/proc/self/status") as f:
        hwm = next(line for line in f if line.startswith("VmHWM"))
    os.write(2, ("\\n" + hwm).encode())
"""


def run_measured(args: list[str], cwd: Path) -> int:
    """Run `guomi ARGS` to completion; return its peak resident set in bytes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUOMI_")}
    env["PYTHONPATH"] = SOURCE_ROOT  # the guomi this test imported, whatever the working directory
    proc = subprocess.run(
        [sys.executable, "-c", MEASURED_CLI, *args], cwd=cwd, env=env, capture_output=True, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode()
    m = re.search(rb"VmHWM:\s+(\d+) kB", proc.stderr)
    assert m, proc.stderr
    return int(m.group(1)) * 1024


@pytest.fixture
def sparse_2gib(tmp_path: Path) -> Path:
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:
        f.truncate(SIZE)
    return path


def test_two_gib_round_trip_under_100_mb(tmp_path: Path, sparse_2gib: Path) -> None:
    ident = tmp_path / "key.txt"
    recipient = (
        subprocess.run([GUOMI, "keygen", "-o", str(ident)], capture_output=True, check=True)
        .stdout.decode()
        .split()[-1]
    )
    enc = tmp_path / "big.gms"
    peak_enc = run_measured(["encrypt", "-r", recipient, "-o", str(enc), str(sparse_2gib)], tmp_path)
    header = enc.stat().st_size - SIZE - SEGMENT_OVERHEAD
    assert 0 < header < 1024  # exactly the layout of spec §2/§5: header + 32768 segments
    sparse_2gib.unlink()  # disk space: keep one 2 GiB file at a time
    out = tmp_path / "back.bin"
    peak_dec = run_measured(["decrypt", "-i", str(ident), "-o", str(out), str(enc)], tmp_path)
    assert peak_enc < PEAK_LIMIT, f"encrypt peak RSS {peak_enc / 2**20:.1f} MiB"
    assert peak_dec < PEAK_LIMIT, f"decrypt peak RSS {peak_dec / 2**20:.1f} MiB"
    assert out.stat().st_size == SIZE
    zeros = bytes(1 << 20)
    with open(out, "rb") as f:
        while chunk := f.read(1 << 20):
            assert chunk == zeros[: len(chunk)]
    print(f"\npeak RSS: encrypt {peak_enc / 2**20:.1f} MiB, decrypt {peak_dec / 2**20:.1f} MiB")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_leaves_no_file(tmp_path: Path, sparse_2gib: Path, sig: signal.Signals) -> None:
    ident = tmp_path / "key.txt"
    recipient = (
        subprocess.run([GUOMI, "keygen", "-o", str(ident)], capture_output=True, check=True)
        .stdout.decode()
        .split()[-1]
    )
    out = tmp_path / "big.gms"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUOMI_")}
    proc = subprocess.Popen(
        [GUOMI, "encrypt", "-r", recipient, "-o", str(out), str(sparse_2gib)],
        cwd=tmp_path, env=env, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    # Wait until the temporary output exists and is growing, then interrupt.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        partial = [p for p in tmp_path.iterdir() if p.name.startswith(".big.gms.")]
        if partial and partial[0].stat().st_size > (8 << 20):
            break
        time.sleep(0.02)
    else:
        pytest.fail("encryption never started writing")
    proc.send_signal(sig)
    assert proc.wait(timeout=30) != 0
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin", "key.txt"]
