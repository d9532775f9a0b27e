"""SQLite storage: the embedded default, one file under the data directory.

Layer: ``guomi.kms.storage``.  Durability and atomicity come from SQLite
itself: WAL journal, ``synchronous=FULL`` (a commit is on disk when
:meth:`SQLiteStorage.commit` returns, so a ``kill -9`` right after it loses
nothing), and ``BEGIN IMMEDIATE`` transactions (the write lock is taken before
the compare-and-set checks, so two writers, in threads or processes, serialise
and the loser sees a conflict instead of a lost update).

Connections come from a small pool (one thread uses a connection at a time);
readers never block the writer in WAL mode.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from guomi.kms.storage._pool import Pool
from guomi.kms.storage._protocol import Delete, Op, Put, Record, SingleOps, StorageConflict, StorageError

__all__ = ["SQLiteStorage"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS guomi_kv ("
    " path TEXT PRIMARY KEY, value BLOB NOT NULL, revision INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS guomi_counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO guomi_counter (name, value) VALUES ('revision', 0)",
)


class SQLiteStorage(SingleOps):
    """Records in one SQLite database file."""

    kind = "sqlite"

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._timeout = busy_timeout_s
        self._pool: Pool[sqlite3.Connection] = Pool(self._open, lambda c: c.close())
        try:
            with self._pool.connection() as conn:
                conn.execute("BEGIN IMMEDIATE")
                for stmt in _SCHEMA:
                    conn.execute(stmt)
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot initialise SQLite store: {exc}") from None
        # The files hold only barrier-encrypted records, but keep them private anyway
        # (the WAL and shared-memory files are created with the process umask).
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.chmod(f"{self.path}{suffix}", 0o600)

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsynced at every commit, so a committed change survives
            # a power cut or kill -9 (NORMAL would only guarantee consistency).
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open SQLite store: {exc}") from None
        return conn

    def pragma(self, name: str) -> object:
        """A PRAGMA's value (tests check WAL and FULL)."""
        with self._pool.connection() as conn:
            return conn.execute(f"PRAGMA {name}").fetchone()[0]

    def get(self, path: str) -> Record | None:
        try:
            with self._pool.connection() as conn:
                row = conn.execute("SELECT value, revision FROM guomi_kv WHERE path = ?", (path,)).fetchone()
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite read failed: {exc}") from None
        return None if row is None else Record(bytes(row[0]), int(row[1]))

    def list(self, prefix: str) -> list[str]:
        # Range scan on the primary key: prefix <= path < prefix + U+10FFFF.
        hi = prefix + "\U0010ffff"
        try:
            with self._pool.connection() as conn:
                rows = conn.execute(
                    "SELECT path FROM guomi_kv WHERE path >= ? AND path < ? ORDER BY path", (prefix, hi)
                ).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite list failed: {exc}") from None
        n = len(prefix)
        return [str(r[0])[n:] for r in rows]

    def commit(self, ops: Sequence[Op]) -> int:
        try:
            with self._pool.connection() as conn:
                return self._commit(conn, ops)
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite commit failed: {exc}") from None

    @staticmethod
    def _commit(conn: sqlite3.Connection, ops: Sequence[Op]) -> int:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for op in ops:
                if op.expected is None:
                    continue
                row = conn.execute("SELECT revision FROM guomi_kv WHERE path = ?", (op.path,)).fetchone()
                have = 0 if row is None else int(row[0])
                if have != op.expected:
                    raise StorageConflict(f"revision of {op.path!r} changed")
            row = conn.execute(
                "UPDATE guomi_counter SET value = value + 1 WHERE name = 'revision' RETURNING value"
            ).fetchone()
            rev = int(row[0])
            for op in ops:
                if isinstance(op, Put):
                    conn.execute(
                        "INSERT INTO guomi_kv (path, value, revision) VALUES (?, ?, ?) "
                        "ON CONFLICT (path) DO UPDATE SET value = excluded.value, "
                        "revision = excluded.revision",
                        (op.path, op.value, rev),
                    )
                elif isinstance(op, Delete):
                    conn.execute("DELETE FROM guomi_kv WHERE path = ?", (op.path,))
            conn.execute("COMMIT")
            return rev
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._pool.close()
