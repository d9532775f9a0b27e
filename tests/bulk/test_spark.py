"""The Spark engine (local[2], one session for the module): same format as the embedded
engine both ways, and Spark's own aes_encrypt output migrated to SM4 field values."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pyspark = pytest.importorskip("pyspark") if not os.environ.get("CI") else __import__("pyspark")

from guomi.bulk import Job  # noqa: E402
from guomi.bulk.legacy import SparkAesDecryptor  # noqa: E402
from guomi.fields import Field  # noqa: E402
from tests.bulk.conftest import ROWS, read_csv  # noqa: E402


def _parquet(path: Path, n: int = 5_000) -> pa.Table:
    table = pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "email": pa.array([f"user{i}@bank.cn" if i % 97 else None for i in range(n)], pa.string()),
            "card": pa.array([f"6222{i:012d}".encode() for i in range(n)], pa.binary()),
        }
    )
    pq.write_table(table, path, row_group_size=1_000)
    return table


def test_spark_and_local_read_each_other(spark, tmp_path: Path, keyset) -> None:
    src = tmp_path / "in.parquet"
    table = _parquet(src)
    by_spark, by_local = tmp_path / "spark.parquet", tmp_path / "local.parquet"
    summary = Job(src, by_spark, columns=["email:email_bidx", "card"], keyring=keyset, engine="spark").run()
    assert summary.rows == 5_000 and summary.columns["email"].processed == 5_000 - 52
    Job(src, by_local, columns=["email:email_bidx", "card"], keyring=keyset).run()
    spark_out, local_out = pq.read_table(by_spark), pq.read_table(by_local)
    assert spark_out.column("id").to_pylist() == table.column("id").to_pylist()  # row order kept
    assert spark_out.column("email_bidx").to_pylist() == local_out.column("email_bidx").to_pylist()
    email, card = Field("dataset", "email", keyset), Field("dataset", "card", keyset)
    assert [
        None if v is None else email.decrypt(v) for v in spark_out.column("email").to_pylist()
    ] == table.column("email").to_pylist()
    assert card.decrypt_many(spark_out.column("card").to_pylist()) == table.column("card").to_pylist()
    # each engine decrypts the other's output
    Job(
        by_spark,
        tmp_path / "d1.parquet",
        columns=["email:email_bidx", "card"],
        operation="decrypt",
        keyring=keyset,
    ).run()
    Job(
        by_local,
        tmp_path / "d2.parquet",
        columns=["email:email_bidx", "card"],
        operation="decrypt",
        keyring=keyset,
        engine="spark",
    ).run()
    for out in ("d1.parquet", "d2.parquet"):
        back = pq.read_table(tmp_path / out)
        assert back.column("email").to_pylist() == table.column("email").to_pylist()
        assert back.column("card").to_pylist() == table.column("card").to_pylist()


def test_spark_csv_round_trip(spark, tmp_path: Path, plain_csv: Path, keyset) -> None:
    enc, dec = tmp_path / "enc.csv", tmp_path / "dec.csv"
    Job(plain_csv, enc, columns=["email", "phone"], keyring=keyset, engine="spark").run()
    rows = read_csv(enc)
    assert [r["id"] for r in rows] == [r["id"] for r in ROWS]
    assert Field("dataset", "email", keyset).decrypt(rows[5]["email"]) == ROWS[5]["email"]
    Job(enc, dec, columns=["email", "phone"], operation="decrypt", keyring=keyset).run()
    assert read_csv(dec) == ROWS


def test_migrate_spark_aes_encrypt_output(spark, tmp_path: Path, keyset) -> None:
    key = os.urandom(16)
    literal = base64.b64encode(key).decode()
    values = [f"1101051949123100{i:02d}" for i in range(30)]
    df = spark.createDataFrame([(i, v) for i, v in enumerate(values)], "id long, ssn string")
    df.createOrReplaceTempView("people")
    for mode in ("GCM", "CBC", "ECB"):
        legacy = spark.sql(
            f"SELECT id, base64(aes_encrypt(ssn, unbase64('{literal}'), '{mode}')) AS ssn "
            "FROM people ORDER BY id"
        ).toPandas()
        src = tmp_path / f"legacy-{mode}.parquet"
        pq.write_table(pa.Table.from_pandas(legacy, preserve_index=False), src)
        out = tmp_path / f"migrated-{mode}.parquet"
        Job(
            src,
            out,
            columns=["ssn"],
            operation="migrate",
            legacy=SparkAesDecryptor(key, mode=mode),
            keyring=keyset,
        ).run()
        field = Field("dataset", "ssn", keyset)
        assert [field.decrypt(v) for v in pq.read_table(out).column("ssn").to_pylist()] == values


def test_cli_engine_spark(spark, tmp_path: Path, plain_csv: Path, keyset) -> None:
    from click.testing import CliRunner  # noqa: PLC0415

    from guomi.cli import cli  # noqa: PLC0415
    from tests.bulk.conftest import PASSPHRASE  # noqa: PLC0415

    ks = tmp_path / "ks.json"
    ks.write_text(keyset.to_encrypted_json(passphrase=PASSPHRASE, iterations=100_000))
    out = tmp_path / "enc.parquet"
    result = CliRunner().invoke(
        cli,
        [
            "table",
            "encrypt",
            str(plain_csv),
            str(out),
            "-c",
            "email",
            "--keyset",
            str(ks),
            "--engine",
            "spark",
        ],
        env={"GUOMI_PASSPHRASE": PASSPHRASE},
    )
    assert result.exit_code == 0, result.output
    assert "engine spark" in result.output
    email = Field("dataset", "email", keyset)
    assert [email.decrypt(v) for v in pq.read_table(out).column("email").to_pylist()] == [
        r["email"] for r in ROWS
    ]
