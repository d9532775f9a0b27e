"""Whole rows by a schema (table → column → Field), for any DB-API driver.

Layer: integration (over :mod:`guomi.fields`). Applications on DB2/Oracle drivers or raw SQL
encrypt a row before INSERT/UPDATE and decrypt it after SELECT; the blind-index values are
added as ``<index name>`` keys. Batch forms run in the Rust kernel per column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from guomi.exceptions import InvalidArgumentError
from guomi.fields import Field

__all__ = ["Schema", "decrypt_row", "decrypt_rows", "encrypt_row", "encrypt_rows"]


class Schema:
    """``{table: {column: Field}}`` with lookups by table and by column."""

    def __init__(self, tables: Mapping[str, Mapping[str, Field]] | Iterable[Field]) -> None:
        self.tables: dict[str, dict[str, Field]] = {}
        if isinstance(tables, Mapping):
            for table, cols in tables.items():
                self.tables[table] = dict(cols)
        else:
            for f in tables:
                self.tables.setdefault(f.table, {})[f.column] = f

    def fields(self, table: str) -> dict[str, Field]:
        return self.tables.get(table, {})

    def field(self, table: str, column: str) -> Field | None:
        return self.tables.get(table, {}).get(column)


def _schema(schema: Schema | Mapping[str, Mapping[str, Field]] | Iterable[Field]) -> Schema:
    return schema if isinstance(schema, Schema) else Schema(schema)


def encrypt_rows(
    table: str, rows: Sequence[Mapping[str, Any]], schema: Any, *, context_key: str | None = None
) -> list[dict[str, Any]]:
    """Encrypt the schema's columns of every row and add their blind indexes (one kernel call
    per column and index). ``context_key`` names the column bound as row context."""
    sch = _schema(schema)
    out = [dict(r) for r in rows]
    for column, field in sch.fields(table).items():
        present = [i for i, r in enumerate(rows) if column in r]
        if not present:
            continue
        values = [rows[i][column] for i in present]
        contexts = [rows[i][context_key] for i in present] if context_key else None
        tokens = field.encrypt_many(values, contexts)
        for i, t in zip(present, tokens, strict=True):
            out[i][column] = t
        for name in field.indexes:
            for i, h in zip(present, field.index_many(name, values), strict=True):
                out[i][name] = h
    return out


def decrypt_rows(
    table: str, rows: Sequence[Mapping[str, Any]], schema: Any, *, context_key: str | None = None
) -> list[dict[str, Any]]:
    """Decrypt the schema's columns of every row (blind-index keys are left as they are)."""
    sch = _schema(schema)
    out = [dict(r) for r in rows]
    for column, field in sch.fields(table).items():
        present = [i for i, r in enumerate(rows) if column in r]
        if not present:
            continue
        contexts = [rows[i][context_key] for i in present] if context_key else None
        values = field.decrypt_many([rows[i][column] for i in present], contexts)
        for i, v in zip(present, values, strict=True):
            out[i][column] = v
    return out


def encrypt_row(
    table: str, row: Mapping[str, Any], schema: Any, *, context_key: str | None = None
) -> dict[str, Any]:
    """One row: ``{"id": 7, "email": "..."}`` → ``{"id": 7, "email": "gm1...", "email_bidx": 123}``."""
    if not isinstance(row, Mapping):
        raise InvalidArgumentError("a row is a mapping of column name to value")
    return encrypt_rows(table, [row], schema, context_key=context_key)[0]


def decrypt_row(
    table: str, row: Mapping[str, Any], schema: Any, *, context_key: str | None = None
) -> dict[str, Any]:
    """One row back to plaintext values."""
    return decrypt_rows(table, [row], schema, context_key=context_key)[0]
