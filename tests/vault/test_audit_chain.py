"""The keyed audit chain (issue 10, finding 4) and bounded unauthenticated records (finding 7).

Before: ``prev = SM3(previous line)`` alone, so whoever could write the file
deleted a record, recomputed every later ``prev`` and passed verification.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from guomi.kms._crypto import sm3_digest
from guomi.kms.audit import (
    GENESIS,
    AuditKeys,
    AuditLog,
    DeniedLimiter,
    FileSink,
    MemorySink,
    local_mac_checker,
    split_keyed_line,
    verify_audit_log,
)

AUDIT_KEY = bytes(range(32))


def write_log(path: Path, n: int = 8, *, key: bytes | None = AUDIT_KEY, every: int = 1000) -> AuditLog:
    log = AuditLog(FileSink(path), checkpoint_every=every)
    log.set_key(key)
    for i in range(n):
        log.record(type="request", operation="encrypt", key=f"k{i}", result="ok", status=200)
    return log


def rechain(lines: list[bytes], *, strip_macs: bool = False) -> list[bytes]:
    """What an editor without the key does: renumber and recompute every prev."""
    out: list[bytes] = []
    prev = GENESIS
    for seq, line in enumerate(lines, start=1):
        split = split_keyed_line(line.rstrip(b"\n"))
        rec = json.loads(line)
        rec["seq"], rec["prev"] = seq, prev
        if strip_macs:
            rec.pop("mac", None)
            raw = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()
        else:
            mac = rec.pop("mac", None) if split else None
            raw = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()
            if mac is not None:
                raw = raw[:-1] + b',"mac":"' + str(mac).encode() + b'"}'
        out.append(raw + b"\n")
        prev = sm3_digest(raw).hex()
    return out


def test_genuine_keyed_log_verifies_with_the_key(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    write_log(path)
    res = verify_audit_log(path, mac_checker=local_mac_checker(AUDIT_KEY))
    assert res.ok and res.records == 8 and res.keyed == 8 and res.legacy == 0 and res.macs_checked
    assert "MACs verified" in res.statement
    # Without the key the chain still checks, and the result says the MACs were not.
    unkeyed = verify_audit_log(path)
    assert unkeyed.ok and not unkeyed.macs_checked and "NOT checked" in unkeyed.statement


def test_deletion_and_rechaining_fails_with_the_key(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    write_log(path)
    lines = path.read_bytes().splitlines(keepends=True)
    forged = rechain(lines[:3] + lines[4:])
    path.write_bytes(b"".join(forged))
    # The SM3 chain alone is fooled (what the old verify_audit_log accepted) ...
    assert verify_audit_log(path).ok
    # ... the keyed chain is not: record 4 onwards carry MACs over the old prev / seq.
    res = verify_audit_log(path, mac_checker=local_mac_checker(AUDIT_KEY))
    assert not res.ok and res.line == 4 and "MAC" in str(res.error)


@pytest.mark.parametrize("attack", ["edit", "delete", "insert", "reorder", "wrong-key-remac", "strip-one"])
def test_every_tampering_fails_with_the_key(tmp_path: Path, attack: str) -> None:
    path = tmp_path / "audit.log"
    write_log(path)
    lines = path.read_bytes().splitlines(keepends=True)
    if attack == "edit":
        new = rechain([*lines[:2], lines[2].replace(b'"k2"', b'"kX"'), *lines[3:]])
    elif attack == "delete":
        new = rechain(lines[:5] + lines[6:])
    elif attack == "insert":
        new = rechain([*lines[:4], lines[1], *lines[4:]])
    elif attack == "reorder":
        new = rechain([lines[0], lines[2], lines[1], *lines[3:]])
    elif attack == "wrong-key-remac":
        # A complete rewrite under a key the attacker made up.
        other = tmp_path / "other.log"
        write_log(other, key=os.urandom(32))
        new = other.read_bytes().splitlines(keepends=True)
    else:  # a record's MAC removed to pass it off as legacy
        new = rechain([*lines[:3], *rechain(lines[3:4], strip_macs=True), *lines[4:]])
    path.write_bytes(b"".join(new))
    res = verify_audit_log(path, mac_checker=local_mac_checker(AUDIT_KEY))
    assert not res.ok, attack


def test_legacy_log_still_verifies_as_legacy(tmp_path: Path) -> None:
    # Today's format: no key loaded when written, so no MACs.
    path = tmp_path / "audit.log"
    write_log(path, key=None)
    assert b'"mac"' not in path.read_bytes()
    res = verify_audit_log(path, mac_checker=local_mac_checker(AUDIT_KEY))
    assert res.ok and res.legacy == 8 and res.keyed == 0
    assert "LEGACY" in res.statement
    # A legacy prefix followed by keyed records (a server upgraded in place) verifies too.
    write_log(path, n=3)
    mixed = verify_audit_log(path, mac_checker=local_mac_checker(AUDIT_KEY))
    assert mixed.ok and mixed.legacy == 8 and mixed.keyed == 3 and "legacy" in mixed.statement


def test_checkpoints_are_signed_and_anchor_detects_truncation_and_downgrade(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = write_log(path, n=9, every=4)
    recs = [json.loads(line) for line in path.read_bytes().splitlines()]
    cps = [r for r in recs if r.get("type") == "checkpoint"]
    assert [c["head_seq"] for c in cps] == [4, 8]  # checkpoints are seq 5 and 9
    pub = AuditKeys.derive(AUDIT_KEY).public_key_pem()
    res = verify_audit_log(path, mac_checker=local_mac_checker(AUDIT_KEY), public_key=pub)
    assert res.ok and res.checkpoints == 2

    anchor = log.signed_checkpoint()
    assert anchor["public_key"] == pub
    log.record(type="request", operation="decrypt")
    ok = verify_audit_log(path, public_key=pub, anchor=anchor)
    assert ok.ok and ok.anchored

    lines = path.read_bytes().splitlines(keepends=True)
    # Records cut off the end: the chain alone cannot tell, the anchor can.
    path.write_bytes(b"".join(lines[: anchor["head_seq"] - 1]))
    assert verify_audit_log(path).ok
    assert not verify_audit_log(path, anchor=anchor).ok
    # The whole file rewritten as an unkeyed "legacy" log: the anchored head is gone.
    path.write_bytes(b"".join(rechain(lines, strip_macs=True)))
    assert verify_audit_log(path).ok
    assert not verify_audit_log(path, anchor=anchor).ok
    # A checkpoint signed by another key fails with the installation's public key.
    path.write_bytes(b"".join(lines))
    other_pub = AuditKeys.derive(os.urandom(32)).public_key_pem()
    assert not verify_audit_log(path, public_key=other_pub).ok


def test_service_side_check_takes_digests_not_the_log() -> None:
    log = AuditLog(MemorySink())
    log.set_key(AUDIT_KEY)
    log.record(operation="x")
    body, mac = split_keyed_line(log.sink.lines[0].rstrip(b"\n"))  # type: ignore[attr-defined,misc]
    digest = sm3_digest(body)
    assert log.check_macs([(digest, mac), (digest, "0" * 64), (sm3_digest(b"{}"), mac)]) == [
        True,
        False,
        False,
    ]


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _denied_records(log: AuditLog) -> list[dict[str, Any]]:
    return [json.loads(x) for x in log.sink.lines]  # type: ignore[attr-defined]


def test_unauthenticated_failures_are_rate_limited_and_counted() -> None:
    clock = _Clock()
    log = AuditLog(MemorySink(), denied_limiter=DeniedLimiter(burst=5, rate=1.0, clock=clock))
    log.set_key(AUDIT_KEY)
    written = [log.record_denied("unauthorized", operation="authenticate", status=401) for _ in range(10_000)]
    assert sum(written) == 5
    assert len(log.sink.lines) == 5  # type: ignore[attr-defined]  # not 10,000
    assert log.denied.suppressed_total == 9_995
    clock.t += 2.0  # the bucket refills: the next record is preceded by one summary
    assert log.record_denied("token_expired", operation="authenticate", status=401)
    recs = _denied_records(log)
    summary = recs[-2]
    assert summary["type"] == "denied-summary" and summary["suppressed"] == 9_995
    assert summary["suppressed_by_code"] == {"unauthorized": 9_995}
    assert recs[-1]["error_code"] == "token_expired"
    # Authenticated records are never suppressed, and carry a pending summary too.
    for _ in range(3):
        log.record_denied("unauthorized")
    log.record(operation="encrypt", status=200)
    assert [r.get("type") for r in _denied_records(log)[-2:]] == ["denied-summary", None]
    assert _denied_records(log)[-2]["suppressed"] == 2
