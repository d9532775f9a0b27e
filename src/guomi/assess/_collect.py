"""Gather the facts for one assessment: database and file scans, the service's keys, the audit log.

Layer: ``guomi.assess``. Nothing here judges; :mod:`guomi.assess._analysis` does. Faults
become recorded errors (an unreachable database, service or missing audit log is part of
the evidence), except a token the service refuses, which stops the run
(:class:`ServiceAccessError`) because everything after it would be wrong.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from guomi.assess._audit import AuditEvidence, read_audit_log
from guomi.assess._config import AssessConfig
from guomi.assess._service import KeyRecord, ServiceReader, ServiceUnreachable
from guomi.scan import (
    FIELD_FORMAT_AVAILABLE,
    DatabaseFinding,
    FileFinding,
    classify_value,
    sample_column,
    scan_database,
    scan_file,
)

__all__ = ["Facts", "OpenCheck", "collect"]


@dataclass(frozen=True, slots=True)
class OpenCheck:
    """Sampled ciphertexts of one declared column, sent to the service's ``rewrap``."""

    location: str
    key: str
    checked: int
    opened: int
    failures: dict[str, int]
    error: str | None = None


@dataclass(slots=True)
class Facts:
    """Everything collected, before judgement."""

    config: AssessConfig
    started: float
    databases: list[DatabaseFinding] = field(default_factory=list)
    files: list[FileFinding] = field(default_factory=list)
    service_error: str | None = None
    service_addr: str | None = None
    token: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, KeyRecord] = field(default_factory=dict)
    missing_keys: list[str] = field(default_factory=list)
    audit: AuditEvidence | None = None
    audit_error: str | None = None
    open_checks: list[OpenCheck] = field(default_factory=list)
    field_format_available: bool = FIELD_FORMAT_AVAILABLE
    timings: dict[str, float] = field(default_factory=dict)


def _scan_targets(config: AssessConfig) -> dict[str, set[str] | None]:
    """Database URL -> tables to sample (``None``: all), declared important data included."""
    targets: dict[str, set[str] | None] = {}
    for db in config.databases:
        if db.tables is None:
            targets[db.url] = None
        elif db.url not in targets or targets[db.url] is not None:
            current = targets.get(db.url) or set()
            targets[db.url] = current | set(db.tables)
    for item in config.system.important_data:
        if item.database is None or item.table is None:
            continue
        if item.database in targets:
            tables = targets[item.database]
            if tables is not None:
                tables.add(item.table)
        else:
            targets[item.database] = {item.table}
    return targets


def _collect_service(config: AssessConfig, facts: Facts, transport: httpx.BaseTransport | None) -> None:
    spec = config.service
    if spec is None:
        return
    facts.service_addr = spec.addr
    declared = {i.key for i in config.system.important_data if i.key}
    try:
        with ServiceReader(spec.addr, spec.token, transport=transport) as svc:
            svc.health()
            facts.token = svc.token_info()
            names = sorted(set(svc.key_names()) | declared)
            for name in names:
                record = svc.key(name)
                if record is None:
                    facts.missing_keys.append(name)
                else:
                    facts.keys[name] = record
            if spec.check_decrypt:
                _check_opens(config, facts, svc)
    except ServiceUnreachable as exc:
        facts.service_error = str(exc)


def _check_opens(config: AssessConfig, facts: Facts, svc: ServiceReader) -> None:
    """For declared columns with a service key: do the sampled service tokens open under it?"""
    for item in config.system.important_data:
        if not (item.key and item.database and item.table and item.column) or item.key not in facts.keys:
            continue
        try:
            values = sample_column(item.database, item.table, item.column, config.sample_rows)
        except Exception as exc:
            facts.open_checks.append(
                OpenCheck(item.location, item.key, 0, 0, {}, error=f"{type(exc).__name__}")
            )
            continue
        tokens = [v for v in values if isinstance(v, str) and classify_value(v).kind.value == "guomi-token"]
        if not tokens:
            continue
        results = svc.check_opens(item.key, tokens)
        failures: defaultdict[str, int] = defaultdict(int)
        for r in results:
            if r is not None:
                failures[r] += 1
        facts.open_checks.append(
            OpenCheck(item.location, item.key, len(tokens), results.count(None), dict(failures))
        )


def collect(config: AssessConfig, *, transport: httpx.BaseTransport | None = None) -> Facts:
    """Runs every scan and read the configuration asks for."""
    facts = Facts(config=config, started=time.time())
    t0 = time.perf_counter()
    for url, tables in _scan_targets(config).items():
        facts.databases.append(
            scan_database(url, sorted(tables) if tables is not None else None, config.sample_rows)
        )
    facts.files = [scan_file(p, sample=config.sample_rows) for p in config.files]
    for item in config.system.important_data:
        if item.file is not None and item.file not in {f.path for f in facts.files}:
            facts.files.append(scan_file(item.file, sample=config.sample_rows))
    t1 = time.perf_counter()
    _collect_service(config, facts, transport)
    t2 = time.perf_counter()
    spec = config.service
    if spec is not None and spec.audit_log is not None:
        try:
            facts.audit = read_audit_log(spec.audit_log)
        except OSError as exc:
            facts.audit_error = f"{spec.audit_log}: {type(exc).__name__}: {exc.strerror or exc}"
    facts.timings = {
        "scan_seconds": round(t1 - t0, 3),
        "service_seconds": round(t2 - t1, 3),
        "audit_seconds": round(time.perf_counter() - t2, 3),
    }
    return facts
