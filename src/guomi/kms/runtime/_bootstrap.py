"""The init lock: a one-time bootstrap token that ``sys/init`` requires.

Layer: ``guomi.kms.runtime``.  Without it, whoever reaches a fresh server first initialises
it and receives the unseal shares and the root token.  The token is made when a server
starts on an uninitialised store (256 bits from the OS CSPRNG) and printed on the server's
console, given by the operator (``--bootstrap-token`` / ``GUOMI_BOOTSTRAP_TOKEN``), or kept
in a file (``--bootstrap-token-file``, mode 0600: read when it exists, written otherwise;
removed after a successful init).  It is compared in constant time and forgotten after the
first successful ``sys/init``.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import os
import threading
from pathlib import Path

__all__ = ["BOOTSTRAP_PREFIX", "BootstrapLock", "new_bootstrap_token"]

BOOTSTRAP_PREFIX = "gmb."


def new_bootstrap_token() -> str:
    """A fresh bootstrap token (``gmb.`` + 43 base64url characters)."""
    return BOOTSTRAP_PREFIX + base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode("ascii")


class BootstrapLock:
    """Holds the bootstrap token until ``sys/init`` succeeds once."""

    def __init__(self, token: str, file: Path | None = None) -> None:
        self._token: str | None = token
        self._file = file
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BootstrapLock(open={self._token is None})"

    @classmethod
    def from_settings(cls, token: str | None, file: Path | None) -> tuple[BootstrapLock, bool]:
        """The lock, and whether its token was made here (so the console should show it)."""
        if token:
            return cls(token, None), False
        if file is not None:
            try:
                existing = file.read_text("ascii").strip()
            except FileNotFoundError:
                existing = ""
            if existing:
                return cls(existing, file), False
            fresh = new_bootstrap_token()
            file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(fresh + "\n")
            return cls(fresh, file), False
        return cls(new_bootstrap_token(), None), True

    @property
    def token(self) -> str | None:
        """The token while the lock is closed (for the console line only)."""
        return self._token

    def accepts(self, presented: str | None) -> bool:
        """Constant-time check of a presented token."""
        expected = self._token
        if expected is None or not presented:
            return False
        return hmac.compare_digest(presented.encode("utf-8", "replace"), expected.encode("utf-8"))

    def consume(self) -> None:
        """Forgets the token after a successful init (and removes its file)."""
        with self._lock:
            self._token = None
            if self._file is not None:
                with contextlib.suppress(FileNotFoundError):
                    self._file.unlink()
