"""generate-root, rekey and rotate against a real `guomi server` (SQLite): the CLI commands,
and SIGKILL at every step of rekey and rotate leaving the old or the new state, never neither."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from guomi.cli import cli

from .conftest import Server, start_server

INIT = {"secret_shares": 3, "secret_threshold": 2}


def _install(tmp: Path) -> tuple[Server, list[str], str, str]:
    """A fresh installation: (server, shares, root token, a ciphertext of b'hi' under 'orders')."""
    s = start_server(tmp, "--data-dir", str(tmp / "data"))
    m = re.search(r"bootstrap token: (\S+)", s.output)
    assert m
    base = f"http://127.0.0.1:{s.port}/v1"
    init = httpx.post(f"{base}/sys/init", json=INIT, headers={"X-Guomi-Bootstrap-Token": m.group(1)}).json()[
        "data"
    ]
    for share in init["keys_base64"][:2]:
        httpx.post(f"{base}/sys/unseal", json={"key": share})
    h = {"Authorization": f"Bearer {init['root_token']}"}
    assert httpx.post(f"{base}/keys/orders", json={}, headers=h).status_code == 200
    ct = httpx.post(f"{base}/encrypt/orders", json={"plaintext": "aGk="}, headers=h).json()["data"][
        "ciphertext"
    ]
    return s, init["keys_base64"], init["root_token"], ct


def _restart(tmp: Path) -> Server:
    return start_server(tmp, "--data-dir", str(tmp / "data"))


def _unseals_with(base: str, shares: list[str]) -> bool:
    status: dict[str, Any] = {}
    for share in shares:
        r = httpx.post(f"{base}/sys/unseal", json={"key": share})
        if r.status_code != 200:
            return False  # wrong shares: the server reset its progress itself
        status = r.json()["data"]
        if not status["sealed"]:
            return True
    return False


def _decrypts(base: str, root: str, ct: str) -> bool:
    r = httpx.post(
        f"{base}/decrypt/orders", json={"ciphertext": ct}, headers={"Authorization": f"Bearer {root}"}
    )
    return r.status_code == 200 and r.json()["data"]["plaintext"] == "aGk="


def test_cli_generate_root_and_rekey(tmp_path: Path) -> None:
    s, shares, _root, ct = _install(tmp_path)
    try:
        runner = CliRunner()
        env = {"GUOMI_ADDR": f"http://127.0.0.1:{s.port}", "GUOMI_TOKEN": ""}

        def run_cli(*args: str, env: dict[str, str]) -> Any:  # in process: no interpreter start-up
            return runner.invoke(cli, list(args), env=env, catch_exceptions=False)

        started = run_cli("--json", "operator", "generate-root", "--init", env=env)
        assert started.exit_code == 0, started.output
        attempt = json.loads(started.stdout)
        for share in shares[1:3]:
            step = run_cli("--json", "operator", "generate-root", "--nonce", attempt["nonce"], share, env=env)
            assert step.exit_code == 0, step.output
        encoded = json.loads(step.stdout)["encoded_token"]
        decoded = run_cli("operator", "generate-root", "--decode", encoded, "--otp", attempt["otp"], env=env)
        new_root = decoded.stdout.strip()
        assert new_root.startswith("gmt.") and new_root not in step.stdout
        base = f"http://127.0.0.1:{s.port}/v1"
        assert _decrypts(base, new_root, ct)
        # A bogus share: refused at once (share commitments), nothing added, nothing created.
        attempt = json.loads(run_cli("--json", "operator", "generate-root", "--init", env=env).stdout)
        run_cli("operator", "generate-root", "--nonce", attempt["nonce"], shares[0], env=env)
        bad = run_cli(
            "operator", "generate-root", "--nonce", attempt["nonce"], "Av" + "A" * 42 + "=", env=env
        )
        assert bad.exit_code == 1 and "not a share of this installation" in bad.stderr
        cancel = run_cli("operator", "generate-root", "--cancel", "--nonce", attempt["nonce"], env=env)
        assert cancel.exit_code == 0, cancel.output
        # rekey: 3 -> 4 shares, threshold 3, verified, old shares retired.
        started = json.loads(
            run_cli(
                "--json", "operator", "rekey", "--init", "--shares", "4", "--threshold", "3", env=env
            ).stdout
        )
        for share in shares[:2]:
            step = run_cli("--json", "operator", "rekey", "--nonce", started["nonce"], share, env=env)
        new = json.loads(step.stdout)
        for share in new["keys_base64"][:3]:
            done = run_cli(
                "--json",
                "operator",
                "rekey",
                "--verify",
                "--nonce",
                new["verification_nonce"],
                share,
                env=env,
            )
            assert done.exit_code == 0, done.output
        assert json.loads(done.stdout)["complete"] is True
        rotated = run_cli("--token", new_root, "--json", "operator", "rotate", env=env)
        assert json.loads(rotated.stdout)["term"] == 2
    finally:
        s.stop()
    s = _restart(tmp_path)
    try:
        base = f"http://127.0.0.1:{s.port}/v1"
        assert not _unseals_with(base, shares)
        assert _unseals_with(base, new["keys_base64"][1:4])
        assert _decrypts(base, new_root, ct)
    finally:
        s.stop()
    audit = [json.loads(line) for line in (tmp_path / "data" / "audit.log").read_text().splitlines()]
    ops = {(r.get("operation"), r.get("result")) for r in audit}
    assert {
        ("sys/generate-root", "ok"),
        ("sys/generate-root/cancel", "ok"),
        ("sys/rekey/verify", "ok"),
        ("sys/rotate", "ok"),
    } <= ops


def _kill_during(server: Server, request: Any, delay: float) -> None:
    """Sends ``request`` from a thread and SIGKILLs the server ``delay`` seconds later."""
    t = threading.Thread(target=lambda: _ignore(request), daemon=True)
    t.start()
    time.sleep(delay)
    server.proc.kill()
    server.proc.wait()
    t.join(timeout=30)


def _ignore(request: Any) -> None:
    with contextlib.suppress(httpx.HTTPError):
        request()


@pytest.mark.slow
def test_sigkill_during_rekey_leaves_old_or_new_shares(tmp_path: Path) -> None:
    s, current, root, ct = _install(tmp_path)
    switched = kept = 0
    try:
        for delay in (0.0, 0.002, 0.01, 0.05):
            base = f"http://127.0.0.1:{s.port}/v1"
            started = httpx.post(f"{base}/sys/rekey/init", json=INIT).json()["data"]
            for share in current[:2]:
                r = httpx.post(f"{base}/sys/rekey/update", json={"nonce": started["nonce"], "key": share})
            new = r.json()["data"]
            vnonce = new["verification_nonce"]
            httpx.post(f"{base}/sys/rekey/verify", json={"nonce": vnonce, "key": new["keys_base64"][0]})
            last = new["keys_base64"][1]
            _kill_during(
                s,
                lambda b=base, k=last, n=vnonce: httpx.post(
                    f"{b}/sys/rekey/verify", json={"nonce": n, "key": k}, timeout=30
                ),
                delay,
            )
            s = _restart(tmp_path)
            base = f"http://127.0.0.1:{s.port}/v1"
            if _unseals_with(base, new["keys_base64"][1:3]):
                current, switched = new["keys_base64"], switched + 1
            else:
                assert _unseals_with(base, current[:2]), f"neither old nor new shares unseal (delay {delay})"
                kept += 1
                # Not switched: cancel the pending rekey (its nonce survived the crash).
                r = httpx.request("DELETE", f"{base}/sys/rekey/init", json={"nonce": vnonce})
                assert r.status_code == 200, r.text
            assert _decrypts(base, root, ct)
    finally:
        s.stop()
    assert switched + kept == 4


@pytest.mark.slow
def test_sigkill_during_rotate_keeps_every_record_readable(tmp_path: Path) -> None:
    s, shares, root, ct = _install(tmp_path)
    h = {"Authorization": f"Bearer {root}"}
    cts = [ct]
    try:
        for delay in (0.0, 0.003, 0.03):
            base = f"http://127.0.0.1:{s.port}/v1"
            r = httpx.post(f"{base}/encrypt/orders", json={"plaintext": "aGk="}, headers=h)
            cts.append(r.json()["data"]["ciphertext"])
            _kill_during(s, lambda b=base: httpx.post(f"{b}/sys/rotate", headers=h, timeout=30), delay)
            s = _restart(tmp_path)
            base = f"http://127.0.0.1:{s.port}/v1"
            assert _unseals_with(base, shares[:2])
            assert all(_decrypts(base, root, c) for c in cts)
        term = httpx.post(f"{base}/sys/rotate", headers=h).json()["data"]["term"]
        assert term >= 2
        assert all(_decrypts(base, root, c) for c in cts)
    finally:
        s.stop()


def test_pending_rekey_survives_a_restart(tmp_path: Path) -> None:
    s, shares, root, ct = _install(tmp_path)
    base = f"http://127.0.0.1:{s.port}/v1"
    started = httpx.post(f"{base}/sys/rekey/init", json=INIT).json()["data"]
    for share in shares[:2]:
        r = httpx.post(f"{base}/sys/rekey/update", json={"nonce": started["nonce"], "key": share})
    new = r.json()["data"]
    s.proc.kill()
    s.proc.wait()
    s = _restart(tmp_path)
    try:
        base = f"http://127.0.0.1:{s.port}/v1"
        assert _unseals_with(base, shares[:2])  # not switched: the old shares still work
        for share in new["keys_base64"][:2]:
            r = httpx.post(
                f"{base}/sys/rekey/verify", json={"nonce": new["verification_nonce"], "key": share}
            )
        assert r.json()["data"]["complete"] is True
        assert _decrypts(base, root, ct)
    finally:
        s.stop()
