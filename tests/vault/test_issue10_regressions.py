"""Issue 10 findings owned by the vault lane, each a regression test at the engine / HTTP level.

1 token trees, 4 keyed audit chain, 5 glob matching (test_glob.py), 6 one-way
retirement and trim, 7 bounded unauthenticated audit records.  Each failed on
the code before this lane's work.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from guomi import api
from guomi.kms import Config, create_app
from guomi.kms._crypto import sm3_digest
from guomi.kms.audit import GENESIS, split_keyed_line, verify_audit_log
from guomi.kms.errors import BadRequestError, ForbiddenError, UnauthorizedError
from guomi.kms.service import Caller, Engine, RequestContext

CTX = RequestContext()


@pytest.fixture
def dev(tmp_path: Path) -> tuple[Engine, Caller]:
    app = create_app(Config(dev=True, auto_rotate_check_interval=0, audit_path=tmp_path / "audit.log"))
    engine: Engine = app.state.engine
    return engine, engine.authenticate(app.state.engine.dev_root_token, CTX)


def _token(engine: Engine, caller: Caller, policies: list[str]) -> str:
    return engine.create_token(caller, api.CreateTokenRequest(policies=policies, ttl="1h")).token


def test_finding_1_revoking_a_token_revokes_the_tokens_it_created(dev: tuple[Engine, Caller]) -> None:
    engine, root = dev
    leaked = _token(engine, root, ["app"])
    leaked_caller = engine.authenticate(leaked, CTX)
    minted = _token(engine, leaked_caller, ["app"])
    minted_again = _token(engine, engine.authenticate(minted, CTX), ["app"])
    engine.revoke_token(root, api.RevokeTokenRequest(token=leaked))
    for t in (leaked, minted, minted_again):
        with pytest.raises(UnauthorizedError):
            engine.authenticate(t, CTX)


def test_finding_4_deleting_a_record_and_rechaining_fails_verification(dev: tuple[Engine, Caller]) -> None:
    engine, root = dev
    engine.create_key(root, "k", api.CreateKeyRequest())
    for _ in range(4):
        engine.encrypt(root, "k", api.EncryptRequest(plaintext=b"x"))
    path = Path(engine.config.resolved_audit_path())  # type: ignore[arg-type]
    assert verify_audit_log(path, mac_checker=engine.audit.check_macs).ok
    lines = path.read_bytes().splitlines()
    kept = lines[:2] + lines[3:]
    prev, out = GENESIS, []
    for seq, line in enumerate(kept, start=1):  # the editor re-chains without the key
        rec = json.loads(line)
        rec["seq"], rec["prev"] = seq, prev
        mac = rec.pop("mac", None)
        raw = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()
        if mac is not None:
            raw = raw[:-1] + b',"mac":"' + mac.encode() + b'"}'
        out.append(raw + b"\n")
        prev = sm3_digest(raw).hex()
    path.write_bytes(b"".join(out))
    assert verify_audit_log(path).ok  # the SM3 chain alone is fooled, as before
    assert not verify_audit_log(path, mac_checker=engine.audit.check_macs).ok
    assert split_keyed_line(lines[-1]) is not None  # the engine writes keyed records


def test_finding_6_min_decryption_version_only_rises(dev: tuple[Engine, Caller]) -> None:
    engine, root = dev
    engine.create_key(root, "k", api.CreateKeyRequest())
    for _ in range(3):
        engine.rotate_key(root, "k")
    engine.write_policy(
        root, "cfg", api.PolicyRequest(rules=[api.PolicyRule(pattern="k", capabilities=["config"])])
    )
    admin = engine.authenticate(_token(engine, root, ["cfg"]), CTX)
    engine.configure_key(admin, "k", api.KeyConfigRequest(min_decryption_version=3))
    with pytest.raises(BadRequestError, match="min_decryption_version"):
        engine.configure_key(admin, "k", api.KeyConfigRequest(min_decryption_version=1))
    with pytest.raises(BadRequestError, match="min_decryption_version"):
        engine.configure_key(root, "k", api.KeyConfigRequest(min_decryption_version=1))
    with pytest.raises(ForbiddenError):
        engine.configure_key(
            admin, "k", api.KeyConfigRequest(min_decryption_version=1, lower_min_decryption_version=True)
        )
    info = engine.configure_key(
        root, "k", api.KeyConfigRequest(min_decryption_version=2, lower_min_decryption_version=True)
    )
    assert info.min_decryption_version == 2
    lowered = [json.loads(x) for x in Path(engine.config.resolved_audit_path()).read_bytes().splitlines()]  # type: ignore[arg-type]
    assert any(r.get("lowered_min_decryption_version_from") == 3 for r in lowered)


def test_finding_6_trim_destroys_versions_below_the_floor(dev: tuple[Engine, Caller]) -> None:
    engine, root = dev
    engine.create_key(root, "k", api.CreateKeyRequest())
    old = engine.encrypt(root, "k", api.EncryptRequest(plaintext=b"v1")).ciphertext
    for _ in range(3):
        engine.rotate_key(root, "k")
    with pytest.raises(BadRequestError, match="min_available_version"):
        engine.trim_key(
            root, "k", api.TrimKeyRequest(min_available_version=3)
        )  # above min_decryption_version
    engine.configure_key(root, "k", api.KeyConfigRequest(min_decryption_version=3))
    info = engine.trim_key(root, "k", api.TrimKeyRequest(min_available_version=3))
    assert info.min_available_version == 3 and sorted(info.keys) == ["3", "4"]
    assert engine.storage.list("keyver/k/") == ["0000000003", "0000000004"]
    # Destroyed for good: even root cannot lower the floor back to read the old token.
    with pytest.raises(BadRequestError):
        engine.configure_key(
            root, "k", api.KeyConfigRequest(min_decryption_version=1, lower_min_decryption_version=True)
        )
    with pytest.raises(BadRequestError):
        engine.decrypt(root, "k", api.DecryptRequest(ciphertext=old))


def test_finding_7_unauthenticated_requests_do_not_grow_the_log_without_bound(
    dev: tuple[Engine, Caller],
) -> None:
    engine, _ = dev
    path = Path(engine.config.resolved_audit_path())  # type: ignore[arg-type]
    before = len(path.read_bytes().splitlines())
    for _ in range(5000):
        with pytest.raises(UnauthorizedError):
            engine.authenticate("gmt." + "C" * 43, CTX)
    written = len(path.read_bytes().splitlines()) - before
    # The burst (100) and what the bucket refilled meanwhile (10/s), not 5,000 records.
    assert written <= engine.audit.denied.burst + 50
    assert engine.audit.denied.suppressed_total >= 5000 - written


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_bytes().splitlines()]


def test_token_lookup_and_renewal_stay_within_the_tree(dev: tuple[Engine, Caller]) -> None:
    engine, root = dev
    parent_tok = engine.create_token(root, api.CreateTokenRequest(policies=["app"], ttl="1h"))
    parent = engine.authenticate(parent_tok.token, CTX)
    child_tok = engine.create_token(parent, api.CreateTokenRequest(policies=["app"], ttl="30m"))
    stranger = engine.authenticate(_token(engine, root, ["app"]), CTX)
    # An ancestor may look up and renew its descendant; an unrelated token may not.
    assert engine.lookup_token(parent, accessor=child_tok.accessor).parent == parent_tok.accessor
    with pytest.raises(ForbiddenError):
        engine.lookup_token(stranger, token=child_tok.token)
    with pytest.raises(ForbiddenError):
        engine.renew_token(stranger, accessor=child_tok.accessor)
    # Renewal never outlives the parent.
    renewed = engine.renew_token(parent, token=child_tok.token, increment="10h")
    assert renewed.expire_time == engine.lookup_self(parent).expire_time
    # Orphans and by-policy revocation are root's.
    with pytest.raises(ForbiddenError):
        engine.create_token(parent, api.CreateTokenRequest(policies=["app"], no_parent=True))
    with pytest.raises(ForbiddenError):
        engine.revoke_token(parent, api.RevokeTokenRequest(policy="app"))
    engine.revoke_token(root, api.RevokeTokenRequest(policy="app"))
    for t in (parent_tok.token, child_tok.token):
        with pytest.raises(UnauthorizedError):
            engine.authenticate(t, CTX)
    assert engine.list_token_accessors(root, "app") == []
