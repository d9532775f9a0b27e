"""The embedded engine: one process, a thread pool over Arrow record batches.

Layer: ``guomi.bulk``. The field kernel releases the GIL, so threads give real
parallelism; batches are read in order on the calling thread, transformed on the pool
and written in order, with at most ``2 * workers`` batches in flight, so memory is
bounded by the batch size whatever the size of the input.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["default_workers", "ordered_map"]

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """All the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover (not Linux)
        return max(1, os.cpu_count() or 1)


def ordered_map(func: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``map(func, items)`` on ``workers`` threads, results in input order, bounded look-ahead."""
    if workers <= 1:
        for item in items:
            yield func(item)
        return
    pending: deque[Future[R]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="guomi-bulk") as pool:
        try:
            for item in items:
                pending.append(pool.submit(func, item))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
