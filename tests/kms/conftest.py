"""Fixtures for the custody-service tests: engines over each storage backend, a fake clock.

PostgreSQL tests run when ``GUOMI_TEST_POSTGRES_URL`` is set (CI sets it) and are
skipped only when it is absent.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from guomi import api
from guomi.kms.audit import AuditLog, MemorySink
from guomi.kms.config import Config
from guomi.kms.service import Caller, Engine, RequestContext
from guomi.kms.storage import MemoryStorage, SQLiteStorage, Storage

PG_URL = os.environ.get("GUOMI_TEST_POSTGRES_URL")
# Skipped only when the variable is absent on a developer machine; under CI (``CI`` set)
# the tests run and fail loudly instead of being skipped.
needs_postgres = pytest.mark.skipif(
    PG_URL is None and not os.environ.get("CI"), reason="GUOMI_TEST_POSTGRES_URL not set"
)


class FakeClock:
    """A settable clock for TTL and auto-rotation tests."""

    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def fresh_pg_url() -> str:
    """A new, empty PostgreSQL schema on the test server (isolates tests)."""
    if PG_URL is None:
        pytest.fail("GUOMI_TEST_POSTGRES_URL is not set but CI is: PostgreSQL tests may not be skipped")
    import psycopg  # noqa: PLC0415

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def make_storage(kind: str, tmp_path: Path) -> Storage:
    if kind == "memory":
        return MemoryStorage()
    if kind == "sqlite":
        return SQLiteStorage(tmp_path / "guomi.db")
    from guomi.kms.storage.postgres import PostgresStorage  # noqa: PLC0415

    return PostgresStorage(fresh_pg_url())


BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=needs_postgres)]


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    s = make_storage(request.param, tmp_path)
    yield s
    s.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


def init_unseal(engine: Engine, shares: int = 1, threshold: int = 1) -> api.InitResponse:
    resp = engine.init(api.InitRequest(secret_shares=shares, secret_threshold=threshold))
    for k in resp.keys_base64[:threshold]:
        engine.unseal(api.UnsealRequest(key=base64.b64decode(k)))
    assert not engine.sealed
    return resp


@pytest.fixture
def engine(clock: FakeClock, sink: MemorySink) -> Engine:
    e = Engine(MemoryStorage(), AuditLog(sink), Config(), clock=clock)
    e.init_response = init_unseal(e)  # type: ignore[attr-defined]
    return e


@pytest.fixture
def root(engine: Engine) -> Caller:
    return engine.authenticate(engine.init_response.root_token, RequestContext("test"))  # type: ignore[attr-defined]
