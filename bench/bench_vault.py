"""Vault lane: what the Vault compatibility costs the service, and what ``LIST`` costs.

Two measurements, each against ``guomi server`` in ANOTHER process, on SQLite,
interleaved round by round so both sides of a comparison see the same machine
load (2 cores shared by the server and the load generator):

1. **A/B, no regression** (issue 15 "Speed"): single 1 KiB ``encrypt`` (c=32)
   and ``batch_input`` 1,000 x 1 KiB (c=4) on guomi's own routes, served by a
   source tree WITHOUT the vault work (``--baseline-src``, e.g. an export of
   the shape-service milestone) and by this tree.  Both run ``guomi server``
   with its default protocol (this tree: httptools + the LIST hand-over).
2. **LIST design**: single ``encrypt`` with ``--http httptools`` (plain),
   the default (``VaultMethodsProtocol``) and ``--http h11``; ``LIST
   /v1/transit/keys`` on the default protocol and on h11 (plain httptools
   answers 400 to LIST), ``GET ...?list=true`` on the default and httptools.

    PYTHONPATH=src python bench/bench_vault.py --baseline-src /tmp/guomi-base/src [--duration 3]

Servers and load generator are ``bench/bench_service.py``'s (wrk when installed, else an
asyncio httpx client in a child process); ``LIST`` uses an httpx child of this script.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
KIB = b"\xa5" * 1024

LOAD_CHILD = r"""
import asyncio, json, sys, time, httpx
url, token, method = sys.argv[1], sys.argv[2], sys.argv[3]
body = open(sys.argv[4], "rb").read()
duration, conc = float(sys.argv[5]), int(sys.argv[6])
lat, errors = [], 0
async def worker(client, stop):
    global errors
    while time.perf_counter() < stop:
        t = time.perf_counter()
        r = await client.request(method, url, content=None if method in ("GET", "LIST") else body)
        lat.append(time.perf_counter() - t)
        if r.status_code != 200: errors += 1
async def main():
    h = {"X-Vault-Token": token, "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(headers=h, limits=limits, timeout=30) as c:
        t0 = time.perf_counter(); stop = t0 + duration
        await asyncio.gather(*(worker(c, stop) for _ in range(conc)))
        return time.perf_counter() - t0
secs = asyncio.run(main())
lat.sort()
print(json.dumps({"rps": len(lat)/secs, "p50_ms": lat[len(lat)//2]*1000,
                  "p99_ms": lat[int(len(lat)*0.99)]*1000, "errors": errors}))
"""


sys.path.insert(0, str(ROOT / "bench"))
import bench_service  # noqa: E402 - the service bench's server and load generator, reused


class Server:
    """``bench_service.Server`` (``guomi server`` in a child process, initialised, unsealed)
    run from source tree ``src``, with ``--http``; plus the keys these scenarios use."""

    def __init__(self, src: Path, data_dir: Path, http: str = "auto") -> None:
        self._inner = bench_service.Server(
            f"sqlite:///{data_dir}/guomi.db", data_dir, ("--http", http), tree=src.parent
        )
        self.addr, self.token = self._inner.addr, self._inner.token
        with httpx.Client(base_url=self.addr + "/v1", headers={"Authorization": f"Bearer {self.token}"}) as c:
            c.post("keys/bench-aead", json={})
            for i in range(20):
                c.post(f"keys/listed-{i:02d}", json={})

    def stop(self) -> None:
        self._inner.stop()


def load(server: Server, method: str, path: str, body: Any, duration: float, conc: int) -> dict[str, float]:
    """POST through ``bench_service.load`` (wrk when installed, else its httpx child).  The
    listing scenarios (``LIST`` and ``GET ?list=true``) both use this script's httpx child:
    wrk's own request parser (joyent http-parser) refuses ``LIST`` like httptools does."""
    url = f"{server.addr}/v1/{path}"
    if method == "POST":
        return bench_service.load(url, server.token, body, duration, conc)[0]
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        f.write("null")
        f.flush()
        cmd = [sys.executable, "-c", LOAD_CHILD, url, server.token, method, f.name, str(duration), str(conc)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def measure(server: Server, label: str, scenarios: list[tuple[str, str, str, Any, int, int]],
            duration: float, rows: list[dict[str, Any]], round_no: int) -> None:  # fmt: skip
    for name, method, path, body, items, conc in scenarios:
        load(server, method, path, body, 0.5, conc)  # warm-up
        r = load(server, method, path, body, duration, conc)
        row = {"variant": label, "scenario": name, "round": round_no, "items_per_s": r["rps"] * items, **r}
        rows.append(row)
        print(f"  round {round_no} {label:34} {name:30} {r['rps']:8.0f} req/s "
              f"{row['items_per_s']:9.0f} items/s  p99 {r['p99_ms']:.1f} ms  errors {r['errors']}",
              flush=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--baseline-src", type=Path, required=True, help="src/ of the tree without the vault work"
    )
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    b64 = base64.b64encode(KIB).decode()
    ab = [
        ("encrypt 1 KiB, c=32", "POST", "encrypt/bench-aead", {"plaintext": b64}, 1, 32),
        ("encrypt batch 1000 x 1 KiB, c=4", "POST", "encrypt/bench-aead",
         {"batch_input": [{"plaintext": b64} for _ in range(1000)]}, 1000, 4),
    ]  # fmt: skip
    single = [ab[0]]
    listing = [("LIST transit/keys (21 keys), c=8", "LIST", "transit/keys", None, 1, 8)]
    get_list = [("GET transit/keys?list=true, c=8", "GET", "transit/keys?list=true", None, 1, 8)]
    rows: list[dict[str, Any]] = []
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {when}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in (1, 2)[: args.rounds]:
            for label, src, http, scen in (
                ("A baseline (no vault work), auto", args.baseline_src, "auto", ab),
                ("B this tree, auto (httptools+LIST)", ROOT / "src", "auto", ab + listing + get_list),
                ("B this tree, --http httptools", ROOT / "src", "httptools", single + get_list),
                ("B this tree, --http h11", ROOT / "src", "h11", single + listing),
            ):
                d = Path(tmp) / f"{round_no}-{label.split()[0]}-{http}"
                d.mkdir()
                server = Server(src, d, http)
                try:
                    measure(server, label, scen, args.duration, rows, round_no)
                finally:
                    server.stop()
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
