"""Backups bound to their key (issue 10, finding 3): regression tests.

Each fails on the code before this change: a backup was not bound to its key's name,
restore accepted any name with only ``create`` on it, and restore decoded the blob before
authorising and auditing (a failed attempt left no audit record and told an unauthorised
caller whether the blob was valid).
"""

from __future__ import annotations

import json

import pytest

from guomi import api
from guomi.exceptions import BadRequestError, PermissionDeniedError
from guomi.kms.audit import MemorySink
from guomi.kms.service import Caller, Engine, RequestContext


def _caller(engine: Engine, root: Caller, name: str, rules: dict[str, list[str]]) -> Caller:
    engine.write_policy(
        root,
        name,
        api.PolicyRequest(rules=[api.PolicyRule(pattern=p, capabilities=c) for p, c in rules.items()]),  # type: ignore[misc]
    )
    token = engine.create_token(root, api.CreateTokenRequest(policies=[name])).token
    return engine.authenticate(token, RequestContext(name))


def _last(sink: MemorySink) -> dict[str, object]:
    return dict(json.loads(sink.lines[-1]))


def test_backup_restored_under_another_name_cannot_widen_use(
    engine: Engine, root: Caller, sink: MemorySink
) -> None:
    # The finding: backup on pay-*, create (and sign) on scratch-*, sign denied on pay-*.
    engine.create_key(root, "pay-signing", api.CreateKeyRequest(type="sm2-sign"))
    mallory = _caller(engine, root, "mallory", {"pay-*": ["backup"], "scratch-*": ["create", "sign", "read"]})
    blob = engine.backup_key(mallory, "pay-signing").backup
    with pytest.raises(PermissionDeniedError, match="sign"):
        engine.restore_key(mallory, api.RestoreRequest(backup=blob, name="scratch-copy"))
    assert _last(sink)["result"] == "denied" and _last(sink)["operation"] == "restore"
    with pytest.raises(Exception, match="no key"):
        engine.read_key(root, "scratch-copy")
    # Holding every capability on the source that the target would give is enough.
    ops = _caller(
        engine, root, "ops", {"pay-*": ["backup", "sign", "read"], "scratch-*": ["create", "sign", "read"]}
    )
    engine.restore_key(ops, api.RestoreRequest(backup=blob, name="scratch-copy"))
    assert engine.read_key(root, "scratch-copy").type == "sm2-sign"
    # Root may rename freely; the same name needs only create.
    engine.restore_key(root, api.RestoreRequest(backup=blob, name="anything"))


def test_restore_authorises_and_audits_before_opening_the_blob(
    engine: Engine, root: Caller, sink: MemorySink
) -> None:
    engine.create_key(root, "k", api.CreateKeyRequest())
    blob = engine.backup_key(root, "k").backup
    nobody = _caller(engine, root, "nobody", {"other-*": ["read"]})
    for text in (blob, blob[:-8] + "AAAAAAAA", "guomi-backup:v2:k:garbage", "not a backup at all"):
        before = len(sink.lines)
        with pytest.raises(PermissionDeniedError):  # never "invalid_backup" to this caller
            engine.restore_key(nobody, api.RestoreRequest(backup=text, name="k2"))
        assert len(sink.lines) == before + 1 and _last(sink)["result"] == "denied"
    # An authorised caller gets the blob's verdict, audited too.
    before = len(sink.lines)
    with pytest.raises(BadRequestError) as info:
        engine.restore_key(root, api.RestoreRequest(backup=blob[:-8] + "AAAAAAAA", name="k2"))
    assert info.value.code == "invalid_backup" and len(sink.lines) == before + 1


def test_backup_name_is_bound_by_the_seal(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "pay-key", api.CreateKeyRequest())
    engine.create_key(root, "scratch-key", api.CreateKeyRequest())
    blob = engine.backup_key(root, "pay-key").backup
    assert blob.startswith("guomi-backup:v2:pay-key:")
    relabelled = blob.replace("guomi-backup:v2:pay-key:", "guomi-backup:v2:scratch-x:")
    with pytest.raises(BadRequestError) as info:
        engine.restore_key(root, api.RestoreRequest(backup=relabelled))
    assert info.value.code == "invalid_backup"
