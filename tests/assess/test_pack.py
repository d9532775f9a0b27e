"""`guomi assess` on the small bank: every finding, the coverage figures, key life cycles,
the item matrix, the signature (openssl and `guomi assess verify`), and tamper detection."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from guomi.primitives import sm2, sm3
from guomi.primitives.serialization import Encoding, PublicFormat
from tests.assess.conftest import Assessed, run_cli


def _evidence(a: Assessed) -> dict[str, Any]:
    return json.loads((a.pack / "evidence.json").read_text("utf-8"))


def _row(ev: dict[str, Any], suffix: str) -> dict[str, Any]:
    (row,) = [r for r in ev["inventory"] if r["location"].endswith(suffix)]
    return row


def test_cli_succeeds_and_writes_every_file(assessed: Assessed) -> None:
    assert assessed.result.exit_code == 0, assessed.result.output
    names = sorted(p.name for p in assessed.pack.iterdir())
    assert names == [
        "evidence.json",
        "manifest.json",
        "manifest.json.sig",
        "pub.pem",
        "report.html",
        "report.pdf",
    ] or (
        names == ["evidence.json", "manifest.json", "manifest.json.sig", "pub.pem", "report.html"]
        and "not rendered" in json.loads((assessed.pack / "manifest.json").read_text())["report_pdf"]
    )
    assert "7 (4 high risk)" in assessed.result.output


def test_every_finding_with_its_source(assessed: Assessed) -> None:
    ev = _evidence(assessed)
    got = sorted((f["severity"], f["category"], f["source"].rsplit("/", 1)[-1]) for f in ev["findings"])
    assert got == [
        ("high", "key-not-rotated", "archive"),
        ("high", "key-outside-custody", "app.properties:2"),
        ("high", "plaintext-important-data", "bank.db#customers.mobile"),
        ("high", "weak-mode", "bank.db#cards.card_no"),
        ("medium", "decrypt-failures", "bank.db#accounts.account_no"),
        ("medium", "decrypt-failures", "bank.db#customers.id_no"),
        ("medium", "legacy-algorithm", "bank.db#notes.memo"),
    ]
    # High-risk findings come first, numbered in order.
    assert [f["id"] for f in ev["findings"]] == [f"F-{i:03d}" for i in range(1, 8)]
    assert all(f["severity"] == "high" for f in ev["findings"][:4])
    ecb = next(f for f in ev["findings"] if f["category"] == "weak-mode")
    assert "AES-ECB" in ecb["detail"]


def test_coverage_figures(assessed: Assessed) -> None:
    ev = _evidence(assessed)
    # Field values: 200 parse, their keyset (wrapped by service key `accounts`, re-wrapped at v2
    # after the rotation) opens, every sample is decrypted: the damaged one fails.
    id_no = _row(ev, "customers.id_no")
    cov = id_no["coverage"]
    assert id_no["kind"] == "guomi-field" and id_no["declared"]
    assert (cov["non_empty"], cov["guomi_valid"], cov["coverage"]) == (200, 199, 0.995)
    assert (cov["decrypt_checked"], cov["decrypt_failed"]) == (200, 1)
    assert cov["decrypt_failures"] == {"InvalidTag": 1}
    ks = cov["keyset"]
    assert (ks["wrap"], ks["wrap_key_id"], ks["wrap_opens"]) == ("aead", "token:sm4-gcm:v2", True)
    assert len(ks["key_ids"]) == 1
    assert list(cov["keys"]) == [f"keyset key {ks['key_ids'][0]}, wrapped by accounts"]
    assert id_no["protection"]["suite"] == "sm4-gcm"
    # Service tokens: all parse under key `accounts` (v1 and v2); rewrap proves 199 open.
    acc = _row(ev, "accounts.account_no")["coverage"]
    assert (acc["non_empty"], acc["guomi_valid"], acc["coverage"]) == (200, 199, 0.995)
    assert (acc["decrypt_checked"], acc["decrypt_failed"]) == (200, 1)
    assert acc["decrypt_failures"] == {"decryption_failed": 1}
    assert acc["keys"] == {"accounts v1": 100, "accounts v2": 100}
    mobile = _row(ev, "customers.mobile")["coverage"]
    assert (mobile["pii"], mobile["pii_values"], mobile["coverage"]) == (1.0, 200, 0.0)
    card = _row(ev, "cards.card_no")
    assert card["kind"] == "aes-ecb" and "ecb" in card["flags"] and card["coverage"]["legacy"] == 1.0
    memo = _row(ev, "notes.memo")
    assert memo["kind"] == "fernet" and not memo["declared"] and memo["discovered"]
    tables = {t["table"].rsplit("#", 1)[1]: t for t in ev["coverage_per_table"]}
    assert tables["customers"]["guomi"] == 199 and tables["customers"]["pii"] == 200
    assert tables["accounts"]["guomi"] == 199
    assert tables["cards"]["legacy"] == 200 and tables["notes"]["legacy"] == 200
    # customers.name (plain names) is neither declared nor sensitive-looking: not in the inventory.
    assert not [r for r in ev["inventory"] if r["location"].endswith("customers.name")]


def test_key_lifecycle_from_the_audit_log(assessed: Assessed) -> None:
    ev = _evidence(assessed)
    keys = {k["name"]: k for k in ev["keys"]}
    accounts, archive = keys["accounts"], keys["archive"]
    assert [e["operation"] for e in accounts["events"]] == ["create", "backup", "rotate", "config"]
    assert accounts["latest_version"] == 2 and not accounts["rotation_due"]
    assert (
        archive["latest_version"] == 1 and archive["rotation_due"] and archive["days_since_rotation"] >= 399
    )
    assert [e["operation"] for e in archive["events"]] == ["create"]
    assert all(re.fullmatch(r"[0-9a-f]{8,}.*", e["who"]) for e in accounts["events"])
    chain = ev["audit"]["chain"]
    assert chain["ok"] and chain["records"] == ev["audit"]["records"] > 200
    assert ev["sources"]["service"]["token"]["display_name"] == "assessor"


def test_item_matrix_and_scores(assessed: Assessed) -> None:
    ev = _evidence(assessed)
    items = {i["id"]: i for i in ev["items"]}
    assert items["KM-2"]["status"] == "not met"  # a key in app.properties
    assert items["KM-3"]["status"] == "partly met"  # archive never rotated
    assert items["KM-4"]["status"] == "met"  # the backup of `accounts`
    assert items["LG-1"]["status"] == "met"
    assert items["AL-1"]["status"] == "not met"
    for item in ("CP-1", "PE-1"):
        assert items[item]["status"] == "not covered by guomi"
    assert "GM003312220230001" in items["CP-1"]["evidence"]
    scores = ev["scores"]
    assert "not an assessment" in scores["label_en"]
    by_obj = {o["object"].rsplit("#", 1)[1]: o for o in scores["objects"]}
    for obj in ("customers.id_no", "accounts.account_no"):
        o = by_obj[obj]
        assert (o["D"], o["A"], o["K"], o["score"]) == (1, 1, 1, 100)
    assert by_obj["customers.mobile"]["score"] == 0
    assert by_obj["cards.card_no"]["A"] == 0


def test_no_sampled_value_or_key_leaks_into_the_pack(assessed: Assessed) -> None:
    with sqlite3.connect(assessed.bank.db) as conn:
        mobiles = [r[0] for r in conn.execute("SELECT mobile FROM customers LIMIT 50")]
    key = assessed.bank.root.joinpath("app.properties").read_text().split("crypto.sm4.key=")[1].split()[0]
    for name in ("evidence.json", "report.html", "manifest.json"):
        text = (assessed.pack / name).read_text("utf-8")
        assert key not in text
        assert not [m for m in mobiles if m in text]


def test_report_is_self_contained_and_bilingual(assessed: Assessed) -> None:
    html = (assessed.pack / "report.html").read_text("utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<link" not in html and "<img" not in html and "@import" not in html
    for label in ("High-risk findings", "高风险项", "重要数据清单", "Key life cycle", "密钥生命周期", "<svg"):
        assert label in html


@pytest.mark.interop
def test_signature_verifies_with_openssl(assessed: Assessed) -> None:
    for pub in (assessed.pack / "pub.pem", assessed.bank.public_key):  # the pack's copy, and openssl's own
        res = subprocess.run(
            [
                "openssl", "pkeyutl", "-verify", "-rawin", "-digest", "sm3",
                "-pkeyopt", "distid:1234567812345678", "-pubin", "-inkey", str(pub),
                "-in", str(assessed.pack / "manifest.json"),
                "-sigfile", str(assessed.pack / "manifest.json.sig"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        assert res.returncode == 0 and "Signature Verified Successfully" in res.stdout, res.stderr


def test_manifest_lists_every_file_with_sm3(assessed: Assessed) -> None:
    manifest = json.loads((assessed.pack / "manifest.json").read_text())
    listed = {f["path"]: f["sm3"] for f in manifest["files"]}
    on_disk = {p.name for p in assessed.pack.iterdir()} - {"manifest.json", "manifest.json.sig"}
    assert set(listed) == on_disk
    for name, digest in listed.items():
        assert sm3.digest((assessed.pack / name).read_bytes()).hex() == digest
    assert manifest["signature"]["user_id"] == "1234567812345678"


def test_verify_accepts_the_pack(assessed: Assessed) -> None:
    res = run_cli(["assess", "verify", str(assessed.pack)])
    assert res.exit_code == 0 and "OK" in res.output
    pinned = run_cli(["assess", "verify", str(assessed.pack), "--pubkey", str(assessed.bank.public_key)])
    assert pinned.exit_code == 0


def test_editing_any_file_breaks_verification(assessed: Assessed, tmp_path: Path) -> None:
    for victim in sorted(p.name for p in assessed.pack.iterdir()):
        copy = tmp_path / f"pack-{victim}"
        shutil.copytree(assessed.pack, copy)
        data = bytearray((copy / victim).read_bytes())
        data[len(data) // 2] ^= 0x01
        (copy / victim).write_bytes(bytes(data))
        res = run_cli(["assess", "verify", str(copy)])
        assert res.exit_code == 1, f"editing {victim} was not detected"
    # An added or removed file is detected too.
    added = tmp_path / "added"
    shutil.copytree(assessed.pack, added)
    (added / "extra.txt").write_text("x")
    assert run_cli(["assess", "verify", str(added)]).exit_code == 1
    removed = tmp_path / "removed"
    shutil.copytree(assessed.pack, removed)
    (removed / "evidence.json").unlink()
    assert run_cli(["assess", "verify", str(removed)]).exit_code == 1


def test_pinned_key_rejects_another_signer(assessed: Assessed, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(
        sm2.generate_private_key().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    assert run_cli(["assess", "verify", str(assessed.pack), "--pubkey", str(other)]).exit_code == 1
