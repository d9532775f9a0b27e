"""One record batch through a job's operation: the unit every engine runs.

Layer: ``guomi.bulk``. :class:`BatchTransform` is pure (no I/O, no shared mutable
state), so the embedded engine runs it on several threads and Spark runs it inside
``mapInArrow`` on its Python workers; both therefore produce the same values.

Index columns (``NAME:INDEX``): ``encrypt``, ``rekey``, ``reindex`` and ``migrate`` write
the blind index ``INDEX`` of each plaintext into an int64 column named ``INDEX`` (added
after the existing columns, or replaced in place); ``decrypt`` drops them, so a file
encrypted with indexes decrypts back to its original columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pyarrow as pa

from guomi.bulk import _fieldapi
from guomi.bulk._arrays import merge_masked
from guomi.bulk._columns import ColumnSpec
from guomi.bulk._errors import BulkInputError
from guomi.bulk._kernel import ColumnCipher, ColumnStats

__all__ = ["OPERATIONS", "BatchTransform", "Operation"]

Operation = Literal["encrypt", "decrypt", "rekey", "reindex", "migrate"]
OPERATIONS: tuple[Operation, ...] = ("encrypt", "decrypt", "rekey", "reindex", "migrate")


def check_columns(schema: pa.Schema, specs: tuple[ColumnSpec, ...], *, source: str) -> None:
    """Every named column exists and is a string or binary column."""
    for spec in specs:
        if spec.name not in schema.names:
            known = ", ".join(schema.names[:20])
            raise BulkInputError(f"no such column (the source has: {known})", file=source, column=spec.name)
        type_ = schema.field(spec.name).type
        if not (
            pa.types.is_string(type_)
            or pa.types.is_large_string(type_)
            or pa.types.is_binary(type_)
            or pa.types.is_large_binary(type_)
        ):
            raise BulkInputError(
                f"column type {type_} cannot hold field values (use a string or binary column)",
                file=source,
                column=spec.name,
            )


class BatchTransform:
    """Apply ``operation`` to the named columns of record batches."""

    def __init__(
        self,
        operation: Operation,
        specs: tuple[ColumnSpec, ...],
        ciphers: Mapping[str, ColumnCipher],
        legacy: Mapping[str, Any] | None = None,
    ) -> None:
        if operation not in OPERATIONS:
            raise BulkInputError(f"unknown operation {operation!r} (one of {', '.join(OPERATIONS)})")
        if operation == "migrate" and not legacy:
            raise BulkInputError("migrate needs a legacy decryptor (guomi.bulk.legacy) for each column")
        self.operation = operation
        self.specs = specs
        self.ciphers = ciphers
        self.legacy = legacy or {}

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        """The schema of the transformed batches (same columns and order; index columns handled)."""
        for spec in self.specs:
            for index in spec.indexes:
                if self.operation == "decrypt":
                    if index in schema.names:
                        schema = schema.remove(schema.get_field_index(index))
                elif index in schema.names:
                    schema = schema.set(schema.get_field_index(index), pa.field(index, pa.int64()))
                else:
                    schema = schema.append(pa.field(index, pa.int64()))
        return schema

    def __call__(
        self, batch: pa.RecordBatch, first_row: int = 0
    ) -> tuple[pa.RecordBatch, dict[str, ColumnStats]]:
        columns: dict[str, pa.Array] = {name: batch.column(name) for name in batch.schema.names}
        stats: dict[str, ColumnStats] = {}
        for spec in self.specs:
            cipher = self.ciphers[spec.name]
            array = columns[spec.name]
            plaintext: pa.Array | None = None
            if self.operation == "encrypt":
                new, stat = cipher.encrypt(array, first_row)
                if spec.indexes:
                    plaintext = self._plaintext_of_mixed(cipher, array, first_row)
            elif self.operation == "decrypt":
                new, stat = cipher.decrypt(array, first_row)
            elif self.operation == "rekey":
                new, stat = cipher.rekey(array, first_row)
                if spec.indexes:
                    plaintext, _ = cipher.decrypt(array, first_row)
            elif self.operation == "reindex":
                new = array
                plaintext, stat = cipher.decrypt(array, first_row)
            else:  # migrate
                new, stat = cipher.migrate(array, self.legacy[spec.name], first_row)
                if spec.indexes:
                    plaintext, _ = cipher.decrypt(new, first_row)
            columns[spec.name] = new
            stats[spec.name] = stat
            for index in spec.indexes:
                if self.operation == "decrypt":
                    columns.pop(index, None)
                else:
                    assert plaintext is not None
                    columns[index] = cipher.index(index, plaintext, first_row)
        schema = self.output_schema(batch.schema)
        arrays = [columns[name] for name in schema.names]
        return pa.RecordBatch.from_arrays(arrays, schema=schema), stats

    @staticmethod
    def _plaintext_of_mixed(cipher: ColumnCipher, array: pa.Array, first_row: int) -> pa.Array:
        """The plaintext of a column where some values may already be field values."""
        tokens = _fieldapi.is_token_mask(array, cipher.field)
        if tokens is None:
            return array
        opened, _ = cipher.decrypt(array.filter(tokens), first_row)
        return merge_masked(array, tokens, opened)


def sum_stats(total: dict[str, ColumnStats], part: Mapping[str, ColumnStats]) -> None:
    """Add a batch's column stats into the job's."""
    for name, stat in part.items():
        total.setdefault(name, ColumnStats()).add(stat)
