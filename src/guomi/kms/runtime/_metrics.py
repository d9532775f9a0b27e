"""Prometheus metrics of one server process: requests, latencies, errors, seal state, key operations.

Layer: ``guomi.kms.runtime``.  Counted by :class:`~guomi.kms.runtime.OperationsGuard` around
every request; exposed at ``GET /v1/sys/metrics`` in the Prometheus text format 0.0.4 (a few
counters and one histogram, written out here rather than through a client library).  Labels
are bounded: the route family (``encrypt``, ``sys/unseal``...), never a key name or a path.
"""

from __future__ import annotations

import threading
from collections import defaultdict

__all__ = ["LATENCY_BUCKETS", "Metrics", "route_family"]

#: Seconds (upper bounds of the latency histogram).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

_KEY_OPERATIONS = frozenset(
    {"encrypt", "decrypt", "rewrap", "datakey", "sign", "verify", "hmac", "keys", "backup", "restore"}
)
_KNOWN_FAMILIES = frozenset(
    {*_KEY_OPERATIONS, "random", "hash", "auth", "policies", "sys", "openapi.json", "docs"}
)


_SYS_PATHS = frozenset(
    {"health", "init", "unseal", "seal", "seal-status", "metrics", "generate-root", "rekey", "rotate"}
)


def route_family(path: str) -> str:
    """``/v1/encrypt/orders`` -> ``encrypt``; ``/v1/sys/unseal`` -> ``sys/unseal``; unknown -> ``other``."""
    parts = path.split("/", 4)
    if len(parts) < 3 or parts[1] != "v1" or parts[2] not in _KNOWN_FAMILIES:
        return "other"
    head = parts[2]
    if head == "sys":
        sub = parts[3] if len(parts) > 3 else ""
        return f"sys/{sub}" if sub in _SYS_PATHS else "sys"
    return head


class Metrics:
    """Thread-safe counters; :meth:`render` writes the exposition text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: defaultdict[tuple[str, str, int], int] = defaultdict(int)
        self._errors: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._key_ops: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._buckets: defaultdict[str, list[int]] = defaultdict(lambda: [0] * (len(LATENCY_BUCKETS) + 1))
        self._sum: defaultdict[str, float] = defaultdict(float)

    def observe(self, method: str, family: str, status: int, seconds: float, error_code: str | None) -> None:
        """One finished request."""
        with self._lock:
            self._requests[(method, family, status)] += 1
            buckets = self._buckets[family]
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    buckets[i] += 1
                    break
            else:
                buckets[-1] += 1
            self._sum[family] += seconds
            if status >= 400:
                self._errors[(str(status), error_code or "unknown")] += 1
            if family in _KEY_OPERATIONS:
                self._key_ops[(family, "ok" if status < 400 else "error")] += 1

    def render(self, *, sealed: bool, initialized: bool) -> str:
        """The exposition text."""
        lines = [
            "# HELP guomi_requests_total HTTP requests answered, by method, route family and status.",
            "# TYPE guomi_requests_total counter",
        ]
        with self._lock:
            requests = sorted(self._requests.items())
            errors = sorted(self._errors.items())
            key_ops = sorted(self._key_ops.items())
            hist = {k: (list(v), self._sum[k]) for k, v in sorted(self._buckets.items())}
        for (method, family, status), n in requests:
            lines.append(f'guomi_requests_total{{method="{method}",route="{family}",status="{status}"}} {n}')
        lines += [
            "# HELP guomi_request_duration_seconds Time from the request's arrival to its answer.",
            "# TYPE guomi_request_duration_seconds histogram",
        ]
        for family, (counts, total) in hist.items():
            cumulative = 0
            for bound, n in zip(LATENCY_BUCKETS, counts, strict=False):
                cumulative += n
                lines.append(
                    f'guomi_request_duration_seconds_bucket{{route="{family}",le="{bound}"}} {cumulative}'
                )
            cumulative += counts[-1]
            lines.append(f'guomi_request_duration_seconds_bucket{{route="{family}",le="+Inf"}} {cumulative}')
            lines.append(f'guomi_request_duration_seconds_sum{{route="{family}"}} {total:.6f}')
            lines.append(f'guomi_request_duration_seconds_count{{route="{family}"}} {cumulative}')
        lines += [
            "# HELP guomi_errors_total Error answers by HTTP status and service error code.",
            "# TYPE guomi_errors_total counter",
        ]
        for (err_status, code), count in errors:
            lines.append(f'guomi_errors_total{{status="{err_status}",code="{code}"}} {count}')
        lines += [
            "# HELP guomi_key_operations_total Key operations (requests on key paths), by outcome.",
            "# TYPE guomi_key_operations_total counter",
        ]
        for (op, outcome), n in key_ops:
            lines.append(f'guomi_key_operations_total{{operation="{op}",outcome="{outcome}"}} {n}')
        lines += [
            "# HELP guomi_sealed 1 while the service is sealed.",
            "# TYPE guomi_sealed gauge",
            f"guomi_sealed {int(sealed)}",
            "# HELP guomi_initialized 1 once sys/init has run.",
            "# TYPE guomi_initialized gauge",
            f"guomi_initialized {int(initialized)}",
        ]
        return "\n".join(lines) + "\n"
