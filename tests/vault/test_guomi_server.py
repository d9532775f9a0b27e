"""hvac against ``guomi server`` itself (a separate process, its own HTTP protocol choice)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import hvac
import hvac.exceptions as hx
import pytest

from .conftest import _free_port


@pytest.fixture
def guomi_server() -> Iterator[hvac.Client]:
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "guomi.cli", "server", "--dev", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        token = ""
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while not token and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            for word in line.split():
                if word.startswith("GUOMI_TOKEN="):
                    token = word.split("=", 1)[1]
        assert token, "guomi server --dev printed no root token"
        client = hvac.Client(url=f"http://127.0.0.1:{port}", token=token)
        while True:
            try:
                client.is_authenticated()
                break
            except Exception:
                assert time.monotonic() < deadline, "server did not answer"
                time.sleep(0.05)
        yield client
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_hvac_against_guomi_server(guomi_server: hvac.Client) -> None:
    t = guomi_server.secrets.transit
    assert guomi_server.is_authenticated()
    t.create_key("orders")
    assert t.list_keys()["data"]["keys"] == ["orders"]  # LIST through guomi server's protocol
    ct = t.encrypt_data("orders", plaintext=base64.b64encode(b"6222").decode())["data"]["ciphertext"]
    assert base64.b64decode(t.decrypt_data("orders", ciphertext=ct)["data"]["plaintext"]) == b"6222"
    with pytest.raises(hx.InvalidPath):
        t.read_key("missing")
    child = guomi_server.auth.token.create(policies=["app"], ttl="10m")["auth"]["client_token"]
    guomi_server.auth.token.revoke(child)
    assert not hvac.Client(url=guomi_server.url, token=child).is_authenticated()
