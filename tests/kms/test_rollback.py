"""Rollback-proof storage (issue 10 finding 2; docs/spec/storage.md): replaying an older
record, deleting one, or restoring an old copy of the whole database is detected and
refused with a clear integrity error, never served.

Each test plays the attacker with write access to the database (``raw``: the storage
below the barrier).  They fail on the code before this change, which had no record
generations and no state record.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import sqlite3
import struct
from pathlib import Path
from typing import Any

import httpx
import pytest

from guomi import api
from guomi.exceptions import StorageIntegrityError
from guomi.kms import Config, create_app
from guomi.kms._crypto import sm4gcm
from guomi.kms.audit import AuditLog, MemorySink
from guomi.kms.barrier import STATE_PATH
from guomi.kms.service import Engine, RequestContext
from guomi.kms.storage import MemoryStorage, Put, SQLiteStorage, Storage

from .conftest import fresh_pg_url, init_unseal, needs_postgres


def _engine(storage: Storage, anchor: Path | None = None, **kw: Any) -> Engine:
    return Engine(storage, AuditLog(MemorySink()), Config(), state_anchor=anchor, **kw)


def _unseal(engine: Engine, init: api.InitResponse) -> None:
    engine.unseal(api.UnsealRequest(key=base64.b64decode(init.keys_base64[0])))


def _setup(storage: Storage, anchor: Path | None = None) -> tuple[Engine, api.InitResponse, Any]:
    e = _engine(storage, anchor)
    init = init_unseal(e)
    root = e.authenticate(init.root_token, RequestContext())
    e.create_key(root, "orders", api.CreateKeyRequest())
    return e, init, root


def test_replayed_record_is_refused_on_read_and_at_unseal() -> None:
    raw = MemoryStorage()
    e, init, root = _setup(raw)
    old_meta = raw.get("keymeta/orders")
    assert old_meta is not None
    e.rotate_key(root, "orders")
    e.configure_key(root, "orders", api.KeyConfigRequest(min_decryption_version=2))
    e.read_key(root, "orders")  # this server has read the current record
    raw.commit([Put("keymeta/orders", old_meta.value)])  # put back min_decryption_version=1
    with pytest.raises(StorageIntegrityError):
        e.read_key(root, "orders")
    other = _engine(raw)  # a server restarted on the store
    with pytest.raises(StorageIntegrityError, match="replayed, deleted, inserted or edited"):
        _unseal(other, init)
    assert other.sealed


def test_revived_token_is_detected_by_the_storage_check() -> None:
    raw = MemoryStorage()
    e, init, root = _setup(raw)
    token = e.create_token(root, api.CreateTokenRequest(policies=["root"])).token
    saved = {"auth/" + p: raw.get("auth/" + p) for p in raw.list("auth/")}
    e.revoke_token(root, api.RevokeTokenRequest(token=token))
    raw.commit([Put(p, r.value) for p, r in saved.items() if r is not None])  # revive it
    assert e.verify_storage() is False  # the periodic check seals the service
    assert e.sealed
    with pytest.raises(StorageIntegrityError):
        _unseal(_engine(raw), init)


def test_deleted_record_is_refused_on_read_and_at_unseal() -> None:
    raw = MemoryStorage()
    e, init, root = _setup(raw)
    e.write_policy(root, "p", api.PolicyRequest(rules=[api.PolicyRule(pattern="x", capabilities=["read"])]))
    token = e.create_token(root, api.CreateTokenRequest(policies=["p"])).token
    caller = e.authenticate(token, RequestContext())
    e.capabilities(caller, "x")  # policy read and remembered
    raw.delete("policy/p")  # a deletion with no commit behind it
    with pytest.raises(StorageIntegrityError):
        e.read_key(caller, "x")
    raw.delete("keyver/orders/0000000001")  # one nobody has read: found by the full check
    assert e.verify_storage() is False and e.sealed
    with pytest.raises(StorageIntegrityError):
        _unseal(_engine(raw), init)


def _rolled_back_restart(storage_of: Any, snapshot: Any, restore: Any, anchor: Path) -> None:
    storage = storage_of()
    e, init, root = _setup(storage, anchor)
    snap = snapshot(storage)
    e.rotate_key(root, "orders")  # later changes: generation and anchor advance
    e.create_token(root, api.CreateTokenRequest(policies=["root"]))
    storage.close()
    restore(snap)  # the old copy of the whole database
    restarted = _engine(storage_of(), anchor)
    with pytest.raises(StorageIntegrityError, match="rolled back"):
        _unseal(restarted, init)
    assert restarted.sealed
    # Over HTTP: the restarted server refuses to unseal with a clear message, stays sealed.
    app = create_app(Config(auto_rotate_check_interval=0), engine=_engine(storage_of(), anchor))

    async def go() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kms") as c:
            r = await c.post("/v1/sys/unseal", json={"key": init.keys_base64[0]})
            return r, await c.get("/v1/sys/health")

    r, health = asyncio.run(go())
    assert r.status_code == 500
    err = r.json()["errors"][0]
    assert err["code"] == "storage_integrity" and "rolled back" in err["message"]
    assert health.status_code == 503 and health.json()["sealed"] is True


def test_server_restarted_on_a_rolled_back_sqlite_file_refuses(tmp_path: Path) -> None:
    db = tmp_path / "guomi.db"

    def snapshot(_: Storage) -> bytes:
        copy = tmp_path / "snapshot.db"
        src, dst = sqlite3.connect(db), sqlite3.connect(copy)
        try:
            src.backup(dst)  # a consistent copy of the live file
        finally:
            src.close()
            dst.close()
        return copy.read_bytes()

    def restore(data: bytes) -> None:
        for extra in (tmp_path / "guomi.db-wal", tmp_path / "guomi.db-shm"):
            extra.unlink(missing_ok=True)
        db.write_bytes(data)

    _rolled_back_restart(lambda: SQLiteStorage(db), snapshot, restore, tmp_path / "state-anchor.json")


@needs_postgres
def test_server_restarted_on_a_rolled_back_postgres_database_refuses(tmp_path: Path) -> None:
    import psycopg  # noqa: PLC0415

    from guomi.kms.storage.postgres import PostgresStorage  # noqa: PLC0415

    url = fresh_pg_url()

    def snapshot(_: Storage) -> list[Any]:
        with psycopg.connect(url) as conn:
            return list(conn.execute("SELECT path, value, revision FROM guomi_kv").fetchall())

    def restore(rows: list[Any]) -> None:
        with psycopg.connect(url) as conn:
            conn.execute("DELETE FROM guomi_kv")
            for row in rows:
                conn.execute("INSERT INTO guomi_kv (path, value, revision) VALUES (%s, %s, %s)", row)

    _rolled_back_restart(lambda: PostgresStorage(url), snapshot, restore, tmp_path / "state-anchor.json")


def test_database_and_anchor_rolled_back_together_needs_the_external_anchor(tmp_path: Path) -> None:
    db, anchor = tmp_path / "guomi.db", tmp_path / "state-anchor.json"
    storage = SQLiteStorage(db)
    _, init, _ = _setup(storage, anchor)
    storage.close()
    shutil.copy(db, tmp_path / "old.db")
    shutil.copy(anchor, tmp_path / "old.anchor")
    e2 = _engine(SQLiteStorage(db), anchor)
    _unseal(e2, init)
    e2.rotate_key(e2.authenticate(init.root_token, RequestContext()), "orders")
    recorded = e2.storage_state(e2.authenticate(init.root_token, RequestContext())).generation
    e2.storage.close()
    shutil.copy(tmp_path / "old.db", db)
    shutil.copy(tmp_path / "old.anchor", anchor)
    # Both copies rolled back together: consistent, so the local check cannot tell ...
    _unseal(_engine(SQLiteStorage(db), anchor), init)
    # ... but the generation the operator recorded outside (GET sys/state) can.
    with pytest.raises(StorageIntegrityError, match="external anchor"):
        _unseal(_engine(SQLiteStorage(db), anchor, min_state_generation=recorded), init)


def test_a_store_written_before_generations_still_opens(tmp_path: Path) -> None:
    # Rewrite a store as the previous release wrote it: format-1 records, no state record.
    raw = MemoryStorage()
    e, init, root = _setup(raw)
    ct = e.encrypt(root, "orders", api.EncryptRequest(plaintext=b"kept")).ciphertext or ""
    barrier = e._barrier
    keyring = e._keyring
    assert barrier is not None and keyring is not None
    term = struct.pack(">I", keyring.term)
    for path in [p for p in raw.list("") if not p.startswith("core/")]:
        rec = raw.get(path)
        assert rec is not None
        value, _ = barrier.open_record(path, rec.value)
        nonce = os.urandom(12)
        ad = b"guomi/barrier/v1\x00" + term + path.encode()
        raw.commit(
            [
                Put(
                    path,
                    struct.pack(">BI", 1, keyring.term)
                    + nonce
                    + sm4gcm(keyring.barrier_key).encrypt(nonce, value, ad),
                )
            ]
        )
    raw.delete(STATE_PATH)
    upgraded = _engine(raw)
    _unseal(upgraded, init)  # migrates: the state record is created over the records as they are
    assert raw.get(STATE_PATH) is not None
    root2 = upgraded.authenticate(init.root_token, RequestContext())
    assert upgraded.decrypt(root2, "orders", api.DecryptRequest(ciphertext=ct)).plaintext == b"kept"
    upgraded.rotate_key(root2, "orders")  # new writes use generations
    _unseal(_engine(raw), init)  # and the next start verifies cleanly
