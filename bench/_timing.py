"""Shared by the benchmarks that say where the time goes: wrap functions so that the seconds
spent inside them (summed over every thread that calls them) add up in a dict."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


def time_into(spent: dict[str, float]) -> Callable[[str, Callable[..., Any]], Callable[..., Any]]:
    """``timed(kind, fn)``: ``fn`` wrapped to add its seconds to ``spent[kind]`` (thread-safe)."""
    lock = threading.Lock()

    def timed(kind: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                with lock:
                    spent[kind] += time.perf_counter() - t

        return wrapper

    return timed
