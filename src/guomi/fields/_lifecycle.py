"""Column lifecycle: plaintext → dual-write → encrypted → clean, plus rekey and reindex.

Layer: ``guomi.fields`` (drives any database through SQLAlchemy Core, the ``sql`` extra,
imported only here). Every step:

- works in batches in primary-key order (keyset pagination, never OFFSET);
- writes by compare-and-set: a row is updated only if the value read is still there
  (``... WHERE t.id = s.id AND t.email = s.old AND t.email_enc IS NULL``), so a concurrent
  application write is never overwritten; rows skipped that way are picked up by a sweep;
- commits each batch *together with* its checkpoint row in ``guomi_field_migrations``, so a
  step killed at any moment (SIGKILL included) resumes where it stopped, every row processed
  exactly once;
- writes through :class:`guomi.fields._writer.CasWriter`, the write path shared with
  ``guomi.bulk``'s in-place jobs (one ``UPDATE ... FROM unnest(arrays)`` per batch on
  PostgreSQL, the driver's ``executemany`` of the CAS UPDATE on SQLite, SQLAlchemy's
  elsewhere), while a helper thread reads and encrypts the next page. No ORM, no per-row
  hooks.
"""

# ruff: noqa: S608 (identifiers are checked by _ident; values are always bound parameters)
from __future__ import annotations

import datetime as _dt
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

from guomi.exceptions import InvalidArgumentError
from guomi.fields._field import Field
from guomi.fields._token import token_info
from guomi.fields._writer import CasWriter, tune_transaction

__all__ = ["CHECKPOINT_TABLE", "ColumnMigration", "MigrationStatus"]

CHECKPOINT_TABLE: Final = "guomi_field_migrations"
STATES: Final = ("plaintext", "dual-write", "encrypted", "clean")
DEFAULT_WORKERS: Final = 2  # parallel key ranges of dual_write on a database server (not SQLite)
Progress = Callable[[int, int], None]


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum() or name[0].isdigit():
        raise InvalidArgumentError(f"{name!r} is not a plain SQL identifier (letters, digits, _)")
    return name


@dataclass(frozen=True)
class MigrationStatus:
    """Where a column stands."""

    table: str
    column: str
    encrypted_column: str
    state: str
    rows: int
    plaintext_only: int
    encrypted: int
    key_versions: dict[int, int]
    steps: dict[str, dict[str, Any]]


class ColumnMigration:
    """The lifecycle of one column ``field.column`` of ``field.table``.

    ``engine``: a SQLAlchemy engine or URL. The plaintext lives in ``plaintext_column``
    (default ``field.column``), the field values in ``encrypted_column`` (default
    ``<column>_enc``), each blind index in a BIGINT column named after the index. ``key`` is the
    integer primary key. ``context_key=True`` binds each value to its row's key (the row
    context of the spec).
    """

    def __init__(
        self,
        engine: Any,
        field: Field,
        *,
        plaintext_column: str | None = None,
        encrypted_column: str | None = None,
        key: str = "id",
        batch_size: int = 5000,
        throttle: float = 0.0,
        context_key: bool = False,
    ) -> None:
        import sqlalchemy as sa  # noqa: PLC0415 (the sql extra)

        self.sa = sa
        self.engine = sa.create_engine(engine) if isinstance(engine, str) else engine
        self.field = field
        self.table = _ident(field.table)
        self.plain = _ident(plaintext_column or field.column)
        self.enc = _ident(encrypted_column or f"{field.column}_enc")
        self.key = _ident(key)
        if batch_size < 1:
            raise InvalidArgumentError("batch_size must be at least 1")
        self.batch_size = batch_size
        self.throttle = throttle
        self.context_key = context_key
        self.dialect = self.engine.dialect.name
        #: The column compared by the current step's CAS (plaintext for dual-write, else the field values).
        self._old = self.plain

    # ------------------------------------------------------------ schema and checkpoints

    def _columns(self, conn: Any) -> set[str]:
        return {c["name"] for c in self.sa.inspect(conn).get_columns(self.table)}

    def _ensure_checkpoint_table(self, conn: Any) -> None:
        md = self.sa.MetaData()
        self.sa.Table(
            CHECKPOINT_TABLE,
            md,
            self.sa.Column("table_name", self.sa.String(128), primary_key=True),
            self.sa.Column("column_name", self.sa.String(128), primary_key=True),
            self.sa.Column("step", self.sa.String(64), primary_key=True),
            self.sa.Column("state", self.sa.String(32), nullable=False),
            self.sa.Column("last_key", self.sa.BigInteger),
            self.sa.Column("rows_done", self.sa.BigInteger, nullable=False, default=0),
            self.sa.Column("updated_at", self.sa.String(40)),
        )
        md.create_all(conn, checkfirst=True)

    def _add_column(self, conn: Any, name: str, type_: Any, *, index: bool) -> None:
        if name in self._columns(conn):
            return
        ddl = type_.compile(dialect=conn.dialect)
        conn.execute(self.sa.text(f"ALTER TABLE {self.table} ADD COLUMN {name} {ddl}"))
        if index:
            conn.execute(self.sa.text(f"CREATE INDEX ix_{self.table}_{name} ON {self.table} ({name})"))

    def _checkpoint(self, conn: Any, step: str) -> tuple[str, int | None, int]:
        row = conn.execute(
            self.sa.text(
                f"SELECT state, last_key, rows_done FROM {CHECKPOINT_TABLE} "
                "WHERE table_name = :t AND column_name = :c AND step = :s"
            ),
            {"t": self.table, "c": self.plain, "s": step},
        ).first()
        if row is None:
            return "new", None, 0
        return row[0], row[1], row[2]

    def _save(self, conn: Any, step: str, state: str, last_key: int | None, rows_done: int) -> None:
        params = {
            "t": self.table,
            "c": self.plain,
            "s": step,
            "st": state,
            "k": last_key,
            "n": rows_done,
            "u": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
        updated = conn.execute(
            self.sa.text(
                f"UPDATE {CHECKPOINT_TABLE} SET state = :st, last_key = :k, rows_done = :n, updated_at = :u "
                "WHERE table_name = :t AND column_name = :c AND step = :s"
            ),
            params,
        ).rowcount
        if not updated:
            conn.execute(
                self.sa.text(
                    f"INSERT INTO {CHECKPOINT_TABLE} "
                    "(table_name, column_name, step, state, last_key, rows_done, "
                    "updated_at) VALUES (:t, :c, :s, :st, :k, :n, :u)"
                ),
                params,
            )

    # ------------------------------------------------------------ the batch engine

    def _run(
        self,
        step: str,
        *,
        select_sql: str,
        remaining_sql: str,
        transform: Callable[[list[Any]], list[tuple[Any, ...]]],
        set_columns: Sequence[str],
        still_null: Sequence[str],
        progress: Progress | None,
        total_sql: str | None = None,
    ) -> int:
        """Keyset-paginated, checkpointed, CAS-written pass (then sweeps) over ``select_sql``.

        ``transform(rows)`` returns one tuple per row to write: (key, old, *new values). The
        compare-and-set requires the column read (``self._old``) to still hold ``old`` and the
        ``still_null`` columns to be NULL (what makes a row "still to do").
        """
        with self.engine.begin() as conn:
            writer = CasWriter(conn, self.table, self.key, [self._old], set_columns, still_null=still_null)
            self._ensure_checkpoint_table(conn)
            state, last, done = self._checkpoint(conn, step)
            total = done + conn.execute(self.sa.text(total_sql or remaining_sql)).scalar_one()
            if state == "done":
                last, state = None, "sweep"
            done_before = done
            self._save(conn, step, "running" if state != "sweep" else "sweep", last, done)
        sweeps = 0
        # One helper thread encrypts the next page while this one is written and committed
        # (the kernel and the drivers' commit both release the GIL). Reading a page early is
        # safe: a row changed meanwhile fails the compare-and-set and is swept up later.
        with ThreadPoolExecutor(1) as helper:
            while True:
                start_last = last
                pending: tuple[list[tuple[Any, ...]], Future[list[tuple[Any, ...]]]] | None = None
                while True:
                    with self.engine.begin() as conn:
                        tune_transaction(conn)
                        if pending is None:
                            rows = self._page(conn, select_sql, -(2**62) if last is None else last)
                            if not rows:
                                break
                            writes = transform(rows)
                        else:
                            rows, future = pending
                            writes = future.result()
                        pending = None
                        changed = writer.write(conn, writes)
                        last = rows[-1][0]
                        done += changed
                        self._save(conn, step, "running", last, done)
                        ahead = self._page(conn, select_sql, last)
                        if ahead:
                            pending = (ahead, helper.submit(transform, ahead))
                    if progress is not None:
                        progress(done, max(total, done))
                    if pending is None:
                        break
                    if self.throttle:
                        time.sleep(self.throttle)
                # A pass over the table is complete; rows skipped by the CAS (a concurrent write
                # changed them) are still "to do": sweep from the start until none are left.
                with self.engine.begin() as conn:
                    left = conn.execute(self.sa.text(remaining_sql)).scalar_one()
                    if left == 0 or sweeps >= 3 or (start_last is None and last is None):
                        self._save(conn, step, "done", None, done)
                        return done - done_before
                    self._save(conn, step, "sweep", None, done)
                last, sweeps = None, sweeps + 1

    def _page(self, conn: Any, select_sql: str, last: int) -> list[tuple[Any, ...]]:
        """One page of the keyset pagination (the driver's cursor on SQLite and PostgreSQL:
        SQLAlchemy's row objects cost more than the crypto here)."""
        if self.dialect in ("sqlite", "postgresql"):
            mark = "?" if self.dialect == "sqlite" else "%s"
            sql = select_sql.replace(":last", mark).replace(":n", str(int(self.batch_size)))
            cur = conn.connection.driver_connection.cursor()
            cur.execute(sql, (last,))
            return list(cur.fetchall())
        params = {"last": last, "n": self.batch_size}
        return [tuple(r) for r in conn.execute(self.sa.text(select_sql), params).all()]

    def _contexts(self, keys: Iterable[Any]) -> list[Any] | None:
        return [k for k in keys] if self.context_key else None

    def _index_names(self) -> list[str]:
        return list(self.field.indexes)

    # ------------------------------------------------------------ steps

    def dual_write(self, progress: Progress | None = None, *, workers: int | None = None) -> int:
        """Add the encrypted and blind-index columns (if missing) and backfill them from the
        plaintext, which applications keep reading (and writing, to both) meanwhile.

        ``workers > 1`` (not on SQLite, which has one writer) splits the key range into that
        many parts, each on its own connection and thread with its own checkpoint
        (``dual-write@i/N``): the database server's row writes then use several cores. Resume
        with the same ``workers``. Default (``None``): 1 on SQLite, ``DEFAULT_WORKERS`` (2)
        elsewhere: on PostgreSQL the time goes to the server's row writes (new row version +
        index entries, ~10 us a row), so a second backend on another core nearly halves it;
        more than 2 is for a server with cores to spare."""
        if workers is None:
            workers = 1 if self.dialect == "sqlite" else DEFAULT_WORKERS
        if workers < 1 or (workers > 1 and self.dialect == "sqlite"):
            raise InvalidArgumentError("workers must be 1 on SQLite (one writer) and at least 1 elsewhere")
        names = self._index_names()
        with self.engine.begin() as conn:
            self._ensure_checkpoint_table(conn)
            cols = self._columns(conn)
            if self.plain not in cols:
                raise InvalidArgumentError(f"{self.table} has no column {self.plain}")
            self._add_column(conn, self.enc, self.sa.Text(), index=False)
            for n in names:
                self._add_column(conn, n, self.sa.BigInteger(), index=True)
        self._old = self.plain
        field = self.field

        def transform(rows: list[Any]) -> list[tuple[Any, ...]]:
            keys = [r[0] for r in rows]
            values = [r[1] for r in rows]
            tokens = field.encrypt_many(values, self._contexts(keys))
            indexes = [field.index_many(n, values) for n in names]
            return list(zip(keys, values, tokens, *indexes, strict=True))

        t, p, e, k = self.table, self.plain, self.enc, self.key

        def part(step: str, where: str, report: Progress | None) -> int:
            return self._run(
                step,
                select_sql=f"SELECT {k}, {p} FROM {t} WHERE {k} > :last AND {p} IS NOT NULL AND {e} IS NULL"
                f"{where} ORDER BY {k} LIMIT :n",
                remaining_sql=f"SELECT count(*) FROM {t} WHERE {p} IS NOT NULL AND {e} IS NULL{where}",
                transform=transform,
                set_columns=[e, *names],
                still_null=[e],
                progress=report,
            )

        if workers == 1:
            return part("dual-write", "", progress)
        with self.engine.begin() as conn:
            lo, hi = conn.execute(self.sa.text(f"SELECT min({k}), max({k}) FROM {t}")).one()
        if lo is None:
            return 0
        lo, hi = int(lo), int(hi)
        bounds = [lo + (hi - lo + 1) * i // workers for i in range(workers)] + [hi + 1]
        lock = threading.Lock()
        done, totals = [0] * workers, [0] * workers

        def reporter(i: int) -> Progress:
            def report(d: int, tot: int) -> None:
                with lock:
                    done[i], totals[i] = d, tot
                    if progress is not None:
                        progress(sum(done), sum(totals))

            return report

        with ThreadPoolExecutor(workers) as pool:
            futures = [
                pool.submit(
                    part,
                    f"dual-write@{i}/{workers}",
                    f" AND {k} >= {bounds[i]} AND {k} < {bounds[i + 1]}",  # integers, not input
                    reporter(i),
                )
                for i in range(workers)
            ]
            return sum(f.result() for f in futures)

    def encrypted(self) -> MigrationStatus:
        """Check that every plaintext has its field value (sampled decryptions must match)
        and mark the column ``encrypted``: applications now read the field values."""
        with self.engine.begin() as conn:
            missing = conn.execute(
                self.sa.text(
                    f"SELECT count(*) FROM {self.table} WHERE {self.plain} IS NOT NULL AND {self.enc} IS NULL"
                )
            ).scalar_one()
            if missing:
                raise InvalidArgumentError(
                    f"{missing} rows of {self.table}.{self.plain} have no field value yet: "
                    "run the dual-write step"
                )
            sample = conn.execute(
                self.sa.text(
                    f"SELECT {self.key}, {self.plain}, {self.enc} FROM {self.table} "
                    f"WHERE {self.enc} IS NOT NULL ORDER BY {self.key} LIMIT 1000"
                )
            ).all()
            got = self.field.decrypt_many([r[2] for r in sample], self._contexts(r[0] for r in sample))
            bad = [r[0] for r, v in zip(sample, got, strict=True) if v != r[1]]
            if bad:
                raise InvalidArgumentError(f"field values differ from the plaintext for keys {bad[:10]}")
            self._ensure_checkpoint_table(conn)
            self._save(conn, "state", "encrypted", None, len(sample))
        return self.status()

    def clean(self) -> MigrationStatus:
        """Drop the plaintext column (after ``encrypted``)."""
        with self.engine.begin() as conn:
            state, _, _ = self._checkpoint(conn, "state")
            if state != "encrypted":
                raise InvalidArgumentError(
                    "mark the column encrypted (and switch the readers) before cleaning"
                )
            conn.execute(self.sa.text(f"ALTER TABLE {self.table} DROP COLUMN {self.plain}"))
            self._save(conn, "state", "clean", None, 0)
        return self.status()

    def rekey(self, progress: Progress | None = None) -> int:
        """Re-encrypt every value not under the keyring's primary version (CAS on the old value)."""
        field, primary = self.field, self.field.primary_key_id
        self._old = self.enc

        def transform(rows: list[Any]) -> list[tuple[Any, ...]]:
            todo = [r for r in rows if token_info(r[1]).key_id != primary]
            if not todo:
                return []
            new = field.rekey_many([r[1] for r in todo], self._contexts(r[0] for r in todo))
            return [(r[0], r[1], t) for r, t in zip(todo, new, strict=True)]

        t, e, k = self.table, self.enc, self.key
        return self._run(
            f"rekey:{primary}",
            select_sql=f"SELECT {k}, {e} FROM {t} WHERE {k} > :last AND {e} IS NOT NULL "
            f"ORDER BY {k} LIMIT :n",
            # A value the CAS skipped was rewritten by the application, under the primary: no sweep.
            remaining_sql="SELECT 0",
            transform=transform,
            set_columns=[e],
            still_null=[],
            progress=progress,
            total_sql=f"SELECT count(*) FROM {t} WHERE {e} IS NOT NULL",
        )

    def reindex(self, index_name: str, progress: Progress | None = None) -> int:
        """Fill a new blind-index column (declared on the Field) from the field values. Until
        the old index is dropped, the integrations answer equality with both."""
        self.field.blind_index(index_name)
        name = _ident(index_name)
        with self.engine.begin() as conn:
            self._add_column(conn, name, self.sa.BigInteger(), index=True)
        field = self.field
        self._old = self.enc

        def transform(rows: list[Any]) -> list[tuple[Any, ...]]:
            keys = [r[0] for r in rows]
            values = field.decrypt_many([r[1] for r in rows], self._contexts(keys))
            hashes = field.index_many(name, values)
            return [(r[0], r[1], h) for r, h in zip(rows, hashes, strict=True)]

        t, e, k = self.table, self.enc, self.key
        return self._run(
            f"reindex:{name}",
            select_sql=f"SELECT {k}, {e} FROM {t} WHERE {k} > :last AND {e} IS NOT NULL AND {name} IS NULL "
            f"ORDER BY {k} LIMIT :n",
            remaining_sql=f"SELECT count(*) FROM {t} WHERE {e} IS NOT NULL AND {name} IS NULL",
            transform=transform,
            set_columns=[name],
            still_null=[name],
            progress=progress,
        )

    def status(self) -> MigrationStatus:
        """Counts, key versions in use and the steps' checkpoints."""
        with self.engine.begin() as conn:
            self._ensure_checkpoint_table(conn)
            cols = self._columns(conn)
            rows = conn.execute(self.sa.text(f"SELECT count(*) FROM {self.table}")).scalar_one()
            has_plain, has_enc = self.plain in cols, self.enc in cols
            plain_only = (
                conn.execute(
                    self.sa.text(
                        f"SELECT count(*) FROM {self.table} WHERE {self.plain} IS NOT NULL"
                        + (f" AND {self.enc} IS NULL" if has_enc else "")
                    )
                ).scalar_one()
                if has_plain
                else 0
            )
            versions: dict[int, int] = {}
            encrypted = 0
            if has_enc:
                for (token,) in conn.execute(
                    self.sa.text(f"SELECT {self.enc} FROM {self.table} WHERE {self.enc} IS NOT NULL")
                ):
                    kid = token_info(token).key_id
                    versions[kid] = versions.get(kid, 0) + 1
                    encrypted += 1
            steps = {
                r[0]: {"state": r[1], "last_key": r[2], "rows_done": r[3], "updated_at": r[4]}
                for r in conn.execute(
                    self.sa.text(
                        f"SELECT step, state, last_key, rows_done, updated_at FROM {CHECKPOINT_TABLE} "
                        "WHERE table_name = :t AND column_name = :c"
                    ),
                    {"t": self.table, "c": self.plain},
                )
            }
        if not has_plain and has_enc:
            state = "clean"
        elif steps.get("state", {}).get("state") == "encrypted":
            state = "encrypted"
        elif has_enc:
            state = "dual-write"
        else:
            state = "plaintext"
        return MigrationStatus(
            self.table, self.plain, self.enc, state, rows, plain_only, encrypted, versions, steps
        )
