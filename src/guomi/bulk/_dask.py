"""The Dask adapter: database-table jobs as Dask tasks, one per key range.

Layer: ``guomi.bulk``. ``Job(..., engine="dask")`` / ``--engine dask`` runs the key-range
workers of :mod:`guomi.bulk._spark_tables` (engine-neutral: a worker takes an Arrow batch of
ranges) as ``dask.delayed`` tasks: a table **in place** (the embedded engine's
compare-and-set writer, one checkpoint per range, the ranges saved first, so a failed or
killed job run again resumes every range where it stopped; the same ranges and checkpoints
as the Spark engine, so either engine resumes the other's job) or **into a new table**.
Files are not handled here: Dask's own CSV/Parquet readers re-type columns through pandas,
which would not keep the schema and bytes the other engines keep; use ``local`` or ``spark``.

Scheduler: the connected ``dask.distributed`` client when there is one, else Dask's
configured scheduler, else the local ``processes`` scheduler with ``workers`` processes.
Each worker process builds the job's keyring once (the per-process cache of
:mod:`guomi.bulk._keys`), so a custody-service key is unwrapped at most workers x key
versions times, whatever the number of ranges.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from guomi.bulk._errors import BulkInputError
from guomi.bulk._spark_tables import RunRanges, WorkerRun, in_place, ranges_batch, table_to_table

if TYPE_CHECKING:
    from guomi.bulk._job import Job, Summary

__all__ = ["dask_runner", "run_dask"]


def _run_range(worker: WorkerRun, part: int, lo: Any, hi: Any) -> list[dict[str, Any]]:
    """One Dask task: the worker over one range; its stats rows."""
    rows: list[dict[str, Any]] = []
    for batch in worker(iter([ranges_batch([(part, lo, hi)])])):
        rows.extend(batch.to_pylist())
    return rows


def _scheduler(workers: int) -> dict[str, Any]:
    import dask  # noqa: PLC0415

    try:
        importlib.import_module("distributed").default_client()
        return {}  # a connected cluster runs the tasks
    except (ImportError, ValueError):
        pass
    if dask.config.get("scheduler", None):
        return {}
    return {"scheduler": "processes", "num_workers": workers}


def dask_runner(workers: int) -> RunRanges:
    """Each range a ``dask.delayed`` task, computed together on the scheduler."""

    def run(worker: WorkerRun, ranges: list[tuple[Any, Any]]) -> list[Any]:
        from dask.base import compute  # noqa: PLC0415
        from dask.delayed import delayed  # noqa: PLC0415

        tasks = [
            delayed(_run_range, pure=False)(worker, part, lo, hi) for part, (lo, hi) in enumerate(ranges)
        ]
        results = compute(*tasks, **_scheduler(workers))  # type: ignore[no-untyped-call]
        return [row for rows in results for row in rows]

    return run


def run_dask(job: Job) -> Summary:
    """Run a database-table ``job`` on Dask."""
    try:
        import dask  # noqa: F401, PLC0415
    except ImportError:
        raise BulkInputError("engine 'dask' needs Dask: pip install 'guomi[dask]'") from None
    summary = job._new_summary()
    if job.source_kind == "database" and job.sink is None:
        in_place(job, summary, dask_runner(job.workers))
    elif job.source_kind == "database" and job.sink_kind == "database":
        table_to_table(job, summary, dask_runner(job.workers))
    else:
        raise BulkInputError(
            "the dask engine runs database tables (in place, or into a new table); "
            "for files use --engine local or spark",
            file=str(job.source) if job.source_kind != "database" else str(job.sink),
        )
    return summary
