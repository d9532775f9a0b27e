"""Keys from the custody service on Spark: the service is called at most workers x key
versions times per job, whatever the row count and the number of partitions.

The real service runs on a loopback socket (uvicorn in a thread of this process) behind a
middleware that records every request path; Spark's Python workers (other processes)
reach it over HTTP, as executors reach the service in production.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("pyspark") if not os.environ.get("CI") else __import__("pyspark")

from guomi.bulk import Job, new_wrapped_keys  # noqa: E402
from guomi.client import Client  # noqa: E402
from guomi.fields import Field, ServiceKeyring  # noqa: E402
from tests.bulk._service import service  # noqa: E402, F401 (the fixture)
from tests.bulk._tables import dump, make_table  # noqa: E402


def test_service_calls_at_most_workers_times_key_versions(spark, service, tmp_path: Path) -> None:  # noqa: F811
    addr, token, log = service
    workers = 2  # local[2]: two Python worker processes run the tasks
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    rows = make_table(url, 800)
    document = new_wrapped_keys("bulk", addr=addr, token=token)
    keys = {"kms": "bulk", "addr": addr, "token": token}
    log.paths.clear()
    summary = Job(
        url, table="customer", columns=["email"], wrapped_keys=document, batch_rows=10, engine="spark", **keys
    ).run()
    ranges = 800 // (10 * 8)
    assert spark.sparkContext.defaultParallelism == workers
    assert summary.rows == 800 and ranges == 10  # many more tasks than workers
    assert 1 <= log.unwraps() <= workers * len(summary.key_versions) == workers
    # a second key version (the document rotated; rows untouched), then a Spark re-key: the
    # workers meet a new document and unwrap it once each; the driver never calls
    with Client(addr, token) as client:
        rotated = ServiceKeyring(client.aead("bulk"), document).rotate()
    log.paths.clear()
    rekeyed = Job(
        url,
        table="customer",
        columns=["email"],
        operation="rekey",
        wrapped_keys=rotated,
        batch_rows=10,
        engine="spark",
        **keys,
    ).run()
    assert rekeyed.columns["email"].processed == 800 and len(rekeyed.key_versions) == 2
    assert 1 <= log.unwraps() <= workers * len(rekeyed.key_versions)
    with Client(addr, token) as client:
        email = Field("customer", "email", ServiceKeyring(client.aead("bulk"), rotated))
        after = dump(url)
        assert all(email.decrypt(after[i][0]) == e for i, e, _, _ in rows)
