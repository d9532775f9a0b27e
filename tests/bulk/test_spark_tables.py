"""The Spark engine over database tables (SQLite file and PostgreSQL; Spark local[2]):
key-range partitions in place with the embedded engine's compare-and-set writer and
checkpoints, copies into files and new tables, and both engines reading each other."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

pytest.importorskip("pyspark") if not os.environ.get("CI") else __import__("pyspark")

from click.testing import CliRunner  # noqa: E402

from guomi.bulk import BulkValueError, Job  # noqa: E402
from guomi.bulk._database import connect  # noqa: E402
from guomi.cli import cli  # noqa: E402
from guomi.fields import BlindIndex, Field  # noqa: E402
from guomi.keys import Keyset  # noqa: E402
from tests.bulk._tables import (  # noqa: E402
    application_writes,
    assert_application_writes_kept,
    checkpoints,
    dump,
    make_table,
)
from tests.bulk.conftest import PASSPHRASE  # noqa: E402


def test_in_place_spark_then_embedded_decrypt(spark, db_url: str, keyset: Keyset) -> None:
    """Spark encrypts in place over several key ranges; guomi.fields reads every value; the
    embedded engine decrypts it back; Spark re-keys what the embedded engine wrote."""
    rows = make_table(db_url, 1_000)
    summary = Job(
        db_url,
        table="customer",
        columns=["email:email_bidx", "phone"],
        keyring=keyset,
        batch_rows=50,  # 1,000 rows / (50 x 8 per range) -> 3 key ranges on 2 workers
        engine="spark",
    ).run()
    assert summary.engine == "spark" and summary.rows == 1_000 and summary.conflicts == 0
    assert summary.columns["email"].processed == 1_000 and summary.columns["phone"].nulls == 20
    email = Field("customer", "email", keyset, indexes=[BlindIndex("email_bidx")])
    phone = Field("customer", "phone", keyset)
    after = dump(db_url)
    assert len(after) == 1_000
    for i, e, p, nm in rows:
        enc_email, enc_phone, name, bidx = after[i]
        assert email.decrypt(enc_email) == e and bidx == email.index("email_bidx", e)
        assert (enc_phone is None) if p is None else phone.decrypt(enc_phone) == p
        assert name == nm
    assert len(checkpoints(db_url)) == 0  # every checkpoint row of the job removed at the end
    Job(
        db_url, table="customer", columns=["email:email_bidx", "phone"], operation="decrypt", keyring=keyset
    ).run()
    assert {i: v[:3] for i, v in dump(db_url).items()} == {i: (e, p, nm) for i, e, p, nm in rows}
    # the embedded engine encrypts, Spark re-keys to a new primary version
    Job(db_url, table="customer", columns=["email"], keyring=keyset).run()
    keyset.rotate()
    rekeyed = Job(
        db_url, table="customer", columns=["email"], operation="rekey", keyring=keyset, engine="spark"
    ).run()
    assert rekeyed.columns["email"].processed == 1_000 and len(rekeyed.key_versions) == 2
    email = Field("customer", "email", keyset)
    final = dump(db_url)
    assert all(email.decrypt(final[i][0]) == e for i, e, _, _ in rows)


def test_spark_in_place_never_overwrites_application_writes(spark, db_url: str, keyset: Keyset) -> None:
    """A real concurrent writer during a Spark job: every application write survives."""
    make_table(db_url, 2_000)
    with application_writes(db_url, 2_000, pause=0.002) as last:
        Job(db_url, table="customer", columns=["email"], keyring=keyset, batch_rows=100, engine="spark").run()
    assert_application_writes_kept(db_url, keyset, last)


def test_failed_range_resumes_exactly_once(spark, tmp_path: Path, keyset: Keyset) -> None:
    """A bad value stops one range; the error names its key and column; after repair the job
    resumes (same ranges, each after its last committed batch). Decrypt is not idempotent, so
    a row processed twice would fail: success proves exactly once."""
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    rows = make_table(url, 2_400)
    Job(url, table="customer", columns=["email"], keyring=keyset).run()
    email = Field("customer", "email", keyset)
    engine = connect(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE customer SET email = 'gm1.AQEdamaged' WHERE id = 2350"))
    job = {"table": "customer", "columns": ["email"], "operation": "decrypt", "keyring": keyset}
    with pytest.raises(BulkValueError) as failed:
        Job(url, batch_rows=100, engine="spark", **job).run()
    assert "column 'email'" in str(failed.value) and "id = 2350" in str(failed.value)
    assert "AQEdamaged" not in str(failed.value)
    assert len(checkpoints(url)) >= 2  # the plan and the ranges' positions are kept
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE customer SET email = :e WHERE id = 2350"), {"e": email.encrypt(rows[2349][1])}
        )
    engine.dispose()
    resumed = Job(url, batch_rows=100, engine="spark", **job).run()
    assert resumed.resumed_from > 0 and resumed.resumed_from + resumed.rows == 2_400
    assert {i: v[0] for i, v in dump(url).items()} == {i: e for i, e, _, _ in rows}
    assert len(checkpoints(url)) == 0


def test_spark_table_copies(spark, db_url: str, keyset: Keyset, tmp_path: Path) -> None:
    """Table -> Parquet by both engines (each decrypts with guomi.fields), table -> new table,
    and Parquet -> new table."""
    rows = make_table(db_url, 1_500)
    by_spark, by_local = tmp_path / "spark.parquet", tmp_path / "local.parquet"
    columns = ["email:email_bidx", "phone"]
    s = Job(
        db_url, by_spark, table="customer", columns=columns, keyring=keyset, batch_rows=100, engine="spark"
    )
    assert s.run().rows == 1_500
    Job(db_url, by_local, table="customer", columns=columns, keyring=keyset).run()
    email = Field("customer", "email", keyset, indexes=[BlindIndex("email_bidx")])
    spark_out, local_out = pq.read_table(by_spark), pq.read_table(by_local)
    assert spark_out.column("id").to_pylist() == [r[0] for r in rows]  # key order kept
    assert spark_out.column("email_bidx").to_pylist() == local_out.column("email_bidx").to_pylist()
    assert [email.decrypt(v) for v in spark_out.column("email").to_pylist()] == [r[1] for r in rows]
    # the Spark-written file decrypted into a new table; the table encrypted into another
    Job(
        by_spark,
        db_url,
        table="customer",
        sink_table="customer_plain",
        columns=columns,
        operation="decrypt",
        keyring=keyset,
        engine="spark",
        key_column="id",
    ).run()
    Job(
        db_url,
        db_url,
        table="customer",
        sink_table="customer_enc",
        columns=["email"],
        keyring=keyset,
        batch_rows=200,
        engine="spark",
    ).run()
    engine = connect(db_url)
    with engine.connect() as conn:
        back = conn.exec_driver_sql("SELECT id, email, phone, name FROM customer_plain ORDER BY id").all()
        enc = conn.exec_driver_sql("SELECT id, email, phone FROM customer_enc ORDER BY id").all()
        tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert [tuple(r) for r in back] == [(i, e, p, nm) for i, e, p, nm in rows]
    # values are bound to the table they were encrypted from (field.md): read as customer.email
    assert [(i, email.decrypt(e), p) for i, e, p in enc] == [(i, e, p) for i, e, p, _ in rows]
    assert not any(t.endswith("__guomi_tmp") for t in tables)


def test_cli_table_engine_spark(spark, tmp_path: Path, keyset: Keyset) -> None:
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    rows = make_table(url, 300)
    ks = tmp_path / "ks.json"
    ks.write_text(keyset.to_encrypted_json(passphrase=PASSPHRASE, iterations=100_000))
    args = [
        "table",
        "encrypt",
        url,
        "--table",
        "customer",
        "-c",
        "email",
        "--keyset",
        str(ks),
        "--engine",
        "spark",
    ]
    plan = CliRunner().invoke(cli, ["--json", *args, "--dry-run"])
    assert plan.exit_code == 0, plan.output
    assert '"engine": "spark"' in plan.output and dump(url)[1][0] == rows[0][1]
    result = CliRunner().invoke(cli, args, env={"GUOMI_PASSPHRASE": PASSPHRASE})
    assert result.exit_code == 0, result.output
    assert "engine spark" in result.output
    email = Field("customer", "email", keyset)
    assert [email.decrypt(v[0]) for v in dump(url).values()] == [r[1] for r in rows]


def test_spark_rewrap_and_index_settings_on_files(spark, tmp_path: Path, keyset: Keyset) -> None:
    """The rewrap operation and blind-index settings travel to Spark's workers (the RSA and SM2
    keys pickled as PEM/point); a bad value's error comes back naming file, row and column."""
    import base64  # noqa: PLC0415
    import csv  # noqa: PLC0415

    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: PLC0415

    from guomi.bulk.legacy import RsaToSm2Rewrapper, RsaWrappedKeyDecryptor  # noqa: PLC0415
    from guomi.primitives import sm2  # noqa: PLC0415
    from tests.bulk.conftest import read_csv  # noqa: PLC0415

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    data_keys = [os.urandom(32) for _ in range(20)]
    src = tmp_path / "keys.csv"
    with open(src, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "dek", "email"])
        for i, dk in enumerate(data_keys):
            w.writerow(
                [i, base64.b64encode(rsa_key.public_key().encrypt(dk, oaep)).decode(), f"U{i}@Bank.cn"]
            )
    sm2_key = sm2.generate_private_key()
    rewrapper = RsaToSm2Rewrapper(RsaWrappedKeyDecryptor(pem), sm2_key.public_key())
    out = tmp_path / "keys.sm2.csv"
    Job(src, out, columns=["dek"], operation="rewrap", legacy=rewrapper, engine="spark").run()
    assert [sm2_key.decrypt(base64.b64decode(r["dek"])) for r in read_csv(out)] == data_keys
    settings = {"email_ci": {"transform": "casefold", "bits": 10}}
    enc = tmp_path / "enc.csv"
    Job(src, enc, columns=["email:email_ci"], keyring=keyset, engine="spark", index_options=settings).run()
    email = Field("dataset", "email", keyset, indexes=[BlindIndex("email_ci", transform="casefold", bits=10)])
    assert [int(r["email_ci"]) for r in read_csv(enc)] == [
        email.index("email_ci", f"u{i}@bank.cn") for i in range(20)
    ]
    with pytest.raises(BulkValueError) as failed:
        Job(
            out, tmp_path / "x.csv", columns=["email"], operation="decrypt", keyring=keyset, engine="spark"
        ).run()
    assert (
        str(out) in str(failed.value)
        and "column 'email'" in str(failed.value)
        and "row 1 of" in str(failed.value)
    )
