"""guomi.scan.scan_file and scan_database: key material in config files, sampled SQLite tables."""

from __future__ import annotations

import base64
import contextlib
import os
import sqlite3
import subprocess
from pathlib import Path

import psycopg
import pytest

from guomi.scan import Kind, scan_database, scan_file
from tests.kms.conftest import fresh_pg_url, needs_postgres
from tests.scan import legacy


def test_config_keys_found_without_copying_them(tmp_path: Path) -> None:
    sm4 = os.urandom(16).hex()
    aes = base64.b64encode(os.urandom(32)).decode()
    conf = tmp_path / "app.properties"
    conf.write_text(
        f"db.url=jdbc:oracle:thin:@db:1521/CORE\ncrypto.sm4.key={sm4}\nlog.level=INFO\naes_key: '{aes}'\n"
    )
    xml = tmp_path / "server.xml"
    xml.write_text(
        f'<Server>\n  <Parameter name="dataKey" value="{sm4}"/>\n'
        f"  <iv>{os.urandom(16).hex()}</iv>\n</Server>\n"
    )
    found = scan_file(conf)
    assert [(i.kind, i.line, i.name) for i in found.items] == [
        ("key-material", 2, "crypto.sm4.key"),
        ("key-material", 4, "aes_key"),
    ]
    assert all(i.high_risk for i in found.items)
    assert sm4 not in repr(found.to_dict()) and aes not in repr(found.to_dict())
    assert [(i.line, i.name) for i in scan_file(xml).items] == [(2, "dataKey"), (3, "iv")]


def test_clean_config_has_no_findings(tmp_path: Path) -> None:
    conf = tmp_path / "clean.toml"
    conf.write_text(
        'name = "core"\n[service]\naddr = "http://127.0.0.1:8200"\npassword_policy = "strongPolicyName"\n'
    )
    assert scan_file(conf).items == []


@pytest.mark.interop
def test_pem_private_keys_from_openssl(tmp_path: Path) -> None:
    pem = tmp_path / "sm2.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", str(pem)],
        check=True,
        capture_output=True,
    )
    items = scan_file(pem).items
    assert [(i.kind, i.line) for i in items] == [("pem-private-key", 1)]


def test_missing_file_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    f = scan_file(tmp_path / "nope.conf")
    assert f.error is not None and "FileNotFoundError" in f.error and f.items == []


def test_csv_columns_are_classified(tmp_path: Path) -> None:
    p = tmp_path / "extract.csv"
    ids = [legacy.resident_id("310101", "19800101", i) for i in range(20)]
    p.write_text("id,id_no,name\n" + "".join(f"{i},{v},name{i}\n" for i, v in enumerate(ids)))
    cols = scan_file(p).columns
    assert cols["id_no"].kind is Kind.PII_RESIDENT_ID and cols["name"].kind is Kind.PLAINTEXT


def test_sqlite_tables_sampled(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    key = os.urandom(16)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, id_no TEXT, city BLOB)")
        conn.executemany(
            "INSERT INTO customers (id_no, city) VALUES (?, ?)",
            [
                (legacy.resident_id("310101", "19800101", i), legacy.aes_ecb(key, b"c%d" % (i % 4)))
                for i in range(300)
            ],
        )
    found = scan_database(f"sqlite:///{db}", sample=100)
    assert found.error is None
    (table,) = found.tables
    assert table.name == "customers" and table.rows == 300
    assert table.columns["id_no"].kind is Kind.PII_RESIDENT_ID and table.columns["id_no"].sampled == 100
    assert table.columns["city"].kind is Kind.AES_ECB
    missing = scan_database(f"sqlite:///{db}", tables=["nope"])
    assert missing.tables[0].error is not None and "no such table" in missing.tables[0].error


def test_unreachable_databases_are_findings(tmp_path: Path) -> None:
    assert scan_database(f"sqlite:///{tmp_path}/absent/x.db").error is not None
    pg = scan_database("postgresql://u:secretpw@127.0.0.1:1/db")
    assert pg.error is not None and "secretpw" not in pg.url and "***" in pg.url


def _small_db(path: Path) -> list[str]:
    ids = [legacy.resident_id("310101", "19800101", i) for i in range(30)]
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, id_no TEXT, memo TEXT)")
        conn.executemany("INSERT INTO people (id_no, memo) VALUES (?, ?)", [(v, "ok") for v in ids])
    return ids


def test_any_sqlalchemy_url(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    _small_db(tmp_path / "x.db")
    found = scan_database(f"sqlite+pysqlite:///{tmp_path / 'x.db'}", sample=10)  # the SQLAlchemy path
    assert found.error is None
    (table,) = found.tables
    assert (table.name, table.rows, table.columns["id_no"].kind, table.columns["id_no"].sampled) == (
        "people",
        30,
        Kind.PII_RESIDENT_ID,
        10,
    )


@needs_postgres
def test_postgresql(tmp_path: Path) -> None:
    url = fresh_pg_url()
    ids = [legacy.resident_id("310101", "19800101", i) for i in range(30)]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE people (id SERIAL PRIMARY KEY, id_no TEXT, card BYTEA)")
        key = os.urandom(16)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO people (id_no, card) VALUES (%s, %s)",
                [(v, legacy.aes_ecb(key, b"c%d" % (i % 3))) for i, v in enumerate(ids)],
            )
    found = scan_database(url, sample=20)
    assert found.error is None
    (table,) = found.tables
    assert table.rows == 30 and table.columns["id_no"].kind is Kind.PII_RESIDENT_ID
    assert table.columns["card"].kind is Kind.AES_ECB
