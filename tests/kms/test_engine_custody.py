"""Engine without HTTP: init, unseal (progress, wrong shares), seal, dev mode, sealed -> 503."""

from __future__ import annotations

import base64
import json

import pytest

from guomi import api
from guomi.kms.audit import AuditLog, MemorySink
from guomi.kms.barrier import KEYRING_PATH, SEAL_CONFIG_PATH
from guomi.kms.config import Config
from guomi.kms.errors import (
    AuditUnavailableError,
    BadRequestError,
    ConflictError,
    NotInitializedError,
    SealedError,
    StorageIntegrityError,
)
from guomi.kms.seal.shamir import split
from guomi.kms.service import Caller, Engine, RequestContext
from guomi.kms.storage import MemoryStorage, Put, Storage

from .conftest import init_unseal


def _engine(storage: Storage | None = None) -> Engine:
    return Engine(storage or MemoryStorage(), AuditLog(MemorySink()), Config())


def test_fresh_engine_is_uninitialised() -> None:
    e = _engine()
    assert not e.is_initialized()
    status, body = e.health()
    assert status == 501 and not body.initialized and body.sealed
    with pytest.raises(NotInitializedError):
        e.authenticate("gmt.x", RequestContext())
    with pytest.raises(NotInitializedError):
        e.unseal(api.UnsealRequest(key=b"\x01" + bytes(32)))


def test_init_unseal_with_threshold_and_progress() -> None:
    e = _engine()
    resp = e.init(api.InitRequest(secret_shares=5, secret_threshold=3))
    assert len(resp.keys_base64) == 5 and resp.root_token.startswith("gmt.")
    assert e.is_initialized() and e.sealed
    assert e.health()[0] == 503
    shares = [base64.b64decode(k) for k in resp.keys_base64]
    st = e.unseal(api.UnsealRequest(key=shares[4]))
    assert (st.sealed, st.progress, st.t, st.n) == (True, 1, 3, 5)
    assert e.seal_status().progress == 1
    st = e.unseal(api.UnsealRequest(key=shares[1]))
    assert st.progress == 2 and st.sealed
    st = e.unseal(api.UnsealRequest(key=shares[2]))
    assert not st.sealed and st.progress == 0
    assert e.health()[0] == 200
    e.authenticate(resp.root_token, RequestContext())


def test_init_twice_conflicts() -> None:
    e = _engine()
    e.init(api.InitRequest(secret_shares=1, secret_threshold=1))
    with pytest.raises(ConflictError):
        e.init(api.InitRequest(secret_shares=1, secret_threshold=1))


def test_init_bad_parameters_store_nothing() -> None:
    s = MemoryStorage()
    e = _engine(s)
    with pytest.raises(BadRequestError, match="secret_threshold"):
        e.init(api.InitRequest(secret_shares=2, secret_threshold=3))
    with pytest.raises(BadRequestError, match="secret_threshold"):
        e.init(api.InitRequest(secret_shares=3, secret_threshold=1))
    assert s.list("") == []


def test_init_stores_no_master_key_in_clear_and_no_hash_of_it() -> None:
    s = MemoryStorage()
    e = _engine(s)
    resp = e.init(api.InitRequest(secret_shares=1, secret_threshold=1))
    share = base64.b64decode(resp.keys_base64[0])
    # With t=1 the share's payload IS the master key (degree-0 polynomial).
    master = share[1:]
    assert set(s.list("")) >= {SEAL_CONFIG_PATH, KEYRING_PATH}
    for p in s.list(""):
        rec = s.get(p)
        assert rec is not None and master not in rec.value
        assert resp.root_token.encode() not in rec.value


def test_wrong_shares_reset_progress_and_stay_sealed() -> None:
    e = _engine()
    resp = e.init(api.InitRequest(secret_shares=3, secret_threshold=2))
    good = [base64.b64decode(k) for k in resp.keys_base64]
    foreign = split(bytes(32), 3, 2)
    e.unseal(api.UnsealRequest(key=good[0]))
    with pytest.raises(BadRequestError) as ei:
        e.unseal(api.UnsealRequest(key=foreign[1]))
    assert ei.value.code == "unseal_failed"
    assert e.sealed and e.seal_status().progress == 0
    e.unseal(api.UnsealRequest(key=good[0]))
    e.unseal(api.UnsealRequest(key=good[2]))
    assert not e.sealed


def test_duplicate_share_and_malformed_share_rejected() -> None:
    e = _engine()
    resp = e.init(api.InitRequest(secret_shares=3, secret_threshold=2))
    s0 = base64.b64decode(resp.keys_base64[0])
    e.unseal(api.UnsealRequest(key=s0))
    with pytest.raises(BadRequestError, match="already"):
        e.unseal(api.UnsealRequest(key=s0))
    with pytest.raises(BadRequestError, match="key"):
        e.unseal(api.UnsealRequest(key=b"\x02short"))
    with pytest.raises(BadRequestError, match="key"):
        e.unseal(api.UnsealRequest())
    assert e.unseal(api.UnsealRequest(reset=True)).progress == 0


def test_seal_drops_keys_and_every_operation_answers_503(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "k", api.CreateKeyRequest())
    ct = engine.encrypt(root, "k", api.EncryptRequest(plaintext=b"x")).ciphertext
    engine.seal(root)
    assert engine.sealed and engine.health()[0] == 503
    assert engine._materials == {} and engine._keyring is None
    calls = [
        lambda: engine.authenticate(engine.init_response.root_token, RequestContext()),  # type: ignore[attr-defined]
        lambda: engine.encrypt(root, "k", api.EncryptRequest(plaintext=b"x")),
        lambda: engine.decrypt(root, "k", api.DecryptRequest(ciphertext=ct)),
        lambda: engine.create_key(root, "k2", api.CreateKeyRequest()),
        lambda: engine.rotate_key(root, "k"),
        lambda: engine.list_keys(root),
    ]
    for call in calls:
        with pytest.raises(SealedError):
            call()
    # Unseal again: everything is back.
    share = base64.b64decode(engine.init_response.keys_base64[0])  # type: ignore[attr-defined]
    engine.unseal(api.UnsealRequest(key=share))
    root2 = engine.authenticate(engine.init_response.root_token, RequestContext())  # type: ignore[attr-defined]
    assert engine.decrypt(root2, "k", api.DecryptRequest(ciphertext=ct)).plaintext == b"x"


def test_dev_init_unseals_with_one_share() -> None:
    e = _engine()
    token = e.dev_init()
    assert not e.sealed and e.seal_status().n == 1
    e.authenticate(token, RequestContext())


def test_second_engine_on_same_store_unseals_with_the_same_shares() -> None:
    s = MemoryStorage()
    a = _engine(s)
    resp = init_unseal(a, 3, 2)
    b = _engine(s)
    assert b.is_initialized() and b.sealed
    for k in resp.keys_base64[1:]:
        b.unseal(api.UnsealRequest(key=base64.b64decode(k)))
    ra = a.authenticate(resp.root_token, RequestContext())
    rb = b.authenticate(resp.root_token, RequestContext())
    a.create_key(ra, "shared", api.CreateKeyRequest())
    ct = a.encrypt(ra, "shared", api.EncryptRequest(plaintext=b"p")).ciphertext
    assert b.decrypt(rb, "shared", api.DecryptRequest(ciphertext=ct)).plaintext == b"p"


def test_tampered_key_record_is_an_audited_integrity_error(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "k", api.CreateKeyRequest())
    other = engine.storage.get("keymeta/k")
    assert other is not None
    engine.create_key(root, "j", api.CreateKeyRequest())
    # A storage attacker copies j's metadata over k's: the barrier AD (path) catches it.
    j = engine.storage.get("keymeta/j")
    assert j is not None
    engine.storage.commit([Put("keymeta/k", j.value)])
    with pytest.raises(StorageIntegrityError):
        engine.encrypt(root, "k", api.EncryptRequest(plaintext=b"x"))
    last = engine.audit.sink.lines[-1]  # type: ignore[attr-defined]
    assert b'"storage_integrity"' in last


def test_reprs_and_errors_hold_no_secrets(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "k", api.CreateKeyRequest())
    engine.encrypt(root, "k", api.EncryptRequest(plaintext=b"x"))
    keyring = engine._keyring
    assert keyring is not None
    mat = next(iter(engine._materials.values()))
    token = engine.init_response.root_token  # type: ignore[attr-defined]
    texts = [
        repr(engine),
        repr(keyring),
        repr(mat),
        repr(root),
        repr(root.entry),
        repr(engine.audit),
        repr(engine._barrier),
    ]
    secrets = [keyring.barrier_key, keyring.audit_key, keyring.token_key, keyring.backup_key, mat.secret]
    for t in texts:
        assert token not in t
        for s in secrets:
            assert s.hex() not in t and repr(s) not in t


def test_init_is_the_first_audit_record_and_fails_closed() -> None:
    sink = MemorySink()
    e = Engine(MemoryStorage(), AuditLog(sink), Config())
    resp = e.init(api.InitRequest(secret_shares=1, secret_threshold=1), RequestContext("init-1"))
    first = json.loads(sink.lines[0])
    assert first["operation"] == "sys/init" and first["seq"] == 1 and first["request_id"] == "init-1"
    assert resp.root_token not in sink.lines[0].decode()

    class Full:
        def write(self, line: bytes) -> None:
            raise OSError(28, "No space left on device")

        def last_line(self) -> bytes | None:
            return None

    s2 = MemoryStorage()
    e2 = Engine(s2, AuditLog(Full()), Config())
    with pytest.raises(AuditUnavailableError):
        e2.init(api.InitRequest(secret_shares=1, secret_threshold=1))
    assert s2.list("") == [] and not e2.is_initialized()
