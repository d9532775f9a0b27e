"""``guomi table scan``: sample a table or dataset and say what each column holds.

Layer: ``guomi.bulk`` (uses :mod:`guomi.scan`'s classifier; reads, never writes). Sources
are those of bulk jobs: a CSV file, a Parquet file or directory (sampled across its row
groups, not just the head), a database table (or every table of a database URL). The
result is a list of :class:`guomi.scan.TableFinding` (one per file or table): per column
the dominant kind (plaintext PII, guomi ciphertext and its key ids, a legacy format),
a confidence and counts — the first draft of the "important data" inventory an assessor
asks for. Findings never contain sampled values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from guomi.bulk._errors import BulkInputError
from guomi.bulk._files import CsvSource, ParquetSource, parquet_files
from guomi.bulk._job import kind_of
from guomi.scan import TableFinding, classify_values, scan_database

__all__ = ["report", "scan_source"]

DEFAULT_SAMPLE = 1000


def _classify_batch(table: pa.Table, name: str, rows: int | None, columns: list[str] | None) -> TableFinding:
    names = columns or table.schema.names
    missing = [c for c in names if c not in table.schema.names]
    if missing:
        raise BulkInputError("no such column", file=name, column=missing[0])
    found = {c: classify_values(table.column(c).to_pylist(), name=c) for c in names}
    return TableFinding(name, rows, found)


def _sample_csv(path: Path, sample: int) -> pa.Table:
    batches = []
    taken = 0
    for batch in CsvSource(path).batches():
        batches.append(batch.slice(0, sample - taken))
        taken += min(batch.num_rows, sample - taken)
        if taken >= sample:
            break
    return pa.Table.from_batches(batches, schema=CsvSource(path).schema())


def _sample_parquet(path: Path, sample: int) -> tuple[pa.Table, int]:
    source = ParquetSource(path, batch_rows=max(1, sample))
    groups = source.file.num_row_groups
    per_group = max(1, sample // max(1, groups))
    tables = []
    for group in range(groups):
        for batch in source.file.iter_batches(batch_size=per_group, row_groups=[group]):
            tables.append(pa.Table.from_batches([batch]))
            break
    table = pa.concat_tables(tables) if tables else source.schema().empty_table()
    return table.slice(0, sample), source.rows()


def scan_source(
    source: str | Path,
    *,
    table: str | None = None,
    columns: list[str] | None = None,
    sample: int = DEFAULT_SAMPLE,
) -> list[TableFinding]:
    """Classify the columns of ``source`` from up to ``sample`` rows per file or table."""
    if sample < 1:
        raise BulkInputError("sample must be at least 1")
    text = str(source)
    if "://" in text:
        finding = scan_database(text, tables=[table] if table else None, sample=sample)
        if finding.error:
            raise BulkInputError(finding.error, file=finding.url)
        if columns:
            return [
                TableFinding(
                    t.name, t.rows, {c: f for c, f in t.columns.items() if c in columns}, t.error, t.sampling
                )
                for t in finding.tables
            ]
        return list(finding.tables)
    kind = kind_of(source)
    path = Path(text)
    if kind == "csv":
        return [_classify_batch(_sample_csv(path, sample), str(path), None, columns)]
    files = [path] if kind == "parquet" else parquet_files(path)
    out = []
    per_file = max(1, sample // len(files)) if kind == "parquet-dir" else sample
    for f in files:
        data, rows = _sample_parquet(f, per_file)
        out.append(_classify_batch(data, str(f), rows, columns))
    return out


def report(findings: list[TableFinding]) -> dict[str, Any]:
    """JSON-ready form of a scan."""
    return {"tables": [f.to_dict() for f in findings]}
