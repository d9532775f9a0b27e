"""The init lock and unseal throttling (before: sys/init was open to whoever reached a fresh
server first; anyone could reset or poison unseal progress)."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from guomi.cli import cli

from .conftest import run_cli, server_env

INIT = {"secret_shares": 3, "secret_threshold": 2}


def _printed_token(output: str) -> str:
    m = re.search(r"bootstrap token: (gmb\.[A-Za-z0-9_-]{43})", output)
    assert m, output
    return m.group(1)


def test_init_without_bootstrap_token_refused(server_factory: Any, tmp_path: Path) -> None:
    s = server_factory("--data-dir", str(tmp_path / "d"))
    token = _printed_token(s.output)
    with httpx.Client(base_url=f"http://127.0.0.1:{s.port}/v1") as c:
        r = c.post("sys/init", json=INIT)
        assert r.status_code == 401
        assert r.json()["errors"][0]["code"] == "bootstrap_token_required"
        r = c.post("sys/init", json=INIT, headers={"X-Guomi-Bootstrap-Token": "gmb." + "A" * 43})
        assert r.status_code == 401
        assert c.get("sys/health").json()["initialized"] is False  # nothing happened
        r = c.post("sys/init", json=INIT, headers={"X-Guomi-Bootstrap-Token": token})
        assert r.status_code == 200, r.text
        assert len(r.json()["data"]["keys_base64"]) == 3
        # One time: the lock is gone, and the service is initialised anyway.
        assert c.post("sys/init", json=INIT, headers={"X-Guomi-Bootstrap-Token": token}).status_code == 409


def test_cli_init_with_the_bootstrap_token(server_factory: Any, tmp_path: Path) -> None:
    s = server_factory("--data-dir", str(tmp_path / "d"), "--bootstrap-token", "operator-chosen-0123456789")
    assert "bootstrap token:" not in s.output  # given by the operator: not echoed
    env = server_env(GUOMI_ADDR=f"http://127.0.0.1:{s.port}")
    refused = run_cli("operator", "init", "--shares", "3", "--threshold", "2", env=env)
    assert refused.returncode == 1 and "bootstrap" in refused.stderr
    ok = run_cli(
        "--token",
        "operator-chosen-0123456789",
        "operator",
        "init",
        "--shares",
        "3",
        "--threshold",
        "2",
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    assert "Root token:" in ok.stdout


def test_bootstrap_token_file(server_factory: Any, tmp_path: Path) -> None:
    f = tmp_path / "d" / "bootstrap-token"
    s = server_factory("--data-dir", str(tmp_path / "d"), "--bootstrap-token-file", str(f))
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    token = f.read_text().strip()
    assert token not in s.output
    r = httpx.post(
        f"http://127.0.0.1:{s.port}/v1/sys/init", json=INIT, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200
    assert not f.exists()  # used once, then removed


def test_unseal_rate_limited_and_reset_needs_a_share(server_factory: Any, tmp_path: Path) -> None:
    s = server_factory("--data-dir", str(tmp_path / "d"), "--unseal-rate-per-minute", "5")
    token = _printed_token(s.output)
    with httpx.Client(base_url=f"http://127.0.0.1:{s.port}/v1") as c:
        init = c.post("sys/init", json=INIT, headers={"X-Guomi-Bootstrap-Token": token}).json()["data"]
        share = init["keys_base64"][0]
        assert c.post("sys/unseal", json={"key": share}).json()["data"]["progress"] == 1
        # A stranger cannot wipe the custodians' progress...
        r = c.post("sys/unseal", json={"reset": True})
        assert r.status_code == 403 and r.json()["errors"][0]["code"] == "reset_denied"
        bogus = base64.b64encode(bytes([2]) + os.urandom(32)).decode()
        assert c.post("sys/unseal", json={"reset": True, "key": bogus}).status_code == 403
        # ...nor poison it: a bogus share is refused before it joins the progress.
        r = c.post("sys/unseal", json={"key": bogus})
        assert r.status_code == 400 and "not a share of this installation" in r.json()["errors"][0]["message"]
        assert c.get("sys/seal-status").json()["data"]["progress"] == 1
        # ...a custodian can (with any share of the installation).
        r = c.post("sys/unseal", json={"reset": True, "key": init["keys_base64"][2]})
        assert r.status_code == 200 and r.json()["data"]["progress"] == 0
        # Five submissions a minute from this address: the sixth is refused.
        r = c.post("sys/unseal", json={"key": share})
        assert r.status_code == 429
        assert r.json()["errors"][0]["code"] == "too_many_requests"
        assert int(r.headers["retry-after"]) > 0


def test_dev_mode_needs_no_bootstrap(server_factory: Any) -> None:
    s = server_factory("--dev")
    assert "bootstrap token" not in s.output
    assert httpx.get(f"http://127.0.0.1:{s.port}/v1/sys/health").status_code == 200


def test_cli_unseal_reset_with_a_share(server_factory: Any, tmp_path: Path) -> None:
    s = server_factory("--data-dir", str(tmp_path / "d"))
    token = _printed_token(s.output)
    base = f"http://127.0.0.1:{s.port}/v1"
    init = httpx.post(f"{base}/sys/init", json=INIT, headers={"X-Guomi-Bootstrap-Token": token}).json()[
        "data"
    ]
    httpx.post(f"{base}/sys/unseal", json={"key": init["keys_base64"][0]})
    runner = CliRunner()
    env = {"GUOMI_ADDR": f"http://127.0.0.1:{s.port}", "GUOMI_TOKEN": ""}
    r = runner.invoke(cli, ["--json", "operator", "unseal", "--reset", init["keys_base64"][1]], env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["progress"] == 0
