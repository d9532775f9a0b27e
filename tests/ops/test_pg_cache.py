"""PostgreSQL read cache invalidated through LISTEN/NOTIFY: another server's change, a
revocation, a conflict and a lost listener never leave a stale record in use."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from guomi import api
from guomi.kms.audit import AuditLog, MemorySink
from guomi.kms.config import Config
from guomi.kms.errors import UnauthorizedError
from guomi.kms.service import Engine, RequestContext
from guomi.kms.storage import Put, StorageConflict
from guomi.kms.storage.postgres import PostgresStorage
from tests.postgres import fresh_schema_url

CTX = RequestContext(request_id="t")


def _eventually(check: Callable[[], bool], what: str) -> None:
    """Waits for the asynchronous notification (generously: only the outcome is asserted)."""
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


@pytest.fixture
def two_stores() -> Iterator[tuple[PostgresStorage, PostgresStorage]]:
    url = fresh_schema_url()
    a, b = PostgresStorage(url), PostgresStorage(url)
    try:
        assert a.reads_cached and b.reads_cached
        yield a, b
    finally:
        a.close()
        b.close()


def _counting(store: PostgresStorage) -> list[str]:
    calls: list[str] = []
    real = store._get

    def counted(path: str) -> Any:
        calls.append(path)
        return real(path)

    store._get = counted  # type: ignore[method-assign]
    return calls


def test_reads_are_cached_and_invalidated_by_another_server(two_stores: Any) -> None:
    a, b = two_stores
    a.put("k", b"v1")
    calls = _counting(a)
    assert a.get("k").value == b"v1"  # type: ignore[union-attr]
    assert a.get("k").value == b"v1"  # type: ignore[union-attr]
    assert calls == ["k"]  # the second read came from memory
    b.put("k", b"v2")  # another server changes it
    _eventually(lambda: a.get("k").value == b"v2", "the other server's change was never seen")  # type: ignore[union-attr]
    b.delete("k")
    _eventually(lambda: a.get("k") is None, "the other server's delete was never seen")


def test_own_commit_is_seen_at_once(two_stores: Any) -> None:
    a, _ = two_stores
    a.put("k", b"v1")
    assert a.get("k").value == b"v1"  # type: ignore[union-attr]
    a.put("k", b"v2")
    assert a.get("k").value == b"v2"  # type: ignore[union-attr]


def test_conflict_evicts_so_the_retry_reads_fresh(two_stores: Any) -> None:
    a, b = two_stores
    rev = a.put("k", b"v1")
    assert a.get("k").revision == rev  # type: ignore[union-attr]
    b.put("k", b"v2")
    with pytest.raises(StorageConflict):
        a.commit([Put("k", b"v3", rev)])
    fresh = a._cache.get("k")  # type: ignore[union-attr]
    assert fresh is None or fresh.value == b"v2"
    assert a.get("k").value == b"v2"  # type: ignore[union-attr]


def test_lost_listener_turns_the_cache_off(two_stores: Any) -> None:
    a, b = two_stores
    a.put("k", b"v1")
    a.get("k")
    with psycopg.connect(a._url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE query LIKE %s AND pid <> pg_backend_pid()",
            (f"LISTEN {a._channel}%",),
        )
    # While it is down nothing is served from memory; once back, it starts empty.
    b.put("k", b"v2")
    _eventually(lambda: a.get("k").value == b"v2", "stale value after the listener was lost")  # type: ignore[union-attr]
    _eventually(lambda: a.reads_cached, "the listener never reconnected")


def test_revocation_on_one_server_applies_on_the_other() -> None:
    url = fresh_schema_url()
    engines = [
        Engine(PostgresStorage(url), AuditLog(MemorySink()), Config(auto_rotate_check_interval=0))
        for _ in range(2)
    ]
    try:
        a, b = engines
        init = a.init(api.InitRequest(secret_shares=1, secret_threshold=1))
        for e in engines:
            e.unseal(api.UnsealRequest(key=base64.b64decode(init.keys_base64[0])))
        root_a = a.authenticate(init.root_token, CTX)
        app = a.create_token(root_a, api.CreateTokenRequest(policies=["root"]))
        assert b.authenticate(app.token, CTX).entry.accessor == app.accessor  # cached on b now
        a.revoke_token(a.authenticate(app.token, CTX), api.RevokeTokenRequest())
        with pytest.raises(UnauthorizedError):
            a.authenticate(app.token, CTX)  # at once on the server that revoked it

        def refused_on_b() -> bool:
            try:
                b.authenticate(app.token, CTX)
            except UnauthorizedError:
                return True
            return False

        _eventually(refused_on_b, "the revoked token kept working on the other server")
    finally:
        for e in engines:
            e.storage.close()
