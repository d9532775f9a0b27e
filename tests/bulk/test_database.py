"""Database tables in place (SQLite and PostgreSQL): round trip, compare-and-set against
application writes, SIGKILL and resume with every row processed exactly once, copies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from guomi.bulk import BulkInputError, Job, _transform
from guomi.bulk._database import CHECKPOINT_TABLE, connect
from guomi.fields import BlindIndex, Field
from guomi.keys import Keyset
from tests.bulk._tables import application_writes, assert_application_writes_kept, dump, make_table
from tests.bulk.conftest import PASSPHRASE, read_csv


def test_in_place_round_trip(db_url: str, keyset: Keyset) -> None:
    rows = make_table(db_url, 2_345)
    summary = Job(
        db_url, table="customer", columns=["email:email_bidx", "phone"], keyring=keyset, batch_rows=500
    ).run()
    assert summary.rows == 2_345 and summary.conflicts == 0
    email = Field("customer", "email", keyset, indexes=[BlindIndex("email_bidx")])
    phone = Field("customer", "phone", keyset)
    after = dump(db_url)
    for i, e, p, nm in rows:
        enc_email, enc_phone, name, bidx = after[i]
        assert enc_email.startswith("gm1.") and email.decrypt(enc_email) == e
        assert (enc_phone is None) if p is None else phone.decrypt(enc_phone) == p
        assert name == nm and bidx == email.index("email_bidx", e)
    # nothing left behind, and running again changes nothing (values already encrypted)
    again = Job(db_url, table="customer", columns=["email", "phone"], keyring=keyset).run()
    assert again.columns["email"].skipped == 2_345 and dump(db_url) == after
    engine = connect(db_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {CHECKPOINT_TABLE}").scalar_one() == 0
    engine.dispose()
    Job(
        db_url, table="customer", columns=["email:email_bidx", "phone"], operation="decrypt", keyring=keyset
    ).run()
    assert {i: v[:3] for i, v in dump(db_url).items()} == {i: (e, p, nm) for i, e, p, nm in rows}


def test_rekey_in_place(db_url: str, keyset: Keyset) -> None:
    rows = make_table(db_url, 300)
    Job(db_url, table="customer", columns=["email"], keyring=keyset).run()
    old = keyset.primary_id
    new = keyset.rotate()
    summary = Job(db_url, table="customer", columns=["email"], operation="rekey", keyring=keyset).run()
    assert summary.key_versions == {old, new}
    keyset.disable(old)
    email = Field("customer", "email", keyset)
    assert [email.decrypt(v[0]) for _, v in sorted(dump(db_url).items())] == [e for _, e, _, _ in rows]


def test_application_writes_are_never_overwritten(db_url: str, keyset: Keyset, monkeypatch) -> None:
    """Between the job's read and its write the application changes rows of the batch: the
    CAS write refuses them, the job re-reads them and encrypts the application's values."""
    make_table(db_url, 1_000)
    app = connect(db_url)
    written: dict[int, str] = {}
    original = _transform.BatchTransform.__call__

    def racing(self, batch, first_row=0):
        out = original(self, batch, first_row)
        if "app" not in str(batch.column("email")[0]):
            target = first_row + 3  # the 4th row of this batch (ids are 1..n in order)
            value = f"app{target}@changed.cn"
            with app.begin() as conn:
                conn.execute(
                    sa.text("UPDATE customer SET email = :e WHERE id = :i"), {"e": value, "i": target}
                )
            written[target] = value
        return out

    monkeypatch.setattr(_transform.BatchTransform, "__call__", racing)
    summary = Job(db_url, table="customer", columns=["email"], keyring=keyset, batch_rows=100).run()
    app.dispose()
    assert summary.conflicts == len(written) == 10
    email = Field("customer", "email", keyset)
    after = dump(db_url)
    for i, value in written.items():
        assert email.decrypt(after[i][0]) == value
    assert all(v[0].startswith("gm1.") for v in after.values())


def test_concurrent_application_thread(db_url: str, keyset: Keyset) -> None:
    """A real concurrent writer: every application write survives (encrypted by the job if it
    came before the job reached the row, as written otherwise)."""
    make_table(db_url, 3_000)
    with application_writes(db_url, 3_000, pause=0.001) as last:
        Job(db_url, table="customer", columns=["email"], keyring=keyset, batch_rows=200).run()
    assert_application_writes_kept(db_url, keyset, last)


JOB_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from guomi.bulk import Job
    from guomi.keys import Keyset
    ks = Keyset.from_encrypted_json(open(sys.argv[2]).read(), passphrase=os.environ["GUOMI_PASSPHRASE"])
    columns = ["email:email_bidx", "phone"]
    s = Job(sys.argv[1], table="customer", columns=columns, keyring=ks, batch_rows=250).run()
    print(s.rows, s.resumed_from)
    """
)


def test_sigkill_then_resume_exactly_once(db_url: str, keyset: Keyset, tmp_path: Path) -> None:
    rows = make_table(db_url, 30_000)
    ks = tmp_path / "ks.json"
    ks.write_text(keyset.to_encrypted_json(passphrase=PASSPHRASE, iterations=100_000))
    env = {
        **os.environ,
        "GUOMI_PASSPHRASE": PASSPHRASE,
        "PYTHONPATH": os.pathsep.join([str(Path.cwd() / "src"), str(Path.cwd())]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", JOB_SCRIPT, db_url, str(ks)], env=env, stdout=subprocess.PIPE
    )
    engine = connect(db_url)
    done = 0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with engine.connect() as conn:
                done = conn.exec_driver_sql(
                    f"SELECT coalesce(max(rows_done), 0) FROM {CHECKPOINT_TABLE}"
                ).scalar_one()
        except sa.exc.DBAPIError:
            done = 0
        if done >= 2_500:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    engine.dispose()
    assert 0 < done < 30_000, "the job must be killed part-way"
    second = subprocess.run(
        [sys.executable, "-c", JOB_SCRIPT, db_url, str(ks)], env=env, capture_output=True, check=True
    )
    processed, resumed_from = map(int, second.stdout.split())
    assert resumed_from >= done and resumed_from + processed == 30_000
    email = Field("customer", "email", keyset, indexes=[BlindIndex("email_bidx")])
    phone = Field("customer", "phone", keyset)
    after = dump(db_url)
    # exactly once: every value decrypts to its plaintext (twice-encrypted would decrypt to a token)
    enc_emails = [after[i][0] for i, *_ in rows]
    assert email.decrypt_many(enc_emails) == [e for _, e, _, _ in rows]
    assert phone.decrypt_many([after[i][1] for i, *_ in rows]) == [p for _, _, p, _ in rows]
    assert email.index_many("email_bidx", [e for _, e, _, _ in rows]) == [after[i][3] for i, *_ in rows]


def test_missing_table_and_index_column(db_url: str, keyset: Keyset) -> None:
    make_table(db_url, 10)
    with pytest.raises(BulkInputError, match="no such table 'nope'"):
        Job(db_url, table="nope", columns=["email"], keyring=keyset).run()
    with pytest.raises(BulkInputError, match=r"column 'email_hash'.*does not exist"):
        Job(db_url, table="customer", columns=["email:email_hash"], keyring=keyset).run()
    with pytest.raises(BulkInputError, match="column 'emial'"):
        Job(db_url, table="customer", columns=["emial"], keyring=keyset).run()


def test_table_to_csv_and_new_table(db_url: str, keyset: Keyset, tmp_path: Path) -> None:
    rows = make_table(db_url, 500)
    out = tmp_path / "export.csv"
    Job(db_url, out, table="customer", columns=["email"], keyring=keyset).run()
    exported = read_csv(out)
    email = Field("customer", "email", keyset)
    assert [email.decrypt(r["email"]) for r in exported] == [e for _, e, _, _ in rows]
    # into a new table of the same database, then back to plaintext in another new table
    Job(
        out,
        db_url,
        table="customer",
        sink_table="customer_enc",
        columns=["email"],
        operation="decrypt",
        keyring=keyset,
    ).run()
    engine = connect(db_url)
    with engine.connect() as conn:
        got = {int(r[0]): r[1] for r in conn.exec_driver_sql("SELECT id, email FROM customer_enc")}
    engine.dispose()
    assert got == {i: e for i, e, _, _ in rows}  # CSV columns are text: id came back as a string
