"""generate-root, rekey and rotate on the engine (no HTTP): quorum checks, one-time pad,
nothing changed by a wrong share, old records readable after rotation."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest

from guomi import api
from guomi.kms.audit import AuditLog, MemorySink
from guomi.kms.config import Config
from guomi.kms.errors import BadRequestError, KMSError
from guomi.kms.seal import SealLifecycle, decode_root_token
from guomi.kms.service import Engine, RequestContext
from guomi.kms.storage import MemoryStorage, Storage

CTX = RequestContext(request_id="t")


def _audit(engine: Engine, operation: str) -> list[dict[str, Any]]:
    lines = engine.audit.sink.lines  # type: ignore[attr-defined]
    return [r for r in (json.loads(ln) for ln in lines) if r.get("operation") == operation]


def _snapshot(storage: Storage) -> dict[str, Any]:
    return {p: storage.get(p) for p in storage.list("")}


def _engine(storage: Storage | None = None) -> Engine:
    return Engine(storage or MemoryStorage(), AuditLog(MemorySink()), Config(auto_rotate_check_interval=0))


def _unseal(engine: Engine, shares: list[bytes]) -> api.SealStatus:
    status = engine.seal_status()
    for s in shares:
        status = engine.unseal(api.UnsealRequest(key=s))
    return status


@pytest.fixture
def installed() -> tuple[Engine, list[bytes], str]:
    engine = _engine()
    init = engine.init(api.InitRequest(secret_shares=3, secret_threshold=2))
    shares = [base64.b64decode(s) for s in init.keys_base64]
    assert not _unseal(engine, shares[:2]).sealed
    return engine, shares, init.root_token


def _root_caller(engine: Engine, token: str) -> Any:
    return engine.authenticate(token, CTX)


def test_generate_root_with_a_quorum(installed: tuple[Engine, list[bytes], str]) -> None:
    engine, shares, _ = installed
    life = SealLifecycle(engine)
    start = life.root_start(CTX)
    assert start["required"] == 2 and len(base64.b64decode(start["otp"])) == 47
    step = life.root_update(start["nonce"], shares[2], CTX)
    assert step["complete"] is False and step["progress"] == 1
    done = life.root_update(start["nonce"], shares[0], CTX)
    assert done["complete"] is True
    # The token travels only XORed with the pad.
    assert b"gmt." not in base64.b64decode(done["encoded_token"])
    token = decode_root_token(done["encoded_token"], start["otp"])
    caller = engine.authenticate(token, CTX)
    assert caller.entry.is_root and caller.entry.accessor == done["accessor"]
    records = _audit(engine, "sys/generate-root")
    assert records and records[-1]["result"] == "ok" and records[-1]["root_accessor"] == done["accessor"]


def test_generate_root_also_works_while_sealed(installed: tuple[Engine, list[bytes], str]) -> None:
    engine, shares, root = installed
    engine.seal(_root_caller(engine, root))
    life = SealLifecycle(engine)
    start = life.root_start(CTX)
    life.root_update(start["nonce"], shares[0], CTX)
    done = life.root_update(start["nonce"], shares[1], CTX)
    token = decode_root_token(done["encoded_token"], start["otp"])
    _unseal(engine, shares[:2])
    assert engine.authenticate(token, CTX).entry.is_root


def test_generate_root_with_a_wrong_share_changes_nothing(installed: tuple[Engine, list[bytes], str]) -> None:
    engine, shares, _ = installed
    life = SealLifecycle(engine)
    before = _snapshot(engine.storage)
    start = life.root_start(CTX)
    life.root_update(start["nonce"], shares[0], CTX)
    wrong = bytes([2]) + os.urandom(32)
    with pytest.raises(BadRequestError) as exc:
        life.root_update(start["nonce"], wrong, CTX)
    assert exc.value.code == "shares_invalid"
    assert _snapshot(engine.storage) == before
    assert life.root_status()["started"] is False  # the attempt ended
    # A wrong nonce, a duplicate share, a malformed share: refused, nothing written.
    start = life.root_start(CTX)
    with pytest.raises(BadRequestError):
        life.root_update("0" * 32, shares[0], CTX)
    life.root_update(start["nonce"], shares[0], CTX)
    with pytest.raises(BadRequestError, match="already given"):
        life.root_update(start["nonce"], shares[0], CTX)
    with pytest.raises(BadRequestError, match="wrong length"):
        life.root_update(start["nonce"], b"\x01short", CTX)
    assert _snapshot(engine.storage) == before


def test_decode_with_a_wrong_otp_fails() -> None:
    enc = base64.b64encode(bytes(47)).decode()
    with pytest.raises(BadRequestError):
        decode_root_token(enc, base64.b64encode(os.urandom(47)).decode())


def test_rekey_needs_old_quorum_and_verification(installed: tuple[Engine, list[bytes], str]) -> None:
    engine, old, root = installed
    caller = _root_caller(engine, root)
    engine.create_key(caller, "orders", api.CreateKeyRequest())
    ct = engine.encrypt(caller, "orders", api.EncryptRequest(plaintext=b"hi")).ciphertext
    life = SealLifecycle(engine)
    start = life.rekey_start(4, 3, CTX)
    assert start["required"] == 2
    life.rekey_update(start["nonce"], old[1], CTX)
    done = life.rekey_update(start["nonce"], old[2], CTX)
    new = [base64.b64decode(s) for s in done["keys_base64"]]
    assert len(new) == 4 and done["verification_required"]
    # Not switched yet: the old shares still unseal, the new ones do not.
    engine.seal(caller)
    assert not _unseal(engine, old[:2]).sealed
    # A wrong share during verification changes nothing.
    before = _snapshot(engine.storage)
    nonce = done["verification_nonce"]
    life.rekey_verify(nonce, new[0], CTX)
    life.rekey_verify(nonce, new[1], CTX)
    with pytest.raises(BadRequestError) as exc:
        life.rekey_verify(nonce, old[2], CTX)  # index 3, but an OLD share
    assert exc.value.code == "shares_invalid"
    assert _snapshot(engine.storage) == before
    for s in new[1:4]:
        result = life.rekey_verify(nonce, s, CTX)
    assert result["complete"] and result["secret_threshold"] == 3
    caller = _root_caller(engine, root)
    engine.seal(caller)
    with pytest.raises(KMSError) as exc:
        _unseal(engine, old[:3])  # the new threshold is 3: three old shares, and they fail
    assert exc.value.code == "unseal_failed"
    engine.unseal(api.UnsealRequest(reset=True))
    assert _unseal(engine, new[:2]).sealed  # threshold is now 3
    assert not engine.unseal(api.UnsealRequest(key=new[3])).sealed
    assert engine.seal_status().t == 3 and engine.seal_status().n == 4
    caller = _root_caller(engine, root)
    assert engine.decrypt(caller, "orders", api.DecryptRequest(ciphertext=ct)).plaintext == b"hi"


def test_rekey_cancel_keeps_old_shares(installed: tuple[Engine, list[bytes], str]) -> None:
    engine, old, _ = installed
    life = SealLifecycle(engine)
    start = life.rekey_start(3, 2, CTX)
    life.rekey_update(start["nonce"], old[0], CTX)
    life.rekey_update(start["nonce"], old[1], CTX)
    life.rekey_cancel(CTX)
    assert life.rekey_status()["verification_pending"] is False
    with pytest.raises(KMSError):
        life.rekey_verify("x", old[0], CTX)


def test_rotate_keeps_old_records_readable(installed: tuple[Engine, list[bytes], str]) -> None:
    engine, shares, root = installed
    caller = _root_caller(engine, root)
    engine.create_key(caller, "orders", api.CreateKeyRequest())
    ct = engine.encrypt(caller, "orders", api.EncryptRequest(plaintext=b"old")).ciphertext
    # A second server on the same store, unsealed before the rotation.
    other = _engine(engine.storage)
    _unseal(other, shares[:2])
    life = SealLifecycle(engine)
    assert life.rotate(CTX)["term"] == 2
    assert life.rotate(CTX)["term"] == 3
    engine.create_key(caller, "payments", api.CreateKeyRequest())  # written under term 3
    newest = max(engine.storage.list(""), key=lambda p: engine.storage.get(p).revision)  # type: ignore[union-attr]
    assert engine.storage.get(newest).value[1:5] == (3).to_bytes(4, "big")  # type: ignore[union-attr]
    assert engine.decrypt(caller, "orders", api.DecryptRequest(ciphertext=ct)).plaintext == b"old"
    # The other server follows the rotation when it meets a newer term.
    other_caller = other.authenticate(root, CTX)
    assert other.read_key(other_caller, "payments").name == "payments"
    # After a restart (seal, unseal) every term is still readable.
    engine.seal(caller)
    _unseal(engine, shares[1:3])
    caller = _root_caller(engine, root)
    assert engine.decrypt(caller, "orders", api.DecryptRequest(ciphertext=ct)).plaintext == b"old"
    assert engine._barrier is not None and engine._barrier.term == 3
    records = _audit(engine, "sys/rotate")
    assert [r["term"] for r in records] == [2, 3]
