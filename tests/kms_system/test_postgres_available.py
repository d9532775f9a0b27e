"""CI must run the PostgreSQL tests: with ``CI`` set, a missing database is a failure.

``make test`` / ``.ci/run`` start a throw-away PostgreSQL (scripts/pg-test-server.sh) and
export ``GUOMI_TEST_POSTGRES_URL``. Other modules' postgres tests may skip without it on a
developer's machine; this test makes sure CI can never pass with all of them skipped.
"""

from __future__ import annotations

import psycopg

from tests.postgres import postgres_url


def test_postgres_is_reachable() -> None:
    url = postgres_url()  # skips locally, fails under CI, when the variable is missing
    with psycopg.connect(url, connect_timeout=10) as conn:
        (one,) = conn.execute("SELECT 1").fetchone() or (None,)
    assert one == 1
