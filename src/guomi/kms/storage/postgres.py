"""PostgreSQL storage (psycopg 3): several servers share one database.

Layer: ``guomi.kms.storage``.  Compare-and-set is done by the database, not
by the server: ``UPDATE ... WHERE path = %s AND revision = %s`` and
``INSERT ... ON CONFLICT DO NOTHING`` inside one transaction; a row count of
zero means another server changed the record first, the transaction is rolled
back and :class:`StorageConflict` is raised.  Under READ COMMITTED a
concurrent UPDATE of the same row waits for the other transaction and then
re-checks its WHERE clause against the committed row, so two servers rotating
one key at once produce two consecutive versions.  Revisions come from one
sequence (never reused).  Reads are served from a cache that every commit, by any
server, invalidates through LISTEN/NOTIFY (:mod:`._pgcache`: the notification is sent in
the committing transaction; nothing is served from the cache while the listener is not
connected), so a server sees another's new key, version or revocation as soon as the
database has delivered the notification.

Connections come from a small pool (a psycopg connection serves one thread at
a time); a connection that failed is closed, and a connection-level failure
drops the idle ones too, so the next request reconnects.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from guomi.kms.storage._pgcache import NotifyCache, channel_for, payloads
from guomi.kms.storage._pool import Pool
from guomi.kms.storage._protocol import Op, Put, Record, SingleOps, StorageConflict, StorageError

__all__ = ["PostgresStorage"]

#: Never served from the read cache: the barrier's own records (state, keyring, seal
#: configuration), read rarely and decisive for integrity checks.
_UNCACHED = "core/"
#: The barrier's state record (``guomi.kms.barrier.STATE_PATH``): its revision moves with
#: every barrier commit, so seeing a new one drops the read cache (see ``_pgcache``).
_STATE_PATH = "core/state"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS guomi_kv (
    path text PRIMARY KEY COLLATE "C",
    value bytea NOT NULL,
    revision bigint NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS guomi_revision;
"""


class PostgresStorage(SingleOps):
    """Records in one PostgreSQL table."""

    kind = "postgresql"

    def __init__(self, url: str, *, cache: bool | None = None) -> None:
        import psycopg  # noqa: PLC0415 - SQLite-only installations never load it

        if cache is None:
            # GUOMI_PG_READ_CACHE=0 turns the cache off (A/B measurements, diagnosis).
            cache = os.environ.get("GUOMI_PG_READ_CACHE", "1") not in ("0", "false", "off")
        self._psycopg: Any = psycopg
        self._url = url
        self._own_pids: set[int] = set()
        self._pid_of: dict[int, int] = {}
        self._pool: Pool[Any] = Pool(self._open_own, self._close_own, max_idle=32)
        try:
            with self._pool.connection() as conn, conn.transaction():
                # Serialise schema creation between servers starting together.
                conn.execute("SELECT pg_advisory_xact_lock(7468371)")
                conn.execute(_SCHEMA)
                schema = str(conn.execute("SELECT current_schema()").fetchone()[0])
        except psycopg.Error as exc:
            raise StorageError(f"cannot initialise PostgreSQL store: {type(exc).__name__}") from None
        self._channel = channel_for(schema)
        self._cache: NotifyCache | None = (
            NotifyCache(self._open, self._channel, self._own_pids) if cache else None
        )
        if self._cache is not None:
            self._cache.wait_live(5.0)

    @property
    def reads_cached(self) -> bool:
        """Reads are (mostly) answered from memory: the invalidation listener is connected."""
        return self._cache is not None and self._cache.live

    def _open_own(self) -> Any:
        conn = self._open()
        pid = int(conn.info.backend_pid)
        self._own_pids.add(pid)
        self._pid_of[id(conn)] = pid
        return conn

    def _close_own(self, conn: Any) -> None:
        # The PID captured at open (a broken connection may no longer report it).
        self._own_pids.discard(self._pid_of.pop(id(conn), -1))
        conn.close()

    def _open(self) -> Any:
        try:
            return self._psycopg.connect(self._url, autocommit=True)
        except self._psycopg.Error as exc:
            raise StorageError(f"cannot connect to PostgreSQL: {type(exc).__name__}") from None

    def _failed(self, what: str, exc: Exception) -> StorageError:
        # A server restart breaks every pooled connection: drop the idle ones too.
        if isinstance(exc, self._psycopg.OperationalError):
            self._pool.discard_idle()
        return StorageError(f"PostgreSQL {what} failed: {type(exc).__name__}")

    def get(self, path: str) -> Record | None:
        cache = self._cache
        if cache is not None and path.startswith(_UNCACHED):
            rec = self._get(path)
            if path == _STATE_PATH:
                cache.observe_state(rec.revision if rec is not None else 0)
            return rec
        if cache is not None:
            hit = cache.get(path)
            if hit is not None:
                return hit
            token = cache.token()
        rec = self._get(path)
        if cache is not None and rec is not None:
            cache.put(path, rec, token)
        return rec

    def _get(self, path: str) -> Record | None:
        try:
            with self._pool.connection() as conn:
                row = conn.execute("SELECT value, revision FROM guomi_kv WHERE path = %s", (path,)).fetchone()
        except self._psycopg.Error as exc:
            raise self._failed("read", exc) from None
        return None if row is None else Record(bytes(row[0]), int(row[1]))

    def get_many(self, paths: Sequence[str]) -> list[Record | None]:
        """Several records in one round trip (one statement: a consistent snapshot), in order;
        from the cache when it holds them all."""
        cache = self._cache
        if cache is None or any(p.startswith(_UNCACHED) for p in paths):
            return self._get_many(paths)
        hits = [cache.get(p) for p in paths]
        if all(h is not None for h in hits):
            return hits
        token = cache.token()
        recs = self._get_many(paths)
        for p, rec in zip(paths, recs, strict=True):
            if rec is not None:
                cache.put(p, rec, token)
        return recs

    def _get_many(self, paths: Sequence[str]) -> list[Record | None]:
        try:
            with self._pool.connection() as conn:
                rows = conn.execute(
                    "SELECT path, value, revision FROM guomi_kv WHERE path = ANY(%s)", (list(paths),)
                ).fetchall()
        except self._psycopg.Error as exc:
            raise self._failed("read", exc) from None
        found = {str(r[0]): Record(bytes(r[1]), int(r[2])) for r in rows}
        return [found.get(p) for p in paths]

    def list(self, prefix: str) -> list[str]:
        try:
            with self._pool.connection() as conn:
                rows = conn.execute(
                    "SELECT path FROM guomi_kv WHERE path >= %s AND path < %s ORDER BY path",
                    (prefix, prefix + "\U0010ffff"),
                ).fetchall()
        except self._psycopg.Error as exc:
            raise self._failed("list", exc) from None
        n = len(prefix)
        return [str(r[0])[n:] for r in rows]

    def commit(self, ops: Sequence[Op]) -> int:
        paths = [op.path for op in ops]
        try:
            with self._pool.connection() as conn, conn.transaction():
                rev = self._apply(conn, ops)
                # Delivered to every listener (this server's too) if and only if this commits.
                for payload in payloads(paths):
                    conn.execute("SELECT pg_notify(%s, %s)", (self._channel, payload))
            if self._cache is not None and _STATE_PATH in paths:
                self._cache.evict(paths)
                self._cache.state_committed(rev)
            return rev
        except StorageConflict:
            raise
        except self._psycopg.Error as exc:
            raise self._failed("commit", exc) from None
        finally:
            # Committed, conflicted (the retry must read fresh) or failed: forget these now.
            if self._cache is not None:
                self._cache.evict(paths)

    @staticmethod
    def _apply(conn: Any, ops: Sequence[Op]) -> int:
        rev = int(conn.execute("SELECT nextval('guomi_revision')").fetchone()[0])
        for op in ops:
            if isinstance(op, Put):
                if op.expected is None:
                    cur = conn.execute(
                        "INSERT INTO guomi_kv (path, value, revision) VALUES (%s, %s, %s) "
                        "ON CONFLICT (path) DO UPDATE SET value = EXCLUDED.value, "
                        "revision = EXCLUDED.revision",
                        (op.path, op.value, rev),
                    )
                elif op.expected == 0:
                    cur = conn.execute(
                        "INSERT INTO guomi_kv (path, value, revision) VALUES (%s, %s, %s) "
                        "ON CONFLICT (path) DO NOTHING",
                        (op.path, op.value, rev),
                    )
                else:
                    cur = conn.execute(
                        "UPDATE guomi_kv SET value = %s, revision = %s WHERE path = %s AND revision = %s",
                        (op.value, rev, op.path, op.expected),
                    )
            elif op.expected is None:
                conn.execute("DELETE FROM guomi_kv WHERE path = %s", (op.path,))
                continue
            elif op.expected == 0:
                if conn.execute("SELECT 1 FROM guomi_kv WHERE path = %s", (op.path,)).fetchone() is not None:
                    raise StorageConflict(f"revision of {op.path!r} changed")
                continue
            else:
                cur = conn.execute(
                    "DELETE FROM guomi_kv WHERE path = %s AND revision = %s", (op.path, op.expected)
                )
            if cur.rowcount != 1:
                # Raising inside conn.transaction() rolls the whole commit back.
                raise StorageConflict(f"revision of {op.path!r} changed")
        return rev

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
        self._pool.close()
