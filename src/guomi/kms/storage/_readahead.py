"""A read-through storage layer that serves records fetched ahead for the current request.

Layer: ``guomi.kms.storage``.  On a networked store (PostgreSQL) every ``get``
is a round trip; a request needs at least its token record and its key's
metadata.  :meth:`ReadAheadStorage.read_ahead` fetches such paths in one
:meth:`~guomi.kms.storage.Storage.get_many` round trip; inside that ``with``
block, the first ``get`` of each of those paths is answered from what was
fetched, every other read goes to the store.  Each fetched record is used once,
so a request still reads every record from storage (revocations and other
servers' changes apply as without read-ahead).  The fetched records live in a
:class:`~contextvars.ContextVar`, so concurrent requests on other threads or tasks
never see each other's, and leaving the block drops them: no state to clear by hand.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from guomi.kms.storage._protocol import Op, Record, Storage

__all__ = ["ReadAheadStorage"]

_AHEAD: ContextVar[dict[str, Record | None] | None] = ContextVar("guomi_read_ahead", default=None)


class ReadAheadStorage:
    """A :class:`Storage` over ``inner`` whose reads may be served from a request's read-ahead."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.kind = inner.kind

    def __repr__(self) -> str:
        return f"ReadAheadStorage({self.inner!r})"

    @contextmanager
    def read_ahead(self, paths: Sequence[str]) -> Iterator[None]:
        """Fetches ``paths`` in one round trip for the reads inside the block."""
        token = _AHEAD.set(dict(zip(paths, self.inner.get_many(paths), strict=True)))
        try:
            yield
        finally:
            _AHEAD.reset(token)

    def get(self, path: str) -> Record | None:
        """The record at ``path`` (from the read-ahead the first time, if fetched there)."""
        ahead = _AHEAD.get()
        if ahead is not None and path in ahead:
            return ahead.pop(path)
        return self.inner.get(path)

    def get_many(self, paths: Sequence[str]) -> list[Record | None]:
        """As :meth:`Storage.get_many`."""
        return self.inner.get_many(paths)

    def list(self, prefix: str) -> list[str]:
        """As :meth:`Storage.list`."""
        return self.inner.list(prefix)

    def commit(self, ops: Sequence[Op]) -> int:
        """As :meth:`Storage.commit`."""
        return self.inner.commit(ops)

    def put(self, path: str, value: bytes, expected: int | None = None) -> int:
        """As :meth:`Storage.put`."""
        return self.inner.put(path, value, expected)

    def delete(self, path: str, expected: int | None = None) -> None:
        """As :meth:`Storage.delete`."""
        self.inner.delete(path, expected)

    def close(self) -> None:
        """As :meth:`Storage.close`."""
        self.inner.close()
