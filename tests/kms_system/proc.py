"""``guomi server`` as a real child process, for the cross-process tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from guomi.client import Client
from guomi.exceptions import ServiceError

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: The init lock's one-time token these servers start with (``guomi server --bootstrap-token``);
#: anonymous clients present it, so their ``init`` passes the lock.
BOOTSTRAP_TOKEN = "guomi-test-bootstrap-token-0001"


class _PortTaken(RuntimeError):
    pass


class ServerProcess:
    """One ``python -m guomi.cli server`` process; :meth:`kill` is SIGKILL (no cleanup at all)."""

    def __init__(self, data_dir: Path, storage: str | None = None, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.storage = storage
        self._auto_port = port is None
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / f"server-{self.port}.log"

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        """Start and wait for ``sys/health``; a port taken meanwhile by another process
        (the machine is shared by parallel test runs) is replaced by a fresh one."""
        for attempt in range(3):
            try:
                return self._start(timeout)
            except _PortTaken:
                if not self._auto_port or attempt == 2:
                    raise
                self.port = free_port()
        raise AssertionError("unreachable")

    def _start(self, timeout: float) -> ServerProcess:
        cmd = [sys.executable, "-m", "guomi.cli", "server", "--listen", f"127.0.0.1:{self.port}"]
        cmd += ["--data-dir", str(self.data_dir), "--bootstrap-token", BOOTSTRAP_TOKEN]
        if self.storage:
            cmd += ["--storage", self.storage]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        with Client(self.addr, timeout=2) as c:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"server exited ({self.proc.returncode}): {self.log.read_text()[-3000:]}"
                    )
                try:
                    c.health()
                    # Answered by our process, not by another one on a recycled port?
                    time.sleep(0.02)
                    if self.proc.poll() is None:
                        return self
                    continue
                except ServiceError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to flush, close or finish a write."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self, token: str | None = None, **kwargs: Any) -> Client:
        """A client with ``token``; without one it presents the bootstrap token (init lock)."""
        return Client(self.addr, token or BOOTSTRAP_TOKEN, **kwargs)

    def unseal(self, shares: list[str]) -> None:
        with self.client() as c:
            for share in shares:
                if not c.unseal(share).sealed:
                    return
            raise AssertionError("still sealed after all shares")
