"""CSV and Parquet sources and sinks, streamed in Arrow record batches (bounded memory).

Layer: ``guomi.bulk``.

- CSV is read with pyarrow's streaming reader with **every column as a string** (no type
  inference, empty cells stay empty strings), so a column the job does not touch is
  written back with exactly its values; a malformed row stops the job with an error that
  names the file and row.
- Parquet is read row group by row group and written one row group per source row group:
  the schema (with its metadata) and row order are kept, and column statistics are
  written for every column except the encrypted ones (min/max of ciphertext is noise,
  and of a plaintext it would leak).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from guomi.bulk._errors import BulkInputError

__all__ = [
    "BatchWriter",
    "CsvSource",
    "CsvWriter",
    "ParquetSource",
    "ParquetWriter",
]

CSV_BLOCK_BYTES = 4 << 20
"""CSV read granularity: a 4 MiB block becomes one record batch (tens of thousands of rows)."""

PARQUET_BATCH_ROWS = 65_536


class BatchWriter(Protocol):
    def write(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> None: ...


@dataclass
class Unit:
    """A group of batches that must be written together (a Parquet row group; a CSV block)."""

    batches: list[pa.RecordBatch]


# ---------------------------------------------------------------- CSV


def _csv_header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), None)
    except UnicodeDecodeError as exc:
        raise BulkInputError("CSV header is not UTF-8", file=str(path), row=1) from exc
    except csv.Error as exc:
        raise BulkInputError(f"malformed CSV header: {exc}", file=str(path), row=1) from exc
    if not header:
        raise BulkInputError("empty CSV file (no header row)", file=str(path))
    if len(set(header)) != len(header):
        raise BulkInputError("CSV header repeats a column name", file=str(path), row=1)
    return header


class CsvSource:
    """A CSV file with a header row, read as strings in streaming batches."""

    def __init__(self, path: str | Path, *, block_bytes: int = CSV_BLOCK_BYTES) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise BulkInputError("no such file", file=str(self.path))
        self.block_bytes = block_bytes
        self.names = _csv_header(self.path)

    @property
    def label(self) -> str:
        return str(self.path)

    def size_bytes(self) -> int:
        return self.path.stat().st_size

    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(n, pa.string()) for n in self.names])

    def batches(self) -> Iterator[pa.RecordBatch]:
        bad_row: list[int | None] = []

        def invalid(row: pacsv.InvalidRow) -> str:
            bad_row.append(row.number)
            return "error"

        def fail(exc: Exception) -> BulkInputError:
            detail = str(exc).split("\n")[0]
            row = None
            if bad_row and bad_row[0] is not None:
                row = bad_row[0] - 1  # pyarrow counts the header as row 1; ours count data rows
            if "UTF8" in detail or "utf8" in detail or "UTF-8" in detail:
                detail = "invalid UTF-8 in a value"
            elif "Expected" in detail and "columns" in detail:
                # pyarrow appends the row's text: never put values in an error message
                detail = detail[detail.index("Expected") :].split(":")[0]
            else:
                detail = detail.split(":")[0]
            return BulkInputError(f"malformed CSV row: {detail}", file=str(self.path), row=row)

        try:
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(block_size=self.block_bytes, use_threads=False),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in self.names},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise fail(exc) from None
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                    raise fail(exc) from None
                yield batch
        finally:
            reader.close()


class CsvWriter:
    """Writes record batches as CSV with a header (values quoted where needed)."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._writer = pacsv.CSVWriter(
            str(path), schema, write_options=pacsv.WriteOptions(include_header=True, quoting_style="needed")
        )

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)

    def close(self) -> None:
        self._writer.close()


# ---------------------------------------------------------------- Parquet


def _open_parquet(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        detail = str(exc).split("\n")[0]
        raise BulkInputError(f"not a readable Parquet file ({detail})", file=str(path)) from None


class ParquetSource:
    """One Parquet file, read row group by row group."""

    def __init__(self, path: str | Path, *, batch_rows: int = PARQUET_BATCH_ROWS) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise BulkInputError("no such file", file=str(self.path))
        self.batch_rows = batch_rows
        self.file = _open_parquet(self.path)

    @property
    def label(self) -> str:
        return str(self.path)

    def size_bytes(self) -> int:
        return self.path.stat().st_size

    def rows(self) -> int:
        return int(self.file.metadata.num_rows)

    def schema(self) -> pa.Schema:
        return self.file.schema_arrow

    def compression(self) -> str:
        md = self.file.metadata
        if md.num_row_groups and md.num_columns:
            return str(md.row_group(0).column(0).compression).lower()
        return "snappy"

    def batches_with_ends(self) -> Iterator[tuple[pa.RecordBatch, bool]]:
        """Each batch, and whether it is the last of its row group (read lazily)."""
        try:
            for group in range(self.file.num_row_groups):
                previous = None
                for batch in self.file.iter_batches(batch_size=self.batch_rows, row_groups=[group]):
                    if previous is not None:
                        yield previous, False
                    previous = batch
                if previous is not None:
                    yield previous, True
        except (pa.ArrowInvalid, OSError) as exc:
            detail = str(exc).split("\n")[0]
            raise BulkInputError(f"damaged Parquet data ({detail})", file=str(self.path)) from None

    def batches(self) -> Iterator[pa.RecordBatch]:
        for batch, _ in self.batches_with_ends():
            yield batch


class ParquetWriter:
    """Writes a Parquet file with statistics for every column but ``no_statistics``."""

    def __init__(
        self, path: Path, schema: pa.Schema, *, no_statistics: set[str], compression: str = "snappy"
    ) -> None:
        stats = [n for n in schema.names if n not in no_statistics]
        if compression not in {"snappy", "gzip", "brotli", "zstd", "lz4", "none", "uncompressed"}:
            compression = "snappy"
        self._writer = pq.ParquetWriter(
            str(path),
            schema,
            compression="none" if compression == "uncompressed" else compression,
            write_statistics=stats,
        )
        self._pending: list[pa.RecordBatch] = []
        self._schema = schema

    def write(self, batch: pa.RecordBatch) -> None:
        self._pending.append(batch)

    def end_row_group(self) -> None:
        if self._pending:
            table = pa.Table.from_batches(self._pending, schema=self._schema)
            self._writer.write_table(table, row_group_size=max(1, table.num_rows))
            self._pending = []

    def close(self) -> None:
        self.end_row_group()
        self._writer.close()


def parquet_files(directory: Path) -> list[Path]:
    """The Parquet files of a dataset directory, in a stable order (hidden files skipped)."""
    files = sorted(
        p
        for p in directory.rglob("*")
        if p.is_file() and not any(part.startswith((".", "_")) for part in p.relative_to(directory).parts)
    )
    if not files:
        raise BulkInputError("no Parquet files in the directory", file=str(directory))
    return files
