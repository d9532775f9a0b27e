"""The README's examples run as written.

A fenced block opts in through its info string (the words after the language, which
renderers ignore): ```` ```python runnable ```` blocks run, each in a fresh Python process
in an empty temporary directory holding one file, ``ledger.csv`` (what the file-encryption
example reads); ```` ```python runnable service ```` blocks run the same way with
``GUOMI_ADDR`` / ``GUOMI_TOKEN`` set to a ``guomi server --dev`` started for the test.
New README sections mark their blocks the same way to be checked here.

The custody-service session (a ``sh`` block: it starts a server and initialises it, so it
does not run as a whole) is checked where it went wrong before: the key, policy and token
it creates let the token encrypt and decrypt under that key.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import guomi
from tests.cli.test_cli import Shell
from tests.client.asgi import make_app, running

README = Path(__file__).resolve().parent.parent / "README.md"
SOURCE_ROOT = str(Path(guomi.__file__).resolve().parents[1])
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[int, list[str], str]]:
    """(line number, info words, body) of every fenced block of the README."""
    text = README.read_text("utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m["info"].split(), m["body"]) for m in FENCE.finditer(text)]


def runnable(service: bool) -> list[pytest.param]:
    return [
        pytest.param(body, id=f"README.md:{line}")
        for line, info, body in blocks()
        if info[:2] == ["python", "runnable"] and ("service" in info) == service
    ]


def run_block(body: str, cwd: Path, extra_env: dict[str, str] | None = None) -> None:
    (cwd / "ledger.csv").write_bytes(b"date,account,amount\n" * 100_000)
    env = {**os.environ, "PYTHONPATH": SOURCE_ROOT, **(extra_env or {})}
    result = subprocess.run(
        [sys.executable, "-c", body],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_readme_marks_blocks_to_run() -> None:
    assert len(runnable(service=False)) >= 6 and len(runnable(service=True)) >= 1


@pytest.mark.parametrize("body", runnable(service=False))
def test_runnable_block(body: str, tmp_path: Path) -> None:
    run_block(body, tmp_path)


@pytest.fixture(scope="module")
def dev_server() -> Iterator[dict[str, str]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": SOURCE_ROOT}
    proc = subprocess.Popen(
        [sys.executable, "-m", "guomi.cli", "server", "--dev", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        exports = dict(part.split("=", 1) for part in line.split()[1:])
        assert set(exports) == {"GUOMI_ADDR", "GUOMI_TOKEN"}, line
        yield exports
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.mark.parametrize("body", runnable(service=True))
def test_runnable_service_block(body: str, tmp_path: Path, dev_server: dict[str, str]) -> None:
    run_block(body, tmp_path, dev_server)


def _service_session_commands() -> list[list[str]]:
    """The ``guomi key create``, ``policy write`` and ``token create`` lines, as written."""
    # The custody-service section's session (other sections have policy lines of their own).
    (session,) = [
        body for _, info, body in blocks() if info == ["sh"] and "guomi policy write orders" in body
    ]
    wanted = ("guomi key create", "guomi policy write", "guomi token create")
    return [shlex.split(line, comments=True)[1:] for line in session.splitlines() if line.startswith(wanted)]


@pytest.fixture
def sh() -> Iterator[Shell]:
    with running(make_app()) as (client, _):
        yield Shell(client._http._transport, client.token)  # type: ignore[attr-defined]


def test_the_readme_policy_lets_its_token_use_the_readme_key(sh: Shell) -> None:
    create, policy, token = _service_session_commands()
    key_name = create[-1]
    sh(*create)
    sh(*policy)
    app_token = sh(*token).stdout.strip()
    app = Shell(sh.transport, app_token)
    ciphertext = app("encrypt", "-k", key_name, input=b"card 6222").stdout.strip()
    assert app("decrypt", "-k", key_name, ciphertext).stdout_bytes == b"card 6222"
