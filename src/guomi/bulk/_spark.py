"""The Apache Spark engine: the same batch transform inside ``DataFrame.mapInArrow``.

Layer: ``guomi.bulk``. ``Job(..., engine="spark")`` reads the source with Spark (CSV as
strings, Parquet as is), runs :class:`~guomi.bulk._transform.BatchTransform` on each Arrow
record batch in Spark's Python workers, and writes the sink: a Parquet directory as Spark
writes it, or one CSV/Parquet file assembled in partition order from Spark's part files.
Values are produced by the same field kernel as the embedded engine, so either engine
decrypts what the other wrote. Database tables (a database source or sink) go to
:mod:`guomi.bulk._spark_tables` (key-range partitions read through SQLAlchemy).

Errors raised in a worker come back as Spark exceptions carrying the worker's traceback as
text; :func:`worker_errors` raises them again as the guomi error they were.

Keys: the job's :class:`~guomi.bulk._keys.KeySource` travels in the task closure (never in
a query plan or a SQL literal, unlike ``aes_encrypt``'s key); each Python worker builds its
keyring once and caches it in the module (Spark reuses Python workers), so a service-backed
job unwraps at most once per worker process; the driver computes the output schema without
keys, so it never calls the service (at most workers x key versions calls per job).

The session is the active one, or ``local[N]`` (N = ``workers``, default all cores) with
the workers running this interpreter.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from guomi.bulk import _errors, _keys
from guomi.bulk._atomic import TEMP_MARK, atomic_output
from guomi.bulk._columns import ColumnSpec
from guomi.bulk._errors import BulkError, BulkInputError
from guomi.bulk._files import CsvSource, ParquetSource, parquet_files
from guomi.bulk._kernel import ColumnCipher, ColumnStats
from guomi.bulk._transform import BatchTransform, check_columns

if TYPE_CHECKING:
    from guomi.bulk._job import Job, Summary

__all__ = ["run_spark", "spark_schema", "spark_session", "worker_errors", "write_file_sink"]


def spark_session(workers: int | None = None) -> Any:
    """The active SparkSession, or a local one whose Python workers run this interpreter."""
    try:
        from pyspark.sql import SparkSession  # noqa: PLC0415
    except ImportError:
        raise BulkInputError("engine 'spark' needs PySpark: pip install 'guomi[spark]'") from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    master = f"local[{workers}]" if workers else "local[*]"
    return (
        SparkSession.builder.master(master)
        .appName("guomi-bulk")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


class _Task:
    """What each Spark task needs: picklable, and building its fields from the worker cache."""

    def __init__(
        self,
        keys: Any,
        table: str,
        specs: tuple[ColumnSpec, ...],
        operation: Any,
        legacy: Any,
        *,
        label: str | None = None,
        index_options: Any = None,
    ) -> None:
        self.keys = keys
        self.table = table
        self.specs = specs
        self.operation = operation
        self.legacy = legacy
        self.label = label
        self.index_options = index_options

    @classmethod
    def of(cls, job: Job, label: str | None = None) -> _Task:
        legacy = (
            {s.name: job.legacy_for(s.name) for s in job.specs}
            if job.operation in ("migrate", "rewrap")
            else None
        )
        return cls(
            job.keys,
            job.aad_table,
            job.specs,
            job.operation,
            legacy,
            label=label,
            index_options=job.index_options,
        )

    def transform(self) -> BatchTransform:
        """The batch transform, its fields from this process's key cache (unwrapped once here)."""
        if self.operation == "rewrap":
            from guomi.bulk.legacy import RewrapTransform  # noqa: PLC0415

            return RewrapTransform(self.specs, self.legacy, file=self.label)  # type: ignore[return-value]
        ciphers = {
            s.name: ColumnCipher(
                _keys.field_for(self.keys, self.table, s.name, s.indexes, self.index_options),
                s.name,
                file=self.label,
            )
            for s in self.specs
        }
        return BatchTransform(self.operation, self.specs, ciphers, self._legacy())

    def _legacy(self) -> dict[str, Any] | None:
        return {s.name: self.legacy[s.name] for s in self.specs} if self.operation == "migrate" else None

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        """The output schema, computed on the driver without keys: the driver never asks the
        custody service, so service calls come from the worker processes only. Local keys are
        opened once here to fail early on a bad keyset (no service involved)."""
        if not isinstance(self.keys, _keys.ServiceKeys):
            self.transform()
        if self.operation == "rewrap":
            return schema
        return BatchTransform(self.operation, self.specs, {}, self._legacy()).output_schema(schema)

    def __call__(self, batches: Iterator[pa.RecordBatch], counters: Any) -> Iterator[pa.RecordBatch]:
        transform = self.transform()
        done = 0
        for batch in batches:
            try:
                out, stats = transform(batch, 1)
            except BulkError as exc:
                raise _in_partition(exc, done) from None
            done += batch.num_rows
            counters.add({"rows": batch.num_rows, "bytes": 0, "columns": stats})
            yield out


def _in_partition(exc: BulkError, done: int) -> BulkError:
    """A worker's error with its row counted in the Spark partition (Spark splits a file into
    partitions in order; the row number in the whole file is not known to a task)."""
    if exc.row is None:
        return exc
    from pyspark import TaskContext  # noqa: PLC0415

    context = TaskContext.get()
    partition = context.partitionId() if context is not None else 0
    where = f" (row {done + exc.row} of Spark partition {partition}; --engine local gives the file's row)"
    return type(exc)(exc.detail + where, file=exc.file, column=exc.column)


def _counters_param() -> Any:
    from pyspark.accumulators import AccumulatorParam  # noqa: PLC0415

    class Counters(AccumulatorParam):  # type: ignore[type-arg]
        def zero(self, value: Any) -> dict[str, Any]:
            return {"rows": 0, "bytes": 0, "columns": {}}

        def addInPlace(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
            a["rows"] += b["rows"]
            a["bytes"] += b["bytes"]
            for name, stat in b["columns"].items():
                a["columns"].setdefault(name, ColumnStats()).add(stat)
            return a

    return Counters()


def new_counters(spark: Any) -> Any:
    """An accumulator of rows, bytes and per-column stats, summed over the tasks."""
    return spark.sparkContext.accumulator({"rows": 0, "bytes": 0, "columns": {}}, _counters_param())


@contextlib.contextmanager
def worker_errors() -> Iterator[None]:
    """A job's error raised in a Spark worker comes back as a Spark exception holding the
    worker's traceback as text: raise it again here as the guomi error it was (its message
    names the file/table, row and column, never a value). Other worker failures become a
    :class:`BulkError` with the exception's first line only (database errors append the SQL
    and its parameters on later lines, which may hold plaintext)."""
    try:
        yield
    except BulkError:
        raise
    except Exception as exc:
        if type(exc).__name__ not in _SPARK_ERRORS:
            raise
        text = str(exc)
        ours = re.findall(r"guomi\.bulk\._errors\.(\w+): ([^\n]*)", text)
        if ours:
            name, message = ours[-1]
            kind = getattr(_errors, name, BulkError)
            raise kind(message) from None
        other = re.findall(r"^([A-Za-z_][\w.]*(?:Error|Exception)): ([^\n]*)$", text, re.MULTILINE)
        if other:
            name, message = other[-1]
            raise BulkError(f"a Spark task failed: {name.rsplit('.', 1)[-1]}: {message}") from None
        raise BulkError(f"a Spark task failed ({type(exc).__name__})") from None


_SPARK_ERRORS = frozenset({"PythonException", "Py4JJavaError", "SparkException", "SparkRuntimeException"})


def spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql import types as T  # noqa: PLC0415

    def convert(type_: pa.DataType) -> Any:
        if pa.types.is_string(type_) or pa.types.is_large_string(type_):
            return T.StringType()
        if pa.types.is_binary(type_) or pa.types.is_large_binary(type_):
            return T.BinaryType()
        if pa.types.is_int64(type_):
            return T.LongType()
        if pa.types.is_int32(type_):
            return T.IntegerType()
        if pa.types.is_floating(type_):
            return T.DoubleType()
        if pa.types.is_boolean(type_):
            return T.BooleanType()
        raise BulkInputError(f"column type {type_} is not supported on the spark engine")

    return T.StructType([T.StructField(f.name, convert(f.type), True) for f in schema])


def _arrow_schema_of(df: Any) -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema  # noqa: PLC0415

    return to_arrow_schema(df.schema)


def read_files(spark: Any, job: Job) -> Any:
    path = Path(str(job.source))
    if job.source_kind == "csv":
        CsvSource(path)  # header and existence checks, with our errors
        return (
            spark.read.option("header", True)
            .option("inferSchema", False)
            .option("multiLine", True)
            .option("escape", '"')
            .option("mode", "FAILFAST")
            .csv(str(path))
        )
    if job.source_kind == "parquet":
        ParquetSource(path)
        return spark.read.parquet(str(path))
    if job.source_kind == "parquet-dir":
        for f in parquet_files(path):
            ParquetSource(f)
        return spark.read.parquet(str(path))
    raise BulkInputError("the spark engine reads CSV, Parquet and database tables", file=str(job.source))


def _assemble(parts_dir: Path, final_temp: Path, csv_output: bool, header: list[str]) -> None:
    """One file from Spark's part files, in partition order."""
    parts = sorted(p for p in parts_dir.iterdir() if p.name.startswith("part-"))
    if csv_output:
        with open(final_temp, "wb") as out:
            out.write((",".join(_csv_quote(h) for h in header) + "\n").encode())
            for part in parts:
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        return
    writer = None
    try:
        for part in parts:
            pf = pq.ParquetFile(part)
            for group in range(pf.num_row_groups):
                table = pf.read_row_group(group)
                if writer is None:
                    writer = pq.ParquetWriter(str(final_temp), table.schema)
                writer.write_table(table)
        if writer is None:
            raise BulkInputError("Spark wrote no output")
    finally:
        if writer is not None:
            writer.close()


def _csv_quote(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_file_sink(job: Job, result: Any, out_schema: pa.Schema) -> None:
    """Write a transformed DataFrame to the job's file sink (appears only when complete)."""
    sink = Path(str(job.sink))
    if job.sink_kind == "parquet-dir":
        with atomic_output(sink, force=job.force) as temp:
            result.write.mode("error").parquet(str(temp))
            for marker in temp.glob("_SUCCESS"):
                marker.unlink()
            for crc in temp.glob(".*.crc"):
                crc.unlink()
        return
    parts_dir = sink.parent / f".{sink.name}{TEMP_MARK}spark-parts"
    shutil.rmtree(parts_dir, ignore_errors=True)
    try:
        if job.sink_kind == "csv":
            result.write.option("header", False).option("escape", '"').option("quoteAll", False).option(
                "emptyValue", '""'
            ).csv(str(parts_dir))
        else:
            result.write.parquet(str(parts_dir))
        with atomic_output(sink, force=job.force) as temp:
            _assemble(parts_dir, temp, job.sink_kind == "csv", list(out_schema.names))
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)


def run_spark(job: Job) -> Summary:
    """Run ``job`` (files in, files out) on Spark; same values as the embedded engine. Jobs
    with a database table are :func:`guomi.bulk._spark_tables.run_tables`'s."""
    spark = spark_session(job.workers)
    summary = job._new_summary()
    with worker_errors():
        df = read_files(spark, job)
        in_schema = _arrow_schema_of(df)
        check_columns(in_schema, job.specs, source=str(job.source))
        task = _Task.of(job, str(job.source))
        out_schema = task.output_schema(in_schema)
        counters = new_counters(spark)
        result = df.mapInArrow(lambda batches: task(batches, counters), spark_schema(out_schema))
        write_file_sink(job, result, out_schema)
    value = counters.value
    summary.rows = value["rows"]
    summary.columns = value["columns"]
    source_path = Path(str(job.source))
    summary.bytes = (
        source_path.stat().st_size
        if source_path.is_file()
        else sum(p.stat().st_size for p in source_path.rglob("*") if p.is_file())
    )
    return summary
