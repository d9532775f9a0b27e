"""Storage backends behind one protocol: ``memory://``, ``sqlite:///PATH``, ``postgresql://...``.

Layer: ``guomi.kms.storage`` (bytes in, bytes out; the barrier encrypts first).
"""

from __future__ import annotations

from pathlib import Path

from guomi.kms.storage._protocol import (
    Delete,
    Op,
    Put,
    Record,
    Storage,
    StorageConflict,
    StorageError,
)
from guomi.kms.storage._readahead import ReadAheadStorage
from guomi.kms.storage.memory import MemoryStorage
from guomi.kms.storage.sqlite import SQLiteStorage

__all__ = [
    "Delete",
    "MemoryStorage",
    "Op",
    "Put",
    "ReadAheadStorage",
    "Record",
    "SQLiteStorage",
    "Storage",
    "StorageConflict",
    "StorageError",
    "open_storage",
]


def open_storage(url: str) -> Storage:
    """Opens the backend a storage URL names.

    ``memory://``; ``sqlite:///absolute/path.db`` or ``sqlite://relative.db``;
    ``postgresql://user@host/db`` (also ``postgres://``)."""
    if url in {"memory://", "memory"}:
        return MemoryStorage()
    if url.startswith("sqlite://"):
        path = url[len("sqlite://") :]
        if not path:
            raise ValueError("sqlite storage URL needs a path: sqlite:///var/lib/guomi/guomi.db")
        return SQLiteStorage(Path(path))
    if url.startswith(("postgresql://", "postgres://")):
        from guomi.kms.storage.postgres import PostgresStorage  # noqa: PLC0415 - psycopg only if used

        return PostgresStorage(url)
    raise ValueError("unknown storage URL scheme (use memory://, sqlite:///PATH or postgresql://...)")
