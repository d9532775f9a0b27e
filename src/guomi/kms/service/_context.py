"""Who is calling and from where: the values every engine operation receives.

Layer: ``guomi.kms.service`` (internal).
"""

from __future__ import annotations

from dataclasses import dataclass

from guomi.kms.auth import TokenEntry

__all__ = ["Caller", "RequestContext"]


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Transport facts the audit record wants (no secrets)."""

    request_id: str = ""
    remote_addr: str | None = None
    #: The verified TLS client certificate's subject (RFC 4514), when the server asks for one.
    client_cert_subject: str | None = None


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller: its token entry and the request it is making."""

    entry: TokenEntry
    ctx: RequestContext
    token_hmac: str
