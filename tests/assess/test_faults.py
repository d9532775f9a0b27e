"""Bad input and faults: unreachable service and database are findings; a weak token, a bad
config, a wrong signing key or a used output directory are clear errors; a broken audit chain
is a high-risk finding."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from guomi.assess import ConfigError, load_config
from guomi.primitives import sm2
from guomi.primitives.serialization import BestAvailableEncryption, Encoding, PrivateFormat, PublicFormat
from tests.assess.bank import build_bank
from tests.assess.conftest import run_cli


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with build_bank(tmp_path_factory.mktemp("faults")) as b:
        yield b


def _write_config(bank: Any, name: str, edit: dict[str, str]) -> Path:
    text = bank.config.read_text("utf-8")
    for old, new in edit.items():
        assert old in text
        text = text.replace(old, new)
    path = bank.root / name
    path.write_text(text, "utf-8")
    return path


def _evidence(pack: Path) -> dict[str, Any]:
    return json.loads((pack / "evidence.json").read_text("utf-8"))


def test_unreachable_service_is_a_finding(bank: Any, tmp_path: Path) -> None:
    cfg = _write_config(bank, "down.toml", {'addr = "http://guomi.test"': 'addr = "http://127.0.0.1:9"'})
    res = run_cli(
        ["assess", "--config", str(cfg), "--out", str(tmp_path / "p"), "--no-pdf"], None, bank.token
    )
    assert res.exit_code == 0, res.output
    ev = _evidence(tmp_path / "p")
    (f,) = [f for f in ev["findings"] if f["source"] == "service:http://127.0.0.1:9"]
    assert (
        f["severity"] == "high" and f["category"] == "evidence-unavailable" and "ConnectError" in f["detail"]
    )
    assert ev["sources"]["service"]["error"]
    # The database scan and the audit log still count.
    assert any(f["category"] == "weak-mode" for f in ev["findings"])
    assert run_cli(["assess", "verify", str(tmp_path / "p")]).exit_code == 0


def test_unreachable_database_is_a_finding(bank: Any, tmp_path: Path) -> None:
    cfg = _write_config(
        bank,
        "nodb.toml",
        {
            '[[databases]]\nurl = "sqlite:///bank.db"': '[[databases]]\nurl = "postgresql://u:pw@127.0.0.1:9/bank"'
        },
    )
    res = run_cli(
        ["assess", "--config", str(cfg), "--out", str(tmp_path / "p"), "--no-pdf"],
        bank.service.transport,
        bank.token,
    )
    assert res.exit_code == 0, res.output
    ev = _evidence(tmp_path / "p")
    (f,) = [f for f in ev["findings"] if "127.0.0.1:9" in f["source"]]
    assert f["severity"] == "high" and "pw@" not in f["source"]
    # The declared columns in bank.db are still scanned (declared data is always sampled).
    assert any(r["location"].endswith("customers.id_no") and r["coverage"] for r in ev["inventory"])


def test_token_without_read_rights_is_a_clear_error(bank: Any, tmp_path: Path) -> None:
    weak = bank.service.token("encrypt-only", [{"pattern": "*", "capabilities": ["encrypt", "list"]}], "app")
    res = run_cli(
        ["assess", "--config", str(bank.config), "--out", str(tmp_path / "p")], bank.service.transport, weak
    )
    assert res.exit_code == 1
    assert "cannot read key" in res.output and "`read`" in res.output
    assert not (tmp_path / "p").exists()  # nothing half written


def test_missing_token_is_a_clear_error(bank: Any, tmp_path: Path) -> None:
    res = run_cli(
        ["assess", "--config", str(bank.config), "--out", str(tmp_path / "p")], bank.service.transport
    )
    assert res.exit_code == 1 and "GUOMI_TOKEN" in res.output


def test_check_decrypt_needs_rewrap(bank: Any, tmp_path: Path) -> None:
    reader = bank.service.token("read-only", [{"pattern": "*", "capabilities": ["read", "list"]}], "reader")
    res = run_cli(
        ["assess", "--config", str(bank.config), "--out", str(tmp_path / "p")], bank.service.transport, reader
    )
    assert res.exit_code == 1 and "rewrap" in res.output
    # Without check_decrypt a read-only token is enough: coverage is then structural (parse + known key).
    cfg = _write_config(bank, "nocheck.toml", {"check_decrypt = true": "check_decrypt = false"})
    res = run_cli(
        ["assess", "--config", str(cfg), "--out", str(tmp_path / "q"), "--no-pdf"],
        bank.service.transport,
        reader,
    )
    assert res.exit_code == 0, res.output
    cov = next(r for r in _evidence(tmp_path / "q")["inventory"] if r["location"].endswith("id_no"))[
        "coverage"
    ]
    assert cov["guomi_valid"] == 200 and cov["decrypt_checked"] is None


def test_broken_audit_chain_is_high_risk(bank: Any, tmp_path: Path) -> None:
    lines = bank.audit_log.read_bytes().splitlines(keepends=True)
    edited = tmp_path / "audit-edited.log"
    edited.write_bytes(b"".join(lines[:5] + lines[6:]))  # one record deleted
    cfg = _write_config(bank, "badaudit.toml", {'audit_log = "audit.log"': f'audit_log = "{edited}"'})
    res = run_cli(
        ["assess", "--config", str(cfg), "--out", str(tmp_path / "p"), "--no-pdf"],
        bank.service.transport,
        bank.token,
    )
    assert res.exit_code == 0, res.output
    ev = _evidence(tmp_path / "p")
    (f,) = [f for f in ev["findings"] if f["category"] == "audit-chain-broken"]
    assert f["severity"] == "high" and f["source"].endswith(":6")
    assert not ev["audit"]["chain"]["ok"]
    assert {i["id"]: i for i in ev["items"]}["LG-1"]["status"] == "not met"


def test_missing_audit_log_is_a_finding(bank: Any, tmp_path: Path) -> None:
    cfg = _write_config(bank, "noaudit.toml", {'audit_log = "audit.log"': 'audit_log = "nope.log"'})
    res = run_cli(
        ["assess", "--config", str(cfg), "--out", str(tmp_path / "p"), "--no-pdf"],
        bank.service.transport,
        bank.token,
    )
    assert res.exit_code == 0
    assert any(
        f["category"] == "audit-unavailable" and f["severity"] == "high"
        for f in _evidence(tmp_path / "p")["findings"]
    )


def test_bad_configurations_name_the_problem(bank: Any, tmp_path: Path) -> None:
    cases = {
        "level = 3": ("level = 7", "system.level"),
        "[signing]": ("[signin]", "unknown section"),
        'rotation_period = "365d"': ('rotation_period = "soon"', "system.rotation_period"),
        'column = "mobile"': ('colum = "mobile"', "unknown key"),
    }
    for i, (old, (new, message)) in enumerate(cases.items()):
        cfg = _write_config(bank, f"bad{i}.toml", {old: new})
        with pytest.raises(ConfigError, match=message):
            load_config(cfg)
        res = run_cli(
            ["assess", "--config", str(cfg), "--out", str(tmp_path / f"p{i}")],
            bank.service.transport,
            bank.token,
        )
        assert res.exit_code == 1 and message.split(".")[0] in res.output


def test_wrong_signing_key_and_used_output_directory(bank: Any, tmp_path: Path) -> None:
    not_sm2 = bank.root / "not-a-key.pem"
    not_sm2.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    cfg = _write_config(bank, "badkey.toml", {'key = "assessor.pem"': f'key = "{not_sm2}"'})
    res = run_cli(
        ["assess", "--config", str(cfg), "--out", str(tmp_path / "p")], bank.service.transport, bank.token
    )
    assert res.exit_code == 1 and "signing.key" in res.output
    used = tmp_path / "used"
    used.mkdir()
    (used / "old.txt").write_text("previous run")
    res = run_cli(
        ["assess", "--config", str(bank.config), "--out", str(used)], bank.service.transport, bank.token
    )
    assert res.exit_code == 1 and "not an empty directory" in res.output
    assert sorted(p.name for p in used.iterdir()) == ["old.txt"]
    shutil.rmtree(used)


def test_encrypted_signing_key_needs_its_passphrase(bank: Any, tmp_path: Path) -> None:
    key = sm2.generate_private_key()
    enc = bank.root / "signer-enc.pem"
    enc.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"s3cret!")))
    cfg = _write_config(bank, "enckey.toml", {'key = "assessor.pem"': 'key = "signer-enc.pem"'})
    args = ["assess", "--config", str(cfg), "--no-pdf", "--out"]
    res = run_cli([*args, str(tmp_path / "p")], bank.service.transport, bank.token)
    assert res.exit_code == 1 and "GUOMI_SIGNING_PASSPHRASE" in res.output
    os.environ["GUOMI_SIGNING_PASSPHRASE"] = "s3cret!"
    try:
        res = run_cli([*args, str(tmp_path / "q")], bank.service.transport, bank.token)
    finally:
        del os.environ["GUOMI_SIGNING_PASSPHRASE"]
    assert res.exit_code == 0, res.output
    pub = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "signer.pub").write_bytes(pub)
    assert (
        run_cli(["assess", "verify", str(tmp_path / "q"), "--pubkey", str(tmp_path / "signer.pub")]).exit_code
        == 0
    )


def test_invalid_token_is_a_clear_error(bank: Any, tmp_path: Path) -> None:
    bogus = "gmt." + "A" * 43
    res = run_cli(
        ["assess", "--config", str(bank.config), "--out", str(tmp_path / "p")], bank.service.transport, bogus
    )
    assert res.exit_code == 1 and "refused the token" in res.output and bogus not in res.output
