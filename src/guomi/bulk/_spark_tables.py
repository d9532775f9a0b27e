"""Spark over database tables: key-range partitions read and written through SQLAlchemy.

Layer: ``guomi.bulk``. Spark's JDBC source would need a JDBC driver jar on the cluster and
reads with its own type mapping; instead the driver splits the table's key (the primary key,
or ``key_column``) into ranges, makes a DataFrame of one range per partition and runs
``mapInArrow`` over it. Each task opens the database with SQLAlchemy (the same URL and
driver as the embedded engine), walks its range by keyset pagination (``key > last AND
key <= hi ORDER BY key LIMIT n``), runs the job's :class:`~guomi.bulk._transform.BatchTransform`
(keys from the worker's cache) and:

- **in place** (no sink): writes each batch with the embedded engine's compare-and-set
  writer (``_database``'s, see :func:`_cas_writer`) in one transaction with the range's
  checkpoint row (``JOBID:pN`` in ``guomi_bulk_checkpoint``). The ranges themselves are
  saved first (``JOBID:ranges``), so a killed job restarts with the same ranges and
  each range resumes after its last committed batch: every row is processed exactly once,
  and a row the application changed since the read is re-read, never overwritten. A
  checkpoint left by a killed embedded-engine run of the same job is taken as the start;
  every checkpoint row of the job is deleted when all ranges are done.
- **into a new table** (a database sink): inserts into the table the driver created under a
  temporary name; the driver renames it when every task is done (drops it on failure).
- **into files**: yields the batches, written by the Spark engine's file sink.

A file source with a database sink reads the files with Spark and inserts likewise.

The workers and the in-place/new-table drivers are engine-neutral (a worker takes an Arrow
batch of ranges; :data:`RunRanges` says how an engine runs them), so the Dask adapter
(:mod:`guomi.bulk._dask`) runs the same code on Dask's processes.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlalchemy as sa

from guomi.bulk import _database as db
from guomi.bulk._errors import BulkError, BulkValueError
from guomi.bulk._kernel import ColumnStats
from guomi.bulk._spark import (
    _arrow_schema_of,
    _Task,
    new_counters,
    read_files,
    spark_schema,
    spark_session,
    worker_errors,
    write_file_sink,
)
from guomi.bulk._transform import BatchTransform, check_columns, sum_stats
from guomi.fields import CasWriter, tune_transaction

if TYPE_CHECKING:
    from guomi.bulk._job import Job, Summary

__all__ = [
    "BATCHES_PER_PARTITION",
    "RunRanges",
    "in_place",
    "key_ranges",
    "ranges_batch",
    "run_tables",
    "spark_runner",
    "table_to_table",
]

BATCHES_PER_PARTITION = 8
"""Key ranges hold about this many batches (``batch_rows``) each; at least ``workers`` ranges."""
MAX_PARTITIONS = 10_000
PLAN_SUFFIX = ":ranges"

_STATS = pa.schema(
    [
        ("rows", pa.int64()),
        ("bytes", pa.int64()),
        ("conflicts", pa.int64()),
        ("resumed", pa.int64()),
        ("columns", pa.string()),
    ]
)


# ---------------------------------------------------------------- driver side


def key_ranges(
    engine: sa.Engine, table: sa.Table, key: sa.Column[Any], start: Any, *, batch_rows: int, workers: int
) -> list[tuple[Any, Any]]:
    """``(lo, hi)`` ranges (``lo < key <= hi``, ``None`` = open) covering the rows after
    ``start``, of about equal row counts: boundaries are the keys at evenly spaced offsets.
    The last range is open, so rows inserted beyond the current maximum are covered too."""
    after = [] if start is None else [key > start]
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(table).where(*after)).scalar_one()
        parts = max(workers, math.ceil(count / (batch_rows * BATCHES_PER_PARTITION)))
        parts = max(1, min(parts, MAX_PARTITIONS, count))
        bounds: list[Any] = []
        for i in range(1, parts):
            offset = count * i // parts - 1
            value = conn.execute(sa.select(key).where(*after).order_by(key).offset(offset).limit(1)).scalar()
            if value is not None and (not bounds or value != bounds[-1]):
                bounds.append(value)
    edges = [start, *bounds, None]
    return list(itertools.pairwise(edges))


def _ranges_frame(spark: Any, ranges: list[tuple[Any, Any]]) -> Any:
    """A DataFrame of the ranges, one per partition (keys as JSON, as the checkpoint keeps them)."""
    rows = [(i, json.dumps(lo), json.dumps(hi)) for i, (lo, hi) in enumerate(ranges)]
    rdd = spark.sparkContext.parallelize(rows, len(rows))
    return spark.createDataFrame(rdd, "part int, lo string, hi string")


def _stats_spark_schema() -> Any:
    return spark_schema(_STATS)


WorkerRun = Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]
RunRanges = Callable[[WorkerRun, list[tuple[Any, Any]]], list[Any]]
"""How an engine runs a worker over key ranges: ``run(worker, ranges)`` calls ``worker`` on
an Arrow batch of ``part, lo, hi`` rows (one range per task) and returns the stats rows."""


def ranges_batch(ranges: list[tuple[int, Any, Any]]) -> pa.RecordBatch:
    """``part, lo, hi`` rows (keys as JSON) for a worker, as an engine hands them to a task."""
    rows = [{"part": i, "lo": json.dumps(lo), "hi": json.dumps(hi)} for i, lo, hi in ranges]
    return pa.RecordBatch.from_pylist(
        rows, schema=pa.schema([("part", pa.int32()), ("lo", pa.string()), ("hi", pa.string())])
    )


def spark_runner(spark: Any) -> RunRanges:
    """Ranges as a DataFrame, one per partition, the worker in ``mapInArrow``."""

    def run(worker: WorkerRun, ranges: list[tuple[Any, Any]]) -> list[Any]:
        return list(_ranges_frame(spark, ranges).mapInArrow(worker, _stats_spark_schema()).collect())

    return run


def _add_stats(summary: Summary, rows: list[Any]) -> None:
    for row in rows:
        summary.rows += row["rows"]
        summary.bytes += row["bytes"]
        summary.conflicts += row["conflicts"]
        summary.resumed_from += row["resumed"]
        sum_stats(summary.columns, _decode_columns(row["columns"]))


def _encode_columns(stats: dict[str, ColumnStats]) -> str:
    return json.dumps(
        {n: [s.processed, s.skipped, s.nulls, sorted(s.key_versions)] for n, s in stats.items()}
    )


def _decode_columns(text: str) -> dict[str, ColumnStats]:
    return {
        n: ColumnStats(processed=p, skipped=k, nulls=z, key_versions=set(v))
        for n, (p, k, z, v) in json.loads(text).items()
    }


def in_place(job: Job, summary: Summary, run_ranges: RunRanges) -> None:
    """A table in place, its key ranges run by ``run_ranges`` (Spark or Dask)."""
    url = str(job.source)
    engine = db.connect(url)
    try:
        table = db._reflect(engine, str(job.table), url)
        key = db._key_column(table, job, url)
        read, targets = db.in_place_columns(table, job, url)
        schema = db._schema(table, read)
        label = f"table {table.name}"
        check_columns(schema, job.specs, source=f"{db._label(url)} {label}")
        task = _Task.of(job, label)
        task.output_schema(schema)  # local keys opened once here; the service is asked by workers only
        base = db._job_id(job, table.name)
        checkpoints = db._Checkpoint(engine, base, table.name)
        plan = db._Checkpoint(engine, base + PLAN_SUFFIX, table.name)
        with engine.connect() as conn:
            saved_plan = plan.load(conn)
            local = checkpoints.load(conn)  # an embedded-engine run of this job killed midway
        if saved_plan is not None:
            stored = saved_plan[0]
            ranges = [(lo, hi) for lo, hi in stored["ranges"]]
        else:
            start, done = local if local is not None else (None, 0)
            ranges = key_ranges(engine, table, key, start, batch_rows=job.batch_rows, workers=job.workers)
            with engine.begin() as conn:
                plan.save(conn, {"ranges": ranges, "local_rows": done}, len(ranges), exists=False)
            stored = {"ranges": ranges, "local_rows": done}
        summary.resumed_from += int(stored.get("local_rows", 0))
        worker = _InPlaceRanges(
            task,
            url,
            table.name,
            key=key.name,
            read=read,
            targets=targets,
            batch_rows=job.batch_rows,
            job_id=base,
        )
        _add_stats(summary, run_ranges(worker.run, ranges))
        with engine.begin() as conn:
            cp = checkpoints.table
            conn.execute(cp.delete().where(sa.or_(cp.c.job_id == base, cp.c.job_id.like(base + ":%"))))
    finally:
        engine.dispose()


def _open_source_table(job: Job) -> tuple[str, str, str, list[str], _Task, pa.Schema, list[tuple[Any, Any]]]:
    """``(url, table, key, columns, task, output schema, key ranges)`` of a table to copy."""
    url = str(job.source)
    engine = db.connect(url)
    try:
        table = db._reflect(engine, str(job.table), url)
        key = db._key_column(table, job, url)
        names = [c.name for c in table.columns]
        schema = db._schema(table, names)
        label = f"table {table.name}"
        check_columns(schema, job.specs, source=f"{db._label(url)} {label}")
        task = _Task.of(job, label)
        out_schema = task.output_schema(schema)
        ranges = key_ranges(engine, table, key, None, batch_rows=job.batch_rows, workers=job.workers)
    finally:
        engine.dispose()
    return url, table.name, key.name, names, task, out_schema, ranges


def table_to_table(job: Job, summary: Summary, run_ranges: RunRanges) -> None:
    """A table copied into a new table (temporary name, renamed when every range is done)."""
    url, name, key, names, task, out_schema, ranges = _open_source_table(job)
    target = db._NewTable(str(job.sink), str(job.sink_table or job.table), out_schema, key, job.force)
    try:
        reader = _RangeReader(task, url, name, key=key, columns=names, batch_rows=job.batch_rows)
        worker = _Inserter(reader, str(job.sink), target.temp, list(out_schema.names))
        _add_stats(summary, run_ranges(worker.run, ranges))
        target.commit()
    except BaseException:
        target.abort()
        raise
    target.engine.dispose()


def _table_to_files(job: Job, spark: Any, summary: Summary) -> None:
    url, name, key, names, task, out_schema, ranges = _open_source_table(job)
    counters = new_counters(spark)
    reader = _RangeReader(task, url, name, key=key, columns=names, batch_rows=job.batch_rows)
    result = _ranges_frame(spark, ranges).mapInArrow(
        lambda batches: reader.transformed(batches, counters), spark_schema(out_schema)
    )
    write_file_sink(job, result, out_schema)
    value = counters.value
    summary.rows, summary.bytes, summary.columns = value["rows"], value["bytes"], value["columns"]


def _copy_from_files(job: Job, spark: Any, summary: Summary) -> None:
    df = read_files(spark, job)
    in_schema = _arrow_schema_of(df)
    check_columns(in_schema, job.specs, source=str(job.source))
    task = _Task.of(job, str(job.source))
    out_schema = task.output_schema(in_schema)
    target = db._NewTable(
        str(job.sink), str(job.sink_table or job.table), out_schema, job.key_column, job.force
    )
    try:
        worker = _Inserter(_BatchSource(task), str(job.sink), target.temp, list(out_schema.names))
        _add_stats(summary, df.mapInArrow(worker.run, _stats_spark_schema()).collect())
        target.commit()
    except BaseException:
        target.abort()
        raise
    target.engine.dispose()


def run_tables(job: Job) -> Summary:
    """A job whose source or sink is a database table, on Spark."""
    spark = spark_session(job.workers)
    summary = job._new_summary()
    with worker_errors():
        _run_tables(job, spark, summary)
    return summary


def _run_tables(job: Job, spark: Any, summary: Summary) -> None:
    if job.source_kind == "database" and job.sink is None:
        in_place(job, summary, spark_runner(spark))
    elif job.source_kind == "database" and job.sink_kind == "database":
        table_to_table(job, summary, spark_runner(spark))
    elif job.source_kind == "database":
        _table_to_files(job, spark, summary)
    else:
        _copy_from_files(job, spark, summary)


# ---------------------------------------------------------------- worker side


def _ranges_of(batches: Iterator[pa.RecordBatch]) -> Iterator[tuple[int, Any, Any]]:
    for batch in batches:
        for row in batch.to_pylist():
            yield row["part"], json.loads(row["lo"]), json.loads(row["hi"])


def _stats_batch(
    rows: int, nbytes: int, conflicts: int, resumed: int, stats: dict[str, ColumnStats]
) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(
        [
            {
                "rows": rows,
                "bytes": nbytes,
                "conflicts": conflicts,
                "resumed": resumed,
                "columns": _encode_columns(stats),
            }
        ],
        schema=_STATS,
    )


def _run_transform(
    transform: BatchTransform, batch: pa.RecordBatch, keys: list[Any], table: str, key: str
) -> tuple[pa.RecordBatch, dict[str, ColumnStats]]:
    """The transform, an error naming the row by its key (rows of a range have no file position)."""
    try:
        return transform(batch, 0)
    except BulkValueError as exc:
        at = (
            f" (the row with {key} = {keys[exc.row]!r})"
            if exc.row is not None and exc.row < len(keys)
            else ""
        )
        raise BulkValueError(exc.detail + at, file=f"table {table}", column=exc.column) from None


CasWrite = Callable[[sa.Connection, list[tuple[Any, ...]]], list[Any]]
"""``write(conn, rows) -> keys not written``; rows are ``(key, *old checked, *new targets)``."""


def _cas_writer(
    engine: sa.Engine, table: sa.Table, key: sa.Column[Any], checked: list[str], targets: list[str]
) -> CasWrite:
    """The embedded engine's compare-and-set write path (``guomi.fields.CasWriter`` behind
    ``_database._write``), called rather than copied so both engines write alike."""
    with engine.connect() as conn:
        writer = CasWriter(conn, table.name, key.name, checked, targets)

    def write(conn: sa.Connection, rows: list[tuple[Any, ...]]) -> list[Any]:
        return list(db._write(writer, conn, rows)) if rows else []

    return write


class _RangeReader:
    """Reads a key range by keyset pagination: ``(keys, batch)`` per page."""

    def __init__(
        self, task: _Task, url: str, table: str, *, key: str, columns: list[str], batch_rows: int
    ) -> None:
        self.task = task
        self.url = url
        self.table = table
        self.key = key
        self.columns = columns
        self.batch_rows = batch_rows

    def pages(
        self, engine: sa.Engine, table: sa.Table, schema: pa.Schema, last: Any, hi: Any
    ) -> Iterator[tuple[list[Any], pa.RecordBatch]]:
        key = table.c[self.key]
        cols = [key.label("guomi_bulk_key"), *(table.c[n] for n in schema.names)]
        while True:
            query = sa.select(*cols).order_by(key).limit(self.batch_rows)
            if last is not None:
                query = query.where(key > last)
            if hi is not None:
                query = query.where(key <= hi)
            with engine.connect() as conn:
                tune_transaction(conn)
                keys, batch = db._fetch(conn, query, schema)
            if batch is None:
                return
            yield keys, batch
            last = keys[-1]

    def open(self) -> tuple[sa.Engine, sa.Table, pa.Schema]:
        engine = db.connect(self.url)
        table = db._reflect(engine, self.table, self.url)
        return engine, table, db._schema(table, self.columns)

    def batches(
        self, ranges: Iterator[pa.RecordBatch]
    ) -> Iterator[tuple[pa.RecordBatch, dict[str, ColumnStats], int]]:
        """``(transformed batch, stats, input bytes)`` for every page of every range."""
        transform = self.task.transform()
        engine, table, schema = self.open()
        try:
            for _, lo, hi in _ranges_of(ranges):
                for keys, batch in self.pages(engine, table, schema, lo, hi):
                    out, stats = _run_transform(transform, batch, keys, self.table, self.key)
                    yield out, stats, batch.nbytes
        finally:
            engine.dispose()

    def transformed(self, ranges: Iterator[pa.RecordBatch], counters: Any) -> Iterator[pa.RecordBatch]:
        for out, stats, nbytes in self.batches(ranges):
            counters.add({"rows": out.num_rows, "bytes": nbytes, "columns": stats})
            yield out


class _BatchSource:
    """Spark's own batches (a file source) through the transform, as a reader's ``batches``."""

    def __init__(self, task: _Task) -> None:
        self.task = task

    def batches(
        self, batches: Iterator[pa.RecordBatch]
    ) -> Iterator[tuple[pa.RecordBatch, dict[str, ColumnStats], int]]:
        transform = self.task.transform()
        for batch in batches:
            out, stats = transform(batch, 0)
            yield out, stats, batch.nbytes


class _Inserter:
    """Inserts transformed batches into the new table (its temporary name); one stats row per task."""

    def __init__(
        self, source: _RangeReader | _BatchSource, url: str, temp_table: str, columns: list[str]
    ) -> None:
        self.source = source
        self.url = url
        self.temp_table = temp_table
        self.columns = columns

    def run(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        engine = db.connect(self.url)
        try:
            table = db._reflect(engine, self.temp_table, self.url)
            rows = nbytes = 0
            total: dict[str, ColumnStats] = {}
            for out, stats, size in self.source.batches(batches):
                values = out.select(self.columns).to_pylist()
                if values:
                    with engine.begin() as conn:
                        conn.execute(table.insert(), values)
                rows += out.num_rows
                nbytes += size
                sum_stats(total, stats)
            yield _stats_batch(rows, nbytes, 0, 0, total)
        finally:
            engine.dispose()


class _InPlaceRanges:
    """In place, one range after another: read a page, transform, compare-and-set write with
    the range's checkpoint in one transaction (the embedded engine's writer and checkpoint)."""

    def __init__(
        self,
        task: _Task,
        url: str,
        table: str,
        *,
        key: str,
        read: list[str],
        targets: list[str],
        batch_rows: int,
        job_id: str,
    ) -> None:
        self.reader = _RangeReader(task, url, table, key=key, columns=read, batch_rows=batch_rows)
        self.checked = [s.name for s in task.specs]
        self.targets = targets
        self.job_id = job_id

    def run(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        transform = self.reader.task.transform()
        engine, table, schema = self.reader.open()
        try:
            for part in _ranges_of(batches):
                yield self._range(engine, table, schema, transform, part)
        finally:
            engine.dispose()

    def _range(
        self,
        engine: sa.Engine,
        table: sa.Table,
        schema: pa.Schema,
        transform: BatchTransform,
        part: tuple[int, Any, Any],
    ) -> pa.RecordBatch:
        number, lo, hi = part
        key = table.c[self.reader.key]
        writer = _cas_writer(engine, table, key, self.checked, self.targets)
        checkpoint = db._Checkpoint(engine, f"{self.job_id}:p{number}", table.name)
        with engine.connect() as conn:
            saved = checkpoint.load(conn)
        last, done = saved if saved is not None else (lo, 0)
        exists, resumed = saved is not None, done
        rows = nbytes = conflicts = 0
        total: dict[str, ColumnStats] = {}
        for keys, before in self.reader.pages(engine, table, schema, last, hi):
            after, stats = _run_transform(transform, before, keys, table.name, key.name)
            changed = db._changed_rows(keys, before, after, self.checked, self.targets)
            with engine.begin() as conn:
                tune_transaction(conn)
                conflicts += self._write(conn, writer, transform, changed, table=table, schema=schema)
                checkpoint.save(conn, keys[-1], done + len(keys), exists=exists)
            exists = True
            done += len(keys)
            rows += len(keys)
            nbytes += before.nbytes
            sum_stats(total, stats)
        return _stats_batch(rows, nbytes, conflicts, resumed, total)

    def _write(
        self,
        conn: sa.Connection,
        writer: CasWrite,
        transform: BatchTransform,
        changed: list[tuple[Any, ...]],
        *,
        table: sa.Table,
        schema: pa.Schema,
    ) -> int:
        """Compare-and-set, re-reading (locked) and redoing the rows the application changed
        since the read, as the embedded engine does; returns how many were re-read."""
        key = table.c[self.reader.key]
        missed = writer(conn, changed)
        conflicts = rounds = 0
        while missed:
            rounds += 1
            conflicts += len(missed)
            if rounds > db.MAX_CAS_ROUNDS:
                raise BulkError(
                    f"rows kept changing under the job ({len(missed)} after {db.MAX_CAS_ROUNDS} re-reads); "
                    "run it again",
                    file=f"table {table.name}",
                )
            again = sa.select(key, *(table.c[n] for n in schema.names)).where(key.in_(missed)).order_by(key)
            if conn.dialect.name == "postgresql":
                again = again.with_for_update()
            fresh_keys, fresh = db._fetch(conn, again, schema)
            if fresh is None:  # deleted by the application meanwhile
                break
            fresh_after, _ = _run_transform(transform, fresh, fresh_keys, table.name, key.name)
            redo = db._changed_rows(fresh_keys, fresh, fresh_after, self.checked, self.targets)
            missed = writer(conn, redo)
        return conflicts
