"""Where the test suite finds PostgreSQL: ``GUOMI_TEST_POSTGRES_URL``.

``make test`` (and so ``.ci/run``) runs pytest under ``scripts/pg-test-server.sh``, which
starts a throw-away cluster and sets the variable. Without it, postgres tests skip on a
developer's machine but FAIL when ``CI`` is set: CI must never silently skip them.

Use :func:`postgres_url` in a fixture, and :func:`fresh_schema_url` to give each test its
own empty schema in the shared database.
"""

from __future__ import annotations

import os
import secrets

import pytest

ENV = "GUOMI_TEST_POSTGRES_URL"


def postgres_url() -> str:
    """The test database's URL; skip (locally) or fail (CI) when there is none."""
    url = os.environ.get(ENV)
    if url:
        return url
    message = f"{ENV} is not set: run the suite with `make test` or scripts/pg-test-server.sh run -- pytest"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set: postgres tests may not be skipped)")
    pytest.skip(message)


def fresh_schema_url() -> str:
    """A URL whose connections use a new, empty schema (``options=-csearch_path=...``)."""
    import psycopg  # noqa: PLC0415 (only tests that use postgres need it)

    url = postgres_url()
    schema = "t_" + secrets.token_hex(6)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"
