"""Custody service load test: ``guomi server`` under wrk (or an async httpx client), same run.

What it measures (issue 5, "Speed"), each against a server in ANOTHER process:

* single 1 KiB ``encrypt`` requests: req/s and latency percentiles (target >= 3,000 req/s,
  p99 < 10 ms on this 2-core machine, shared by the server and the load generator);
* ``batch_input`` of 1,000 x 1 KiB items: items/s (target >= 100,000);
* single ``decrypt`` and ``sign`` (SM2) requests;
* the same on PostgreSQL (a throw-away cluster from scripts/pg-test-server.sh);
* the in-process engine doing the same operations with no HTTP, to show the overhead.

The load generator is wrk (Debian package ``wrk``; a Lua script sets the method, body and
token and prints percentiles as JSON) when installed, else an asyncio httpx client with
many concurrent requests in a separate process. Results are printed as a Markdown table
for bench/RESULTS.md.

    .venv/bin/python bench/bench_service.py [--duration 5] [--connections 32] [--no-postgres]

Same-run A/B of two trees (e.g. before and after a redesign), interleaved, on SQLite:
single 1 KiB encrypt (req/s, p99) and 1,000-item batch encrypt and decrypt (items/s),
each tree's server run by the same interpreter with ``PYTHONPATH`` at that tree's ``src``;
the medians and the spread (min-max) over the rounds are printed:

    .venv/bin/python bench/bench_service.py --ab /path/to/other/tree [--rounds 3] [--duration 3]

The PostgreSQL target, five runs (issue 13: >= 3,000 single 1 KiB encrypt req/s with p99 <
10 ms, "reliably: five runs, all above"): each run a fresh schema and a fresh server, a
warm-up, then wrk; per run req/s, p50/p99, the server's and wrk's CPU time per request and
the load average, then whether every run meets the target. With ``--ab PATH`` the runs of
that tree and of this one are interleaved (same PostgreSQL, same load generator):

    scripts/pg-test-server.sh run -- .venv/bin/python bench/bench_service.py --pg-runs 5 \
        [--pg-connections 16] [--duration 5] [--ab /path/to/other/tree]

(Several server processes on one PostgreSQL -- 1, 2, 4 -- are bench/bench_ops.py.)
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from guomi import api  # noqa: E402
from guomi.client import Client  # noqa: E402
from guomi.kms import build_engine  # noqa: E402
from guomi.kms.config import Config  # noqa: E402
from guomi.kms.service import RequestContext  # noqa: E402

KIB = b"\xa5" * 1024
#: Issue 13's batch targets (items/s, SQLite, over HTTP, server and load generator on 2 cores).
BATCH_TARGETS = {
    "encrypt batch 1000 x 1 KiB, c=4": 100_000,
    "decrypt batch 1000 x 1 KiB, c=4": 100_000,
}
#: `guomi server --bootstrap-token`: what sys/init needs (the init lock).
BOOTSTRAP = "guomi-bench-bootstrap-0001"


@dataclass
class Row:
    backend: str
    scenario: str
    rps: float
    items_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    tool: str
    #: Server CPU time (user + system, all threads) per item: the figure least moved by
    #: other work on a shared machine.
    cpu_us_per_item: float = 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (``/proc/<pid>/stat``), in seconds; 0 where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_preemptions(pid: int) -> int:
    """Involuntary context switches of all a process's threads so far: how often the kernel took
    the CPU from it for another runnable task (on a shared machine: other lanes' work)."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for line in (task / "status").read_text().splitlines():
                if line.startswith("nonvoluntary_ctxt_switches:"):
                    total += int(line.split()[1])
    except OSError:
        return 0
    return total


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


class Server:
    """``guomi server`` in a child process, initialised (1 share) and unsealed."""

    def __init__(
        self, storage: str, data_dir: Path, extra: tuple[str, ...] = (), tree: Path | None = None
    ) -> None:
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        cmd = [
            sys.executable, "-m", "guomi.cli", "server",
            "--listen", f"127.0.0.1:{self.port}",
            "--storage", storage,
            "--data-dir", str(data_dir), *extra,
        ]  # fmt: skip
        # The init lock's token by environment: a tree from before the lock ignores it.
        env = dict(os.environ, GUOMI_BOOTSTRAP_TOKEN=BOOTSTRAP)
        if tree is not None:  # serve that tree's code (same interpreter and dependencies)
            env["PYTHONPATH"] = str(tree / "src")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        self.token = ""
        with Client(self.addr) as c:
            deadline = time.monotonic() + 30
            while True:
                try:
                    health = c.health()
                    break
                except Exception:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        log = self.proc.stderr.read().decode() if self.proc.stderr else ""
                        raise RuntimeError(f"server did not start: {log}") from None
                    time.sleep(0.1)
            if not health.initialized:
                with Client(self.addr, BOOTSTRAP) as locked:  # the init lock's one-time token
                    init = locked.init(1, 1)
                self.token = init.root_token
                c.unseal(init.keys_base64[0])
        self.client = Client(self.addr, self.token, timeout=60)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (all its threads)."""
        return proc_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        self.client.close()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


WRK_LUA = r"""
wrk.method = os.getenv("BENCH_METHOD")
if wrk.method == "POST" then
  local f = io.open(os.getenv("BENCH_BODY_FILE"), "rb")
  wrk.body = f:read("*a")
  f:close()
end
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
done = function(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d, "non2xx": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
"""


def run_wrk(url: str, token: str, body: str, duration: float, connections: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_LUA)
        script = f.name
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(body)
        body_file = f.name
    method = "GET" if body == "null" else "POST"
    env = dict(os.environ, BENCH_BODY_FILE=body_file, BENCH_TOKEN=token, BENCH_METHOD=method)
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s"]
    cmd += ["-s", script, url]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    os.unlink(script)
    os.unlink(body_file)
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    r = json.loads(line[len("WRKJSON ") :])
    secs = r["duration_us"] / 1e6
    return {
        "rps": r["requests"] / secs,
        "p50_ms": r["p50_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "errors": r["errors"] + r["non2xx"],
        "requests": r["requests"],
    }


HTTPX_CHILD = r"""
import asyncio, json, sys, time, httpx
url, token, body = sys.argv[1], sys.argv[2], sys.argv[3].encode()
duration, conc = float(sys.argv[4]), int(sys.argv[5])
lat, errors = [], 0
async def worker(client, stop):
    global errors
    while time.perf_counter() < stop:
        t = time.perf_counter()
        r = await (client.get(url) if body == b"null" else client.post(url, content=body))
        lat.append(time.perf_counter() - t)
        if r.status_code != 200: errors += 1
async def main():
    h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(headers=h, limits=limits, timeout=30) as c:
        t0 = time.perf_counter(); stop = t0 + duration
        await asyncio.gather(*(worker(c, stop) for _ in range(conc)))
        return time.perf_counter() - t0
secs = asyncio.run(main())
lat.sort()
print(json.dumps({"rps": len(lat)/secs, "p50_ms": lat[len(lat)//2]*1000,
                  "p99_ms": lat[int(len(lat)*0.99)]*1000, "errors": errors, "requests": len(lat)}))
"""


def run_httpx(url: str, token: str, body: str, duration: float, connections: int) -> dict[str, float]:
    cmd = [sys.executable, "-c", HTTPX_CHILD, url, token, body, str(duration), str(connections)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def load(
    url: str, token: str, body: dict[str, Any] | None, duration: float, connections: int
) -> tuple[dict[str, float], str]:
    payload = json.dumps(body, separators=(",", ":"))
    if shutil.which("wrk"):
        return run_wrk(url, token, payload, duration, connections), "wrk"
    return run_httpx(url, token, payload, duration, connections), "httpx"


def scenarios(server: Server, conns: int) -> list[tuple[str, str, dict[str, Any] | None, int, int]]:
    """(label, path, body, items per request, connections)."""
    c = server.client
    for name, kind in (("bench-aead", "sm4-gcm"), ("bench-sign", "sm2-sign")):
        with contextlib.suppress(Exception):  # exists from an earlier round on the same store
            c.create_key(name, kind)
    b64 = base64.b64encode(KIB).decode()
    token = c.encrypt("bench-aead", KIB)
    batch = {"batch_input": [{"plaintext": b64} for _ in range(1000)]}
    return [
        # Anchor: the same server answering its cheapest route (no token, no crypto, no audit).
        (f"GET sys/health (anchor), c={conns}", "sys/health", None, 1, conns),
        (f"encrypt 1 KiB, c={conns}", "encrypt/bench-aead", {"plaintext": b64}, 1, conns),
        # Latency at a moderate load: queueing behind 32 connections on 2 cores dominates p99.
        ("encrypt 1 KiB, c=4", "encrypt/bench-aead", {"plaintext": b64}, 1, 4),
        (f"decrypt 1 KiB, c={conns}", "decrypt/bench-aead", {"ciphertext": token}, 1, conns),
        (f"sign (SM2) 1 KiB, c={conns}", "sign/bench-sign", {"input": b64}, 1, conns),
        ("encrypt batch 1000 x 1 KiB, c=4", "encrypt/bench-aead", batch, 1000, 4),
    ]


def bench_server(label: str, storage: str, data_dir: Path, args: argparse.Namespace) -> list[Row]:
    server = Server(storage, data_dir)
    rows = []
    try:
        for name, path, body, items, conns in scenarios(server, args.connections):
            load(f"{server.addr}/v1/{path}", server.token, body, 1.0, conns)  # warm-up
            r, tool = load(f"{server.addr}/v1/{path}", server.token, body, args.duration, conns)
            rps = r["rps"]
            row = Row(label, name, rps, rps * items, r["p50_ms"], r["p99_ms"], int(r["errors"]), tool)
            rows.append(row)
            print(f"  {label:10} {name:28} {row.rps:9.0f} req/s  {row.items_per_s:10.0f} items/s  "
                  f"p50 {row.p50_ms:.2f} ms  p99 {row.p99_ms:.2f} ms  errors {row.errors}",
                  flush=True)  # fmt: skip
    finally:
        server.stop()
    return rows


def engine_operations(tmp: Path) -> list[tuple[str, Any, int]]:
    """The engine (``guomi.kms.service``) on SQLite with no HTTP; each call authenticates the
    token as a request would, then does the operation (and writes its audit record)."""
    engine = build_engine(Config(storage_url=f"sqlite:///{tmp}/inproc.db", data_dir=tmp))
    token = engine.dev_init()
    root = engine.authenticate(token, RequestContext(), "setup")
    engine.create_key(root, "bench-aead", api.CreateKeyRequest(type="sm4-gcm"))
    engine.create_key(root, "bench-sign", api.CreateKeyRequest(type="sm2-sign"))
    ct = engine.encrypt(root, "bench-aead", api.EncryptRequest(plaintext=KIB)).ciphertext
    assert ct is not None
    batch = api.EncryptRequest(batch_input=[api.EncryptItem(plaintext=KIB) for _ in range(1000)])
    # A plain decrypt batch as the HTTP layer passes it: (token, associated data, reference).
    tokens = [(ct, None, None)] * 1000

    def op(fn: Any, *args: Any) -> Any:
        def run() -> None:
            caller = engine.authenticate(token, RequestContext(), "bench")
            fn(caller, *args)

        return run

    return [
        ("encrypt 1 KiB", op(engine.encrypt, "bench-aead", api.EncryptRequest(plaintext=KIB)), 1),
        ("decrypt 1 KiB", op(engine.decrypt, "bench-aead", api.DecryptRequest(ciphertext=ct)), 1),
        ("sign (SM2) 1 KiB", op(engine.sign, "bench-sign", api.SignRequest(input=KIB)), 1),
        ("encrypt batch 1000 x 1 KiB", op(engine.encrypt, "bench-aead", batch), 1000),
        ("decrypt batch 1000 x 1 KiB", op(engine.decrypt_batch_reply, "bench-aead", tokens), 1000),
    ]


def bench_in_process(duration: float) -> list[Row]:
    """The engine with no HTTP: what the service costs before the web layer (one thread)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="guomi-bench-engine-") as tmp:
        for name, fn, items in engine_operations(Path(tmp)):
            fn()
            lat = []
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < duration:
                t = time.perf_counter()
                fn()
                lat.append(time.perf_counter() - t)
            secs = time.perf_counter() - t0
            lat.sort()
            n = len(lat)
            row = Row("in-process", name, n / secs, n * items / secs, statistics.median(lat) * 1000,
                      lat[int(n * 0.99)] * 1000, 0, "engine, 1 thread")  # fmt: skip
            rows.append(row)
            print(f"  in-process {name:28} {row.rps:9.0f} op/s   {row.items_per_s:10.0f} items/s  "
                  f"p50 {row.p50_ms:.2f} ms", flush=True)  # fmt: skip
    return rows


def bench_variants(tmp: Path, args: argparse.Namespace) -> list[Row]:
    """uvloop + httptools (the default) against asyncio + h11, interleaved, on SQLite."""
    rows = []
    b64 = base64.b64encode(KIB).decode()
    for round_no in range(2):
        for loop, http in (("uvloop", "httptools"), ("asyncio", "h11")):
            d = tmp / f"variant-{loop}-{round_no}"
            server = Server(f"sqlite:///{d}.db", d, ("--loop", loop, "--http", http))
            try:
                server.client.create_key("v")
                label = f"sqlite, {loop}+{http}"
                for name, path, body in (
                    ("GET sys/health, c=32", "sys/health", None),
                    ("encrypt 1 KiB, c=32", "encrypt/v", {"plaintext": b64}),
                ):
                    url = f"{server.addr}/v1/{path}"
                    load(url, server.token, body, 1.0, args.connections)
                    r, tool = load(url, server.token, body, args.duration, args.connections)
                    row = Row(label, f"{name} (round {round_no + 1})", r["rps"], r["rps"], r["p50_ms"],
                              r["p99_ms"], int(r["errors"]), tool)  # fmt: skip
                    rows.append(row)
                    print(f"  {label:28} {row.scenario:34} {row.rps:9.0f} req/s  p99 {row.p99_ms:.2f} ms",
                          flush=True)  # fmt: skip
            finally:
                server.stop()
    return rows


def bench_ab(other: Path, tmp: Path, args: argparse.Namespace) -> list[Row]:
    """Interleaved rounds of the A/B scenarios on a server of ``other`` ("before") and of this
    tree ("after"), each on its own fresh SQLite store; the order alternates per round."""
    b64 = base64.b64encode(KIB).decode()
    rows: list[Row] = []
    trees = [("before", other.resolve()), ("after", ROOT)]
    for round_no in range(args.rounds):
        for label, tree in trees if round_no % 2 == 0 else trees[::-1]:
            d = tmp / f"ab-{label}-{round_no}"
            server = Server(f"sqlite:///{d}.db", d, tree=tree)
            try:
                server.client.create_key("ab")
                tokens = [r.unwrap() for r in server.client.encrypt_batch("ab", [KIB] * 1000)]
                for name, path, body, items in (
                    ("encrypt 1 KiB, c=4", "encrypt/ab", {"plaintext": b64}, 1),
                    (
                        "encrypt batch 1000 x 1 KiB, c=4",
                        "encrypt/ab",
                        {"batch_input": [{"plaintext": b64}] * 1000},
                        1000,
                    ),
                    (
                        "decrypt batch 1000 x 1 KiB, c=4",
                        "decrypt/ab",
                        {"batch_input": [{"ciphertext": t} for t in tokens]},
                        1000,
                    ),
                ):
                    url = f"{server.addr}/v1/{path}"
                    load(url, server.token, body, 1.0, 4)  # warm-up
                    cpu0 = server.cpu_seconds()
                    r, tool = load(url, server.token, body, args.duration, 4)
                    cpu = server.cpu_seconds() - cpu0
                    row = Row(
                        label,
                        name,
                        r["rps"],
                        r["rps"] * items,
                        r["p50_ms"],
                        r["p99_ms"],
                        int(r["errors"]),
                        tool,
                        cpu / max(1.0, r["requests"] * items) * 1e6,
                    )
                    rows.append(row)
                    print(f"  round {round_no + 1} {label:6} {name:34} {row.rps:9.0f} req/s  "
                          f"{row.items_per_s:10.0f} items/s  p99 {row.p99_ms:.2f} ms  "
                          f"server CPU {row.cpu_us_per_item:.1f} us/item  errors {row.errors}",
                          flush=True)  # fmt: skip
            finally:
                server.stop()
    return rows


def print_ab(rows: list[Row]) -> None:
    """Median and spread (min-max) per tree and scenario, the after/before ratio of medians,
    the server's CPU time per item (median), and the issue's targets against the after figures."""
    print("| operation | before: median (min-max) | after: median (min-max) | after / before "
          "| server CPU us/item, before / after |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    after: dict[str, float] = {}
    for name in dict.fromkeys(r.scenario for r in rows):
        cells = []
        medians = []
        cpus = []
        for label in ("before", "after"):
            vals = [r.items_per_s for r in rows if r.scenario == name and r.backend == label]
            p99 = [r.p99_ms for r in rows if r.scenario == name and r.backend == label]
            cpu = [r.cpu_us_per_item for r in rows if r.scenario == name and r.backend == label]
            med = statistics.median(vals)
            medians.append(med)
            cpus.append(statistics.median(cpu))
            unit = "req/s" if name.startswith("encrypt 1 KiB") else "items/s"
            extra = (
                f"; p99 {statistics.median(p99):.2f} ms ({min(p99):.2f}-{max(p99):.2f})"
                if unit == "req/s"
                else ""
            )
            cells.append(f"{med:,.0f} ({min(vals):,.0f}-{max(vals):,.0f}) {unit}{extra}")
        after[name] = medians[1]
        print(f"| {name} | {cells[0]} | {cells[1]} | {medians[1] / medians[0]:.2f}x "
              f"| {cpus[0]:.1f} / {cpus[1]:.1f} |")  # fmt: skip
    for name, target in BATCH_TARGETS.items():
        if name in after:
            verdict = "meets" if after[name] >= target else "BELOW"
            print(f"target (issue 13): {name} >= {target:,} items/s on SQLite: after median "
                  f"{after[name]:,.0f} items/s ({after[name] / target:.2f}x): {verdict}")  # fmt: skip


#: Issue 13's PostgreSQL target: single 1 KiB encrypt requests.
PG_TARGET_RPS = 3_000
PG_TARGET_P99_MS = 10.0


@contextlib.contextmanager
def postgres_url() -> Any:
    """``GUOMI_TEST_POSTGRES_URL``, else a throw-away cluster (scripts/pg-test-server.sh) for the block."""
    url = os.environ.get("GUOMI_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    exports = subprocess.run([str(ROOT / "scripts/pg-test-server.sh"), "start"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    env = dict(x.removeprefix("export ").split("=", 1) for x in exports.splitlines() if "=" in x)
    try:
        yield env["GUOMI_TEST_POSTGRES_URL"]
    finally:
        subprocess.run([str(ROOT / "scripts/pg-test-server.sh"), "stop", env["PGTEST_DIR"]], check=False)


def fresh_schema(url: str) -> str:
    """A storage URL for a new, empty schema of the PostgreSQL at ``url``."""
    import psycopg  # noqa: PLC0415 (only this mode needs the driver)

    schema = "bench_" + os.urandom(4).hex()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def children_cpu_seconds() -> float:
    """CPU time of this process's waited-for children so far (wrk runs as one)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def bench_pg_runs(url: str, tmp: Path, args: argparse.Namespace) -> bool:
    """``args.pg_runs`` runs of single 1 KiB encrypts on PostgreSQL; whether all meet the target."""
    body = {"plaintext": base64.b64encode(KIB).decode()}
    conns = args.pg_connections
    trees: list[tuple[str, Path | None]] = [("after", None)]
    if args.ab is not None:
        trees = [("before", args.ab.resolve()), ("after", None)]
    results: dict[str, list[dict[str, float]]] = {label: [] for label, _ in trees}
    for run in range(args.pg_runs):
        for label, tree in trees if run % 2 == 0 else trees[::-1]:
            server = Server(fresh_schema(url), tmp / f"pg-{label}-{run}", tree=tree)
            try:
                server.client.create_key("bench")
                addr = f"{server.addr}/v1/encrypt/bench"
                load(addr, server.token, body, 1.0, conns)  # warm-up
                cpu0, wrk0 = server.cpu_seconds(), children_cpu_seconds()
                pre0 = proc_preemptions(server.proc.pid)
                r, tool = load(addr, server.token, body, args.duration, conns)
                r["preempted_per_s"] = (proc_preemptions(server.proc.pid) - pre0) / args.duration
                n = max(1.0, r["requests"])
                r["server_us"] = (server.cpu_seconds() - cpu0) / n * 1e6
                r["loadgen_us"] = (children_cpu_seconds() - wrk0) / n * 1e6
                r["load"] = os.getloadavg()[0]
            finally:
                server.stop()
            results[label].append(r)
            ok = r["rps"] >= PG_TARGET_RPS and r["p99_ms"] < PG_TARGET_P99_MS and not r["errors"]
            print(f"  run {run + 1} {label:6} encrypt 1 KiB c={conns}: {r['rps']:7.0f} req/s  "
                  f"p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:6.2f} ms  errors {r['errors']:.0f}  "
                  f"server CPU {r['server_us']:.0f} us/req  {tool} CPU {r['loadgen_us']:.0f} us/req  "
                  f"preempted {r['preempted_per_s']:.0f}/s  load {r['load']:.1f}  "
                  f"{'meets' if ok else 'BELOW'}", flush=True)  # fmt: skip
    print(f"\n| run | {' | '.join(f'{label} req/s (p50 / p99 ms)' for label, _ in trees)} |")
    print("|---|" + "---:|" * len(trees))
    for run in range(args.pg_runs):
        cells = [
            f"{r['rps']:,.0f} ({r['p50_ms']:.2f} / {r['p99_ms']:.2f})"
            for r in (results[label][run] for label, _ in trees)
        ]
        print(f"| {run + 1} | {' | '.join(cells)} |")
    after = results["after"]
    met = [r["rps"] >= PG_TARGET_RPS and r["p99_ms"] < PG_TARGET_P99_MS and not r["errors"] for r in after]
    print(f"\ntarget (issue 13): PostgreSQL >= {PG_TARGET_RPS:,} req/s with p99 < {PG_TARGET_P99_MS:g} ms "
          f"in every run: {sum(met)} of {len(met)} runs meet it "
          f"(req/s {min(r['rps'] for r in after):,.0f}-{max(r['rps'] for r in after):,.0f}, "
          f"p99 {min(r['p99_ms'] for r in after):.2f}-{max(r['p99_ms'] for r in after):.2f} ms): "
          f"{'MET' if all(met) else 'NOT MET'}")  # fmt: skip
    return all(met)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per scenario")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--variants", action="store_true", help="also compare uvloop+httptools with asyncio+h11")
    ap.add_argument("--ab", type=Path, help="only a same-run A/B against the tree at this path (SQLite)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the A/B (interleaved)")
    ap.add_argument("--pg-runs", type=int, default=0, help="only the PostgreSQL target, this many runs")
    ap.add_argument("--pg-connections", type=int, default=16, help="wrk connections of --pg-runs")
    args = ap.parse_args()
    if args.pg_runs:
        now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        print(f"# bench_service --pg-runs {args.pg_runs}  {now}  "
              f"CPU: {cpu_model()}  cores: {os.cpu_count()}  load average {os.getloadavg()[0]:.1f}",
              flush=True)  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="guomi-bench-pg-") as tmp, postgres_url() as url:
            ok = bench_pg_runs(url, Path(tmp), args)
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        sys.exit(0 if ok else 1)
    if args.ab is not None:
        print(
            f"# bench_service --ab {args.ab}  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  "
            f"CPU: {cpu_model()}  cores: {os.cpu_count()}  load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        with tempfile.TemporaryDirectory(prefix="guomi-bench-ab-") as tmp:
            ab_rows = bench_ab(args.ab, Path(tmp), args)
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
        print_ab(ab_rows)
        return

    print(f"# bench_service  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  CPU: {cpu_model()}  "
          f"cores: {os.cpu_count()}  python {platform.python_version()}  "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="guomi-bench-") as tmp:
        rows += bench_server("sqlite", f"sqlite:///{tmp}/bench.db", Path(tmp), args)
        if args.variants:
            rows += bench_variants(Path(tmp), args)
        if not args.no_postgres:
            with postgres_url() as url:
                rows += bench_server("postgresql", url, Path(tmp) / "pg", args)
    rows += bench_in_process(min(args.duration, 2.0))

    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (other work on these 2 cores skews figures)")
    print("| store | operation | req/s | items/s | p50 ms | p99 ms | errors | load generator |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r.backend} | {r.scenario} | {r.rps:,.0f} | {r.items_per_s:,.0f} | {r.p50_ms:.2f} | "
              f"{r.p99_ms:.2f} | {r.errors} | {r.tool} |")  # fmt: skip


if __name__ == "__main__":
    main()
