"""A small pool of database connections shared by the server's threads.

Layer: ``guomi.kms.storage`` (internal).  Why not one connection per thread:
the ASGI server's worker threads come and go, and per-thread connections of
exited threads would pile up (file descriptors, PostgreSQL backends).  A
connection is used by one thread at a time (taken from the pool, returned
after the operation); a connection that failed is closed, not returned.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["Pool"]

C = TypeVar("C")


class Pool(Generic[C]):
    """Idle connections kept up to ``max_idle``; new ones opened on demand."""

    def __init__(
        self, open_conn: Callable[[], C], close_conn: Callable[[C], None], max_idle: int = 16
    ) -> None:
        self._open = open_conn
        self._close = close_conn
        self._idle: list[C] = []
        self._lock = threading.Lock()
        self._max_idle = max_idle
        self._closed = False

    @contextlib.contextmanager
    def connection(self) -> Iterator[C]:
        """A connection for the duration of the block."""
        with self._lock:
            if self._closed:
                raise RuntimeError("storage is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._open()
        ok = False
        try:
            yield conn
            ok = True
        finally:
            keep = False
            if ok:
                with self._lock:
                    if not self._closed and len(self._idle) < self._max_idle:
                        self._idle.append(conn)
                        keep = True
            if not keep:
                with contextlib.suppress(Exception):
                    self._close(conn)

    def discard_idle(self) -> None:
        """Closes every idle connection (after a failure that may have broken them all)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for c in idle:
            with contextlib.suppress(Exception):
                self._close(c)

    def close(self) -> None:
        """Closes idle connections; connections in use are closed when returned."""
        with self._lock:
            self._closed = True
        self.discard_idle()
