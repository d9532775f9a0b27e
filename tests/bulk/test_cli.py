"""``guomi table ...`` end to end through click: keyset file, summary, dry run, force."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from guomi.cli import cli
from guomi.keys import Keyset
from tests.bulk.conftest import PASSPHRASE, ROWS, read_csv


def _keyset_file(tmp_path: Path, keyset: Keyset) -> Path:
    path = tmp_path / "ks.json"
    path.write_text(keyset.to_encrypted_json(passphrase=PASSPHRASE, iterations=100_000))
    return path


def test_encrypt_decrypt_with_keyset_file(tmp_path: Path, plain_csv: Path, keyset: Keyset) -> None:
    ks = _keyset_file(tmp_path, keyset)
    runner = CliRunner()
    env = {"GUOMI_PASSPHRASE": PASSPHRASE}
    enc, dec = tmp_path / "enc.csv", tmp_path / "dec.csv"
    result = runner.invoke(
        cli,
        [
            "table",
            "encrypt",
            str(plain_csv),
            str(enc),
            "--column",
            "email:email_bidx",
            "-c",
            "phone",
            "--keyset",
            str(ks),
            "--workers",
            "2",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "rows 300" in result.output and "key versions" in result.output
    assert all(r["email"].startswith("gm1.") for r in read_csv(enc))
    result = runner.invoke(
        cli,
        [
            "--json",
            "table",
            "decrypt",
            str(enc),
            str(dec),
            "-c",
            "email:email_bidx",
            "-c",
            "phone",
            "--keyset",
            str(ks),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["rows"] == 300 and summary["key_versions"] == [keyset.primary_id]
    assert read_csv(dec) == ROWS


def test_dry_run_reads_nothing(tmp_path: Path, plain_csv: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "table",
            "encrypt",
            str(plain_csv),
            str(tmp_path / "o.csv"),
            "-c",
            "email",
            "--keyset",
            str(tmp_path / "missing.json"),
            "--dry-run",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and "email" in result.output
    assert not (tmp_path / "o.csv").exists()


def test_existing_output_needs_force(tmp_path: Path, plain_csv: Path, keyset: Keyset) -> None:
    ks = _keyset_file(tmp_path, keyset)
    out = tmp_path / "o.csv"
    out.write_text("keep")
    args = ["table", "encrypt", str(plain_csv), str(out), "-c", "email", "--keyset", str(ks)]
    result = CliRunner().invoke(cli, args, env={"GUOMI_PASSPHRASE": PASSPHRASE})
    assert result.exit_code == 1 and "output exists" in result.output and "o.csv" in result.output
    assert out.read_text() == "keep"
    result = CliRunner().invoke(cli, [*args, "--force"], env={"GUOMI_PASSPHRASE": PASSPHRASE})
    assert result.exit_code == 0, result.output


def test_wrong_passphrase_and_missing_keys(tmp_path: Path, plain_csv: Path, keyset: Keyset) -> None:
    ks = _keyset_file(tmp_path, keyset)
    result = CliRunner().invoke(
        cli,
        ["table", "encrypt", str(plain_csv), str(tmp_path / "o.csv"), "-c", "email", "--keyset", str(ks)],
        env={"GUOMI_PASSPHRASE": "nope"},
    )
    assert result.exit_code == 1 and not (tmp_path / "o.csv").exists()
    result = CliRunner().invoke(
        cli, ["table", "encrypt", str(plain_csv), str(tmp_path / "o.csv"), "-c", "email"]
    )
    assert result.exit_code == 2 and "--keyset" in result.output
