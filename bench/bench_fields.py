"""Database field encryption: guomi.fields against the obvious per-value code, same run.

Three parts (issue 11, "Speed"):

1. ``crypto``: encrypt + one blind index over N ~30-byte e-mail addresses on one core.
   guomi ``encrypt_many`` + ``index_many`` (Rust batch, GIL released) and the per-value API
   (``encrypt`` + ``index``) against pyca/cryptography doing SM4-GCM (random nonce, base64
   text, like ours) + HMAC-SM3 per value from Python, and against Fernet (encrypt only, no
   index: the anchor of the Fernet-based Python field libraries). CPU time, rounds
   interleaved, medians.
2. ``backfill``: encrypt + index a plaintext column in place, SQLite and PostgreSQL, same
   table copied fresh for each contender: the naive keyset-paginated loop (SELECT a page,
   pyca per value, ``executemany(UPDATE ... WHERE id = ?)``, commit) against
   :class:`guomi.fields.ColumnMigration` with the library's defaults (checkpointed,
   compare-and-set, set-based writes; 2 workers on PostgreSQL), and on PostgreSQL with 1
   worker. Wall time (the database server's work counts). The guomi runs' time in crypto,
   writes and reads is measured to say where the time goes.
3. ``lookup``: p50/p95 of an ORM equality query (index lookup + decrypt + re-check) on an
   encrypted, indexed PostgreSQL column of ``--lookup-rows`` rows.

    PYTHONPATH=src python bench/bench_fields.py --rows 100000 --backfill-rows 200000 \
        --lookup-rows 1000000 --pg postgresql://postgres@127.0.0.1:PORT/guomi_test
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from _timing import time_into  # bench/ is the script's directory, first on sys.path
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from guomi.fields import BlindIndex, ColumnMigration, Field, plan
from guomi.fields._lifecycle import DEFAULT_WORKERS
from guomi.keys import Keyset
from guomi.sqlalchemy import EncryptedType, blind_index_column

INDEX = "email_bidx"


def values(n: int) -> list[str]:
    return [f"customer{i:07d}@example-bank.cn" for i in range(n)]  # 30 bytes each


def cpu(fn: Callable[[], Any]) -> float:
    t0 = time.thread_time()
    fn()
    return time.thread_time() - t0


# ------------------------------------------------------------------ anchors


class PycaField:
    """SM4-GCM + HMAC-SM3 per value, the obvious way with pyca/cryptography."""

    def __init__(self) -> None:
        self.key = os.urandom(16)
        self.mac_key = os.urandom(32)

    def encrypt(self, value: str) -> str:
        nonce = os.urandom(12)
        enc = Cipher(algorithms.SM4(self.key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(b"customer.email")
        ct = enc.update(value.encode()) + enc.finalize()
        return base64.urlsafe_b64encode(nonce + ct + enc.tag).decode()

    def index(self, value: str) -> int:
        h = hmac.HMAC(self.mac_key, hashes.SM3())
        h.update(value.encode())
        return int.from_bytes(h.finalize()[:8], "big") >> 48


def crypto(n: int, rounds: int) -> list[tuple[str, float]]:
    vs = values(n)
    field = Field("customer", "email", Keyset.generate(), indexes=[BlindIndex(INDEX, bits=16)])
    pyca = PycaField()
    fernet = Fernet(Fernet.generate_key())
    per_value_n = max(1, n // 5)  # the per-value paths are slow; time a fifth and scale

    def guomi_batch() -> None:
        field.encrypt_many(vs)
        field.index_many(INDEX, vs)

    def guomi_single() -> None:
        for v in vs[:per_value_n]:
            field.encrypt(v)
            field.index(INDEX, v)

    def pyca_single() -> None:
        for v in vs[:per_value_n]:
            pyca.encrypt(v)
            pyca.index(v)

    def fernet_single() -> None:
        for v in vs[:per_value_n]:
            fernet.encrypt(v.encode())

    contenders = {
        "guomi encrypt_many + index_many": (guomi_batch, n),
        "guomi encrypt + index (per value)": (guomi_single, per_value_n),
        "pyca SM4-GCM + HMAC-SM3 (per value)": (pyca_single, per_value_n),
        "Fernet encrypt (per value, no index)": (fernet_single, per_value_n),
    }
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(rounds):
        for name, (fn, count) in contenders.items():
            times[name].append(count / cpu(fn))
    return [(k, statistics.median(v)) for k, v in times.items()]


# ------------------------------------------------------------------ backfill


def make_table(engine: Any, n: int) -> None:
    with engine.begin() as c:
        c.exec_driver_sql("DROP TABLE IF EXISTS customer")
        c.exec_driver_sql("DROP TABLE IF EXISTS guomi_field_migrations")
        c.exec_driver_sql(
            "CREATE TABLE customer (id BIGINT PRIMARY KEY, email TEXT, email_enc TEXT, email_bidx BIGINT)"
        )
        vs = values(n)
        step = 50_000
        for start in range(0, n, step):
            c.execute(
                sa.text("INSERT INTO customer (id, email) VALUES (:i, :e)"),
                [{"i": i + 1, "e": vs[i]} for i in range(start, min(n, start + step))],
            )
    if engine.dialect.name == "postgresql":
        # Each contender starts from a checkpointed cluster: a checkpoint's write-back falling
        # inside one run otherwise costs that run seconds (see bench/RESULTS.md).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("CHECKPOINT")


def naive_backfill(engine: Any, batch: int) -> int:
    """Keyset pagination, pyca per value, executemany(UPDATE ... WHERE id = ?), commit per page."""
    pyca = PycaField()
    raw = engine.raw_connection()
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    cur = raw.cursor()
    last, done = 0, 0
    while True:
        cur.execute(f"SELECT id, email FROM customer WHERE id > {mark} ORDER BY id LIMIT {batch}", (last,))
        rows = cur.fetchall()
        if not rows:
            break
        cur.executemany(
            f"UPDATE customer SET email_enc = {mark}, email_bidx = {mark} WHERE id = {mark}",
            [(pyca.encrypt(e), pyca.index(e), i) for i, e in rows],
        )
        raw.commit()
        last = rows[-1][0]
        done += len(rows)
    raw.close()
    return done


def backfill(url: str, n: int, batch: int, runs: int) -> list[tuple[str, list[float]]]:
    """``runs`` interleaved rounds of: the naive loop, then guomi with the library's defaults
    (what ``guomi field migrate --phase dual-write`` runs: batch 5000, 2 workers on
    PostgreSQL, 1 on SQLite), then on PostgreSQL guomi with 1 worker; each on a fresh copy of
    the table. Returns every run's rows/s per contender. "Where the time goes" (last round):
    seconds inside the crypto calls, the compare-and-set writes (``CasWriter.write``) and the
    page reads, over the wall time x workers (each worker thread spends its own wall time)."""
    from guomi.fields import _lifecycle, _writer  # noqa: PLC0415 (timing wrappers only)

    engine = sa.create_engine(url)
    dialect = engine.dialect.name
    rates: dict[str, list[float]] = {}
    shares_of: dict[str, str] = {}
    field = Field("customer", "email", Keyset.generate(), indexes=[BlindIndex(INDEX, bits=16)])
    spent = {"crypto": 0.0, "write": 0.0, "read": 0.0}
    timed = time_into(spent)

    field.encrypt_many = timed("crypto", field.encrypt_many)  # type: ignore[method-assign]
    field.index_many = timed("crypto", field.index_many)  # type: ignore[method-assign]
    write, page = _writer.CasWriter.write, _lifecycle.ColumnMigration._page
    worker_runs = [None] if dialect == "sqlite" else [None, 1]
    naive_name = f"naive pyca loop, batch {batch} ({dialect})"
    try:
        for _ in range(runs):
            make_table(engine, n)
            t0 = time.perf_counter()
            assert naive_backfill(engine, batch) == n
            rates.setdefault(naive_name, []).append(n / (time.perf_counter() - t0))
            _writer.CasWriter.write = timed("write", write)  # type: ignore[method-assign]
            _lifecycle.ColumnMigration._page = timed("read", page)  # type: ignore[method-assign]
            for workers in worker_runs:
                make_table(engine, n)
                spent.update(crypto=0.0, write=0.0, read=0.0)
                migration = ColumnMigration(engine, field)  # the library's defaults
                t0 = time.perf_counter()
                done = migration.dual_write() if workers is None else migration.dual_write(workers=workers)
                wall = time.perf_counter() - t0
                assert done == n
                used = workers or (1 if dialect == "sqlite" else DEFAULT_WORKERS)
                label = "defaults" if workers is None else f"{workers} worker"
                name = f"guomi ColumnMigration, {label} ({used} worker(s), {dialect})"
                rates.setdefault(name, []).append(n / wall)
                shares_of[name] = ", ".join(f"{k} {v / (wall * used):.0%}" for k, v in spent.items())
            _writer.CasWriter.write = write  # type: ignore[method-assign]
            _lifecycle.ColumnMigration._page = page  # type: ignore[method-assign]
    finally:
        _writer.CasWriter.write = write  # type: ignore[method-assign]
        _lifecycle.ColumnMigration._page = page  # type: ignore[method-assign]
    engine.dispose()
    out: list[tuple[str, list[float]]] = []
    for name, values_ in rates.items():
        out.append((name, values_))
        if name in shares_of:
            out.append(
                (
                    f"  where the time goes (last run): {shares_of[name]}, rest (commits, checkpoint)",
                    [],
                )
            )
    return out


# ------------------------------------------------------------------ lookup


def lookup(url: str, n: int, queries: int) -> tuple[float, float, int]:
    bits = plan(BlindIndex(INDEX, bits=1), rows=n).recommended_bits
    field = Field("lookup_customer", "email", Keyset.generate(), indexes=[BlindIndex(INDEX, bits=bits)])

    class Base(DeclarativeBase):
        pass

    class Customer(Base):
        __tablename__ = "lookup_customer"
        id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
        email: Mapped[str] = mapped_column(EncryptedType(field))
        email_bidx: Mapped[int] = blind_index_column(field, INDEX)

    engine = sa.create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    vs = values(n)
    raw = engine.raw_connection()
    cur = raw.cursor()
    step = 100_000
    for start in range(0, n, step):
        chunk = vs[start : start + step]
        tokens = field.encrypt_many(chunk)
        hashes = field.index_many(INDEX, chunk)
        with cur.copy("COPY lookup_customer (id, email, email_bidx) FROM STDIN") as copy:
            for i, (t, h) in enumerate(zip(tokens, hashes, strict=True)):
                copy.write_row((start + i + 1, t, h))
    raw.commit()
    cur.execute("ANALYZE lookup_customer")
    raw.commit()
    raw.close()
    lat = []
    with Session(engine) as s:
        for q in range(queries):
            target = vs[(q * 7919) % n]
            t0 = time.perf_counter()
            got = s.scalars(sa.select(Customer).where(Customer.email == target)).all()
            lat.append(time.perf_counter() - t0)
            assert [c.email for c in got] == [target]
            s.expunge_all()
    Base.metadata.drop_all(engine)
    engine.dispose()
    lat.sort()
    return lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.95)] * 1000, bits


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backfill-rows", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--backfill-runs", type=int, default=3, help="interleaved naive/guomi rounds (medians)")
    ap.add_argument("--lookup-rows", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--pg", default=os.environ.get("GUOMI_TEST_POSTGRES_URL"))
    ap.add_argument(
        "--skip", default="", help="comma list of parts to skip: crypto,backfill,lookup,sqlite,postgresql"
    )
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"cpu: {platform.processor() or platform.machine()}; python {platform.python_version()}")
    if "crypto" not in skip:
        res = crypto(args.rows, args.rounds)
        base = dict(res)
        print(
            f"\n### encrypt + 1 blind index, {args.rows} x 30-byte values, 1 core "
            f"(CPU time, median of {args.rounds})\n"
        )
        print("| contender | rows/s | guomi batch / this | guomi per-value / this |")
        print("|---|---:|---:|---:|")
        for name, rate in res:
            print(
                f"| {name} | {rate:,.0f} | {base['guomi encrypt_many + index_many'] / rate:.1f}x | "
                f"{base['guomi encrypt + index (per value)'] / rate:.1f}x |"
            )
    if "backfill" not in skip:
        urls = []
        with tempfile.TemporaryDirectory() as d:
            if "sqlite" not in skip:
                urls.append(f"sqlite:///{d}/bench.db")
            if args.pg and "postgresql" not in skip:
                urls.append(args.pg.replace("postgresql://", "postgresql+psycopg://", 1))
            print(
                f"\n### in-place backfill (encrypt + index), {args.backfill_rows} rows, "
                f"batch {args.batch} (wall), {args.backfill_runs} interleaved runs, medians\n"
            )
            print(f"load average: {os.getloadavg()}\n")
            print(
                "| contender | rows/s (median) | / naive (median of the runs' ratios) | every run (rows/s) |"
            )
            print("|---|---:|---:|---|")
            for url in urls:
                res = backfill(url, args.backfill_rows, args.batch, args.backfill_runs)
                naive_runs = res[0][1]
                for name, runs_ in res:
                    if name.startswith("  "):
                        print(f"| {name.strip()} | | | |")
                        continue
                    every = ", ".join(f"{r:,.0f}" for r in runs_)
                    if name.startswith("naive"):
                        print(f"| {name} | {statistics.median(runs_):,.0f} | 1.0x | {every} |")
                        continue
                    ratios = sorted(r / nr for r, nr in zip(runs_, naive_runs, strict=True))
                    ratio = statistics.median(ratios)
                    verdict = "meets" if ratio >= 4 else "BELOW"
                    print(
                        f"| {name} | {statistics.median(runs_):,.0f} | {ratio:.1f}x ({verdict} the 4x "
                        f"target; runs {', '.join(f'{r:.2f}' for r in ratios)}) | {every} |"
                    )
    if "lookup" not in skip and args.pg:
        p50, p95, bits = lookup(
            args.pg.replace("postgresql://", "postgresql+psycopg://", 1), args.lookup_rows, args.queries
        )
        print(
            f"\n### equality lookup, ORM select + re-check, {args.lookup_rows} rows on PostgreSQL "
            f"({bits}-bit index from plan()), {args.queries} queries\n"
        )
        print(f"p50 {p50:.2f} ms, p95 {p95:.2f} ms")


if __name__ == "__main__":
    main()
