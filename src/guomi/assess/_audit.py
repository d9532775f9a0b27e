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
import inspect
import json
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "LIFECYCLE_OPERATIONS",
    "AuditEvidence",
    "ChainResult",
    "LifecycleEvent",
    "MacChecker",
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
    """Outcome of the audit chain check, as the report states it.

    ``keyed`` / ``legacy`` / ``macs_checked`` come from a verifier that knows the keyed chain
    (HMAC-SM3 per record, checked by the service); with an older verifier they stay 0/False
    and ``statement`` says only what the SM3 chain shows."""

    ok: bool
    records: int
    last_seq: int
    last_hash: str
    error: str | None = None
    line: int | None = None
    method: str = "SM3 hash chain (guomi.kms.audit.verify_audit_log)"
    keyed: int = 0
    legacy: int = 0
    macs_checked: bool = False
    statement: str = ""


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
    #: what else the record says (min versions, destroyed versions, key type, error code ...)
    detail: str = ""


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


#: (SM3 of a record body, its MAC) pairs -> which MACs the service says are genuine.
MacChecker = Callable[[Sequence[tuple[bytes, str]]], list[bool]]


def verify_chain(path: Path, mac_checker: MacChecker | None = None, note: str | None = None) -> ChainResult:
    """Checks the audit log's chain: the ONE adapter over ``guomi.kms.audit``'s verifier.

    When the verifier knows the keyed chain (it takes ``mac_checker``), the record MACs are
    checked by the service through ``mac_checker`` (``POST sys/audit/verify``: 64 bytes per
    record go to the service, never the log); otherwise only the SM3 chain is checked.
    ``note`` says why MACs could not be checked (for the report)."""
    from guomi.kms.audit import verify_audit_log  # noqa: PLC0415 (server package, loaded only here)

    kwargs: dict[str, Any] = {}
    if mac_checker is not None and "mac_checker" in inspect.signature(verify_audit_log).parameters:
        kwargs["mac_checker"] = mac_checker
    r = verify_audit_log(path, **kwargs)
    statement = str(getattr(r, "statement", "") or "")
    if not statement:
        statement = (
            f"{r.records} records, SM3 chain intact" if r.ok else f"BROKEN at line {r.line}: {r.error}"
        )
    if note and r.ok:
        statement += f" ({note})"
    macs_checked = bool(getattr(r, "macs_checked", False))
    return ChainResult(
        ok=bool(r.ok),
        records=r.records,
        last_seq=r.last_seq,
        last_hash=r.last_hash,
        error=r.error,
        line=r.line,
        method="SM3 chain + HMAC-SM3 record MACs checked by the service"
        if macs_checked
        else "SM3 hash chain (guomi.kms.audit.verify_audit_log)",
        keyed=int(getattr(r, "keyed", 0)),
        legacy=int(getattr(r, "legacy", 0)),
        macs_checked=macs_checked,
        statement=statement,
    )


def read_audit_log(
    path: Path, mac_checker: MacChecker | None = None, note: str | None = None
) -> AuditEvidence:
    """Reads the log at ``path`` and verifies its chain; a missing file raises ``OSError``."""
    if not path.is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    # One snapshot for both the chain check and the tables: the live service keeps appending
    # (the MAC check itself is audited), and the figures must describe the same records.
    with tempfile.TemporaryDirectory(prefix="guomi-assess-") as tmp:
        snapshot = Path(tmp) / "audit.log"
        snapshot.write_bytes(path.read_bytes())
        chain = verify_chain(snapshot, mac_checker, note)
        return _tabulate(path, snapshot, chain)


def _tabulate(path: Path, snapshot: Path, chain: ChainResult) -> AuditEvidence:
    ev = AuditEvidence(path=str(path), chain=chain)
    per_day: defaultdict[str, Counter[str]] = defaultdict(Counter)
    per_hour: defaultdict[str, Counter[str]] = defaultdict(Counter)
    ops: Counter[str] = Counter()
    events: defaultdict[str, list[LifecycleEvent]] = defaultdict(list)
    with snapshot.open("rb") as fh:
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
                        detail=_detail(rec),
                    )
                )
    ev.per_day = {d: dict(c) for d, c in sorted(per_day.items())}
    ev.per_hour = {h: dict(c) for h, c in sorted(per_hour.items())} if len(per_day) <= 2 else {}
    ev.operations = dict(ops.most_common())
    ev.events = dict(events)
    return ev


_STANDARD_FIELDS = frozenset(
    {"type", "operation", "path", "key", "request_id", "remote_addr", "token", "accessor", "result"}
    | {"status", "seq", "time", "prev", "mac", "key_version", "display_name"}
)


def _detail(rec: dict[str, Any]) -> str:
    """The record's operation-specific fields as ``name=value`` text (already safe to show:
    the log never holds secrets in clear)."""
    return ", ".join(f"{k}={rec[k]}" for k in sorted(rec) if k not in _STANDARD_FIELDS)


def parse_time(text: str | None) -> float | None:
    """An audit record's RFC 3339 time in seconds since the epoch (``None`` if absent or bad)."""
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
