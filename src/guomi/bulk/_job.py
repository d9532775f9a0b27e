"""Bulk jobs: ``source → columns → operation → sink``, and their summaries.

Layer: ``guomi.bulk``. A :class:`Job` is a plain description (what to read, which
columns, which operation, where to write, which keys, which engine); :meth:`Job.run`
runs it on the embedded engine (threads over Arrow batches in this process) or on Spark
(``engine="spark"``) and returns a :class:`Summary`. Sources and sinks are chosen from
their names: ``*.csv``, ``*.parquet`` (or ``*.pq``), a directory of Parquet files, or a
database URL (``sqlite:///...``, ``postgresql://...``) with ``table=``; a database job
without a sink works in place (see :mod:`guomi.bulk._database`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from guomi.bulk import _keys
from guomi.bulk._atomic import atomic_output, check_output
from guomi.bulk._columns import ColumnSpec, parse_columns
from guomi.bulk._csvfast import CsvBlockEncryptor
from guomi.bulk._engine_local import default_workers, ordered_map
from guomi.bulk._errors import BulkError, BulkInputError, shift_rows
from guomi.bulk._files import (
    CsvSource,
    CsvWriter,
    ParquetSource,
    ParquetWriter,
    csv_bytes,
    needs_quoting,
    parquet_files,
)
from guomi.bulk._kernel import ColumnCipher, ColumnStats
from guomi.bulk._transform import OPERATIONS, BatchTransform, Operation, check_columns, sum_stats

__all__ = ["DEFAULT_FILE_TABLE", "Job", "Summary", "kind_of"]

Kind = Literal["csv", "parquet", "parquet-dir", "database"]
JobOperation = Operation | Literal["rewrap"]
"""``rewrap``: RSA-wrapped data keys re-wrapped to SM2 (:mod:`guomi.bulk.legacy`); no keyring."""
Engine = Literal["local", "spark", "dask"]
Progress = Callable[[int, int], None]
"""``progress(rows_done_delta, bytes_done_delta)`` after each batch is written."""

PLAIN_SAFE = frozenset({"encrypt", "rekey", "reindex"})
"""Operations whose new values never need CSV quoting (field values are base64url, indexes integers)."""

DEFAULT_FILE_TABLE = "dataset"
"""The table name bound into the values of a file when ``table`` is not given (field.md AAD)."""


def kind_of(location: str | Path, *, table: str | None = None, for_output: bool = False) -> Kind:
    """What a SOURCE/SINK string names: a CSV or Parquet file, a Parquet directory, a database."""
    text = str(location)
    if "://" in text:
        if not table:
            raise BulkInputError("a database URL needs a table (table= / --table)", file=_redact(text))
        return "database"
    path = Path(text)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    if path.is_dir() or (for_output and suffix == ""):
        return "parquet-dir"
    raise BulkInputError(
        "cannot tell the format: use .csv, .parquet, a directory of Parquet files or a database URL",
        file=text,
    )


def _index_options(
    specs: tuple[ColumnSpec, ...], options: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, dict[str, Any]]:
    """Checked blind-index settings: every name is an index of the job, every setting known and valid."""
    from guomi.bulk._fieldapi import INDEX_SETTINGS, blind_index  # noqa: PLC0415
    from guomi.exceptions import GuomiError  # noqa: PLC0415

    names = {index: spec.name for spec in specs for index in spec.indexes}
    checked: dict[str, dict[str, Any]] = {}
    for name, settings in (options or {}).items():
        if name not in names:
            raise BulkInputError(
                f"index options for {name!r}, which no --column NAME:INDEX names "
                f"(indexes of this job: {', '.join(sorted(names)) or 'none'})"
            )
        unknown = sorted(set(settings) - set(INDEX_SETTINGS))
        if unknown:
            raise BulkInputError(
                f"unknown index setting {', '.join(unknown)} for {name!r} "
                f"(known: {', '.join(INDEX_SETTINGS)})",
                column=names[name],
            )
        try:
            blind_index(name, settings)
        except (GuomiError, TypeError) as exc:
            raise BulkInputError(f"index {name!r}: {exc}", column=names[name]) from None
        checked[name] = dict(settings)
    return checked


def _redact(url: str) -> str:
    """A database URL without its password, for messages."""
    try:
        from sqlalchemy.engine import make_url  # noqa: PLC0415

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.rsplit("@", maxsplit=1)[-1]


@dataclass
class Summary:
    """What a job did: rows, bytes, per-column counts, key versions, time."""

    operation: str
    source: str
    sink: str
    engine: str
    workers: int
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    columns: dict[str, ColumnStats] = field(default_factory=dict)
    conflicts: int = 0
    """In-place database jobs: rows changed by the application during the job (re-read, never overwritten)."""
    resumed_from: int = 0
    """In-place database jobs: rows already done by an earlier run of the same job."""

    @property
    def key_versions(self) -> set[int]:
        versions: set[int] = set()
        for stats in self.columns.values():
            versions |= stats.key_versions
        return versions

    @property
    def skipped(self) -> int:
        return sum(s.skipped for s in self.columns.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "source": self.source,
            "sink": self.sink,
            "engine": self.engine,
            "workers": self.workers,
            "rows": self.rows,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows / self.seconds) if self.seconds > 0 else None,
            "key_versions": sorted(self.key_versions),
            "conflicts": self.conflicts,
            "resumed_from": self.resumed_from,
            "columns": {
                name: {
                    "processed": s.processed,
                    "skipped": s.skipped,
                    "nulls": s.nulls,
                    "key_versions": sorted(s.key_versions),
                }
                for name, s in self.columns.items()
            },
        }


class Job:
    """A bulk job. ``Job(source, sink, columns=[...], operation="encrypt", keyring=keyset).run()``.

    - ``columns``: ``"NAME"`` or ``"NAME:INDEX..."`` strings (or :class:`ColumnSpec`).
    - ``operation``: ``encrypt``, ``decrypt``, ``rekey`` (to the keyring's primary version),
      ``reindex`` (recompute the named blind indexes) or ``migrate`` (``legacy`` decryptors
      from :mod:`guomi.bulk.legacy`, one per column or one for all, then encrypt).
    - keys: ``keyring`` (a :class:`guomi.keys.Keyset` or a ``guomi.fields`` keyring) or
      ``kms="name"`` with ``wrapped_keys`` (the data-key document wrapped by that custody-service
      key, from :func:`guomi.bulk.new_wrapped_keys`; ``addr``/``token`` or ``GUOMI_ADDR``/
      ``GUOMI_TOKEN``): unwrapped once per worker process.
    - ``table``: the table name bound into every value (field.md); a database job's table;
      files default to :data:`DEFAULT_FILE_TABLE`.
    - ``index_options``: ``{index name: {"bits": 16, "transform": "casefold", "slow": True,
      "key_id": 7}}``, the :class:`guomi.fields.BlindIndex` settings of the named indexes
      (defaults otherwise); they must match how the application's ``Field`` declares them.
    - ``sink``: a path or database URL (``sink_table`` names the new table; default ``table``);
      none for an in-place database job. An existing output is refused unless ``force``.
    """

    def __init__(
        self,
        source: str | Path,
        sink: str | Path | None = None,
        *,
        columns: Sequence[str | ColumnSpec] | str,
        operation: JobOperation = "encrypt",
        keyring: Any = None,
        kms: str | None = None,
        wrapped_keys: str | None = None,
        addr: str | None = None,
        token: str | None = None,
        transport: Any = None,
        table: str | None = None,
        sink_table: str | None = None,
        legacy: Any = None,
        engine: Engine = "local",
        workers: int | None = None,
        force: bool = False,
        batch_rows: int = 10_000,
        key_column: str | None = None,
        job_id: str | None = None,
        progress: Progress | None = None,
        index_options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        if operation not in OPERATIONS and operation != "rewrap":
            raise BulkInputError(f"unknown operation {operation!r} (one of {', '.join(OPERATIONS)}, rewrap)")
        if engine not in ("local", "spark", "dask"):
            raise BulkInputError(f"unknown engine {engine!r} (local, spark or dask)")
        if keyring is None and kms is None and operation != "rewrap":
            raise BulkInputError("no keys: give keyring= (a Keyset) or kms= (a custody-service key name)")
        if workers is not None and workers < 1:
            raise BulkInputError("workers must be at least 1")
        self.source = source
        self.sink = sink
        self.specs = parse_columns(list(columns) if not isinstance(columns, str) else [columns])
        self.operation: JobOperation = operation
        self.keys = (
            None
            if operation == "rewrap"
            else _keys.key_source(
                keyring, kms=kms, wrapped_keys=wrapped_keys, addr=addr, token=token, transport=transport
            )
        )
        self.table = table
        self.sink_table = sink_table
        self.legacy = legacy
        self.engine: Engine = engine
        self.workers = workers or default_workers()
        self.force = force
        self.batch_rows = batch_rows
        self.key_column = key_column
        self.job_id = job_id
        self.progress = progress
        self.source_kind = kind_of(source, table=table)
        self.sink_kind: Kind | None = (
            None if sink is None else kind_of(sink, table=sink_table or table, for_output=True)
        )
        if self.sink_kind is None and self.source_kind != "database":
            raise BulkInputError(
                "a file source needs a SINK path (only database tables are changed in place)",
                file=str(source),
            )
        if self.source_kind == "parquet-dir" and self.sink_kind not in ("parquet-dir", None):
            raise BulkInputError("a directory of Parquet files is written to a directory", file=str(sink))
        if operation == "migrate" and legacy is None:
            raise BulkInputError("migrate needs legacy= (a decryptor from guomi.bulk.legacy)")
        self.index_options = _index_options(self.specs, index_options)
        if operation == "rewrap" and legacy is None:
            raise BulkInputError("rewrap needs legacy= (a guomi.bulk.legacy.RsaToSm2Rewrapper)")

    # ------------------------------------------------------------ pieces

    @property
    def aad_table(self) -> str:
        return self.table or DEFAULT_FILE_TABLE

    def legacy_for(self, column: str) -> Any:
        if isinstance(self.legacy, Mapping):
            if column not in self.legacy:
                raise BulkInputError("no legacy decryptor for this column", column=column)
            return self.legacy[column]
        return self.legacy

    def transform(self, *, file: str | None = None) -> BatchTransform:
        if self.operation == "rewrap":
            from guomi.bulk.legacy import RewrapTransform  # noqa: PLC0415 (legacy loads pyca only when asked)

            rewrappers = {spec.name: self.legacy_for(spec.name) for spec in self.specs}
            return RewrapTransform(self.specs, rewrappers, file=file)  # type: ignore[return-value]  # same shape
        ciphers = {
            spec.name: ColumnCipher(
                _keys.field_for(self.keys, self.aad_table, spec.name, spec.indexes, self.index_options),
                spec.name,
                file=file,
            )
            for spec in self.specs
        }
        legacy = (
            {spec.name: self.legacy_for(spec.name) for spec in self.specs}
            if self.operation == "migrate"
            else None
        )
        return BatchTransform(self.operation, self.specs, ciphers, legacy)

    def _partitions(self) -> str | None:
        """How Spark/Dask split a database table (``None`` for files and the embedded engine)."""
        if self.engine == "local" or self.source_kind != "database":
            return None
        from guomi.bulk._spark_tables import BATCHES_PER_PARTITION  # noqa: PLC0415 (SQLAlchemy only when asked)

        key = "key column " + self.key_column if self.key_column else "primary key"
        return (
            f"key ranges of the {key}, about {BATCHES_PER_PARTITION * self.batch_rows:,} rows each "
            f"(at least {self.workers})"
        )

    def plan(self) -> dict[str, Any]:
        """What :meth:`run` would do, without reading a value or touching a key."""
        return {
            "operation": self.operation,
            "source": _redact(str(self.source)) if self.source_kind == "database" else str(self.source),
            "source_kind": self.source_kind,
            "table": self.table or (DEFAULT_FILE_TABLE if self.source_kind != "database" else None),
            "sink": "(in place)"
            if self.sink is None
            else (_redact(str(self.sink)) if self.sink_kind == "database" else str(self.sink)),
            "sink_kind": self.sink_kind or "database (in place)",
            "columns": [{"name": s.name, "indexes": list(s.indexes)} for s in self.specs],
            "index_options": {
                n: {k: repr(v) if callable(v) else v for k, v in o.items()}
                for n, o in self.index_options.items()
            },
            "keys": self.keys.fingerprint.split(":")[0]
            if isinstance(self.keys, _keys.LocalKeys | _keys.ServiceKeys)
            else ("RSA private key -> SM2 public key" if self.operation == "rewrap" else "keyring"),
            "engine": self.engine,
            "partitions": self._partitions(),
            "workers": self.workers,
            "force": self.force,
            "sink_exists": (
                self.sink is not None and self.sink_kind != "database" and Path(str(self.sink)).exists()
            ),
        }

    # ------------------------------------------------------------ running

    def run(self) -> Summary:
        """Run the job; the output appears under its final name only when complete."""
        started = time.monotonic()
        if self.sink is not None and self.sink_kind != "database":
            check_output(Path(self.sink), force=self.force)
        if self.engine == "spark" and "database" in (self.source_kind, self.sink_kind):
            from guomi.bulk._spark_tables import run_tables  # noqa: PLC0415 (pyspark only when asked)

            summary = run_tables(self)
        elif self.engine == "spark":
            from guomi.bulk._spark import run_spark  # noqa: PLC0415 (pyspark only when asked)

            summary = run_spark(self)
        elif self.engine == "dask":
            from guomi.bulk._dask import run_dask  # noqa: PLC0415 (dask only when asked)

            summary = run_dask(self)
        elif self.source_kind == "database" or self.sink_kind == "database":
            from guomi.bulk._database import run_database  # noqa: PLC0415 (SQLAlchemy only when asked)

            summary = run_database(self)
        elif self.source_kind == "parquet-dir":
            summary = self._run_directory()
        else:
            summary = self._new_summary()
            with atomic_output(Path(str(self.sink)), force=self.force) as temp:
                self._run_file(Path(str(self.source)), temp, summary, csv_output=self.sink_kind == "csv")
        summary.seconds = time.monotonic() - started
        return summary

    def _new_summary(self) -> Summary:
        return Summary(
            operation=self.operation,
            source=self.plan()["source"],
            sink=self.plan()["sink"],
            engine=self.engine,
            workers=self.workers,
        )

    def _run_directory(self) -> Summary:
        summary = self._new_summary()
        source_dir = Path(str(self.source))
        files = parquet_files(source_dir)
        with atomic_output(Path(str(self.sink)), force=self.force, directory=True) as temp:
            for path in files:
                target = temp / path.relative_to(source_dir)
                target.parent.mkdir(parents=True, exist_ok=True)
                self._run_file(path, target, summary, csv_output=False)
        return summary

    def open_source(self, path: Path) -> CsvSource | ParquetSource:
        if path.suffix.lower() == ".csv":
            return CsvSource(path)
        return ParquetSource(path)

    def _run_file(self, source_path: Path, target: Path, summary: Summary, *, csv_output: bool) -> None:
        """One file through the pool: workers parse (CSV), transform and serialize (CSV);
        this thread only reads raw blocks and writes finished bytes, in order."""
        source = self.open_source(source_path)
        schema = source.schema()
        check_columns(schema, self.specs, source=str(source_path))
        transform = self.transform(file=str(source_path))
        out_schema = transform.output_schema(schema)
        summary.bytes += source.size_bytes()
        encrypted = {s.name for s in self.specs} if self.operation != "decrypt" else set()
        writer: CsvWriter | ParquetWriter
        if csv_output:
            writer = CsvWriter(target, out_schema)
        else:
            compression = source.compression() if isinstance(source, ParquetSource) else "snappy"
            writer = ParquetWriter(
                target,
                out_schema.with_metadata(schema.metadata),
                no_statistics=encrypted,
                compression=compression,
            )
        fast: CsvBlockEncryptor | None = None
        if (
            csv_output
            and isinstance(source, CsvSource)
            and CsvBlockEncryptor.applies(self.operation, self.specs)
        ):
            fast = CsvBlockEncryptor(source.names, self.specs, transform.ciphers)
        items: Iterator[tuple[Any, int, bool]]
        if isinstance(source, CsvSource):
            csv_source = source
            items = ((chunk, len(chunk), False) for chunk in csv_source.chunks())
        else:
            items = ((batch, batch.nbytes, end) for batch, end in source.batches_with_ends())

        def work(item: tuple[Any, int, bool]) -> tuple[Any, dict[str, ColumnStats], int, int, bool]:
            payload, nbytes, end = item
            if fast is not None and isinstance(payload, bytes):
                done = fast(payload)  # one Rust pass; None: take the general path below
                if done is not None:
                    data, rows, fast_stats = done
                    return data, fast_stats, rows, nbytes, end
            batch = csv_source.parse_chunk(payload) if isinstance(payload, bytes) else payload
            out, stats = transform(batch, 1)  # rows count from 1 here; shifted when consumed
            if not csv_output:
                return out, stats, batch.num_rows, nbytes, end
            # A quote-free CSV block holds no comma/quote/newline in any value, and encrypt,
            # rekey and reindex only add base64url text and integers: nothing needs quoting.
            # Decrypted values are checked, so a file whose input needed no quotes decrypts
            # back to the same bytes (pyarrow's "needed" style would quote every string).
            plain = (
                isinstance(payload, bytes)
                and b'"' not in payload
                and (self.operation in PLAIN_SAFE or not needs_quoting(out))
            )
            return csv_bytes(out, plain=plain), stats, batch.num_rows, nbytes, end

        offset = 0
        try:
            for data, stats, rows, nbytes, end in ordered_map(work, items, self.workers):
                writer.write(data)
                if end and isinstance(writer, ParquetWriter):
                    writer.end_row_group()
                sum_stats(summary.columns, stats)
                summary.rows += rows
                offset += rows
                if self.progress is not None:
                    self.progress(rows, nbytes)
        except BulkError as exc:
            raise shift_rows(exc, offset) from None
        finally:
            writer.close()
