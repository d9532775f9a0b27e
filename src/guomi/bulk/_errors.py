"""The errors of bulk jobs: each names the file, row and column it is about.

Layer: ``guomi.bulk`` (above ``guomi.fields`` and ``guomi.client``). Every error derives
from :class:`guomi.exceptions.GuomiError`; messages name *where* (file, table, row,
column) and never carry a value, a key or a plaintext.
"""

from __future__ import annotations

from guomi.exceptions import GuomiError

__all__ = [
    "BulkError",
    "BulkInputError",
    "BulkValueError",
    "OutputExistsError",
    "shift_rows",
    "where",
]


def where(*, file: str | None = None, row: int | None = None, column: str | None = None) -> str:
    """``"file in.csv, row 12, column 'email'"`` from whichever parts are known."""
    parts = []
    if file is not None:
        parts.append(f"file {file}")
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column {column!r}")
    return ", ".join(parts)


class BulkError(GuomiError):
    """A bulk job could not run or stopped; the message says where."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.detail = message
        self.file = file
        self.row = row
        self.column = column
        place = where(file=file, row=row, column=column)
        super().__init__(f"{place}: {message}" if place else message)


def shift_rows(exc: BulkError, offset: int) -> BulkError:
    """The same error with its row moved by ``offset`` (workers count rows from their batch)."""
    if exc.row is None or offset == 0:
        return exc
    return type(exc)(exc.detail, file=exc.file, row=exc.row + offset, column=exc.column)


class BulkInputError(BulkError, ValueError):
    """The input is not what the job needs: malformed CSV, not Parquet, missing column, ..."""


class BulkValueError(BulkError, ValueError):
    """A value could not be processed: wrong key, unknown key version, damaged ciphertext."""


class OutputExistsError(BulkError, FileExistsError):
    """The output path exists; pass ``force=True`` (``--force``) to replace it."""
