"""The Dask adapter over database tables (SQLite file and PostgreSQL; Dask's local processes
scheduler): in place with the embedded engine's compare-and-set writer and checkpoints,
resume after a failed range, a new table, the custody service called at most workers x key
versions times, files refused with a clear error, and the CLI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

pytest.importorskip("dask") if not os.environ.get("CI") else __import__("dask")

from guomi.bulk import BulkInputError, BulkValueError, Job, new_wrapped_keys  # noqa: E402
from guomi.bulk._database import CHECKPOINT_TABLE, connect  # noqa: E402
from guomi.cli import cli  # noqa: E402
from guomi.client import Client  # noqa: E402
from guomi.fields import BlindIndex, Field, ServiceKeyring  # noqa: E402
from guomi.keys import Keyset  # noqa: E402
from tests.bulk._service import service  # noqa: E402, F401 (the fixture)
from tests.bulk._tables import checkpoints, dump, make_table  # noqa: E402
from tests.bulk.conftest import PASSPHRASE  # noqa: E402


def test_dask_in_place_then_embedded_decrypt(db_url: str, keyset: Keyset) -> None:
    rows = make_table(db_url, 1_000)
    columns = ["email:email_bidx", "phone"]
    summary = Job(
        db_url, table="customer", columns=columns, keyring=keyset, batch_rows=50, engine="dask", workers=2
    ).run()
    assert summary.engine == "dask" and summary.rows == 1_000 and summary.columns["phone"].nulls == 20
    email = Field("customer", "email", keyset, indexes=[BlindIndex("email_bidx")])
    after = dump(db_url)
    for i, e, _, nm in rows:
        assert (
            email.decrypt(after[i][0]) == e
            and after[i][3] == email.index("email_bidx", e)
            and after[i][2] == nm
        )
    assert len(checkpoints(db_url)) == 0
    Job(db_url, table="customer", columns=columns, operation="decrypt", keyring=keyset).run()
    assert {i: v[:3] for i, v in dump(db_url).items()} == {i: (e, p, nm) for i, e, p, nm in rows}


def test_dask_failed_range_resumes_and_new_table(tmp_path: Path, keyset: Keyset) -> None:
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    rows = make_table(url, 1_200)
    Job(url, table="customer", columns=["email"], keyring=keyset).run()
    email = Field("customer", "email", keyset)
    engine = connect(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE customer SET email = 'gm1.AQEdamaged' WHERE id = 1150"))
    job = {"table": "customer", "columns": ["email"], "operation": "decrypt", "keyring": keyset}
    with pytest.raises(BulkValueError) as failed:
        Job(url, batch_rows=50, engine="dask", workers=2, **job).run()
    assert "column 'email'" in str(failed.value) and "id = 1150" in str(failed.value)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE customer SET email = :e WHERE id = 1150"), {"e": email.encrypt(rows[1149][1])}
        )
    resumed = Job(url, batch_rows=50, engine="dask", workers=2, **job).run()
    assert resumed.resumed_from > 0 and resumed.resumed_from + resumed.rows == 1_200
    assert {i: v[0] for i, v in dump(url).items()} == {i: e for i, e, _, _ in rows}
    # into a new table, encrypted by Dask
    Job(url, url, table="customer", sink_table="customer_enc", columns=["email"], keyring=keyset,
        engine="dask", workers=2, batch_rows=100).run()  # fmt: skip
    with engine.connect() as conn:
        enc = conn.exec_driver_sql("SELECT id, email, name FROM customer_enc ORDER BY id").all()
    engine.dispose()
    assert [(i, email.decrypt(e), n) for i, e, n in enc] == [(i, e, n) for i, e, _, n in rows]
    with pytest.raises(BulkInputError, match="the dask engine runs database tables"):
        Job(tmp_path / "a.csv", tmp_path / "b.csv", columns=["x"], keyring=keyset, engine="dask").run()


def test_dask_service_calls_at_most_workers_times_key_versions(service, tmp_path: Path) -> None:  # noqa: F811
    addr, token, log = service
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    rows = make_table(url, 800)
    document = new_wrapped_keys("bulk", addr=addr, token=token)
    with Client(addr, token) as client:
        rotated = ServiceKeyring(client.aead("bulk"), document).rotate()  # two key versions
    log.paths.clear()
    summary = Job(url, table="customer", columns=["email"], kms="bulk", wrapped_keys=rotated, addr=addr,
                  token=token, batch_rows=10, engine="dask", workers=2).run()  # fmt: skip
    assert summary.rows == 800  # 800 / (10 x 8) = 10 ranges, 10 tasks on 2 processes
    assert 1 <= log.unwraps() <= 2 * 2
    with Client(addr, token) as client:
        email = Field("customer", "email", ServiceKeyring(client.aead("bulk"), rotated))
        after = dump(url)
        assert all(email.decrypt(after[i][0]) == e for i, e, _, _ in rows)


def test_cli_engine_dask(tmp_path: Path, keyset: Keyset) -> None:
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    rows = make_table(url, 200)
    ks = tmp_path / "ks.json"
    ks.write_text(keyset.to_encrypted_json(passphrase=PASSPHRASE, iterations=100_000))
    args = ["table", "encrypt", url, "--table", "customer", "-c", "email", "--keyset", str(ks)]
    result = CliRunner().invoke(
        cli, [*args, "--engine", "dask", "--workers", "2"], env={"GUOMI_PASSPHRASE": PASSPHRASE}
    )
    assert result.exit_code == 0, result.output
    assert "engine dask x 2" in result.output
    email = Field("customer", "email", keyset)
    assert [email.decrypt(v[0]) for v in dump(url).values()] == [r[1] for r in rows]


DASK_JOB = """
import os, sys
from guomi.bulk import Job
from guomi.keys import Keyset
ks = Keyset.from_encrypted_json(open(sys.argv[2]).read(), passphrase=os.environ["GUOMI_PASSPHRASE"])
Job(sys.argv[1], table="customer", columns=["email"], operation="decrypt", keyring=ks,
    batch_rows=20, engine="dask", workers=2).run()
"""


def test_dask_sigkill_then_resume_exactly_once(db_url: str, keyset: Keyset, tmp_path: Path) -> None:
    """The job's whole process group (the scheduler and its worker processes) is killed with
    SIGKILL mid-run; run again, it resumes every range after its last committed batch. The
    operation is decrypt, which fails on a value already decrypted: success means exactly once."""
    import signal  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import time  # noqa: PLC0415

    rows = make_table(db_url, 3_000)
    Job(db_url, table="customer", columns=["email"], keyring=keyset).run()
    ks = tmp_path / "ks.json"
    ks.write_text(keyset.to_encrypted_json(passphrase=PASSPHRASE, iterations=100_000))
    env = {**os.environ, "GUOMI_PASSPHRASE": PASSPHRASE}
    proc = subprocess.Popen(
        [sys.executable, "-c", DASK_JOB, db_url, str(ks)], env=env, start_new_session=True
    )
    engine = connect(db_url)
    try:
        deadline = time.monotonic() + 120
        progressed = 0
        while progressed < 200 and proc.poll() is None:
            assert time.monotonic() < deadline, "the job made no progress"
            time.sleep(0.05)
            with engine.connect() as conn:
                if sa.inspect(conn).has_table(CHECKPOINT_TABLE):
                    progressed = conn.execute(
                        sa.text(
                            f"SELECT coalesce(sum(rows_done), 0) FROM {CHECKPOINT_TABLE} WHERE job_id LIKE :p"
                        ),
                        {"p": "%:p%"},
                    ).scalar_one()
        assert proc.poll() is None, "the job finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        engine.dispose()
    time.sleep(0.5)  # let the killed processes' connections go
    resumed = Job(db_url, table="customer", columns=["email"], operation="decrypt", keyring=keyset,
                  batch_rows=20, engine="dask", workers=2).run()  # fmt: skip
    assert resumed.resumed_from >= 200 and resumed.resumed_from + resumed.rows == 3_000
    assert {i: v[0] for i, v in dump(db_url).items()} == {i: e for i, e, _, _ in rows}
    assert len(checkpoints(db_url)) == 0
