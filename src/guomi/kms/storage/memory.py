"""In-memory storage for tests and ``--dev`` (lost when the process exits).

Layer: ``guomi.kms.storage``.  One lock makes every commit atomic and
linearisable, which is also what the concurrency tests rely on.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from guomi.kms.storage._protocol import Delete, Op, Put, Record, SingleOps, StorageConflict

__all__ = ["MemoryStorage"]


class MemoryStorage(SingleOps):
    """A dict of records guarded by a lock."""

    kind = "memory"

    def __init__(self) -> None:
        self._data: dict[str, Record] = {}
        self._revision = 0
        self._lock = threading.Lock()
        #: Number of :meth:`get` calls (tests use it to show O(1) reads per operation).
        self.reads = 0

    def get(self, path: str) -> Record | None:
        with self._lock:
            self.reads += 1
            return self._data.get(path)

    def get_many(self, paths: Sequence[str]) -> list[Record | None]:
        """Several records at once (one read in :attr:`reads`), in order."""
        with self._lock:
            self.reads += 1
            return [self._data.get(p) for p in paths]

    def list(self, prefix: str) -> list[str]:
        with self._lock:
            n = len(prefix)
            return sorted(p[n:] for p in self._data if p.startswith(prefix))

    def commit(self, ops: Sequence[Op]) -> int:
        with self._lock:
            for op in ops:
                if op.expected is None:
                    continue
                current = self._data.get(op.path)
                have = 0 if current is None else current.revision
                if have != op.expected:
                    raise StorageConflict(f"revision of {op.path!r} changed")
            self._revision += 1
            rev = self._revision
            for op in ops:
                if isinstance(op, Put):
                    self._data[op.path] = Record(bytes(op.value), rev)
                elif isinstance(op, Delete):
                    self._data.pop(op.path, None)
            return rev

    def close(self) -> None:
        return None
