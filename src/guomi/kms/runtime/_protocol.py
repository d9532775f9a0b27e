"""uvicorn's httptools protocol with a request read deadline, a connection cap and the
client certificate's subject in the ASGI scope.

Layer: ``guomi.kms.runtime``.  uvicorn limits idle keep-alive connections but not how long
a client may take to send a request: a client that sends one header byte per second holds
a connection (and a slot) for as long as it likes.  Here every request, from the first byte
of a fresh connection (or the end of the previous response) to the end of its body, must
arrive within ``read_timeout`` seconds, or the connection is closed.  Connections above
``max_connections`` are closed as soon as they are accepted.

With TLS client certificates, the verified subject is put in the scope as the ASGI TLS
extension does (``scope["extensions"]["tls"]["client_cert_name"]``, RFC 4514 order), so the
service can bind tokens to it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from guomi.kms.vault._protocol import VaultMethodsProtocol

__all__ = ["guarded_http_protocol", "subject_name"]

log = logging.getLogger("guomi.kms")


def subject_name(peercert: dict[str, Any] | None) -> str | None:
    """An RFC 4514 string (most specific RDN first) from ``SSLSocket.getpeercert()``."""
    if not peercert:
        return None
    rdns = peercert.get("subject") or ()
    parts = []
    for rdn in reversed(rdns):
        parts.append("+".join(f"{_SHORT.get(k, k)}={_escape(v)}" for k, v in rdn))
    return ",".join(parts) or None


_SHORT = {
    "commonName": "CN",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "domainComponent": "DC",
    "userId": "UID",
}


def _escape(value: str) -> str:
    out = "".join("\\" + c if c in ',+"\\<>;=' else c for c in value)
    if out.startswith((" ", "#")):
        out = "\\" + out
    if out.endswith(" "):
        out = out[:-1] + "\\ "
    return out


def guarded_http_protocol(*, read_timeout: float, max_connections: int) -> type[HttpToolsProtocol]:
    """A protocol class for ``uvicorn.Config(http=...)`` with these limits."""

    # On VaultMethodsProtocol so Vault clients' LIST requests still reach the app (the
    # connection is handed to h11 for them; see guomi.kms.vault).
    class GuardedHttpToolsProtocol(VaultMethodsProtocol):
        _read_deadline: asyncio.TimerHandle | None = None
        _tls_extension: dict[str, Any] | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                log.warning("connection limit (%d) reached: closing a new connection", max_connections)
                transport.close()
                return
            ssl_object = transport.get_extra_info("ssl_object")
            if ssl_object is not None:
                name = subject_name(ssl_object.getpeercert())
                self._tls_extension = {"client_cert_name": name, "server_cert": None}
            self._arm()

        def _arm(self) -> None:
            if self._read_deadline is None:
                self._read_deadline = self.loop.call_later(read_timeout, self._read_timed_out)

        def _disarm(self) -> None:
            if self._read_deadline is not None:
                self._read_deadline.cancel()
                self._read_deadline = None

        def _read_timed_out(self) -> None:
            self._read_deadline = None
            if not self.transport.is_closing():
                log.info("request read timeout (%.1fs): closing the connection", read_timeout)
                self.transport.close()

        def _switch_to_h11(self, data: bytes) -> None:
            # The connection leaves this protocol: its read deadline must not close it later.
            self._disarm()
            super()._switch_to_h11(data)

        def data_received(self, data: bytes) -> None:
            # uvicorn cancels its keep-alive timer on data; the request deadline starts now.
            self._arm()
            super().data_received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._tls_extension is not None:
                self.scope["extensions"] = {"tls": dict(self._tls_extension)}  # type: ignore[dict-item]

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return GuardedHttpToolsProtocol
