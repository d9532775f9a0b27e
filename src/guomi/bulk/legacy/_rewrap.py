"""The ``rewrap`` operation: RSA-wrapped data keys in whole columns re-wrapped to SM2.

Layer: ``guomi.bulk.legacy``. :class:`RewrapTransform` has the shape of
:class:`guomi.bulk._transform.BatchTransform` (``output_schema`` and ``batch -> (batch,
stats)``), so every source, sink and engine of a :class:`guomi.bulk.Job` runs it:
``Job(source, sink, columns=[...], operation="rewrap", legacy=RsaToSm2Rewrapper(...))``.
The payload the keys protect is not touched (GB/T 39786 judges the key-protection algorithm
separately); no guomi keyring is involved. Null and empty values are kept as they are.
Index columns make no sense here and are refused.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from guomi.bulk._columns import ColumnSpec
from guomi.bulk._errors import BulkInputError, BulkValueError
from guomi.bulk._kernel import ColumnStats
from guomi.bulk.legacy._base import LegacyFormatError
from guomi.bulk.legacy._rsa import RsaToSm2Rewrapper

__all__ = ["RewrapTransform"]


class RewrapTransform:
    """Re-wrap the named columns of record batches with one :class:`RsaToSm2Rewrapper` each."""

    operation = "rewrap"

    def __init__(
        self, specs: tuple[ColumnSpec, ...], rewrappers: Mapping[str, Any], *, file: str | None = None
    ) -> None:
        for spec in specs:
            if spec.indexes:
                raise BulkInputError("rewrap takes no index columns", column=spec.name)
            if not isinstance(rewrappers.get(spec.name), RsaToSm2Rewrapper):
                raise BulkInputError(
                    "rewrap needs legacy= an RsaToSm2Rewrapper (guomi.bulk.legacy)", column=spec.name
                )
        self.specs = specs
        self.rewrappers = rewrappers
        self.file = file

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        return schema

    def __call__(
        self, batch: pa.RecordBatch, first_row: int = 0
    ) -> tuple[pa.RecordBatch, dict[str, ColumnStats]]:
        columns = {name: batch.column(name) for name in batch.schema.names}
        stats: dict[str, ColumnStats] = {}
        for spec in self.specs:
            columns[spec.name], stats[spec.name] = self._column(
                self.rewrappers[spec.name], columns[spec.name], spec.name, first_row
            )
        return pa.RecordBatch.from_arrays(
            [columns[n] for n in batch.schema.names], schema=batch.schema
        ), stats

    def _column(
        self, rewrapper: RsaToSm2Rewrapper, array: pa.Array, column: str, first_row: int
    ) -> tuple[pa.Array, ColumnStats]:
        text = pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
        if not text and not (pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type)):
            raise BulkValueError(
                f"type {array.type} cannot hold wrapped keys (use a string or binary column)",
                file=self.file,
                column=column,
            )
        unwrap = rewrapper.unwrap
        encoding = unwrap.encoding or ("base64" if text else "raw")
        stats = ColumnStats(nulls=array.null_count)
        out: list[Any] = []
        for i, value in enumerate(array.to_pylist()):
            if not value:  # null or empty: no key to re-wrap, kept as it is
                stats.nulls += value is not None
                out.append(value)
                continue
            try:
                raw = unwrap._decode(value)
                if rewrapper.is_rewrapped(raw):
                    stats.skipped += 1
                    out.append(value)
                    continue
                wrapped = rewrapper.rewrap_bytes(raw)
            except (LegacyFormatError, ValueError) as exc:
                raise BulkValueError(
                    f"{unwrap.name}: {exc} (wrong RSA key, or not an RSA-wrapped key)",
                    file=self.file,
                    row=first_row + i,
                    column=column,
                ) from None
            stats.processed += 1
            out.append(_encode(wrapped, encoding, text))
        return pa.array(out, type=array.type), stats


def _encode(raw: bytes, encoding: str, text: bool) -> str | bytes:
    """The new value in the column's form: the same text encoding as the old one, or raw bytes."""
    if encoding == "hex":
        encoded = raw.hex()
    elif encoding == "base64":
        encoded = base64.b64encode(raw).decode("ascii")
    else:
        return raw
    return encoded if text else encoded.encode("ascii")
