"""``guomi audit verify`` with GUOMI_ADDR / GUOMI_TOKEN: the service checks the keyed chain
(issue 10, finding 4), for root and for a token whose policy grants ``audit``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from guomi.cli import cli
from guomi.kms import Config, create_app
from guomi.kms._crypto import sm3_digest
from guomi.kms.audit import GENESIS

from .conftest import serve


@pytest.fixture
def service(tmp_path: Path) -> Any:
    log = tmp_path / "audit.log"
    app = create_app(Config(dev=True, auto_rotate_check_interval=0, audit_path=log))
    root = app.state.engine.dev_root_token
    server, thread, url = serve(app)
    try:
        with httpx.Client(base_url=url + "/v1", headers={"X-Vault-Token": root}) as c:
            c.post("/keys/k", json={})
            for _ in range(3):
                c.post("/encrypt/k", json={"plaintext": "eA=="})
            c.put("/policies/auditor", json={"rules": [{"pattern": "*", "capabilities": ["audit"]}]})
            c.put("/policies/app", json={"rules": [{"pattern": "k", "capabilities": ["encrypt"]}]})
            auditor = c.post("/auth/tokens", json={"policies": ["auditor"]}).json()["data"]["token"]
            app_token = c.post("/auth/tokens", json={"policies": ["app"]}).json()["data"]["token"]
        yield url, log, {"root": root, "auditor": auditor, "app": app_token}
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def verify(url: str, token: str | None, path: Path, *args: str) -> Any:
    env = {"GUOMI_ADDR": url, "GUOMI_TOKEN": token or ""}
    return CliRunner().invoke(cli, ["--json", "audit", "verify", str(path), *args], env=env)


def rechained_without(path: Path, index: int, out: Path) -> None:
    lines = path.read_bytes().splitlines()
    del lines[index]
    prev, rows = GENESIS, []
    for seq, line in enumerate(lines, start=1):
        rec = json.loads(line)
        rec["seq"], rec["prev"] = seq, prev
        mac = rec.pop("mac", None)
        raw = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()
        if mac is not None:
            raw = raw[:-1] + b',"mac":"' + mac.encode() + b'"}'
        rows.append(raw + b"\n")
        prev = sm3_digest(raw).hex()
    out.write_bytes(b"".join(rows))


def test_genuine_log_verifies_with_root_and_with_an_audit_policy(service: Any) -> None:
    url, log, tokens = service
    for who in ("root", "auditor"):
        result = verify(url, tokens[who], log)
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        assert doc["ok"] and doc["macs_checked"] and doc["keyed"] == doc["records"] and doc["anchored"]
    denied = verify(url, tokens["app"], log)
    assert denied.exit_code == 1 and "audit" in denied.stderr


def test_deletion_with_rechaining_fails(service: Any, tmp_path: Path) -> None:
    url, log, tokens = service
    forged = tmp_path / "forged.log"
    rechained_without(log, 2, forged)
    offline = verify(url, None, forged)
    assert offline.exit_code == 0 and not json.loads(offline.stdout)["macs_checked"]  # chain alone fooled
    result = verify(url, tokens["auditor"], forged)
    assert result.exit_code == 1 and "MAC" in json.loads(result.stdout)["error"]


def test_truncated_log_fails_against_the_services_head(service: Any, tmp_path: Path) -> None:
    url, log, tokens = service
    cut = tmp_path / "cut.log"
    cut.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:-2]))
    result = verify(url, tokens["root"], cut)
    assert result.exit_code == 1 and "cut off" in json.loads(result.stdout)["error"]
    # An archived copy (a prefix) still has genuine MACs when the head is not required.
    archived = verify(url, tokens["root"], cut, "--no-head")
    assert archived.exit_code == 0 and json.loads(archived.stdout)["macs_checked"]


def test_checkpoint_export_and_offline_anchor(service: Any, tmp_path: Path) -> None:
    url, log, tokens = service
    env = {"GUOMI_ADDR": url, "GUOMI_TOKEN": tokens["auditor"]}
    out = CliRunner().invoke(cli, ["audit", "checkpoint"], env=env)
    assert out.exit_code == 0, out.output
    cp = json.loads(out.stdout)
    anchor = tmp_path / "anchor.json"
    anchor.write_text(json.dumps(cp))
    pem = tmp_path / "audit.pem"
    pem.write_text(cp["public_key"])
    ok = verify(url, None, log, "--anchor", str(anchor), "--public-key", str(pem))
    doc = json.loads(ok.stdout)
    assert ok.exit_code == 0 and doc["anchored"] and doc["checkpoints"] >= 1
    cut = tmp_path / "cut.log"
    cut.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[: cp["head_seq"] - 1]))
    assert verify(url, None, cut, "--anchor", str(anchor)).exit_code == 1
