"""Over a real socket: ``guomi server`` on SQLite, the ``guomi`` CLI and the SDK as separate processes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from tests.kms_system.proc import BOOTSTRAP_TOKEN, ROOT, ServerProcess, free_port


def guomi(*args: str, env: dict[str, str], input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "guomi.cli", *args],
        env=env,
        input=input,
        capture_output=True,
        check=False,
        timeout=60,
    )


def test_cli_and_sdk_over_tcp(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data").start()
    try:
        env = dict(os.environ, GUOMI_ADDR=server.addr, PYTHONPATH=str(ROOT / "src"))
        env.pop("GUOMI_TOKEN", None)
        # The init lock: `operator init` presents the server's one-time bootstrap token.
        boot = ["--token", BOOTSTRAP_TOKEN]
        init = guomi(*boot, "operator", "init", "--shares", "1", "--threshold", "1", env=env)
        assert init.returncode == 0, init.stderr
        lines = init.stdout.decode().splitlines()
        share = next(x for x in lines if x.startswith("Unseal share 1:")).split(": ", 1)[1]
        token = next(x for x in lines if x.startswith("Root token:")).split(": ", 1)[1]
        assert guomi("operator", "unseal", share, env=env).returncode == 0
        env["GUOMI_TOKEN"] = token
        assert guomi("key", "create", "tcp", env=env).returncode == 0
        enc = guomi("encrypt", "-k", "tcp", env=env, input=b"over the wire")
        assert enc.returncode == 0, enc.stderr
        ciphertext = enc.stdout.decode().strip()
        dec = guomi("decrypt", "-k", "tcp", ciphertext, env=env)
        assert dec.returncode == 0 and dec.stdout == b"over the wire"
        with server.client(token) as c:
            assert c.decrypt("tcp", ciphertext) == b"over the wire"
            assert c.health().sealed is False
        # The SQLite store and the audit log live in the data directory; the log verifies.
        assert (tmp_path / "data" / "guomi.db").exists()
        audit = guomi("audit", "verify", str(tmp_path / "data" / "audit.log"), env=env)
        assert audit.returncode == 0, audit.stderr
    finally:
        server.kill()


def test_make_run_demo_first_and_second_start(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        GUOMI_DATA_DIR=str(tmp_path / "demo"),
        GUOMI_DEMO_LISTEN=f"127.0.0.1:{free_port()}",
        GUOMI_DEMO_EXIT="1",
        PYTHONPATH=str(ROOT / "src"),
    )
    first = subprocess.run(
        [sys.executable, "-m", "guomi.demo"], env=env, capture_output=True, check=False, timeout=90
    )
    assert first.returncode == 0, first.stdout.decode()[-2000:] + first.stderr.decode()[-2000:]
    secrets = tmp_path / "demo" / "operator-init.json"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    text = first.stdout.decode()
    assert "curl" in text and "Authorization: Bearer" in text
    # Second start: already initialised, unsealed from the saved file, keys still there.
    second = subprocess.run(
        [sys.executable, "-m", "guomi.demo"], env=env, capture_output=True, check=False, timeout=90
    )
    assert second.returncode == 0, second.stdout.decode()[-2000:] + second.stderr.decode()[-2000:]
    assert "exists" in second.stdout.decode()


def test_server_dev_mode(tmp_path: Path) -> None:
    """`guomi server --dev`: in memory, one share, unsealed at once, token printed, loud warning."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "guomi.cli", "server", "--dev", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line.startswith("export GUOMI_ADDR="), line
        token = line.strip().split("GUOMI_TOKEN=", 1)[1]
        server = ServerProcess(tmp_path, port=port)
        with server.client(token) as c:
            for _ in range(100):
                try:
                    health = c.health()
                    break
                except Exception:
                    time.sleep(0.05)
            assert health.sealed is False
            c.create_key("dev")
            assert c.decrypt("dev", c.encrypt("dev", b"x")) == b"x"
        assert not any(tmp_path.iterdir()), "dev mode must not write a data directory"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert b"DEV MODE" in err
