"""The custody service's audit log as evidence: chain verification, key life cycles, operations over time.

Layer: ``guomi.assess``. The log is the service's JSON-lines file (one record per
request, chained; see ``guomi.kms.audit``). :func:`verify_chain` is the **one** place the
chain is checked, by the service package's own verifier, so when the chain becomes keyed
(HMAC-SM3, verified with the service's help via ``GUOMI_ADDR`` / ``GUOMI_TOKEN``) only
this function changes. Records are read leniently: a line that is not JSON is counted
and reported, never a crash (the chain check says whether the file was tampered with).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "LIFECYCLE_OPERATIONS",
    "AuditEvidence",
    "ChainResult",
    "LifecycleEvent",
    "parse_time",
    "read_audit_log",
    "verify_chain",
]

#: Audit operations that change a key's life cycle, with bilingual names.
LIFECYCLE_OPERATIONS: dict[str, tuple[str, str]] = {
    "create": ("creation", "生成"),
    "rotate": ("rotation", "轮换"),
    "auto-rotate": ("automatic rotation", "自动轮换"),
    "config": ("configuration (min versions, deletion, auto-rotation)", "配置变更 (最低版本等)"),
    "trim": ("trim of old versions", "旧版本裁剪"),
    "backup": ("backup", "备份"),
    "restore": ("restore", "恢复"),
    "delete": ("deletion", "销毁"),
}


@dataclass(frozen=True, slots=True)
class ChainResult:
    """Outcome of the audit chain check, as the report states it."""

    ok: bool
    records: int
    last_seq: int
    last_hash: str
    error: str | None = None
    line: int | None = None
    method: str = "SM3 hash chain (guomi.kms.audit.verify_audit_log)"


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    time: str
    key: str
    operation: str
    key_version: int | None
    result: str
    accessor: str | None
    display_name: str | None
    seq: int | None
    line: int


@dataclass(slots=True)
class AuditEvidence:
    """What the log says: life-cycle events per key, operation counts per day, denials."""

    path: str
    chain: ChainResult
    records: int = 0
    unreadable_lines: int = 0
    first_time: str | None = None
    last_time: str | None = None
    events: dict[str, list[LifecycleEvent]] = field(default_factory=dict)
    #: day (YYYY-MM-DD) -> operation -> count
    per_day: dict[str, dict[str, int]] = field(default_factory=dict)
    #: hour (YYYY-MM-DDTHH) -> operation -> count (for logs spanning a day or two)
    per_hour: dict[str, dict[str, int]] = field(default_factory=dict)
    operations: dict[str, int] = field(default_factory=dict)
    denied: int = 0
    #: accessor -> display name, where the log tells (token creation records)
    names: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "chain": asdict(self.chain),
            "records": self.records,
            "unreadable_lines": self.unreadable_lines,
            "first_time": self.first_time,
            "last_time": self.last_time,
            "events": {k: [asdict(e) for e in v] for k, v in self.events.items()},
            "per_day": self.per_day,
            "per_hour": self.per_hour,
            "operations": self.operations,
            "denied": self.denied,
            "names": self.names,
        }


def verify_chain(path: Path) -> ChainResult:
    """Checks the audit log's chain (the one adapter over ``guomi.kms.audit``'s verifier)."""
    from guomi.kms.audit import verify_audit_log  # noqa: PLC0415 (server package, loaded only here)

    r = verify_audit_log(path)
    return ChainResult(
        ok=bool(r.ok),
        records=r.records,
        last_seq=r.last_seq,
        last_hash=r.last_hash,
        error=r.error,
        line=r.line,
    )


def read_audit_log(path: Path) -> AuditEvidence:
    """Reads the log at ``path`` and verifies its chain; a missing file raises ``OSError``."""
    chain = verify_chain(path)
    ev = AuditEvidence(path=str(path), chain=chain)
    per_day: defaultdict[str, Counter[str]] = defaultdict(Counter)
    per_hour: defaultdict[str, Counter[str]] = defaultdict(Counter)
    ops: Counter[str] = Counter()
    events: defaultdict[str, list[LifecycleEvent]] = defaultdict(list)
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                rec = json.loads(raw)
                if not isinstance(rec, dict):
                    raise ValueError("not an object")
            except ValueError:
                ev.unreadable_lines += 1
                continue
            ev.records += 1
            t = str(rec.get("time", ""))
            ev.first_time = ev.first_time or t
            ev.last_time = t or ev.last_time
            op = str(rec.get("operation", "?"))
            ops[op] += 1
            per_day[t[:10] or "unknown"][op] += 1
            per_hour[t[:13] or "unknown"][op] += 1
            if rec.get("result") == "denied":
                ev.denied += 1
            if rec.get("new_accessor") and rec.get("display_name"):
                ev.names[str(rec["new_accessor"])] = str(rec["display_name"])
            key = rec.get("key")
            if key and op in LIFECYCLE_OPERATIONS:
                accessor = rec.get("accessor")
                events[str(key)].append(
                    LifecycleEvent(
                        time=t,
                        key=str(key),
                        operation=op,
                        key_version=rec.get("key_version"),
                        result=str(rec.get("result", "?")),
                        accessor=None if accessor is None else str(accessor),
                        display_name=rec.get("display_name"),
                        seq=rec.get("seq"),
                        line=lineno,
                    )
                )
    ev.per_day = {d: dict(c) for d, c in sorted(per_day.items())}
    ev.per_hour = {h: dict(c) for h, c in sorted(per_hour.items())} if len(per_day) <= 2 else {}
    ev.operations = dict(ops.most_common())
    ev.events = dict(events)
    return ev


def parse_time(text: str | None) -> float | None:
    """An audit record's RFC 3339 time in seconds since the epoch (``None`` if absent or bad)."""
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
