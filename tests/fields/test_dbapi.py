"""guomi.dbapi: rows by schema and the wrapped sqlite3 / psycopg connection."""

from __future__ import annotations

import sqlite3

import pytest

from guomi.dbapi import Schema, decrypt_row, encrypt_row, encrypt_rows, wrap
from guomi.exceptions import InvalidTag, UnsupportedQueryError
from guomi.fields import BlindIndex, Field
from guomi.keys import Keyset
from tests.postgres import fresh_schema_url

KS = Keyset.generate()
EMAIL = Field("customer", "email", KS, indexes=[BlindIndex("email_bidx", bits=2)])
SCHEMA = Schema({"customer": {"email": EMAIL}})


def test_rows_by_schema() -> None:
    row = encrypt_row("customer", {"id": 7, "email": "a@b.cn"}, SCHEMA, context_key="id")
    assert row["email"].startswith("gm1.") and row["email_bidx"] == EMAIL.index("email_bidx", "a@b.cn")
    assert decrypt_row("customer", row, SCHEMA, context_key="id")["email"] == "a@b.cn"
    row["id"] = 8
    with pytest.raises(InvalidTag):
        decrypt_row("customer", row, SCHEMA, context_key="id")
    assert len(encrypt_rows("customer", [{"email": "x"}, {"id": 1}], [EMAIL])) == 2


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_wrapped_connection(backend: str) -> None:
    if backend == "sqlite":
        raw = sqlite3.connect(":memory:")
        mark = "?"
    else:
        psycopg = pytest.importorskip("psycopg")
        raw = psycopg.connect(fresh_schema_url())
        mark = "%s"
    conn = wrap(raw, SCHEMA)
    cur = conn.cursor()
    cur.execute("CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT, email_bidx BIGINT)")
    cur.executemany(
        f"INSERT INTO customer (id, email) VALUES ({mark}, {mark})", [(i, f"u{i}@b.cn") for i in range(40)]
    )
    conn.commit()
    cur.execute(f"SELECT id, email FROM customer WHERE email = {mark}", ("u5@b.cn",))
    assert cur.fetchall() == [(5, "u5@b.cn")]
    cur.execute(f"SELECT id, email FROM customer WHERE email = {mark} AND id > {mark}", ("u5@b.cn", 9))
    assert cur.fetchall() == []
    raw_cur = raw.cursor()
    raw_cur.execute("SELECT email FROM customer")
    assert all(r[0].startswith("gm1.") for r in raw_cur.fetchall())
    with pytest.raises(UnsupportedQueryError):
        cur.execute(f"SELECT id FROM customer WHERE email LIKE {mark}", ("u%",))
    raw.close()
