"""The shared compare-and-set batch writer (``guomi.fields.CasWriter``) on SQLite, PostgreSQL
and the generic SQLAlchemy path: a concurrent write is never overwritten, a row changed
between read and write is left for the next pass, a batch and its checkpoint land together
or not at all, and on PostgreSQL the job's page query walks the key index even on a table
without statistics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from guomi.fields import BlindIndex, CasWriter, ColumnMigration, Field, _lifecycle, _writer, tune_transaction
from guomi.keys import Keyset
from tests.postgres import fresh_schema_url

ROWS = 300


@pytest.fixture(params=["sqlite", "postgresql", "generic"])
def engine(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if request.param == "postgresql":
        url = fresh_schema_url().replace("postgresql://", "postgresql+psycopg://", 1)
    else:
        url = f"sqlite:///{tmp_path / 'bank.db'}"
    if request.param == "generic":  # SQLAlchemy executemany, as for any other database
        monkeypatch.setattr(_writer, "_strategy", lambda dialect: "generic")
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.exec_driver_sql(
            "CREATE TABLE customer (id BIGINT PRIMARY KEY, email TEXT, email_enc TEXT, email_bidx BIGINT)"
        )
        c.execute(
            sa.text("INSERT INTO customer (id, email) VALUES (:i, :e)"),
            [{"i": i, "e": f"user{i}@bank.cn"} for i in range(1, ROWS + 1)],
        )
    yield eng
    eng.dispose()


def _rows(engine: Any) -> dict[int, tuple[Any, ...]]:
    with engine.begin() as c:
        return {r[0]: tuple(r[1:]) for r in c.exec_driver_sql("SELECT * FROM customer ORDER BY id")}


def test_cas_write_keeps_concurrent_writes_and_names_them(engine: Any) -> None:
    with engine.begin() as c:
        writer = CasWriter(
            c, "customer", "id", ["email"], ["email_enc", "email_bidx"], still_null=["email_enc"]
        )
        read = c.exec_driver_sql("SELECT id, email FROM customer ORDER BY id").all()
    batch = [(i, e, f"enc-{e}", i * 7) for i, e in read]
    with engine.begin() as app:  # between the read and the write, the application changes two rows
        app.exec_driver_sql("UPDATE customer SET email = 'app@changed.cn' WHERE id = 5")
        app.exec_driver_sql("UPDATE customer SET email_enc = 'app-token' WHERE id = 9")
        app.exec_driver_sql("DELETE FROM customer WHERE id = 11")
    with engine.begin() as c:
        tune_transaction(c)
        changed = writer.write(c, batch)
        missed = writer.missed(c, batch)
    assert changed == ROWS - 3
    assert sorted(missed) == [5, 9]  # the deleted row needs nothing
    after = _rows(engine)
    assert after[5] == ("app@changed.cn", None, None)  # the application's value is kept
    assert after[9] == ("user9@bank.cn", "app-token", None)  # still_null: never overwritten
    assert 11 not in after
    assert after[1] == ("user1@bank.cn", "enc-user1@bank.cn", 7)
    assert sum(1 for v in after.values() if v[1] and v[1].startswith("enc-")) == ROWS - 3


def test_null_old_values_compare_null_safely(engine: Any) -> None:
    with engine.begin() as c:
        c.exec_driver_sql("UPDATE customer SET email = NULL WHERE id <= 3")
        writer = CasWriter(c, "customer", "id", ["email"], ["email_enc"])
    with engine.begin() as c:
        assert writer.write(c, [(1, None, "a"), (2, "not what is there", "b"), (3, None, "c")]) == 2
        assert writer.missed(c, [(1, None, "a"), (2, "not what is there", "b"), (3, None, "c")]) == [2]
    after = _rows(engine)
    assert (after[1][1], after[2][1], after[3][1]) == ("a", None, "c")


def test_value_changed_between_read_and_write_is_left_for_the_next_pass(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ColumnMigration: the application rewrites a row after the job read its page; the CAS
    skips it and the sweep encrypts the application's value; every row ends up right."""
    field = Field("customer", "email", Keyset.generate(), indexes=[BlindIndex("email_bidx", bits=8)])
    encrypt = field.encrypt_many
    raced: list[int] = []

    def racing(values: list[Any], contexts: Any = None) -> Any:
        if not raced:
            raced.append(1)
            with engine.begin() as app:
                app.exec_driver_sql("UPDATE customer SET email = 'app@changed.cn' WHERE id = 2")
        return encrypt(values, contexts)

    monkeypatch.setattr(field, "encrypt_many", racing)
    migration = ColumnMigration(engine, field, batch_size=50)
    assert migration.dual_write(workers=1) == ROWS
    after = _rows(engine)
    plain = {i: v[0] for i, v in after.items()}
    decrypted = field.decrypt_many([v[1] for v in after.values()])
    assert dict(zip(after, decrypted, strict=True)) == plain
    assert plain[2] == "app@changed.cn"
    assert all(v[2] == field.index("email_bidx", v[0]) for v in after.values())


def test_batch_and_checkpoint_land_together(engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after the write and before the commit (here: saving the checkpoint of the
    third batch) leaves neither; the rerun resumes after the second batch."""
    field = Field("customer", "email", Keyset.generate(), indexes=[BlindIndex("email_bidx", bits=8)])
    save = _lifecycle.ColumnMigration._save
    calls = {"running": 0}

    def failing(self: Any, conn: Any, step: str, state: str, last_key: Any, rows_done: int) -> None:
        if state == "running" and last_key is not None:
            calls["running"] += 1
            if calls["running"] == 3:
                raise RuntimeError("killed")
        save(self, conn, step, state, last_key, rows_done)

    monkeypatch.setattr(_lifecycle.ColumnMigration, "_save", failing)
    with pytest.raises(RuntimeError):
        ColumnMigration(engine, field, batch_size=50).dual_write(workers=1)
    after = _rows(engine)
    assert sorted(i for i, v in after.items() if v[1] is not None) == list(range(1, 101))
    monkeypatch.setattr(_lifecycle.ColumnMigration, "_save", save)
    migration = ColumnMigration(engine, field, batch_size=50)
    assert migration.dual_write(workers=1) == ROWS - 100
    assert migration.status().steps["dual-write"]["rows_done"] == ROWS


def test_postgresql_pages_walk_the_key_index_without_statistics() -> None:
    """On a table never analyzed, the keyset page query would be planned as a sequential
    scan + sort of the rest of the table for every page; the job's settings forbid that."""
    eng = sa.create_engine(fresh_schema_url().replace("postgresql://", "postgresql+psycopg://", 1))
    with eng.begin() as c:
        c.exec_driver_sql("CREATE TABLE customer (id BIGINT PRIMARY KEY, email TEXT, email_enc TEXT)")
        c.exec_driver_sql(
            "INSERT INTO customer (id, email) SELECT g, 'u' || g FROM generate_series(1, 20000) g"
        )
    query = (
        "EXPLAIN SELECT id, email FROM customer WHERE id > 10000 AND email IS NOT NULL "
        "AND email_enc IS NULL ORDER BY id LIMIT 500"
    )
    with eng.begin() as c:
        tune_transaction(c)
        plan = "\n".join(r[0] for r in c.exec_driver_sql(query))
    eng.dispose()
    assert "Index Scan using customer_pkey" in plan, plan
    assert "Seq Scan" not in plan and "Sort" not in plan, plan
