"""Utilities: ``random/{n}`` (OS CSPRNG) and ``hash`` (SM3); no key involved.

Layer: ``guomi.kms.service`` (internal).
"""

from __future__ import annotations

import base64
import os

from guomi import api
from guomi.kms._crypto import sm3_digest
from guomi.kms.errors import BadRequestError
from guomi.kms.service._context import Caller
from guomi.kms.service._core import EngineCore

__all__ = ["UtilityOps"]

_MAX_RANDOM = 1024


def _text(data: bytes, fmt: str) -> str:
    return data.hex() if fmt == "hex" else base64.b64encode(data).decode("ascii")


class UtilityOps(EngineCore):
    """``random`` and ``hash``."""

    def random(self, caller: Caller, n: int, req: api.RandomRequest) -> api.RandomResponse:
        """``POST random/{n}``: bytes from the OS CSPRNG."""
        with self._op(caller, "random", f"random/{n}", None, ()):
            if not 1 <= n <= _MAX_RANDOM:
                raise BadRequestError(f"n: must be between 1 and {_MAX_RANDOM}", field="n")
            return api.RandomResponse(random_bytes=_text(os.urandom(n), req.format))

    def hash(self, caller: Caller, req: api.HashRequest) -> api.HashResponse:
        """``POST hash``: SM3 (GB/T 32905-2016)."""
        with self._op(caller, "hash", "hash", None, ()):
            return api.HashResponse(sum=_text(sm3_digest(req.input), req.format))
