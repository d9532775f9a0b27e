"""Tokens, policies and the audit log (engine level, no HTTP).

Denials are 401/403, change nothing and are audited; the audit chain detects
edits; the log fails closed; no secret appears in it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from guomi import api
from guomi.kms.audit import AuditLog, FileSink, MemorySink, verify_audit_log
from guomi.kms.auth import parse_duration, pattern_matches
from guomi.kms.config import Config
from guomi.kms.errors import (
    AuditUnavailableError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)
from guomi.kms.service import Caller, Engine, RequestContext
from guomi.kms.storage import MemoryStorage

from .conftest import FakeClock, init_unseal


def records(sink: MemorySink) -> list[dict[str, object]]:
    return [json.loads(line) for line in sink.lines]


def token_for(e: Engine, root: Caller, policies: list[str], ttl: str = "1h") -> str:
    return e.create_token(root, api.CreateTokenRequest(policies=policies, ttl=ttl)).token


@pytest.fixture
def orders_policy(engine: Engine, root: Caller) -> None:
    engine.write_policy(
        root,
        "orders-app",
        api.PolicyRequest(
            rules=[
                api.PolicyRule(pattern="orders-*", capabilities=["encrypt", "decrypt", "list"]),
                api.PolicyRule(pattern="orders-archive", capabilities=["rotate"]),
            ]
        ),
    )


def test_parse_duration() -> None:
    assert parse_duration("1h", field_name="ttl") == 3600
    assert parse_duration("1h30m", field_name="ttl") == 5400
    assert parse_duration("7d", field_name="ttl") == 7 * 86400
    assert parse_duration("90s", field_name="ttl") == 90
    assert parse_duration(45, field_name="ttl") == 45
    assert parse_duration("120", field_name="ttl") == 120
    for bad in ("", "h", "1y", "-5s", "1.5h", "1h 2m"):
        with pytest.raises(BadRequestError, match="ttl"):
            parse_duration(bad, field_name="ttl")


def test_pattern_matching() -> None:
    assert pattern_matches("orders-*", "orders-eu")
    assert pattern_matches("orders-*", "orders-")
    assert not pattern_matches("orders-*", "order-eu")
    assert not pattern_matches("orders", "orders-eu")
    assert pattern_matches("k?", "k1") and not pattern_matches("k?", "k12")
    assert pattern_matches("*", "anything")
    assert pattern_matches("a.b", "a.b") and not pattern_matches("a.b", "axb")


def test_policy_grants_exactly_its_capabilities(
    engine: Engine, root: Caller, sink: MemorySink, orders_policy: None
) -> None:
    for n in ("orders-eu", "orders-archive", "payroll"):
        engine.create_key(root, n, api.CreateKeyRequest())
    tok = token_for(engine, root, ["orders-app"])
    app = engine.authenticate(tok, RequestContext("req-1"))
    ct = engine.encrypt(app, "orders-eu", api.EncryptRequest(plaintext=b"x")).ciphertext
    assert ct is not None
    assert engine.decrypt(app, "orders-eu", api.DecryptRequest(ciphertext=ct)).plaintext == b"x"
    assert engine.rotate_key(app, "orders-archive").latest_version == 2
    assert engine.list_keys(app).keys == ["orders-archive", "orders-eu"]

    before_meta = {n: engine.storage.get(f"keymeta/{n}") for n in ("orders-eu", "payroll")}
    n_records = len(sink.lines)
    denied = [
        lambda: engine.encrypt(app, "payroll", api.EncryptRequest(plaintext=b"x")),
        lambda: engine.rotate_key(app, "orders-eu"),
        lambda: engine.configure_key(app, "orders-eu", api.KeyConfigRequest(deletion_allowed=True)),
        lambda: engine.create_key(app, "orders-new", api.CreateKeyRequest()),
        lambda: engine.read_key(app, "orders-eu"),
        lambda: engine.backup_key(app, "orders-eu"),
        lambda: engine.datakey(app, "orders-eu", "wrapped", api.DatakeyRequest()),
        lambda: engine.write_policy(app, "mine", api.PolicyRequest(rules=[])),
        lambda: engine.seal(app),
        lambda: engine.create_token(app, api.CreateTokenRequest(policies=["root"])),
    ]
    for call in denied:
        with pytest.raises(ForbiddenError):
            call()
    # Nothing changed, and each denial left exactly one "denied" record.
    assert {n: engine.storage.get(f"keymeta/{n}") for n in ("orders-eu", "payroll")} == before_meta
    assert engine.storage.get("keymeta/orders-new") is None and not engine.sealed
    new = records(sink)[n_records:]
    assert len(new) == len(denied)
    assert all(r["result"] == "denied" and r["status"] == 403 for r in new)
    assert new[0]["key"] == "payroll" and new[0]["request_id"] == "req-1"


def test_datakey_plaintext_needs_decrypt_too(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "dk", api.CreateKeyRequest())
    engine.write_policy(
        root, "wrap-only", api.PolicyRequest(rules=[api.PolicyRule(pattern="dk", capabilities=["datakey"])])
    )
    app = engine.authenticate(token_for(engine, root, ["wrap-only"]), RequestContext())
    engine.datakey(app, "dk", "wrapped", api.DatakeyRequest())
    with pytest.raises(ForbiddenError):
        engine.datakey(app, "dk", "plaintext", api.DatakeyRequest())


def test_missing_unknown_expired_revoked_tokens_are_401_and_audited(
    engine: Engine, root: Caller, sink: MemorySink, clock: FakeClock
) -> None:
    tok = token_for(engine, root, ["p"], ttl="10m")
    n = len(sink.lines)
    for bad in (None, "", "gmt.notatoken", "gmt." + "A" * 43):
        with pytest.raises(UnauthorizedError):
            engine.authenticate(bad, RequestContext())
    clock.advance(601)
    with pytest.raises(UnauthorizedError) as ei:
        engine.authenticate(tok, RequestContext())
    assert ei.value.code == "token_expired"
    new = records(sink)[n:]
    assert len(new) == 5 and all(r["status"] == 401 and r["result"] == "denied" for r in new)
    # Revocation (by the token itself, by accessor as root).
    t2 = token_for(engine, root, ["p"])
    c2 = engine.authenticate(t2, RequestContext())
    engine.revoke_token(c2, api.RevokeTokenRequest())
    with pytest.raises(UnauthorizedError):
        engine.authenticate(t2, RequestContext())
    t3 = engine.create_token(root, api.CreateTokenRequest(policies=["p"]))
    engine.revoke_token(root, api.RevokeTokenRequest(accessor=t3.accessor))
    with pytest.raises(UnauthorizedError):
        engine.authenticate(t3.token, RequestContext())
    with pytest.raises(NotFoundError):
        engine.revoke_token(root, api.RevokeTokenRequest(accessor=t3.accessor))


def test_child_tokens_only_narrow(engine: Engine, root: Caller, clock: FakeClock) -> None:
    parent_tok = token_for(engine, root, ["a", "b"], ttl="1h")
    parent = engine.authenticate(parent_tok, RequestContext())
    child = engine.create_token(parent, api.CreateTokenRequest(policies=["a"], ttl="10h"))
    assert child.policies == ["a"] and child.ttl <= 3600  # capped at the parent's expiry
    with pytest.raises(ForbiddenError):
        engine.create_token(parent, api.CreateTokenRequest(policies=["c"]))
    info = engine.lookup_self(parent)
    assert info.policies == ["a", "b"] and 0 < info.ttl <= 3600
    with pytest.raises(ForbiddenError):
        engine.revoke_token(parent, api.RevokeTokenRequest(accessor=child.accessor))
    with pytest.raises(BadRequestError):
        engine.create_token(root, api.CreateTokenRequest(policies=["bad name"]))
    with pytest.raises(BadRequestError):
        engine.create_token(root, api.CreateTokenRequest(policies=["a"], ttl="100000d"))


def test_tokens_stored_only_as_keyed_hashes(engine: Engine, root: Caller) -> None:
    tok = token_for(engine, root, ["p"])
    raw = engine.storage
    for path in raw.list(""):
        assert tok not in path
        rec = raw.get(path)
        assert rec is not None and tok.encode() not in rec.value


def test_policy_crud_and_validation(engine: Engine, root: Caller) -> None:
    rule = api.PolicyRule(pattern="x-*", capabilities=["encrypt"])
    engine.write_policy(root, "p1", api.PolicyRequest(rules=[rule]))
    assert engine.read_policy(root, "p1").rules[0].pattern == "x-*"
    assert engine.list_policies(root).policies == ["p1"]
    with pytest.raises(BadRequestError):
        engine.write_policy(root, "root", api.PolicyRequest(rules=[rule]))
    with pytest.raises(BadRequestError):
        engine.write_policy(
            root, "p2", api.PolicyRequest(rules=[api.PolicyRule(pattern="a/b", capabilities=["encrypt"])])
        )
    engine.delete_policy(root, "p1")
    with pytest.raises(NotFoundError):
        engine.read_policy(root, "p1")


def test_policy_change_applies_to_existing_tokens(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "k", api.CreateKeyRequest())
    app = engine.authenticate(token_for(engine, root, ["p"]), RequestContext())
    with pytest.raises(ForbiddenError):
        engine.encrypt(app, "k", api.EncryptRequest(plaintext=b"x"))
    engine.write_policy(
        root, "p", api.PolicyRequest(rules=[api.PolicyRule(pattern="k", capabilities=["encrypt"])])
    )
    engine.encrypt(app, "k", api.EncryptRequest(plaintext=b"x"))


# ------------------------------------------------------------------ audit


def test_audit_records_chain_and_hide_secrets(
    engine: Engine, root: Caller, sink: MemorySink, tmp_path: Path
) -> None:
    engine.create_key(root, "k", api.CreateKeyRequest())
    tok = token_for(engine, root, ["p"])
    pt = b"VERY-SECRET-PLAINTEXT"
    ct = engine.encrypt(root, "k", api.EncryptRequest(plaintext=pt)).ciphertext
    assert ct is not None
    engine.decrypt(root, "k", api.DecryptRequest(ciphertext=ct))
    dk = engine.datakey(root, "k", "plaintext", api.DatakeyRequest())
    log = b"".join(sink.lines)
    for secret in (
        pt,
        ct.encode(),
        tok.encode(),
        engine.init_response.root_token.encode(),  # type: ignore[attr-defined]
        dk.ciphertext.encode(),
    ):
        assert secret not in log
    assert dk.plaintext is not None and dk.plaintext.hex().encode() not in log
    recs = records(sink)
    enc_rec = next(r for r in recs if r["operation"] == "encrypt")
    dec_rec = next(r for r in recs if r["operation"] == "decrypt")
    # The same ciphertext is correlatable through its HMAC-SM3 under the audit key.
    assert (
        str(enc_rec["ciphertext"]).startswith("hmac-sm3:") and enc_rec["ciphertext"] == dec_rec["ciphertext"]
    )
    assert enc_rec["key"] == "k" and enc_rec["key_version"] == 1 and enc_rec["result"] == "ok"
    path = tmp_path / "audit.log"
    path.write_bytes(log)
    res = verify_audit_log(path)
    assert res.ok and res.records == len(recs) and res.last_seq == len(recs)


def _write_log(tmp_path: Path, n: int = 6) -> Path:
    path = tmp_path / "audit.log"
    log = AuditLog(FileSink(path))
    log.set_key(os.urandom(32))
    for i in range(n):
        log.record(operation="encrypt", key=f"k{i}", result="ok", status=200)
    return path


def test_verify_detects_edit_deletion_insertion_reorder_truncation(tmp_path: Path) -> None:
    path = _write_log(tmp_path)
    assert verify_audit_log(path).ok
    lines = path.read_bytes().splitlines(keepends=True)

    def check(new_lines: list[bytes], line: int) -> None:
        path.write_bytes(b"".join(new_lines))
        res = verify_audit_log(path)
        assert not res.ok and res.line == line, res

    check([*lines[:2], lines[2].replace(b'"k2"', b'"kX"'), *lines[3:]], 4)  # edit: next record breaks
    check(lines[:2] + lines[3:], 3)  # deletion
    check([*lines[:3], lines[1], *lines[3:]], 4)  # insertion (a replayed record)
    check([lines[0], lines[2], lines[1], *lines[3:]], 2)  # reorder
    check([*lines[:-1], lines[-1][:-5]], 6)  # torn last record
    check([lines[0].replace(b'"seq":1', b'"seq":7'), *lines[1:]], 1)  # bad first sequence number
    path.write_bytes(b"".join(lines))
    assert verify_audit_log(path).ok
    assert not verify_audit_log(tmp_path / "missing.log").ok


def test_audit_resumes_chain_after_restart(tmp_path: Path) -> None:
    path = _write_log(tmp_path, 3)
    log2 = AuditLog(FileSink(path))
    log2.set_key(os.urandom(32))
    log2.record(operation="decrypt", result="ok", status=200)
    res = verify_audit_log(path)
    assert res.ok and res.records == 4


class _FullDisk:
    def write(self, line: bytes) -> None:
        raise OSError(28, "No space left on device")

    def last_line(self) -> bytes | None:
        return None


def _engine_with_sink(sink: object, clock: FakeClock) -> tuple[Engine, Caller]:
    e = Engine(MemoryStorage(), AuditLog(MemorySink()), Config(), clock=clock)
    resp = init_unseal(e)
    root = e.authenticate(resp.root_token, RequestContext())
    e.create_key(root, "k", api.CreateKeyRequest())
    e.audit.sink = sink  # type: ignore[assignment]
    e.audit._prev = None
    return e, root


def test_full_disk_fails_closed(clock: FakeClock) -> None:
    e, root = _engine_with_sink(_FullDisk(), clock)
    with pytest.raises(AuditUnavailableError):
        e.encrypt(root, "k", api.EncryptRequest(plaintext=b"x"))
    with pytest.raises(AuditUnavailableError):
        e.authenticate("gmt.bogus", RequestContext())
    with pytest.raises(AuditUnavailableError):
        e.rotate_key(root, "k")


def test_read_only_audit_file_fails_closed(clock: FakeClock, tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    path.write_bytes(b"")
    path.chmod(0o400)
    if os.geteuid() == 0:
        # root ignores file modes: simulate with a directory in the file's place instead.
        path.unlink()
        path.mkdir()
    e, root = _engine_with_sink(FileSink(path), clock)
    with pytest.raises(AuditUnavailableError):
        e.encrypt(root, "k", api.EncryptRequest(plaintext=b"x"))


def _append_records(path: str, n: int) -> None:
    log = AuditLog(FileSink(path))
    log.set_key(b"k" * 32)
    for i in range(n):
        log.record(operation="encrypt", key=f"p{os.getpid()}-{i}", result="ok", status=200)


def test_two_writers_on_one_file_form_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    a, b = AuditLog(FileSink(path)), AuditLog(FileSink(path))
    for log in (a, b):
        log.set_key(os.urandom(32))
    for i in range(10):
        (a if i % 3 else b).record(operation="x", n=i)
    res = verify_audit_log(path)
    assert res.ok and res.records == 10


def test_processes_appending_concurrently_keep_the_chain(tmp_path: Path) -> None:
    import multiprocessing  # noqa: PLC0415

    path = tmp_path / "audit.log"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_records, args=(str(path), 150)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    res = verify_audit_log(path)
    assert res.ok and res.records == 450, res


def test_torn_last_record_makes_the_log_refuse_appends(tmp_path: Path) -> None:
    path = _write_log(tmp_path, 2)
    with open(path, "ab") as f:
        f.write(b'{"seq":3,"half')
    log = AuditLog(FileSink(path))
    log.set_key(os.urandom(32))
    with pytest.raises(AuditUnavailableError, match="damaged"):
        log.record(operation="x")
