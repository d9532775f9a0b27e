"""PostgreSQL storage (psycopg 3): several servers share one database.

Layer: ``guomi.kms.storage``.  Compare-and-set is done by the database, not
by the server: ``UPDATE ... WHERE path = %s AND revision = %s`` and
``INSERT ... ON CONFLICT DO NOTHING`` inside one transaction; a row count of
zero means another server changed the record first, the transaction is rolled
back and :class:`StorageConflict` is raised.  Under READ COMMITTED a
concurrent UPDATE of the same row waits for the other transaction and then
re-checks its WHERE clause against the committed row, so two servers rotating
one key at once produce two consecutive versions.  Revisions come from one
sequence (never reused).  There is no cache: every read goes to the database,
so a server sees another's new key or version on its next request.

Connections are per thread (a psycopg connection is not meant for concurrent
use), opened lazily, re-opened after a broken connection.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import Any

from guomi.kms.storage._protocol import Op, Put, Record, StorageConflict, StorageError

__all__ = ["PostgresStorage"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS guomi_kv (
    path text PRIMARY KEY COLLATE "C",
    value bytea NOT NULL,
    revision bigint NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS guomi_revision;
"""


class PostgresStorage:
    """Records in one PostgreSQL table."""

    kind = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg  # noqa: PLC0415 - SQLite-only installations never load it

        self._psycopg: Any = psycopg
        self._url = url
        self._local = threading.local()
        self._all: list[Any] = []
        self._all_lock = threading.Lock()
        conn = self._conn()
        try:
            with conn.transaction():
                # Serialise schema creation between servers starting together.
                conn.execute("SELECT pg_advisory_xact_lock(7468371)")
                conn.execute(_SCHEMA)
        except psycopg.Error as exc:
            raise StorageError(f"cannot initialise PostgreSQL store: {type(exc).__name__}") from None

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        try:
            conn = self._psycopg.connect(self._url, autocommit=True)
        except self._psycopg.Error as exc:
            raise StorageError(f"cannot connect to PostgreSQL: {type(exc).__name__}") from None
        self._local.conn = conn
        with self._all_lock:
            self._all.append(conn)
        return conn

    def get(self, path: str) -> Record | None:
        try:
            row = (
                self._conn()
                .execute("SELECT value, revision FROM guomi_kv WHERE path = %s", (path,))
                .fetchone()
            )
        except self._psycopg.Error as exc:
            raise StorageError(f"PostgreSQL read failed: {type(exc).__name__}") from None
        return None if row is None else Record(bytes(row[0]), int(row[1]))

    def list(self, prefix: str) -> list[str]:
        try:
            rows = (
                self._conn()
                .execute(
                    "SELECT path FROM guomi_kv WHERE path >= %s AND path < %s ORDER BY path",
                    (prefix, prefix + "\U0010ffff"),
                )
                .fetchall()
            )
        except self._psycopg.Error as exc:
            raise StorageError(f"PostgreSQL list failed: {type(exc).__name__}") from None
        n = len(prefix)
        return [str(r[0])[n:] for r in rows]

    def commit(self, ops: Sequence[Op]) -> int:
        psycopg = self._psycopg
        conn = self._conn()
        try:
            with conn.transaction():
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
                                "UPDATE guomi_kv SET value = %s, revision = %s "
                                "WHERE path = %s AND revision = %s",
                                (op.value, rev, op.path, op.expected),
                            )
                    elif op.expected is None:
                        conn.execute("DELETE FROM guomi_kv WHERE path = %s", (op.path,))
                        continue
                    elif op.expected == 0:
                        cur = conn.execute("SELECT 1 FROM guomi_kv WHERE path = %s", (op.path,))
                        if cur.fetchone() is not None:
                            raise StorageConflict(f"revision of {op.path!r} changed")
                        continue
                    else:
                        cur = conn.execute(
                            "DELETE FROM guomi_kv WHERE path = %s AND revision = %s",
                            (op.path, op.expected),
                        )
                    if cur.rowcount != 1:
                        raise StorageConflict(f"revision of {op.path!r} changed")
            return rev
        except StorageConflict:
            raise
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL commit failed: {type(exc).__name__}") from None

    def close(self) -> None:
        with self._all_lock:
            conns, self._all = self._all, []
        for c in conns:
            with contextlib.suppress(Exception):  # closing is best effort
                c.close()
        self._local = threading.local()
