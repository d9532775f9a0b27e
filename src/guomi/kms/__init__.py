"""The key custody service: sealed keystore, versioned keys, encryption as a service.

Layer: ``guomi.kms`` (above ``guomi.api`` and ``guomi.primitives``).

* :func:`create_app` — the ASGI application (one route table served by one dispatcher;
  OpenAPI at ``/v1/openapi.json``, ``/v1/docs``).
* :func:`build_engine` — the transport-free engine (``service.Engine``) over a storage
  URL, with its audit log; what :func:`create_app` wraps.
* :func:`verify_audit_log` — ``guomi audit verify FILE``.

Inside: ``http/`` (the route table, one module per path family, and its dispatcher),
``service/`` (the engine, one module per concern; key types; tokens),
``storage/`` (memory, SQLite, PostgreSQL), ``seal/`` (Shamir), ``barrier``
(encryption of every stored record), ``auth`` (tokens, policies), ``audit``
(hash-chained log).  See docs/spec/http-api.md and docs/spec/token.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guomi._extras import server as _requires_server  # noqa: F401 (a clear error without the extra)
from guomi.kms._build import build_engine
from guomi.kms.audit import AuditVerifyResult, verify_audit_log
from guomi.kms.config import Config
from guomi.kms.errors import KMSError
from guomi.kms.service import Caller, Engine, RequestContext

if TYPE_CHECKING:
    from guomi.kms.app import create_app

__all__ = [
    "AuditVerifyResult",
    "Caller",
    "Config",
    "Engine",
    "KMSError",
    "RequestContext",
    "build_engine",
    "create_app",
    "verify_audit_log",
]


def __getattr__(name: str) -> Any:
    # The ASGI app pulls in the HTTP stack (and FastAPI for its OpenAPI document); import
    # it only when asked for.
    if name == "create_app":
        from guomi.kms.app import create_app  # noqa: PLC0415 - lazy: FastAPI only when asked

        return create_app
    raise AttributeError(name)
