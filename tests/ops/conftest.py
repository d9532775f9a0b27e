"""Helpers of the operations tests: a real `guomi server` in a subprocess, certificates made
with the `openssl` command line, and an in-process service wrapped as `guomi server` wraps it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUOMI_")}
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_cli(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`guomi ARGS` to completion (for commands that must fail fast)."""
    return subprocess.run(
        [sys.executable, "-m", "guomi.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or server_env(),
        cwd=ROOT,
        check=False,
    )


@dataclass
class Server:
    proc: subprocess.Popen[str]
    port: int
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(tmp: Path, *args: str, env: dict[str, str] | None = None, port: int | None = None) -> Server:
    """`guomi server --listen 127.0.0.1:PORT ARGS`, returned once it says it is listening."""
    port = port or free_port()
    log = tmp / f"server-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "guomi.cli", "server", "--listen", f"127.0.0.1:{port}", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=env or server_env(),
            cwd=tmp,
        )
    server = Server(proc, port, log)
    deadline = time.monotonic() + 60
    while "listening on" not in server.output:
        if proc.poll() is not None:
            raise AssertionError(f"server exited ({proc.returncode}):\n{server.output}")
        if time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"server did not start:\n{server.output}")
        time.sleep(0.05)
    return server


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[Server] = []

    def make(*args: str, **kw: Any) -> Server:
        s = start_server(tmp_path, *args, **kw)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


# ---------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_client_cert: Path
    other_client_key: Path
    rogue_cert: Path  # signed by another CA
    rogue_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _issue(d: Path, name: str, subject: str, ca: str, ext: str) -> None:
    _openssl(
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        f"{name}.key",
        "-subj",
        subject,
        "-out",
        f"{name}.csr",
        cwd=d,
    )
    (d / f"{name}.ext").write_text(ext)
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        f"{ca}.pem",
        "-CAkey",
        f"{ca}.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        f"{name}.pem",
        "-extfile",
        f"{name}.ext",
        cwd=d,
    )


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    d = tmp_path_factory.mktemp("certs")
    for ca in ("ca", "rogue-ca"):
        _openssl(
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            f"{ca}.key",
            "-out",
            f"{ca}.pem",
            "-days",
            "2",
            "-subj",
            f"/CN=guomi test {ca}",
            cwd=d,
        )
    _issue(
        d,
        "server",
        "/CN=127.0.0.1",
        "ca",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    _issue(d, "client", "/O=bank/CN=app-a", "ca", "extendedKeyUsage=clientAuth\n")
    _issue(d, "client2", "/O=bank/CN=app-b", "ca", "extendedKeyUsage=clientAuth\n")
    _issue(d, "rogue", "/O=bank/CN=app-a", "rogue-ca", "extendedKeyUsage=clientAuth\n")
    return Certs(
        ca=d / "ca.pem",
        server_cert=d / "server.pem",
        server_key=d / "server.key",
        client_cert=d / "client.pem",
        client_key=d / "client.key",
        other_client_cert=d / "client2.pem",
        other_client_key=d / "client2.key",
        rogue_cert=d / "rogue.pem",
        rogue_key=d / "rogue.key",
    )
