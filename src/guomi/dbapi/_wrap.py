"""A DB-API connection wrapper that encrypts, indexes, rewrites simple equality and decrypts.

Layer: integration. Deliberately small: it understands

- ``INSERT INTO t (c1, c2, ...) VALUES (?, ?, ...)`` (``?`` or ``%s`` markers): encrypted
  columns get field values and their blind-index columns are appended;
- ``SELECT ... FROM t WHERE c = ? [AND ...]``: each ``c = ?`` on an encrypted column becomes
  ``<index> = ?`` with the blind index of the value, and fetched rows are decrypted and
  re-checked (``c`` must be among the selected columns).

Anything else passes through untouched, except that an encrypted column named in a WHERE
clause in a form not listed raises :class:`UnsupportedQueryError` rather than returning a
silent empty result. Result columns named like an encrypted column are decrypted.
"""

# ruff: noqa: S608 (rebuilds the caller's own statement; values stay bound parameters)
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from guomi.dbapi._schema import Schema, _schema
from guomi.exceptions import UnsupportedQueryError

__all__ = ["wrap"]

_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)\s*\(([^)]*)\)\s*VALUES\s*\(([^)]*)\)\s*$", re.I | re.S)
_SELECT = re.compile(r"^\s*SELECT\s+(.+?)\s+FROM\s+(\w+)(?:\s+WHERE\s+(.+?))?\s*$", re.I | re.S)
_EQ = re.compile(r"\b(\w+)\s*=\s*(\?|%s)")


def wrap(connection: Any, schema: Any) -> Connection:
    """Wrap a DB-API connection; ``schema`` is a :class:`Schema` or ``{table: {column: Field}}``."""
    return Connection(connection, _schema(schema))


class Connection:
    def __init__(self, inner: Any, schema: Schema) -> None:
        self._inner = inner
        self.schema = schema

    def cursor(self) -> Cursor:
        return Cursor(self._inner.cursor(), self.schema)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class Cursor:
    def __init__(self, inner: Any, schema: Schema) -> None:
        self._inner = inner
        self.schema = schema
        self._table: str | None = None
        self._checks: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        sql, params = self._rewrite(sql, list(params))
        self._inner.execute(sql, params)
        return self

    def executemany(self, sql: str, seq: Sequence[Sequence[Any]]) -> Cursor:
        rewritten = [self._rewrite(sql, list(p)) for p in seq]
        if rewritten:
            self._inner.executemany(rewritten[0][0], [p for _, p in rewritten])
        return self

    def _rewrite(self, sql: str, params: list[Any]) -> tuple[str, list[Any]]:
        self._table, self._checks = None, []
        m = _INSERT.match(sql)
        if m and self.schema.fields(m.group(1)):
            table = m.group(1)
            cols = [c.strip() for c in m.group(2).split(",")]
            marks = [x.strip() for x in m.group(3).split(",")]
            mark = marks[0] if marks else "?"
            extra_cols, extra_vals = [], []
            for i, col in enumerate(cols):
                field = self.schema.field(table, col)
                if field is None or params[i] is None:
                    continue
                value = params[i]
                params[i] = field.encrypt(value)
                for name in field.indexes:
                    if name not in cols:
                        extra_cols.append(name)
                        extra_vals.append(field.index(name, value))
            all_cols = ", ".join(cols + extra_cols)
            all_marks = ", ".join(marks + [mark] * len(extra_cols))
            return f"INSERT INTO {table} ({all_cols}) VALUES ({all_marks})", params + extra_vals
        m = _SELECT.match(sql)
        if m and self.schema.fields(m.group(2)):
            table, where = m.group(2), m.group(3)
            self._table = table
            if where:
                fields = self.schema.fields(table)

                new_params = list(params)

                def swap(em: re.Match[str]) -> str:

                    col = em.group(1)
                    index = where[: em.start()].count("?") + where[: em.start()].count("%s")
                    field = fields.get(col)
                    if field is None:
                        return em.group(0)
                    exact = [n for n, ix in field.indexes.items() if ix.is_exact] or list(field.indexes)
                    if not exact:
                        raise UnsupportedQueryError(f"{table}.{col} has no blind index to answer '='")
                    value = params[index]
                    self._checks.append((col, value))
                    new_params[index] = field.index(exact[0], value)

                    return f"{exact[0]} = {em.group(2)}"

                rewritten = _EQ.sub(swap, where)
                for col in fields:
                    if re.search(rf"\b{col}\b", rewritten):
                        raise UnsupportedQueryError(
                            f"{table}.{col} is encrypted: only '{col} = ?' can be rewritten in a WHERE clause"
                        )
                return f"SELECT {m.group(1)} FROM {table} WHERE {rewritten}", new_params
        return sql, params

    def _decrypt(self, rows: list[Any]) -> list[Any]:
        if self._table is None or self._inner.description is None:
            return rows
        names = [d[0] for d in self._inner.description]
        fields = self.schema.fields(self._table)
        positions = [(i, fields[n]) for i, n in enumerate(names) if n in fields]
        out = [list(r) for r in rows]
        for i, field in positions:
            values = field.decrypt_many([r[i] for r in out])
            for r, v in zip(out, values, strict=True):
                r[i] = v
        for col, value in self._checks:
            if col not in names:
                raise UnsupportedQueryError(f"select {col} too, so the candidates can be re-checked")
            k = names.index(col)
            out = [r for r in out if r[k] == value]
        return [tuple(r) for r in out]

    def fetchall(self) -> list[Any]:
        return self._decrypt(self._inner.fetchall())

    def fetchone(self) -> Any:
        # Re-checking needs the whole candidate set: fetch it and hand out the first row.
        rows = self.fetchall()
        return rows[0] if rows else None

    def __iter__(self) -> Any:
        return iter(self.fetchall())
