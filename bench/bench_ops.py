"""PostgreSQL at full speed (issue 13, item 7): single 1 KiB encrypt requests against
``guomi server`` processes sharing one PostgreSQL, all on this machine, under wrk.

Same run: the read cache invalidated through LISTEN/NOTIFY against no cache
(``GUOMI_PG_READ_CACHE=0``, the code before), interleaved; then 1, 2 and 4 server processes
on one database (each its own port, one wrk per server, the connections split evenly; req/s
summed, p99 the worst of the servers). Target: >= 3,000 req/s with p99 < 10 ms on 2 cores,
in every one of five runs.

    scripts/pg-test-server.sh run -- .venv/bin/python bench/bench_ops.py [--duration 5] [--runs 5]
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import psycopg  # noqa: E402
from bench_service import cpu_model, free_port, run_wrk  # noqa: E402

from guomi.client import Client  # noqa: E402

BOOTSTRAP = "guomi-bench-ops-bootstrap-01"
BODY = '{"plaintext":"' + base64.b64encode(b"\xa5" * 1024).decode() + '"}'


def fresh_schema(url: str) -> str:
    schema = "bench_" + os.urandom(4).hex()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


class Server:
    def __init__(self, storage: str, data: Path, cache: bool) -> None:
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), GUOMI_PG_READ_CACHE="1" if cache else "0")
        cmd = [sys.executable, "-m", "guomi.cli", "server", "--listen", f"127.0.0.1:{self.port}",
               "--storage", storage, "--data-dir", str(data), "--bootstrap-token", BOOTSTRAP]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 60
        with Client(self.addr) as c:
            while True:
                try:
                    c.health()
                    return
                except Exception:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            self.proc.stderr.read().decode() if self.proc.stderr else ""
                        ) from None
                    time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def cluster(url: str, n: int, cache: bool, tmp: Path) -> tuple[list[Server], str]:
    storage = fresh_schema(url)
    servers = [Server(storage, tmp / f"s{i}-{os.urandom(3).hex()}", cache) for i in range(n)]
    with Client(servers[0].addr, BOOTSTRAP) as c:
        init = c.init(1, 1)
    for s in servers:
        with Client(s.addr) as c:
            c.unseal(init.keys_base64[0])
    token = init.root_token
    with Client(servers[0].addr, token) as c:
        c.create_key("bench")
    return servers, token


def load(servers: list[Server], token: str, duration: float, connections: int) -> dict[str, float]:
    per = max(1, connections // len(servers))
    results: list[dict[str, float]] = [{} for _ in servers]

    def one(i: int) -> None:
        results[i] = run_wrk(f"{servers[i].addr}/v1/encrypt/bench", token, BODY, duration, per)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(servers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "rps": sum(r["rps"] for r in results),
        "p50_ms": max(r["p50_ms"] for r in results),
        "p99_ms": max(r["p99_ms"] for r in results),
        "errors": sum(r["errors"] for r in results),
    }


def report(label: str, r: dict[str, Any]) -> None:
    print(f"  {label:48} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
          f"errors {r['errors']:.0f}", flush=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--postgres", default=os.environ.get("GUOMI_TEST_POSTGRES_URL"))
    args = ap.parse_args()
    if not args.postgres:
        sys.exit("needs PostgreSQL: scripts/pg-test-server.sh run -- python bench/bench_ops.py")
    print(f"# {cpu_model()}, {os.cpu_count()} cores; load average before: {os.getloadavg()}", flush=True)
    rows: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="guomi-bench-ops-") as tmp_name:
        tmp = Path(tmp_name)
        # A/B, interleaved: one server, cache off (before) / on (after), `runs` times each.
        for run in range(args.runs):
            for cache in (False, True):
                servers, token = cluster(args.postgres, 1, cache, tmp)
                try:
                    load(servers, token, 1.0, args.connections)  # warm-up
                    r = load(servers, token, args.duration, args.connections)
                finally:
                    for s in servers:
                        s.stop()
                kind = "LISTEN/NOTIFY cache" if cache else "no cache (before)"
                label = f"1 server, {kind}, c={args.connections}, run {run + 1}"
                rows.append((label, r))
                report(label, r)
        for n in (1, 2, 4):
            servers, token = cluster(args.postgres, n, True, tmp)
            try:
                load(servers, token, 1.0, args.connections)
                r = load(servers, token, args.duration, args.connections)
            finally:
                for s in servers:
                    s.stop()
            label = f"{n} server process{'es' if n > 1 else ''}, cache, c={args.connections} total"
            rows.append((label, r))
            report(label, r)
    print(f"# load average after: {os.getloadavg()}")
    print("\n| configuration | req/s | p50 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|")
    for label, r in rows:
        print(f"| {label} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']:.0f} |")


if __name__ == "__main__":
    main()
