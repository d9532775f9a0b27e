"""Helpers of the bulk tests over database tables (SQLite and PostgreSQL; the parametrised
``db_url`` fixture is in conftest.py): the ``customer`` table, its dump, the checkpoint
rows, and an application thread writing the table while a job runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from guomi.bulk._database import CHECKPOINT_TABLE, connect
from guomi.fields import Field
from guomi.keys import Keyset


def make_table(url: str, n: int) -> list[tuple[int, str, str | None, str]]:
    rows = [
        (i, f"user{i}@bank.cn", None if i % 50 == 0 else f"1390000{i:04d}", f"客户{i}")
        for i in range(1, n + 1)
    ]
    engine = connect(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE customer "
            "(id BIGINT PRIMARY KEY, email TEXT NOT NULL, phone TEXT, name TEXT, email_bidx BIGINT)"
        )
        conn.execute(
            sa.text("INSERT INTO customer (id, email, phone, name) VALUES (:i, :e, :p, :n)"),
            [{"i": i, "e": e, "p": p, "n": nm} for i, e, p, nm in rows],
        )
    engine.dispose()
    return rows


def dump(url: str) -> dict[int, tuple]:
    engine = connect(url)
    with engine.connect() as conn:
        out = {
            r[0]: tuple(r[1:])
            for r in conn.exec_driver_sql("SELECT id, email, phone, name, email_bidx FROM customer")
        }
    engine.dispose()
    return out


def checkpoints(url: str) -> dict[str, int]:
    """``job id -> rows done`` of every checkpoint row left in the table."""
    engine = connect(url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(f"SELECT job_id, rows_done FROM {CHECKPOINT_TABLE}").all()
    finally:
        engine.dispose()
    return {r[0]: int(r[1]) for r in rows}


@contextmanager
def application_writes(url: str, rows: int, pause: float) -> Iterator[dict[int, str]]:
    """A thread updating ``customer.email`` of rows spread over the table until the block ends;
    yields ``{id: the last value it wrote}``."""
    stop = threading.Event()
    last: dict[int, str] = {}

    def application() -> None:
        engine = connect(url)
        n = 0
        while not stop.is_set():
            n += 1
            i = 1 + (n * 7919) % rows
            value = f"app{n}@live.cn"
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE customer SET email = :e WHERE id = :i"), {"e": value, "i": i})
            last[i] = value
            time.sleep(pause)
        engine.dispose()

    thread = threading.Thread(target=application)
    thread.start()
    try:
        yield last
    finally:
        stop.set()
        thread.join()


def assert_application_writes_kept(url: str, keyset: Keyset, last: dict[int, str]) -> None:
    """Every application write survived: encrypted by the job if it came before the job reached
    the row, as written otherwise."""
    email = Field("customer", "email", keyset)
    after = dump(url)
    assert last
    for i, value in last.items():
        stored = after[i][0]
        assert (email.decrypt(stored) if stored.startswith("gm1.") else stored) == value
