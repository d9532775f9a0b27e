"""Issue 14 gaps: row-bound field values are decrypted by the check, and every database is
sampled at random (not its first rows) — on SQLite, PostgreSQL and the generic SQLAlchemy path.

A row-bound value (``docs/spec/field.md`` §4) has its row's context, the primary key, in its
associated data: it opens only with that key, and a value copied to another row does not
open there. The check opens them with the declared ``context_column``, or, undeclared, with
the table's one-column primary key when a value does not open alone.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from guomi.assess import assess, load_config
from guomi.fields import Field, LocalKeyring
from guomi.keys import Keyset
from guomi.primitives import sm2
from guomi.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from guomi.scan import primary_key_columns, sample_column, sample_keyed_column, scan_database
from tests.kms.conftest import fresh_pg_url, needs_postgres
from tests.scan import legacy

ROWS = 60
PASSPHRASE = "TEST-ONLY keyset passphrase"


def _values(keyset: Keyset, bound: bool) -> list[tuple[int, str]]:
    """(id, field value) rows; row 5 holds row 4's value (copied across rows: must not open)."""
    fld = Field("customers", "id_no", LocalKeyring(keyset))
    rows = [
        (i, fld.encrypt(legacy.resident_id("110105", "19800101", i), i if bound else None))
        for i in range(1, ROWS + 1)
    ]
    rows[4] = (rows[4][0], rows[3][1])
    return rows


def _wrapped(keyset: Keyset) -> str:
    return keyset.to_encrypted_json(passphrase=PASSPHRASE, iterations=100_000)


def _sqlite_bank(root: Path, bound: bool) -> str:
    keyset = Keyset.generate()
    (root / "customers.keyset.json").write_text(
        keyset.to_encrypted_json(passphrase=PASSPHRASE, iterations=100_000)
    )
    with contextlib.closing(sqlite3.connect(root / "bank.db")) as conn, conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, id_no TEXT)")
        conn.executemany("INSERT INTO customers VALUES (?, ?)", _values(keyset, bound))
    return "sqlite:///bank.db"


def _postgres_bank(root: Path, bound: bool) -> str:
    import psycopg  # noqa: PLC0415

    url = fresh_pg_url()
    keyset = Keyset.generate()
    (root / "customers.keyset.json").write_text(
        keyset.to_encrypted_json(passphrase=PASSPHRASE, iterations=100_000)
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (id BIGINT PRIMARY KEY, id_no TEXT)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO customers VALUES (%s, %s)", _values(keyset, bound))
    return url


def _assess(root: Path, url: str, context_column: str | None) -> dict[str, Any]:
    (root / "signer.pem").write_bytes(
        sm2.generate_private_key().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    ctx = f'context_column = "{context_column}"\n' if context_column else ""
    (root / "assess.toml").write_text(
        f"""
[system]
name = "row-bound test"
level = 3

[[system.important_data]]
name = "customer ID numbers"
database = "{url}"
table = "customers"
column = "id_no"
keyset = "customers.keyset.json"
{ctx}
[signing]
key = "signer.pem"

[sampling]
rows = 1000
""",
        "utf-8",
    )
    config = load_config(root / "assess.toml", environ={"GUOMI_KEYSET_PASSPHRASE": PASSPHRASE})
    assess(config, root / "pack", pdf=False)
    return json.loads((root / "pack" / "evidence.json").read_text("utf-8"))


def _coverage(ev: dict[str, Any]) -> dict[str, Any]:
    (row,) = [r for r in ev["inventory"] if str(r.get("location", "")).endswith("customers.id_no")]
    return dict(row["coverage"])


BANKS: dict[str, Callable[[Path, bool], str]] = {
    "sqlite": _sqlite_bank,
    "postgresql": pytest.param(_postgres_bank, marks=needs_postgres),  # type: ignore[dict-item]
}


@pytest.mark.parametrize("bank", list(BANKS.values()), ids=list(BANKS))
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "primary-key"])
def test_row_bound_values_are_decrypted(tmp_path: Path, monkeypatch: Any, bank: Any, declared: bool) -> None:
    monkeypatch.chdir(tmp_path)
    url = bank(tmp_path, True)
    cov = _coverage(_assess(tmp_path, url, "id" if declared else None))
    # Every value was tried; all but the one copied to another row open, bound to their row.
    assert cov["decrypt_checked"] == ROWS
    assert cov["decrypt_failed"] == 1
    assert cov["decrypt_row_bound"] == ROWS - 1
    assert cov["decrypt_context_column"] == "id"
    assert sum(cov["decrypt_failures"].values()) == 1


@pytest.mark.parametrize("bank", list(BANKS.values()), ids=list(BANKS))
def test_unbound_values_still_open_without_a_context(tmp_path: Path, monkeypatch: Any, bank: Any) -> None:
    monkeypatch.chdir(tmp_path)
    url = bank(tmp_path, False)
    cov = _coverage(_assess(tmp_path, url, None))
    # Not bound: the copy opens too (nothing ties a value to its row), none is row-bound.
    assert (cov["decrypt_checked"], cov["decrypt_failed"], cov["decrypt_row_bound"]) == (ROWS, 0, 0)
    assert cov["decrypt_context_column"] is None


def test_declaring_the_wrong_context_column_shows_as_failures(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    url = _sqlite_bank(tmp_path, False)  # values made without a context, declared with one
    cov = _coverage(_assess(tmp_path, url, "id"))
    assert cov["decrypt_checked"] == ROWS and cov["decrypt_failed"] == ROWS


# ------------------------------------------------------------------ random sampling


def _big_sqlite(path: Path, rows: int) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"v{i}") for i in range(1, rows + 1)])


def _spread(ids: list[int], rows: int, n: int) -> None:
    """A random sample of n from 1..rows is not the first rows: it reaches the last tenth
    and is not one contiguous run (either fails with probability below 1e-40 here)."""
    assert len(ids) == n == len(set(ids))
    assert max(ids) > rows * 0.9
    assert sorted(ids) != list(range(min(ids), min(ids) + n))


def test_generic_sqlalchemy_path_samples_random_key_ranges(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    _big_sqlite(tmp_path / "x.db", 5000)
    url = f"sqlite+pysqlite:///{tmp_path / 'x.db'}"  # not the stdlib path: any SQLAlchemy dialect
    found = scan_database(url, sample=100)
    (table,) = found.tables
    assert table.rows == 5000 and table.columns["v"].sampled == 100
    assert table.sampling is not None and "random key ranges" in table.sampling
    pairs = sample_keyed_column(url, "t", "v", "id", 100)
    _spread([k for k, _ in pairs], 5000, 100)
    assert all(v == f"v{k}" for k, v in pairs)
    assert primary_key_columns(url, "t") == ["id"]


def test_generic_path_without_integer_key_uses_a_reservoir(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    with contextlib.closing(sqlite3.connect(tmp_path / "y.db")) as conn, conn:
        conn.execute("CREATE TABLE t (code TEXT PRIMARY KEY, n INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(f"c{i:05d}", i) for i in range(3000)])
    url = f"sqlite+pysqlite:///{tmp_path / 'y.db'}"
    (table,) = scan_database(url, sample=100).tables
    assert table.sampling is not None and "reservoir sample of all rows" in table.sampling
    values = sample_column(url, "t", "n", 100)
    _spread([v + 1 for v in values], 3000, 100)


def test_sqlite_samples_random_rows(tmp_path: Path) -> None:
    _big_sqlite(tmp_path / "z.db", 5000)
    url = f"sqlite:///{tmp_path / 'z.db'}"
    pairs = sample_keyed_column(url, "t", "v", "id", 100)
    _spread([k for k, _ in pairs], 5000, 100)
    (table,) = scan_database(url, sample=100).tables
    assert table.sampling is not None and "random" in table.sampling


@needs_postgres
def test_postgresql_samples_random_rows_with_tablesample() -> None:
    import psycopg  # noqa: PLC0415

    url = fresh_pg_url()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
        conn.execute("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 20000) g")
        conn.execute("ANALYZE t")  # the planner's row estimate picks TABLESAMPLE
    (table,) = scan_database(url, sample=200).tables
    assert table.rows == 20000 and table.columns["v"].sampled == 200
    assert table.sampling is not None and "TABLESAMPLE BERNOULLI" in table.sampling
    pairs = sample_keyed_column(url, "t", "v", "id", 200)
    _spread([int(k) for k, _ in pairs], 20000, 200)
    assert primary_key_columns(url, "t") == ["id"]
    # A small table (or one never analysed) is sampled with ORDER BY random().
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE s (id BIGINT PRIMARY KEY, v TEXT)")
        conn.execute("INSERT INTO s SELECT g, 'v' || g FROM generate_series(1, 3000) g")
    small = next(t for t in scan_database(url, ["s"], sample=100).tables if t.name == "s")
    assert small.sampling == "random rows (ORDER BY random())"
    _spread([int(k) for k, _ in sample_keyed_column(url, "s", "v", "id", 100)], 3000, 100)
