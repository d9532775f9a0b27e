"""``guomi table rewrap``: data keys wrapped by the real ``openssl`` CLI (RSA-OAEP and PKCS#1
v1.5) re-wrapped to SM2 in whole columns, the payload untouched, and the SM2 values opened
by ``openssl pkeyutl -decrypt`` (OpenSSL 3.0 decrypts SM2 in the DER layout)."""

from __future__ import annotations

import base64
import csv
import json
import os
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from guomi.bulk import Job
from guomi.bulk._database import connect
from guomi.bulk.legacy import RsaToSm2Rewrapper, RsaWrappedKeyDecryptor
from guomi.cli import cli
from guomi.primitives import serialization
from tests.bulk.conftest import read_csv

pytestmark = pytest.mark.interop


def _openssl(*args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *args], input=data, check=True, capture_output=True).stdout


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("keys")
    paths = {name: d / f"{name}.pem" for name in ("rsa", "rsa_pub", "other", "sm2", "sm2_pub")}
    for name in ("rsa", "other"):
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(paths[name]))
    _openssl("pkey", "-in", str(paths["rsa"]), "-pubout", "-out", str(paths["rsa_pub"]))
    _openssl("genpkey", "-algorithm", "SM2", "-out", str(paths["sm2"]))
    _openssl("pkey", "-in", str(paths["sm2"]), "-pubout", "-out", str(paths["sm2_pub"]))
    return paths


def _wrap(keys: dict[str, Path], tmp_path: Path, data_key: bytes, padding: str) -> bytes:
    plain = tmp_path / "dk.bin"
    plain.write_bytes(data_key)
    mode = "oaep" if padding == "oaep" else "pkcs1"
    return _openssl(
        "pkeyutl", "-encrypt", "-pubin", "-inkey", str(keys["rsa_pub"]), "-in", str(plain),
        "-pkeyopt", f"rsa_padding_mode:{mode}",
    )  # fmt: skip


def _sm2_open(keys: dict[str, Path], tmp_path: Path, ciphertext: bytes) -> bytes:
    path = tmp_path / "ct.bin"
    path.write_bytes(ciphertext)
    return _openssl("pkeyutl", "-decrypt", "-inkey", str(keys["sm2"]), "-in", str(path))


def _key_file(tmp_path: Path, keys: dict[str, Path], padding: str, n: int = 6) -> tuple[Path, list[bytes]]:
    data_keys = [os.urandom(32) for _ in range(n)]
    path = tmp_path / "keys.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "dek", "payload"])
        for i, dk in enumerate(data_keys):
            wrapped = base64.b64encode(_wrap(keys, tmp_path, dk, padding)).decode()
            w.writerow([i, wrapped, f"aes-gcm-payload-{i}"])
        w.writerow([n, "", "no key"])  # an empty value stays empty
    return path, data_keys


@pytest.mark.parametrize("padding", ["oaep", "pkcs1"])
def test_cli_rewrap_csv_opened_by_openssl(tmp_path: Path, keys: dict[str, Path], padding: str) -> None:
    src, data_keys = _key_file(tmp_path, keys, padding)
    out = tmp_path / "keys.sm2.csv"
    args = ["table", "rewrap", str(src), str(out), "-c", "dek", "--rsa-key", str(keys["rsa"])]
    args += ["--rsa-padding", padding, "--sm2-key", str(keys["sm2_pub"])]
    result = CliRunner().invoke(cli, ["--json", *args])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["operation"] == "rewrap" and summary["columns"]["dek"]["processed"] == len(data_keys)
    before, after = read_csv(src), read_csv(out)
    assert [r["payload"] for r in after] == [r["payload"] for r in before]  # payload untouched
    assert [r["id"] for r in after] == [r["id"] for r in before]
    assert after[-1]["dek"] == ""
    opened = [_sm2_open(keys, tmp_path, base64.b64decode(r["dek"])) for r in after[:-1]]
    assert opened == data_keys
    # a re-run skips what is already SM2 (and a private SM2 PEM gives its public half)
    again = tmp_path / "again.csv"
    args = ["table", "rewrap", str(out), str(again), "-c", "dek", "--rsa-key", str(keys["rsa"])]
    result = CliRunner().invoke(
        cli, ["--json", *args, "--rsa-padding", padding, "--sm2-key", str(keys["sm2"])]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["columns"]["dek"]["skipped"] == len(data_keys)
    assert read_csv(again) == after


def test_cli_rewrap_wrong_key_names_row_and_writes_nothing(tmp_path: Path, keys: dict[str, Path]) -> None:
    src, _ = _key_file(tmp_path, keys, "oaep", n=3)
    out = tmp_path / "out.csv"
    args = ["table", "rewrap", str(src), str(out), "-c", "dek", "--rsa-key", str(keys["other"])]
    result = CliRunner().invoke(cli, [*args, "--sm2-key", str(keys["sm2_pub"])])
    assert result.exit_code == 1
    assert "row 1" in result.output and "column 'dek'" in result.output and str(src) in result.output
    assert not out.exists() and not list(tmp_path.glob(".out.csv*"))
    plan = CliRunner().invoke(cli, [*args, "--sm2-key", str(keys["sm2_pub"]), "--dry-run"])
    assert plan.exit_code == 0 and "rewrap" in plan.output and not out.exists()


def test_rewrap_table_in_place_binary_column(tmp_path: Path, keys: dict[str, Path]) -> None:
    """A database table in place (compare-and-set, checkpointed, as every in-place job), raw
    bytes in a BLOB column, through the Python API; then the CLI's dry run names the table."""
    url = f"sqlite:///{tmp_path / 'docs.db'}"
    data_keys = [os.urandom(16) for _ in range(5)]
    engine = connect(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE doc (id INTEGER PRIMARY KEY, dek BLOB, body TEXT)")
        conn.execute(
            sa.text("INSERT INTO doc VALUES (:i, :k, :b)"),
            [
                {"i": i, "k": _wrap(keys, tmp_path, dk, "oaep"), "b": f"body{i}"}
                for i, dk in enumerate(data_keys)
            ],
        )
    sm2_public = serialization.load_pem_public_key(keys["sm2_pub"].read_bytes())
    rewrapper = RsaToSm2Rewrapper(RsaWrappedKeyDecryptor(keys["rsa"].read_bytes()), sm2_public)
    summary = Job(url, table="doc", columns=["dek"], operation="rewrap", legacy=rewrapper).run()
    assert summary.columns["dek"].processed == 5
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, dek, body FROM doc ORDER BY id").all()
    engine.dispose()
    assert [_sm2_open(keys, tmp_path, r[1]) for r in rows] == data_keys
    assert [r[2] for r in rows] == [f"body{i}" for i in range(5)]
    args = ["table", "rewrap", url, "--table", "doc", "-c", "dek", "--rsa-key", str(keys["rsa"])]
    plan = CliRunner().invoke(cli, ["--json", *args, "--sm2-key", str(keys["sm2_pub"]), "--dry-run"])
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.output)["sink"] == "(in place)"
