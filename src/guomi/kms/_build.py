"""``build_engine``: the transport-free engine over the storage and audit log a config names.

Layer: ``guomi.kms``. Its own module so that both the package (which re-exports it) and
``guomi.kms.app`` (which wraps it in HTTP) import it from below, not from each other.
"""

from __future__ import annotations

import os
from pathlib import Path

from guomi.kms.audit import AuditLog, FileSink, MemorySink
from guomi.kms.config import Config
from guomi.kms.service import Engine
from guomi.kms.storage import open_storage

__all__ = ["build_engine"]


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
