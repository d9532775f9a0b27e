"""``guomi table scan``: PII, guomi ciphertext with key ids, and legacy formats per column."""

from __future__ import annotations

import base64
import csv
import json
import os
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from guomi.bulk import Job
from guomi.bulk._scan import scan_source
from guomi.cli import cli
from tests.bulk.test_legacy import PLAIN


def _resident_id(body: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


def _data(tmp_path: Path) -> Path:
    key = AESGCM.generate_key(bit_length=128)
    fkey = Fernet.generate_key()
    path = tmp_path / "mixed.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "resident_id", "mobile", "fernet", "gcm", "note"])
        for i in range(200):
            nonce = os.urandom(12)
            w.writerow(
                [
                    i,
                    _resident_id(f"11010519{49 + i % 40:02d}1231{i % 900 + 100:03d}"),
                    f"13{i % 10}0013{i:04d}",
                    Fernet(fkey).encrypt(PLAIN[i % len(PLAIN)].encode()).decode(),
                    base64.b64encode(nonce + AESGCM(key).encrypt(nonce, f"v{i}".encode(), None)).decode(),
                    f"note {i}",
                ]
            )
    return path


def test_scan_csv_and_encrypted_copy(tmp_path: Path, keyset) -> None:
    src = _data(tmp_path)
    [finding] = scan_source(src, sample=150)
    kinds = {name: col.kind.value for name, col in finding.columns.items()}
    assert kinds["resident_id"] == "pii-resident-id"
    assert kinds["mobile"] == "pii-mobile"
    assert kinds["fernet"] == "fernet"
    assert kinds["gcm"] == "aes-gcm"
    assert finding.columns["resident_id"].sampled == 150
    enc = tmp_path / "enc.parquet"
    Job(src, enc, columns=["resident_id", "mobile"], keyring=keyset).run()
    [after] = scan_source(enc)
    assert after.columns["resident_id"].kind.value == "guomi-field"
    assert after.columns["resident_id"].guomi_share == 1.0
    assert f"field:{keyset.primary_id:08x}" in after.columns["resident_id"].key_ids


def test_cli_scan_json_and_table(tmp_path: Path) -> None:
    src = _data(tmp_path)
    result = CliRunner().invoke(cli, ["--json", "table", "scan", str(src), "-c", "mobile", "-c", "fernet"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert set(doc["tables"][0]["columns"]) == {"mobile", "fernet"}
    for col in doc["tables"][0]["columns"].values():
        assert "130013" not in json.dumps(col["examples"])  # values are redacted
    result = CliRunner().invoke(cli, ["table", "scan", str(src)])
    assert result.exit_code == 0 and "fernet" in result.output.lower()


def test_scan_database_table(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, phone TEXT)")
        conn.executemany("INSERT INTO t (phone) VALUES (?)", [(f"1380013{i:04d}",) for i in range(100)])
    [finding] = scan_source(f"sqlite:///{db}", table="t")
    assert finding.columns["phone"].kind.value == "pii-mobile"


def test_scan_parquet_directory_and_not_parquet(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    for i in range(2):
        pq.write_table(pa.table({"m": [f"1390013{j:04d}" for j in range(100)]}), lake / f"p{i}.parquet")
    findings = scan_source(lake, sample=50)
    assert len(findings) == 2 and all(f.columns["m"].kind.value == "pii-mobile" for f in findings)
    (tmp_path / "x.parquet").write_text("nope")
    result = CliRunner().invoke(cli, ["table", "scan", str(tmp_path / "x.parquet")])
    assert (
        result.exit_code == 1
        and "x.parquet" in result.output
        and "not a readable Parquet file" in result.output
    )
