"""Compare-and-set writes of one batch back into its table: the write path of every in-place job.

Layer: ``guomi.fields`` (SQLAlchemy Core connections, the ``sql`` extra). Used by
:class:`guomi.fields.ColumnMigration` (dual-write, rekey, reindex) and by ``guomi.bulk``'s
in-place jobs, so both write the same way and get the same speed.

A batch is a list of rows ``(key, *values read from the checked columns, *new values of the
target columns)``. A row is written only if it still holds what was read (null-safe
equality on every checked column, plus ``IS NULL`` on the ``still_null`` columns): a value
the application changed since the read is never overwritten. The caller commits the batch
in the same transaction as its checkpoint.

One strategy per database, each the fastest measured (``bench/RESULTS.md``, 2026-12-02
evening, inplace):

- **PostgreSQL** (psycopg 3 or psycopg2): *one* statement and one round trip per batch,
  ``UPDATE t SET ... FROM unnest(%b::bigint[], %b::text[], ...) AS s(...) WHERE t.key =
  s.k AND t.key BETWEEN lo AND hi AND <CAS>``: the arrays are typed from the table's own
  column types and sent in binary (psycopg 3), the key range lets the planner reach the
  batch by the primary-key index.
  (The former ``COPY`` into a temporary stage + ``ANALYZE`` + ``UPDATE ... FROM`` + truncate
  cost four statements and a catalog change per batch, and was slower than the naive loop.)
- **SQLite** (the standard ``sqlite3`` driver): ``executemany`` of the CAS UPDATE on the
  driver's cursor; the statement is prepared once and runs in C row after row, in the
  caller's transaction (measured faster than a temporary stage table + ``UPDATE ... FROM``).
- **Anything else**: SQLAlchemy ``executemany`` of the same CAS UPDATE.

:meth:`CasWriter.missed` says which rows of a batch did not land (the application changed
them); it is only needed when :meth:`CasWriter.write` changed fewer rows than it was given.
"""

# ruff: noqa: S608 (identifiers are quoted by the dialect; every value is a bound parameter)
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["CasWriter", "tune_transaction"]

_MISSED_CHUNK = 500  # keys per probe of missed(): under every database's parameter limit


def _strategy(dialect: Any) -> str:
    if dialect.name == "postgresql" and dialect.driver in ("psycopg", "psycopg2"):
        return "postgresql"
    if dialect.name == "sqlite" and dialect.driver == "pysqlite":
        return "sqlite"
    return "generic"


def tune_transaction(conn: Any) -> None:
    """Per-transaction settings of an in-place job's transactions (call first thing in each).

    PostgreSQL:

    - ``enable_seqscan``, ``enable_bitmapscan`` and ``enable_sort`` off (``SET LOCAL``): the
      job walks the table by its key index (keyset pagination, ``WHERE key > :last AND
      <still to do> ORDER BY key LIMIT n``), and writes each batch by key. On a table without
      fresh statistics (just loaded, not yet analyzed) the planner otherwise picks a
      sequential or bitmap scan + top-N sort of the rest of the table for *every page*:
      quadratic, measured 0.7x the naive loop on 1M rows (EXPLAIN in ``bench/RESULTS.md``).
    - ``SET LOCAL synchronous_commit = off``: safe here because each batch commits *together
      with* its checkpoint. A crash can lose only the last few commits, each one whole (rows
      and checkpoint together); the job resumed from the last durable checkpoint redoes
      exactly those batches (their rows still pass the compare-and-set). It never weakens the
      application's own transactions (a synchronous commit flushes the WAL up to and
      including ours).

    Other databases: nothing (SQLite's journal mode and cache are the user's choice).
    """
    if _strategy(conn.dialect) == "postgresql":
        conn.exec_driver_sql(  # set_config(..., true) is SET LOCAL: one round trip for all four
            "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true), "
            "set_config('enable_sort', 'off', true), set_config('synchronous_commit', 'off', true)"
        )


class CasWriter:
    """Compare-and-set writer of batches into ``table`` (see the module docstring).

    ``conn`` (any connection of the engine) is used once, to learn the column types on
    PostgreSQL: build the writer after the target columns exist.
    """

    def __init__(
        self,
        conn: Any,
        table: str,
        key: str,
        checked: Sequence[str],
        targets: Sequence[str],
        *,
        still_null: Sequence[str] = (),
    ) -> None:
        self.strategy = _strategy(conn.dialect)
        self.table, self.key = table, key
        self.checked, self.targets = list(checked), list(targets)
        q = conn.dialect.identifier_preparer.quote
        t, k = q(table), q(key)
        nulls = [f"t.{q(c)} IS NULL" for c in still_null]
        n_checked = len(self.checked)
        if self.strategy == "postgresql":
            types = self._pg_types(conn, q(table))
            names = ["k"] + [f"o{i}" for i in range(n_checked)] + [f"n{i}" for i in range(len(targets))]
            columns = [key, *checked, *targets]
            # psycopg 3 sends the arrays in binary (``%b``): measured 1.3-1.6x the rows/s of
            # text arrays, which the server must parse element by element.
            mark = "%b" if conn.dialect.driver == "psycopg" else "%s"
            arrays = ", ".join(f"{mark}::{types[c]}[]" for c in columns)
            sets = ", ".join(f"{q(c)} = s.n{i}" for i, c in enumerate(targets))
            cas = [f"t.{q(c)} IS NOT DISTINCT FROM s.o{i}" for i, c in enumerate(checked)]
            source = f"unnest({arrays}) AS s({', '.join(names)})"
            where = " AND ".join(["TRUE", *cas, *nulls])
            self._update_any = f"UPDATE {t} AS t SET {sets} FROM {source} WHERE t.{k} = s.k AND {where}"
            # The batch's key range lets the planner reach the rows by the primary-key index.
            self._update_range = (
                f"UPDATE {t} AS t SET {sets} FROM {source} "
                f"WHERE t.{k} = s.k AND t.{k} BETWEEN %s AND %s AND {where}"
            )
            landed = [f"t.{q(c)} IS NOT DISTINCT FROM s.n{i}" for i, c in enumerate(targets)]
            target_arrays = ", ".join(f"{mark}::{types[c]}[]" for c in [key, *targets])
            target_names = ", ".join(["k"] + [f"n{i}" for i in range(len(targets))])
            self._probe = (
                f"SELECT s.k FROM unnest({target_arrays}) AS s({target_names}) "
                f"JOIN {t} AS t ON t.{k} = s.k WHERE NOT ({' AND '.join(['TRUE', *landed])})"
            )
        else:
            qmark = "?" if self.strategy == "sqlite" else None
            same = "IS" if self.strategy == "sqlite" else None

            def param(name: str) -> str:
                return qmark or f":{name}"

            def equal(column: str, name: str) -> str:
                if same:
                    return f"{t}.{q(column)} {same} {param(name)}"
                return f"({t}.{q(column)} = :{name} OR ({t}.{q(column)} IS NULL AND :{name} IS NULL))"

            sets = ", ".join(f"{q(c)} = {param(f'n{i}')}" for i, c in enumerate(targets))
            cas = [equal(c, f"o{i}") for i, c in enumerate(checked)]
            nulls_row = [f"{t}.{q(c)} IS NULL" for c in still_null]
            key_equal = f"{t}.{k} = {param('k')}"
            self._update = f"UPDATE {t} SET {sets} WHERE {' AND '.join([key_equal, *cas, *nulls_row])}"
            landed = [equal(c, f"n{i}") for i, c in enumerate(targets)]
            self._probe = (
                f"SELECT CASE WHEN {' AND '.join(['1 = 1', *landed])} THEN 1 ELSE 0 END "
                f"FROM {t} WHERE {key_equal}"
            )

    @staticmethod
    def _pg_types(conn: Any, quoted_table: str) -> dict[str, str]:
        rows = conn.exec_driver_sql(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %(t)s::regclass AND attnum > 0 AND NOT attisdropped",
            {"t": quoted_table},
        ).all()
        return {str(name): str(type_) for name, type_ in rows}

    # ------------------------------------------------------------ writes

    def write(self, conn: Any, rows: Sequence[tuple[Any, ...]]) -> int:
        """Compare-and-set ``rows`` in ``conn``'s transaction; return how many rows changed."""
        if not rows:
            return 0
        if self.strategy == "postgresql":
            # One comprehension per column, not zip(*rows): that holds an iterator per row
            # alive at once, which sets off the cyclic garbage collector (see bulk._database).
            columns = [[row[i] for row in rows] for i in range(len(rows[0]))]
            if type(rows[0][0]) is int:  # ints order alike in Python and in the database
                sql, params = self._update_range, [*columns, min(columns[0]), max(columns[0])]
            else:
                sql, params = self._update_any, columns
            cur = conn.connection.driver_connection.cursor()
            try:
                cur.execute(sql, params)
                return int(cur.rowcount)
            finally:
                cur.close()
        n_checked = len(self.checked)
        if self.strategy == "sqlite":
            cur = conn.connection.driver_connection.cursor()
            try:
                cur.executemany(
                    self._update, [(*r[1 + n_checked :], r[0], *r[1 : 1 + n_checked]) for r in rows]
                )
                return int(cur.rowcount)
            finally:
                cur.close()
        import sqlalchemy as sa  # noqa: PLC0415 (the sql extra)

        params_list = [self._named(r) for r in rows]
        count = conn.execute(sa.text(self._update), params_list).rowcount
        return int(count) if count is not None else -1

    def _named(self, row: tuple[Any, ...]) -> dict[str, Any]:
        n_checked = len(self.checked)
        named = {"k": row[0]}
        named.update({f"o{i}": v for i, v in enumerate(row[1 : 1 + n_checked])})
        named.update({f"n{i}": v for i, v in enumerate(row[1 + n_checked :])})
        return named

    def missed(self, conn: Any, rows: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Keys of ``rows`` whose targets do not hold the new values now (the application
        changed them since the read). Rows deleted meanwhile are not listed: nothing to do."""
        if not rows:
            return []
        n_checked = len(self.checked)
        if self.strategy == "postgresql":
            cur = conn.connection.driver_connection.cursor()
            out: list[Any] = []
            try:
                for start in range(0, len(rows), 10 * _MISSED_CHUNK):
                    chunk = rows[start : start + 10 * _MISSED_CHUNK]
                    columns = [[r[0] for r in chunk]]
                    columns += [[r[1 + n_checked + i] for r in chunk] for i in range(len(self.targets))]
                    cur.execute(self._probe, columns)
                    out.extend(r[0] for r in cur.fetchall())
            finally:
                cur.close()
            return out
        out = []
        if self.strategy == "sqlite":
            cur = conn.connection.driver_connection.cursor()
            try:
                for r in rows:
                    # the probe's marks: one per target (landed), then the key
                    got = cur.execute(self._probe, (*r[1 + n_checked :], r[0])).fetchone()
                    if got is not None and not got[0]:
                        out.append(r[0])
            finally:
                cur.close()
            return out
        import sqlalchemy as sa  # noqa: PLC0415 (the sql extra)

        probe = sa.text(self._probe)
        for r in rows:
            named = {"k": r[0], **{f"n{i}": v for i, v in enumerate(r[1 + n_checked :])}}
            got = conn.execute(probe, named).first()
            if got is not None and not got[0]:
                out.append(r[0])
        return out
