"""The ``guomi`` CLI against the real service application in process, read like shell sessions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner, Result

from guomi.cli import cli
from guomi.client import Client
from tests.client.asgi import SyncASGITransport, make_app, running


class Shell:
    """Runs `guomi ...` with GUOMI_ADDR / GUOMI_TOKEN set, against one in-process service."""

    def __init__(self, transport: SyncASGITransport, token: str | None) -> None:
        self.transport = transport
        self.env = {"GUOMI_ADDR": "http://guomi.test", "GUOMI_TOKEN": token or ""}
        self.runner = CliRunner()

    def __call__(self, *args: str, input: bytes | str | None = None, ok: bool = True) -> Result:
        result = self.runner.invoke(
            cli, list(args), input=input, env=self.env, obj=SimpleNamespace(transport=self.transport)
        )
        if ok:
            assert result.exit_code == 0, (args, result.output, result.stderr, result.exception)
        return result


@pytest.fixture
def sh() -> Iterator[Shell]:
    with running(make_app()) as (client, _):
        yield Shell(client._http._transport, client.token)  # type: ignore[attr-defined]


def test_encrypt_decrypt_round_trip_through_stdin(sh: Shell) -> None:
    sh("key", "create", "orders")
    token = sh("encrypt", "-k", "orders", input=b"4111 1111").stdout.strip()
    assert token.startswith("guomi:v1:1:")
    assert sh("decrypt", "-k", "orders", token).stdout_bytes == b"4111 1111"
    assert sh("decrypt", "-k", "orders", "-", input=token + "\n").stdout_bytes == b"4111 1111"


def test_associated_data_and_files(sh: Shell, tmp_path: Path) -> None:
    sh("key", "create", "files")
    src = tmp_path / "in.bin"
    src.write_bytes(bytes(range(256)))
    token = sh("encrypt", "-k", "files", "--associated-data", "doc-1", str(src)).stdout.strip()
    (tmp_path / "token.txt").write_text(token + "\n")
    out = tmp_path / "out.bin"
    sh("decrypt", "-k", "files", "-a", "doc-1", "-o", str(out), str(tmp_path / "token.txt"))
    assert out.read_bytes() == bytes(range(256))
    bad = sh("decrypt", "-k", "files", "-a", "doc-2", token, ok=False)
    assert bad.exit_code == 1
    assert "error" in bad.stderr and bad.stdout == ""


def test_encrypt_without_key_is_a_usage_error(sh: Shell) -> None:
    result = sh("encrypt", input=b"x", ok=False)
    assert result.exit_code == 2
    assert "-k/--key" in result.stderr


def test_key_commands(sh: Shell, tmp_path: Path) -> None:
    shown = sh("key", "create", "ledger", "--deletion-allowed")
    assert "ledger" in shown.stdout and "sm4-gcm" in shown.stdout
    assert sh("key", "list").stdout.split() == ["ledger"]
    assert "latest version 2" in sh("key", "rotate", "ledger").stdout
    info = json.loads(sh("--json", "key", "show", "ledger").stdout)
    assert info["latest_version"] == 2 and set(info["keys"]) == {"1", "2"}
    token = sh("encrypt", "-k", "ledger", input=b"v2 data").stdout.strip()
    sh("key", "config", "ledger", "--min-decryption-version", "2")
    backup = tmp_path / "ledger.backup"
    sh("key", "backup", "ledger", "-o", str(backup))
    sh("key", "delete", "ledger", "--yes")
    assert sh("key", "list").stdout.split() == []
    sh("key", "restore", str(backup))
    assert sh("decrypt", "-k", "ledger", token).stdout_bytes == b"v2 data"
    missing = sh("key", "show", "nope", ok=False)
    assert missing.exit_code == 1 and "404" in missing.stderr


def test_rewrap_and_datakey(sh: Shell) -> None:
    sh("key", "create", "wrap")
    token = sh("encrypt", "-k", "wrap", input=b"p").stdout.strip()
    sh("key", "rotate", "wrap")
    new = sh("rewrap", "-k", "wrap", token).stdout.strip()
    assert new.startswith("guomi:v1:2:")
    assert sh("decrypt", "-k", "wrap", new).stdout_bytes == b"p"
    dk = json.loads(sh("--json", "datakey", "-k", "wrap").stdout)
    assert {"plaintext", "ciphertext", "key_version"} <= set(dk)
    wrapped = json.loads(sh("--json", "datakey", "-k", "wrap", "--wrapped").stdout)
    assert "plaintext" not in wrapped


def test_sign_verify_exit_status(sh: Shell, tmp_path: Path) -> None:
    sh("key", "create", "signer", "--type", "sm2-sign")
    msg = tmp_path / "msg"
    msg.write_bytes(b"pay 100")
    der = tmp_path / "sig.der"
    sig = sh("sign", "-k", "signer", "--der", str(der), str(msg)).stdout.strip()
    assert der.read_bytes()[0] == 0x30  # DER SEQUENCE
    assert sh("verify", "-k", "signer", "-s", sig, str(msg)).exit_code == 0
    msg.write_bytes(b"pay 900")
    assert sh("verify", "-k", "signer", "-s", sig, str(msg), ok=False).exit_code == 1


def test_hmac_and_verify(sh: Shell) -> None:
    sh("key", "create", "mac", "-t", "hmac-sm3")
    tag = sh("hmac", "-k", "mac", input=b"acct").stdout.strip()
    assert sh("verify", "-k", "mac", "-s", tag, input=b"acct").exit_code == 0
    assert sh("verify", "-k", "mac", "-s", tag, input=b"acct2", ok=False).exit_code == 1


def test_policy_and_token(sh: Shell) -> None:
    sh("key", "create", "orders-1")
    sh("policy", "write", "writer", "-r", "orders-*=encrypt")
    token = sh("token", "create", "-p", "writer", "--ttl", "1h").stdout.strip()
    limited = Shell(sh.transport, token)
    ct = limited("encrypt", "-k", "orders-1", input=b"x").stdout.strip()
    denied = limited("decrypt", "-k", "orders-1", ct, ok=False)
    assert denied.exit_code == 1 and "403" in denied.stderr


def test_operator_status_seal_unseal() -> None:
    with running(make_app(), shares=2, threshold=2) as (client, init):
        sh = Shell(client._http._transport, client.token)  # type: ignore[attr-defined]
        status = json.loads(sh("--json", "operator", "status").stdout)
        assert status["sealed"] is False
        sh("operator", "seal")
        assert sh("operator", "status", ok=False).exit_code == 2
        sh("operator", "unseal", init.keys_base64[0])
        # The second share is prompted for (no echo) when not on the command line.
        sh("operator", "unseal", input=init.keys_base64[1] + "\n")
        assert json.loads(sh("--json", "operator", "status").stdout)["sealed"] is False


def test_operator_init_prints_shares_once() -> None:
    transport = SyncASGITransport(make_app())
    try:
        sh = Shell(transport, None)
        out = sh("--json", "operator", "init", "--shares", "3", "--threshold", "2").stdout
        init: dict[str, Any] = json.loads(out)
        assert len(init["keys_base64"]) == 3 and init["root_token"]
        again = sh("operator", "init", ok=False)
        assert again.exit_code == 1 and "409" in again.stderr
        with Client("http://guomi.test", transport=transport) as c:
            assert c.health().sealed is True
    finally:
        transport.shutdown()


def test_unreachable_service_is_a_clean_error() -> None:
    result = CliRunner().invoke(
        cli, ["--addr", "http://127.0.0.1:9", "key", "list"], env={"GUOMI_TOKEN": "x"}
    )
    assert result.exit_code == 1
    assert "cannot reach" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_audit_verify(tmp_path: Path) -> None:
    app = make_app(data_dir=tmp_path)
    with running(app) as (client, _):
        client.create_key("audited")
        client.encrypt("audited", b"x")
    log = tmp_path / "audit.log"
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify", str(log)])
    assert ok.exit_code == 0, ok.output
    assert "chain intact" in ok.stdout
    lines = log.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 3
    (tmp_path / "deleted.log").write_bytes(b"".join(lines[:1] + lines[2:]))
    broken = runner.invoke(cli, ["audit", "verify", str(tmp_path / "deleted.log")])
    assert broken.exit_code == 1 and "BROKEN" in broken.stderr
    edited = lines[1].replace(b'"', b"'", 1)
    (tmp_path / "edited.log").write_bytes(b"".join([lines[0], edited, *lines[2:]]))
    assert runner.invoke(cli, ["audit", "verify", str(tmp_path / "edited.log")]).exit_code == 1


def test_key_trim_destroys_old_versions_for_good(sh: Shell) -> None:
    sh("key", "create", "ledger")
    old = sh("encrypt", "-k", "ledger", input=b"v1 data").stdout.strip()
    sh("key", "rotate", "ledger")
    sh("key", "rotate", "ledger")
    # Trimming above the min decryption version is refused and changes nothing.
    refused = sh("key", "trim", "ledger", "--min-available-version", "3", ok=False)
    assert refused.exit_code == 1
    assert sh("decrypt", "-k", "ledger", old).stdout_bytes == b"v1 data"
    sh("key", "config", "ledger", "--min-decryption-version", "2")
    info = json.loads(sh("--json", "key", "trim", "ledger", "--min-available-version", "2").stdout)
    assert sorted(info["keys"]) == ["2", "3"] and info["min_available_version"] == 2
    assert sh("decrypt", "-k", "ledger", old, ok=False).exit_code == 1
    assert "versions kept 2, 3" in sh("key", "trim", "ledger", "--min-available-version", "2").stdout
