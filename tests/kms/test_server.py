"""Over a real socket (uvicorn + SQLite) and across engines sharing one store (SQLite, PostgreSQL)."""

from __future__ import annotations

import base64
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from guomi import api
from guomi.kms import Config, build_engine, create_app
from guomi.kms.audit import AuditLog, MemorySink, verify_audit_log
from guomi.kms.service import Engine, RequestContext
from guomi.kms.storage import SQLiteStorage, Storage

from .conftest import fresh_pg_url, init_unseal, needs_postgres


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_real_socket_with_sqlite_store(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path / "data", auto_rotate_check_interval=0)
    app = create_app(config)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/v1") as c:
            assert c.get("sys/health").status_code == 501
            init = c.post("sys/init", json={"secret_shares": 3, "secret_threshold": 2}).json()["data"]
            for k in init["keys_base64"][:2]:
                c.post("sys/unseal", json={"key": k})
            h = {"Authorization": f"Bearer {init['root_token']}"}
            assert c.post("keys/orders", json={}, headers=h).status_code == 200
            ct = c.post("encrypt/orders", json={"plaintext": "aGVsbG8="}, headers=h).json()["data"][
                "ciphertext"
            ]
            pt = c.post("decrypt/orders", json={"ciphertext": ct}, headers=h).json()["data"]["plaintext"]
            assert base64.b64decode(pt) == b"hello"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    # The data directory holds the SQLite store and a verifiable audit log.
    assert (tmp_path / "data" / "guomi.db").exists()
    res = verify_audit_log(tmp_path / "data" / "audit.log")
    assert res.ok and res.records >= 3
    # A restarted server on the same directory is sealed and unseals with the same shares.
    e2 = build_engine(config)
    assert e2.is_initialized() and e2.sealed
    for k in init["keys_base64"][1:]:
        e2.unseal(api.UnsealRequest(key=base64.b64decode(k)))
    root = e2.authenticate(init["root_token"], RequestContext())
    assert e2.decrypt(root, "orders", api.DecryptRequest(ciphertext=ct)).plaintext == b"hello"
    e2.storage.close()


def _two_servers(make: object) -> tuple[Engine, Engine, str]:
    s1, s2 = make(), make()  # type: ignore[operator]
    a = Engine(s1, AuditLog(MemorySink()), Config())
    resp = init_unseal(a, 3, 2)
    b = Engine(s2, AuditLog(MemorySink()), Config())
    for k in resp.keys_base64[:2]:
        b.unseal(api.UnsealRequest(key=base64.b64decode(k)))
    return a, b, resp.root_token


def _shared_store_checks(a: Engine, b: Engine, token: str) -> None:
    ra = a.authenticate(token, RequestContext())
    rb = b.authenticate(token, RequestContext())
    # b sees a's new key and new versions without restart (no stale cache).
    a.create_key(ra, "shared", api.CreateKeyRequest())
    ct1 = b.encrypt(rb, "shared", api.EncryptRequest(plaintext=b"from b")).ciphertext
    a.rotate_key(ra, "shared")
    ct2 = b.encrypt(rb, "shared", api.EncryptRequest(plaintext=b"from b v2")).ciphertext
    assert ct2 is not None and ct2.startswith("guomi:v1:2:")
    assert a.decrypt(ra, "shared", api.DecryptRequest(ciphertext=ct1)).plaintext == b"from b"
    # A token revoked on one server is refused by the other at once.
    t = a.create_token(ra, api.CreateTokenRequest(policies=["p"]))
    b.authenticate(t.token, RequestContext())
    a.revoke_token(ra, api.RevokeTokenRequest(accessor=t.accessor))
    with pytest.raises(Exception, match="revoked"):
        b.authenticate(t.token, RequestContext())
    # Both servers rotate the same key concurrently: consecutive versions, none lost.
    results: list[int] = []
    lock = threading.Lock()

    def rotate(e: Engine, c: object, n: int) -> None:
        for _ in range(n):
            v = e.rotate_key(c, "shared").latest_version  # type: ignore[arg-type]
            with lock:
                results.append(v)

    threads = [
        threading.Thread(target=rotate, args=(e, c, 8)) for e, c in ((a, ra), (b, rb), (a, ra), (b, rb))
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == list(range(3, 3 + 32))
    assert b.read_key(rb, "shared").latest_version == 34
    assert a.storage.list("keyver/shared/") == [f"{v:010d}" for v in range(1, 35)]


def test_two_engines_on_one_sqlite_file(tmp_path: Path) -> None:
    a, b, token = _two_servers(lambda: SQLiteStorage(tmp_path / "shared.db"))
    _shared_store_checks(a, b, token)


@needs_postgres
def test_two_servers_on_one_postgres_database() -> None:
    from guomi.kms.storage.postgres import PostgresStorage  # noqa: PLC0415

    url = fresh_pg_url()
    stores: list[Storage] = []

    def make() -> Storage:
        s = PostgresStorage(url)
        stores.append(s)
        return s

    a, b, token = _two_servers(make)
    try:
        _shared_store_checks(a, b, token)
    finally:
        for s in stores:
            s.close()
