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
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from guomi.bulk._errors import BulkInputError

__all__ = [
    "BatchWriter",
    "CsvSource",
    "CsvWriter",
    "ParquetSource",
    "ParquetWriter",
    "csv_bytes",
    "record_boundary",
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

    def __init__(self, path: str | Path, *, block_bytes: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise BulkInputError("no such file", file=str(self.path))
        self.block_bytes = block_bytes or CSV_BLOCK_BYTES
        self.names = _csv_header(self.path)

    @property
    def label(self) -> str:
        return str(self.path)

    def size_bytes(self) -> int:
        return self.path.stat().st_size

    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(n, pa.string()) for n in self.names])

    def _data_offset(self) -> int:
        """Where the first data record starts (after the header record)."""
        with open(self.path, "rb") as f:
            head = f.read(1 << 20)
        cut = record_boundary(head, first=True)
        if cut <= 0:
            return len(head)
        return cut

    def chunks(self) -> Iterator[bytes]:
        """The data records in blocks of about ``block_bytes``, each ending at a record boundary.

        A boundary is a newline preceded by an even number of quote characters since the
        block started (RFC 4180: quotes inside a quoted value are doubled), so a value with
        an embedded newline is never split. Blocks parse independently, on several threads.
        """
        with open(self.path, "rb") as f:
            f.seek(self._data_offset())
            carry = b""
            while True:
                block = f.read(self.block_bytes)
                if not block:
                    if carry.strip():
                        yield carry
                    return
                if b'"' not in block and b'"' not in carry:
                    # No quotes (the common case): cut after the block's last newline,
                    # copying the block once (not twice, as carry + block, then [:cut]).
                    pos = block.rfind(b"\n")
                    if pos >= 0:
                        yield b"".join((carry, memoryview(block)[: pos + 1]))
                        carry = block[pos + 1 :]
                        continue
                buf = carry + block
                cut = record_boundary(buf)
                if cut <= 0:
                    if len(buf) > 16 * self.block_bytes:
                        raise BulkInputError(
                            "no record boundary in 16 blocks (unbalanced quotes?)", file=str(self.path)
                        )
                    carry = buf
                    continue
                yield buf[:cut]
                carry = buf[cut:]

    def parse_chunk(self, chunk: bytes) -> pa.RecordBatch:
        """Parse one block from :meth:`chunks`; error rows count from 1 within the block."""
        bad_row: list[int | None] = []

        def invalid(row: pacsv.InvalidRow) -> str:
            bad_row.append(row.number)
            return "error"

        header = ",".join(_csv_quote(n) for n in self.names).encode() + b"\n"
        # A block without a quote character has no quoted values: the plain tokenizer is
        # faster and gives the same values (no value can then hold a comma or a newline).
        quoted = b'"' in chunk
        try:
            table = pacsv.read_csv(
                pa.BufferReader(header + chunk),
                read_options=pacsv.ReadOptions(block_size=len(chunk) + len(header) + 1, use_threads=False),
                parse_options=pacsv.ParseOptions(
                    quote_char='"' if quoted else False,
                    newlines_in_values=quoted,
                    invalid_row_handler=invalid,
                ),
                convert_options=self._convert_options(),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise self._fail(exc, bad_row) from None
        return (
            table.combine_chunks().to_batches()[0]
            if table.num_rows
            else pa.RecordBatch.from_pylist([], self.schema())
        )

    def _convert_options(self) -> pacsv.ConvertOptions:
        return pacsv.ConvertOptions(
            column_types={n: pa.string() for n in self.names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )

    def _fail(self, exc: Exception, bad_row: list[int | None]) -> BulkInputError:
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

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Every data record, in batches (parsed on this thread)."""
        for chunk in self.chunks():
            batch = self.parse_chunk(chunk)
            if batch.num_rows:
                yield batch


def record_boundary(buf: bytes, *, first: bool = False) -> int:
    """Index just after the last (``first``: the first) newline outside quotes; -1 if none."""
    if first:
        pos = buf.find(b"\n")
        while pos >= 0:
            if buf.count(b'"', 0, pos) % 2 == 0:
                return pos + 1
            pos = buf.find(b"\n", pos + 1)
        return -1
    pos = buf.rfind(b"\n")
    if pos >= 0 and b'"' not in buf:
        return pos + 1  # no quotes (the common case): the last newline, without counting
    while pos >= 0:
        if buf.count(b'"', 0, pos) % 2 == 0:
            return pos + 1
        pos = buf.rfind(b"\n", 0, pos)
    return -1


def _csv_quote(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def needs_quoting(batch: pa.RecordBatch) -> bool:
    """Whether any value of ``batch`` would need CSV quoting (a comma, quote or line break;
    any binary column counts, since its bytes are not checked here)."""
    for column in batch.columns:
        kind = column.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            if pc.any(pc.match_substring_regex(column, '[,"\r\n]')).as_py():
                return True
        elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            return True
    return False


def csv_bytes(batch: pa.RecordBatch, *, plain: bool = False) -> bytes:
    """A batch as CSV rows, for writing in order later: every string quoted (pyarrow's
    "needed" style), or none when the caller knows no value holds a comma, quote or newline."""
    sink = pa.BufferOutputStream()
    style = "none" if plain else "needed"
    pacsv.write_csv(batch, sink, write_options=pacsv.WriteOptions(include_header=False, quoting_style=style))
    return bytes(sink.getvalue())


class CsvWriter:
    """Writes record batches (or CSV bytes made by :func:`csv_bytes`) as CSV with a header."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._file = open(path, "wb")  # noqa: SIM115 (closed by close())
        self._file.write((",".join(_csv_quote(n) for n in schema.names) + "\n").encode())

    def write(self, batch: pa.RecordBatch | bytes) -> None:
        self._file.write(batch if isinstance(batch, bytes) else csv_bytes(batch))

    def close(self) -> None:
        self._file.close()


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
