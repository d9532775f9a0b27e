"""Column operations over Arrow arrays: encrypt, decrypt, rekey, index, migrate.

Layer: ``guomi.bulk``. One :class:`ColumnCipher` per (job, column) wraps a
:class:`guomi.fields.Field` and calls its packed (Arrow-layout) batch kernel, so a
value written here is exactly a ``guomi.fields`` value (``docs/spec/field.md``) and the
other way round: there is no second format. What this module adds is what a whole
column needs around the kernel: nulls kept, values that are already guomi ciphertext
skipped and counted (never encrypted twice), and a failing value located by row so the
error can name it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from guomi.bulk import _fieldapi
from guomi.bulk._arrays import apply_packed, is_text, merge_masked, offset_width, packed_buffers
from guomi.bulk._errors import BulkValueError
from guomi.exceptions import GuomiError

__all__ = ["ColumnCipher", "ColumnStats"]


@dataclass
class ColumnStats:
    """What happened to one column: values changed, skipped, and the key versions seen."""

    processed: int = 0
    skipped: int = 0
    nulls: int = 0
    key_versions: set[int] = field(default_factory=set)

    def add(self, other: ColumnStats) -> None:
        self.processed += other.processed
        self.skipped += other.skipped
        self.nulls += other.nulls
        self.key_versions |= other.key_versions


class ColumnCipher:
    """The operations of a job on one column, over whole Arrow arrays."""

    def __init__(self, fld: Any, column: str, *, file: str | None = None) -> None:
        self.field = fld
        self.column = column
        self.file = file

    # ------------------------------------------------------------ helpers

    def _fail(
        self, exc: Exception, array: pa.Array, first_row: int, probe: Callable[[Any], object]
    ) -> BulkValueError:
        """Find the first value that fails on its own, to name its row; never show the value."""
        for i, value in enumerate(array.to_pylist()):
            if value is None:
                continue
            try:
                probe(value)
            except GuomiError as single:
                return BulkValueError(
                    f"{type(single).__name__}: {_fieldapi.explain(single)}",
                    file=self.file,
                    row=first_row + i,
                    column=self.column,
                )
        return BulkValueError(
            f"{type(exc).__name__}: {_fieldapi.explain(exc)}", file=self.file, column=self.column
        )

    def _check_type(self, array: pa.Array) -> None:
        if not (
            pa.types.is_string(array.type)
            or pa.types.is_large_string(array.type)
            or pa.types.is_binary(array.type)
            or pa.types.is_large_binary(array.type)
        ):
            raise BulkValueError(
                f"type {array.type} is not encryptable in place: only string and binary columns are",
                file=self.file,
                column=self.column,
            )

    # ------------------------------------------------------------ operations

    def encrypt(self, array: pa.Array, first_row: int = 0) -> tuple[pa.Array, ColumnStats]:
        """Encrypt every value that is not already a guomi field value (those are counted)."""
        self._check_type(array)
        text = is_text(array.type)
        stats = ColumnStats(nulls=array.null_count)
        already = _fieldapi.is_token_mask(array, self.field)
        todo = array if already is None else array.filter(pc.invert(already))
        try:
            done = apply_packed(
                todo,
                array.type,
                lambda o, d, w: _fieldapi.encrypt_packed(self.field, o, d, text=text, width=w),
            )
        except GuomiError as exc:
            raise self._fail(exc, todo, first_row, lambda v: _fieldapi.encrypt_one(self.field, v)) from None
        stats.processed = len(todo) - todo.null_count
        stats.key_versions.add(_fieldapi.primary_version(self.field))
        if already is None:
            return done, stats
        stats.skipped = int(pc.sum(already).as_py() or 0)
        return merge_masked(array, pc.invert(already), done), stats

    def decrypt(self, array: pa.Array, first_row: int = 0) -> tuple[pa.Array, ColumnStats]:
        """Decrypt every value; a value that is not a field value of this column is an error."""
        self._check_type(array)
        stats = ColumnStats(nulls=array.null_count)
        stats.key_versions |= _fieldapi.key_versions(array, self.field)
        try:
            done = apply_packed(
                array,
                array.type,
                lambda o, d, w: _fieldapi.decrypt_packed(self.field, o, d, text=is_text(array.type), width=w),
            )
            if is_text(array.type):
                done.validate(full=True)
        except (GuomiError, pa.ArrowInvalid) as exc:
            raise self._fail(
                _fieldapi.as_guomi(exc), array, first_row, lambda v: _fieldapi.decrypt_one(self.field, v)
            ) from None
        stats.processed = len(array) - array.null_count
        return done, stats

    def rekey(self, array: pa.Array, first_row: int = 0) -> tuple[pa.Array, ColumnStats]:
        """Re-encrypt values under older key versions with the primary; current ones are skipped."""
        self._check_type(array)
        stats = ColumnStats(nulls=array.null_count)
        current = _fieldapi.under_primary_mask(self.field, array)
        todo = array if current is None else array.filter(pc.invert(current))
        stats.key_versions |= _fieldapi.key_versions(todo, self.field)
        plain, _ = self.decrypt(todo, first_row)
        fresh, enc_stats = self.encrypt(plain, first_row)
        stats.processed = enc_stats.processed
        stats.key_versions |= enc_stats.key_versions
        if current is None:
            return fresh, stats
        stats.skipped = int(pc.sum(current).as_py() or 0)
        return merge_masked(array, pc.invert(current), fresh), stats

    def index(self, name: str, plaintext: pa.Array, first_row: int = 0) -> pa.Array:
        """The blind index ``name`` of each plaintext value, as int64 (null where null)."""
        self._check_type(plaintext)
        width = offset_width(plaintext.type)
        text = is_text(plaintext.type)
        try:
            if plaintext.null_count == 0:
                return _fieldapi.index_packed(
                    self.field, name, *packed_buffers(plaintext), text=text, width=width
                )
            valid = plaintext.is_valid()
            present = plaintext.filter(valid)
            values = _fieldapi.index_packed(
                self.field, name, *packed_buffers(present), text=text, width=width
            )
            return merge_masked(pa.nulls(len(plaintext), pa.int64()), valid, values)
        except GuomiError as exc:
            raise BulkValueError(
                f"blind index {name!r}: {_fieldapi.explain(exc)}", file=self.file, column=self.column
            ) from None

    def migrate(self, array: pa.Array, legacy: Any, first_row: int = 0) -> tuple[pa.Array, ColumnStats]:
        """Decrypt legacy values with ``legacy`` and encrypt them; guomi values are skipped."""
        self._check_type(array)
        stats = ColumnStats(nulls=array.null_count)
        already = _fieldapi.is_token_mask(array, self.field)
        todo = array if already is None else array.filter(pc.invert(already))
        plain = legacy.decrypt_array(todo, first_row=first_row, file=self.file, column=self.column)
        if is_text(array.type):
            try:
                plain = plain.cast(pa.large_string() if pa.types.is_large_string(array.type) else pa.string())
            except pa.ArrowInvalid:
                raise BulkValueError(
                    "a legacy plaintext is not UTF-8 text (migrate it into a binary column)",
                    file=self.file,
                    column=self.column,
                ) from None
        fresh, enc_stats = self.encrypt(plain, first_row)
        if fresh.type != array.type:
            fresh = fresh.cast(array.type)
        stats.processed = enc_stats.processed
        stats.key_versions |= enc_stats.key_versions
        if already is None:
            return fresh, stats
        stats.skipped = int(pc.sum(already).as_py() or 0)
        return merge_masked(array, pc.invert(already), fresh), stats
