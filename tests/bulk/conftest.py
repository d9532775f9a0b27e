"""Fixtures of the bulk tests: keysets, small CSV/Parquet inputs, the fields module."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from guomi.bulk import clear_cache
from guomi.keys import Keyset
from tests.postgres import fresh_schema_url

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def keyset() -> Keyset:
    return Keyset.generate()


@pytest.fixture(scope="session")
def spark():
    """One Spark ``local[2]`` session for every Spark test of the run (pyspark imported only
    when a test asks for it)."""
    from guomi.bulk._spark import spark_session  # noqa: PLC0415

    session = spark_session(2)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> str:
    """A database URL for a table test: a SQLite file, then a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bank.db'}"
    return fresh_schema_url()


ROWS = [
    {
        "id": str(i),
        "name": f"客户{i}",
        "email": f"user{i}@bank.cn",
        "phone": f"1380000{i:04d}",
        "note": 'a,b "q"\nline2' if i % 7 == 0 else "",
    }
    for i in range(1, 301)
]


def write_csv(path: Path, rows=ROWS) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def plain_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "customers.csv")
