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

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guomi.kms.audit import AuditLog, AuditVerifyResult, FileSink, MemorySink, verify_audit_log
from guomi.kms.config import Config
from guomi.kms.errors import KMSError
from guomi.kms.service import Caller, Engine, RequestContext
from guomi.kms.storage import open_storage

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


def build_engine(config: Config) -> Engine:
    """Opens storage and the audit log named by ``config`` and returns the engine.

    In dev mode the store is initialised with one share and unsealed (see
    :func:`guomi.kms.app.create_app` for the warning it prints)."""
    storage = open_storage(config.resolved_storage_url())
    path = config.resolved_audit_path()
    sink = FileSink(path, fsync=config.audit_fsync) if path is not None else MemorySink()
    anchor = Path(config.data_dir) / "state-anchor.json" if config.data_dir is not None else None
    # The external anchor of docs/spec/storage.md §4 (until the server configuration has it).
    floor = int(os.environ.get("GUOMI_MIN_STATE_GENERATION", "0") or 0)
    return Engine(storage, AuditLog(sink), config, state_anchor=anchor, min_state_generation=floor)


def __getattr__(name: str) -> Any:
    # The ASGI app pulls in the HTTP stack (and FastAPI for its OpenAPI document); import
    # it only when asked for.
    if name == "create_app":
        from guomi.kms.app import create_app  # noqa: PLC0415 - lazy: FastAPI only when asked

        return create_app
    raise AttributeError(name)
