"""One-pass encryption of CSV blocks: the fast path of a CSV → CSV ``encrypt`` job.

Layer: ``guomi.bulk``. For a block of the simple, common shape (no quote character, no
carriage return, valid UTF-8, every record with the header's number of fields) the Rust
kernel (``guomi_core::field::csv``) finds the fields, encrypts the job's columns with the
same field kernel as every other path and writes the output CSV in one pass, with the GIL
released: no Arrow arrays are built, parsed or written. It produces exactly the bytes of
the general path (pyarrow's parser with every column a string → :class:`BatchTransform` →
pyarrow's writer without quoting): values unchanged except the encrypted ones, records
ending in ``\\n``, empty lines dropped, values that already are field values kept and
counted. A block of any other shape returns ``None`` and goes through the general path,
which also reports bad input (a malformed row, invalid UTF-8) with its file and row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from guomi.bulk import _fieldapi
from guomi.bulk._columns import ColumnSpec
from guomi.bulk._kernel import ColumnCipher, ColumnStats

__all__ = ["CsvBlockEncryptor"]


class CsvBlockEncryptor:
    """Encrypts the job's columns of CSV blocks whose header is ``names``."""

    def __init__(
        self, names: Sequence[str], specs: Sequence[ColumnSpec], ciphers: Mapping[str, ColumnCipher]
    ) -> None:
        self.ncols = len(names)
        position = {name: i for i, name in enumerate(names)}
        self.columns = sorted((position[spec.name], spec.name) for spec in specs)
        self.ciphers = ciphers

    @staticmethod
    def applies(operation: str, specs: Sequence[ColumnSpec]) -> bool:
        """Encrypting columns without blind indexes (index columns change the record shape)."""
        return operation == "encrypt" and all(not spec.indexes for spec in specs)

    def __call__(self, block: bytes) -> tuple[bytes, int, dict[str, ColumnStats]] | None:
        """``(csv_bytes, rows, stats)``, or ``None`` when the block needs the general path."""
        targets = [(index, _fieldapi.kernel_of(self.ciphers[name].field)) for index, name in self.columns]
        done = _fieldapi.encrypt_csv_block(block, self.ncols, targets)
        if done is None:
            return None
        data, rows, counts = done
        stats: dict[str, ColumnStats] = {}
        for (_, name), (processed, skipped) in zip(self.columns, counts, strict=True):
            field = self.ciphers[name].field
            stats[name] = ColumnStats(
                processed=processed, skipped=skipped, key_versions={_fieldapi.primary_version(field)}
            )
        return data, rows, stats
