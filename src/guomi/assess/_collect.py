"""Gather the facts for one assessment: database and file scans, the service's keys, the audit log.

Layer: ``guomi.assess``. Nothing here judges; :mod:`guomi.assess._analysis` does. Faults
become recorded errors (an unreachable database, service or missing audit log is part of
the evidence), except a token the service refuses, which stops the run
(:class:`ServiceAccessError`) because everything after it would be wrong.
"""

from __future__ import annotations

import base64
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from guomi.assess._audit import AuditEvidence, read_audit_log
from guomi.assess._config import AssessConfig, ImportantData
from guomi.assess._service import HttpAead, KeyRecord, ServiceAccessError, ServiceReader, ServiceUnreachable
from guomi.scan import (
    FIELD_FORMAT_AVAILABLE,
    DatabaseFinding,
    FileFinding,
    Kind,
    classify_value,
    primary_key_columns,
    sample_column,
    sample_keyed_column,
    scan_database,
    scan_file,
)

__all__ = ["Facts", "KeysetCheck", "OpenCheck", "collect"]


@dataclass(frozen=True, slots=True)
class OpenCheck:
    """Sampled ciphertexts of one declared column that were tried: service tokens through the
    service's ``rewrap`` (``kind="token"``), field values with the column's keyset (``"field"``)."""

    location: str
    key: str
    checked: int
    opened: int
    failures: dict[str, int]
    error: str | None = None
    kind: str = "token"
    #: field values that opened only with their row's context (``context_column``'s value)
    row_bound: int = 0
    #: the column whose values were the row contexts (declared, or the table's primary key)
    context_column: str | None = None


@dataclass(frozen=True, slots=True)
class KeysetCheck:
    """A declared column's field keyset document: how it is wrapped, whether it opens, its key ids."""

    location: str
    path: str
    wrap: str | None = None
    #: for a service-wrapped keyset: the wrapping token's algorithm and key version
    wrap_key_id: str | None = None
    #: proved by ``rewrap`` (None: not checked)
    wrap_opens: bool | None = None
    #: key ids of the enabled data keys (None: the keyset was not opened)
    key_ids: tuple[str, ...] | None = None
    note: str | None = None


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
    keysets: list[KeysetCheck] = field(default_factory=list)
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
        # A passphrase-wrapped field keyset needs no service: its values are still checked.
        _check_keysets(config, facts, None)
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
            _check_keysets(config, facts, svc if spec.check_decrypt else None)
    except ServiceUnreachable as exc:
        facts.service_error = str(exc)


def _check_opens(config: AssessConfig, facts: Facts, svc: ServiceReader) -> None:
    """For declared columns with a service key: do the sampled service tokens open under it?"""
    for item in config.system.important_data:
        if not (item.key and item.database and item.table and item.column) or item.key not in facts.keys:
            continue
        if item.keyset:
            continue  # field values: checked with the column's keyset (_check_keysets)
        try:
            values = sample_column(item.database, item.table, item.column, config.sample_rows)
        except Exception as exc:
            facts.open_checks.append(
                OpenCheck(item.location, item.key, 0, 0, {}, error=f"{type(exc).__name__}")
            )
            continue
        tokens = [v for v in values if isinstance(v, str) and classify_value(v).kind is Kind.GUOMI_TOKEN]
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


def _open_keyset(
    item: ImportantData, text: str, wrap: str, config: AssessConfig, svc: ServiceReader | None
) -> Any:
    """A fields keyring over the document, or a string saying why it stays closed."""
    from guomi.fields import LocalKeyring, ServiceKeyring  # noqa: PLC0415 (only for field columns)
    from guomi.keys import Keyset  # noqa: PLC0415

    if wrap == "passphrase":
        if config.keyset_passphrase is None:
            return "not opened: passphrase keyset and GUOMI_KEYSET_PASSPHRASE is not set"
        return LocalKeyring(Keyset.from_encrypted_json(text, passphrase=config.keyset_passphrase))
    if svc is None or not item.key:
        return "not opened: service-wrapped keyset (set check_decrypt and name its key)"
    keyring = ServiceKeyring(HttpAead(svc, item.key), text)
    keyring.snapshot()  # one decrypt call; raises if the token may not or the key cannot
    return keyring


def _check_keysets(config: AssessConfig, facts: Facts, svc: ServiceReader | None) -> None:
    """Declared field columns: the keyset's wrapping, and (when it opens) every sampled value."""
    for item in config.system.important_data:
        if not (item.keyset and item.database and item.table and item.column):
            continue
        try:
            text = Path(item.keyset).read_text("utf-8")
            doc = json.loads(text)
            wrap = str(doc["wrap"]["kind"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            facts.keysets.append(
                KeysetCheck(item.location, item.keyset, note=f"unreadable: {type(exc).__name__}")
            )
            continue
        wrap_key_id = wrap_opens = None
        if wrap == "aead":
            try:
                token = base64.b64decode(doc["ciphertext"]).decode("ascii")
            except (ValueError, UnicodeDecodeError):
                token = ""
            found = classify_value(token)
            wrap_key_id = found.key_id
            if svc is not None and item.key and found.key_id:
                ad = (
                    b"guomi-keyset/v1\x00"
                    + json.dumps(doc["wrap"], sort_keys=True, separators=(",", ":")).encode()
                )
                wrap_opens = svc.check_opens(item.key, [token], ad) == [None]
        try:
            keyring = _open_keyset(item, text, wrap, config, svc)
        except ServiceAccessError:
            keyring = f"not opened: the token lacks `decrypt` on key {item.key!r} (optional)"
        except Exception as exc:
            keyring = f"not opened: {type(exc).__name__}"
        if isinstance(keyring, str):
            facts.keysets.append(
                KeysetCheck(item.location, item.keyset, wrap, wrap_key_id, wrap_opens, None, keyring)
            )
            continue
        ids = tuple(f"{k:08x}" for k in sorted(keyring.snapshot().material))
        facts.keysets.append(KeysetCheck(item.location, item.keyset, wrap, wrap_key_id, wrap_opens, ids))
        _check_field_values(item, keyring, config, facts)


def _context_column(item: ImportantData) -> tuple[str | None, bool]:
    """The column whose value is each row's context, and whether it was declared.

    Undeclared: the table's one-column primary key, tried only for values that do not open
    without a context (``ColumnMigration(context_key=True)`` binds values to that key)."""
    if item.context_column is not None:
        return item.context_column, True
    assert item.database and item.table
    try:
        pk = primary_key_columns(item.database, item.table)
    except Exception:
        return None, False
    return (pk[0], False) if len(pk) == 1 else (None, False)


def _check_field_values(item: ImportantData, keyring: Any, config: AssessConfig, facts: Facts) -> None:
    """Decrypt every sampled field value of a declared column with its keyset.

    Row-bound values (``docs/spec/field.md`` §4: the row context, usually the primary key,
    is in the associated data) open only with their row's context: with a declared
    ``context_column`` every value is opened with it; otherwise a value that does not open
    alone is tried once more with the table's primary-key value and counted as row-bound.
    """
    from guomi.fields import Field  # noqa: PLC0415 (only for field columns)

    assert item.database and item.table and item.column
    context_column, declared = _context_column(item)
    try:
        if context_column is not None:
            pairs = sample_keyed_column(
                item.database, item.table, item.column, context_column, config.sample_rows
            )
        else:
            pairs = [
                (None, v) for v in sample_column(item.database, item.table, item.column, config.sample_rows)
            ]
    except Exception as exc:
        facts.open_checks.append(
            OpenCheck(item.location, item.key or "", 0, 0, {}, type(exc).__name__, "field", 0, context_column)
        )
        return
    fld = Field(item.table, item.column, keyring)
    tokens = [(k, v) for k, v in pairs if classify_value(v).kind is Kind.GUOMI_FIELD]
    failures: defaultdict[str, int] = defaultdict(int)
    row_bound = 0
    for context, token in tokens:
        try:
            if declared:
                fld.decrypt(token, context)
                row_bound += 1
                continue
            try:
                fld.decrypt(token)
            except Exception:
                if context is None:
                    raise
                fld.decrypt(token, context)  # bound to its row's key
                row_bound += 1
        except Exception as exc:
            failures[type(exc).__name__] += 1
    opened = len(tokens) - sum(failures.values())
    facts.open_checks.append(
        OpenCheck(
            item.location,
            item.key or "",
            len(tokens),
            opened,
            dict(failures),
            None,
            "field",
            row_bound,
            context_column if (declared or row_bound) else None,
        )
    )


def _read_audit(
    path: Path, addr: str, token: str | None, facts: Facts, transport: httpx.BaseTransport | None
) -> AuditEvidence:
    """The audit log, its record MACs checked by the service when it can (keyed chain)."""
    if token is None or facts.service_error is not None:
        return read_audit_log(path, note="record MACs not checked: service not reachable")
    with ServiceReader(addr, token, transport=transport) as svc:
        try:
            probe = svc.audit_probe()
        except ServiceUnreachable:
            probe = "unsupported"
        if probe == "ok":
            return read_audit_log(path, svc.audit_macs)
        note = (
            "record MACs not checked: the token lacks the `audit` capability"
            if probe == "forbidden"
            else None
        )
        return read_audit_log(path, note=note)


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
            facts.audit = _read_audit(spec.audit_log, spec.addr, spec.token, facts, transport)
        except OSError as exc:
            facts.audit_error = f"{spec.audit_log}: {type(exc).__name__}: {exc.strerror or exc}"
    facts.timings = {
        "scan_seconds": round(t1 - t0, 3),
        "service_seconds": round(t2 - t1, 3),
        "audit_seconds": round(time.perf_counter() - t2, 3),
    }
    return facts
