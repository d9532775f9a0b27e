"""A validated read cache for PostgreSQL storage, invalidated through LISTEN/NOTIFY.

Layer: ``guomi.kms.storage`` (internal).  Every request reads its token record and its key's
metadata; over a network each read is a round trip (and on 2 cores, the thread hop and the
driver's work around it), which bounded a server on PostgreSQL well below the same server on
SQLite.  Here a record read once is kept in memory, and every change of a record, by this
server or any other sharing the database, evicts it:

* every commit sends ``NOTIFY`` on the store's channel with the changed paths, inside the
  same transaction, so the notification exists if and only if the change committed;
* one listener thread per process holds a dedicated connection doing ``LISTEN`` and evicts
  the paths it is told about;
* a commit evicts its own paths locally before it returns (a server sees its own writes at
  once; its own notifications, recognised by the sending backend's PID, are then skipped),
  and a compare-and-set conflict evicts the paths involved (the retry reads fresh);
* a read that raced with an eviction is not cached (a global eviction counter is compared
  before and after the database read), so a stale value never outlives its notification;
* while the listener is not connected (start, database restart) nothing is served from the
  cache; when it reconnects the cache starts empty (notifications sent meanwhile were lost);
* records under ``core/`` (the storage state record, keyring, seal configuration) are never
  cached, and whenever this process reads a state record (``core/state``: every barrier
  commit does, before it reads the records it replaces) whose revision differs from the last
  one it saw, the whole cache is dropped first: a write's view of the store, and the state
  digest it computes, always come from records at least as new as the state it is based on
  (its compare-and-set on the state record then rules out anything in between).

So the only staleness is the notification's delivery time after another server's commit
(sub-millisecond on one node; the same order as the request that raced with it).  Revoking
a token or changing a key on one server therefore applies on the others as soon as the
database has told them, not at some expiry.  Negative answers (no such record) are not
cached, so unknown tokens cannot grow the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from guomi.kms.storage._protocol import Record

__all__ = ["NotifyCache", "channel_for"]

log = logging.getLogger("guomi.kms")

#: NOTIFY payloads are limited to 8000 bytes: paths are sent in chunks below that.
_PAYLOAD_MAX = 7000
_MAX_ENTRIES = 100_000


def channel_for(schema: str) -> str:
    """The channel of one store (database + schema): notifications of other schemas in the
    same database are not ours."""
    return "guomi_kv_" + hashlib.sha256(schema.encode()).hexdigest()[:20]


def payloads(paths: Iterable[str]) -> list[str]:
    """The changed paths as NOTIFY payloads (newline-separated, each under the size limit)."""
    out: list[str] = []
    cur: list[str] = []
    size = 0
    for p in paths:
        if cur and size + len(p) + 1 > _PAYLOAD_MAX:
            out.append("\n".join(cur))
            cur, size = [], 0
        cur.append(p)
        size += len(p.encode()) + 1
    if cur:
        out.append("\n".join(cur))
    return out


class NotifyCache:
    """Records by path, valid while the listener is connected."""

    def __init__(self, connect: Callable[[], Any], channel: str, own_pids: set[int] | None = None) -> None:
        self._connect = connect
        self.channel = channel
        #: Backend PIDs of this process's own (open) connections: their commits were evicted
        #: locally already, so their notifications are skipped (an open backend's PID cannot
        #: belong to another server).
        self._own = own_pids if own_pids is not None else set()
        self._records: dict[str, Record] = {}
        self._lock = threading.Lock()
        #: Bumped by every eviction; a read caches its result only if it did not move.
        self._seq = 0
        self._live = False
        #: Revision of the last state record this process saw (read or committed).
        self._state_rev: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="guomi-pg-listen", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"NotifyCache(channel={self.channel!r}, live={self._live}, entries={len(self._records)})"

    @property
    def live(self) -> bool:
        """The listener is connected: cached records are valid."""
        return self._live

    def wait_live(self, timeout: float) -> bool:
        """Waits until the listener is connected (start-up, tests)."""
        deadline = time.monotonic() + timeout
        while not self._live and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._live

    # ------------------------------------------------------------ reads

    def get(self, path: str) -> Record | None:
        """The cached record, or ``None`` (not cached, or the cache is not live)."""
        if not self._live:
            return None
        return self._records.get(path)

    def token(self) -> int:
        """Taken before a database read; pass it to :meth:`put`."""
        return self._seq

    def put(self, path: str, rec: Record, token: int) -> None:
        """Caches ``rec`` read from the database, unless an eviction happened since ``token``."""
        with self._lock:
            if not self._live or self._seq != token:
                return
            if len(self._records) >= _MAX_ENTRIES:
                self._records.clear()
            self._records[path] = rec

    # ------------------------------------------------------------ evictions

    def evict(self, paths: Iterable[str]) -> None:
        """Forgets ``paths`` (after a local commit or a conflict, or when notified)."""
        with self._lock:
            self._seq += 1
            for p in paths:
                self._records.pop(p, None)

    def observe_state(self, revision: int) -> None:
        """A state record read from the database: if it moved, drop everything cached."""
        with self._lock:
            if self._state_rev != revision:
                self._seq += 1
                self._records.clear()
                self._state_rev = revision

    def state_committed(self, revision: int) -> None:
        """This process committed the state record at ``revision`` (its paths already evicted)."""
        with self._lock:
            self._state_rev = revision

    def _reset(self, live: bool) -> None:
        with self._lock:
            self._seq += 1
            self._records.clear()
            self._live = live

    # ------------------------------------------------------------ the listener

    def _listen(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            conn = None
            try:
                conn = self._connect()
                conn.execute(f"LISTEN {self.channel}")
                self._reset(live=True)
                backoff = 0.1
                while not self._stop.is_set():
                    for note in conn.notifies(timeout=0.5):
                        if note.pid not in self._own:
                            self.evict(note.payload.split("\n"))
            except Exception as exc:
                if not self._stop.is_set():
                    log.warning(
                        "PostgreSQL listener lost (%s): cache off until it reconnects", type(exc).__name__
                    )
            finally:
                self._reset(live=False)
                if conn is not None:
                    with contextlib.suppress(Exception):  # closing a broken connection
                        conn.close()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def close(self) -> None:
        """Stops the listener (the cache is off afterwards)."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._reset(live=False)
