"""An HTTP/1.1 server protocol that keeps httptools' speed and still accepts Vault's ``LIST``.

Layer: ``guomi.kms.vault``.  Vault clients (hvac, the ``vault`` CLI, Terraform)
list with the method ``LIST``.  uvicorn's fast parser, httptools (llhttp), has
a fixed method table without ``LIST`` and answers 400 before the application
sees the request; h11 accepts any method token but is slower on every request
(``bench/RESULTS.md``: uvloop + httptools vs h11).  So this protocol parses
with httptools, and only when a connection's next request starts with
``LIST`` (and nothing is in flight on it) hands the connection over to
uvicorn's h11 protocol for the rest of its life: the hot encrypt/decrypt
connections never pay for the method, the listing connections get it.

Use: ``uvicorn.Config(app, http=VaultMethodsProtocol)`` (``guomi server``
does) or ``uvicorn --http guomi.kms.vault:VaultMethodsProtocol``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["EXTRA_METHODS", "VaultMethodsProtocol"]

#: Request-line starts that httptools rejects but Vault clients send.
EXTRA_METHODS = (b"LIST ",)


class VaultMethodsProtocol(HttpToolsProtocol):
    """httptools, switching a connection to h11 at a request whose method httptools lacks."""

    def __init__(self, config: Any, server_state: Any, app_state: dict[str, Any], _loop: Any = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._h11_args = (config, server_state, app_state, _loop)

    def _idle(self) -> bool:
        cycle = self.cycle
        return (cycle is None or cycle.response_complete) and not self.pipeline

    def data_received(self, data: bytes) -> None:
        if data.startswith(EXTRA_METHODS) and self._idle():
            self._switch_to_h11(data)
            return
        super().data_received(data)

    def _switch_to_h11(self, data: bytes) -> None:
        transport: asyncio.Transport = self.transport
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        # The h11 protocol registers itself in connection_made; this one is done.
        self.connections.discard(self)
        successor = H11Protocol(*self._h11_args)
        transport.set_protocol(successor)
        successor.connection_made(transport)
        successor.data_received(data)
