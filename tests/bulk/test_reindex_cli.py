"""Blind-index settings on the CLI (``--index INDEX:bits=..,transform=..,slow=..,key_id=..``)
and in ``Job(index_options=...)``: ``reindex`` recomputes only the named indexes with those
settings, equal to what ``guomi.fields`` computes; bad settings are refused before any work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from guomi.bulk import BulkInputError, Job
from guomi.bulk._database import connect
from guomi.cli import cli
from guomi.fields import BlindIndex, Field
from guomi.keys import Keyset
from tests.bulk.conftest import PASSPHRASE, ROWS, read_csv


@pytest.fixture
def ks_file(tmp_path: Path, keyset: Keyset) -> Path:
    path = tmp_path / "ks.json"
    path.write_text(keyset.to_encrypted_json(passphrase=PASSPHRASE, iterations=100_000))
    return path


def _table(*args: str) -> object:
    return CliRunner().invoke(cli, ["--json", "table", *args], env={"GUOMI_PASSPHRASE": PASSPHRASE})


def test_cli_reindex_with_settings(tmp_path: Path, plain_csv: Path, ks_file: Path, keyset: Keyset) -> None:
    enc = tmp_path / "enc.csv"
    result = _table("encrypt", str(plain_csv), str(enc), "-c", "email:email_bidx", "-c", "phone:phone_last4",
                    "--index", "phone_last4:transform=last:4,bits=12", "--keyset", str(ks_file))  # fmt: skip
    assert result.exit_code == 0, result.output
    encrypted = read_csv(enc)
    phone = Field(
        "dataset", "phone", keyset, indexes=[BlindIndex("phone_last4", transform="last:4", bits=12)]
    )
    assert [int(r["phone_last4"]) for r in encrypted] == [
        phone.index("phone_last4", r["phone"]) for r in ROWS
    ]
    # a second index of email, case-insensitive, 16 bits, slow; email_bidx and phone left alone
    out = tmp_path / "reindexed.csv"
    settings = "email_ci:bits=16,transform=casefold|strip,slow=1000"
    result = _table(
        "reindex", str(enc), str(out), "-c", "email:email_ci", "--index", settings, "--keyset", str(ks_file)
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["columns"]["email"]["processed"] == len(ROWS)
    after = read_csv(out)
    email = Field(
        "dataset",
        "email",
        keyset,
        indexes=[BlindIndex("email_ci", transform="casefold|strip", bits=16, slow=1000)],
    )
    assert [int(r["email_ci"]) for r in after] == [email.index("email_ci", r["email"].upper()) for r in ROWS]
    assert all(0 <= int(r["email_ci"]) < 2**16 for r in after)
    for before, now in zip(encrypted, after, strict=True):  # nothing else changed
        assert {k: v for k, v in now.items() if k != "email_ci"} == before


def test_cli_index_options_plan_and_errors(tmp_path: Path, plain_csv: Path, ks_file: Path) -> None:
    args = [
        "reindex",
        str(plain_csv),
        str(tmp_path / "o.csv"),
        "-c",
        "email:email_bidx",
        "--keyset",
        str(ks_file),
    ]
    plan = _table(*args, "--index", "email_bidx:bits=20,slow=true", "--dry-run")
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.output)["index_options"] == {"email_bidx": {"bits": 20, "slow": True}}
    for bad, says in [
        ("email_bidx:bits=99", "bits must be an integer 1..63"),
        ("email_bidx:colour=red", "unknown index setting colour"),
        ("other_bidx:bits=8", "which no --column NAME:INDEX names"),
        ("email_bidx:transform=rot13", "rot13"),
        ("email_bidx:slow=maybe", "slow is true, false or an iteration count"),
        ("email_bidx", "expected INDEX:SETTING=VALUE"),
    ]:
        result = _table(*args, "--index", bad)
        assert result.exit_code != 0, bad
        assert says in result.output, (bad, result.output)
    assert not (tmp_path / "o.csv").exists()


def test_job_index_options_in_place(tmp_path: Path, keyset: Keyset) -> None:
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    engine = connect(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE c (id INTEGER PRIMARY KEY, email TEXT, email_bidx BIGINT)")
        conn.execute(
            sa.text("INSERT INTO c (id, email) VALUES (:i, :e)"),
            [{"i": i, "e": f"U{i}@Bank.cn"} for i in range(50)],
        )
    Job(url, table="c", columns=["email:email_bidx"], keyring=keyset).run()
    settings = {"email_bidx": {"transform": "casefold", "bits": 24}}
    Job(
        url,
        table="c",
        columns=["email:email_bidx"],
        operation="reindex",
        keyring=keyset,
        index_options=settings,
    ).run()
    email = Field("c", "email", keyset, indexes=[BlindIndex("email_bidx", transform="casefold", bits=24)])
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, email, email_bidx FROM c ORDER BY id").all()
    engine.dispose()
    assert [r[2] for r in rows] == [email.index("email_bidx", f"u{i}@bank.cn") for i in range(50)]
    assert [email.decrypt(r[1]) for r in rows] == [f"U{i}@Bank.cn" for i in range(50)]
    with pytest.raises(BulkInputError, match="unknown index setting"):
        Job(
            url,
            table="c",
            columns=["email:email_bidx"],
            keyring=keyset,
            index_options={"email_bidx": {"x": 1}},
        )
