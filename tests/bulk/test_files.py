"""CSV and Parquet jobs on the embedded engine: round trips, schema kept, indexes, rekey."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from guomi.bulk import Job, OutputExistsError
from guomi.bulk._keys import field_for, key_source
from tests.bulk.conftest import ROWS, read_csv


def test_csv_round_trip(tmp_path: Path, plain_csv: Path, keyset) -> None:
    enc, dec = tmp_path / "enc.csv", tmp_path / "dec.csv"
    summary = Job(plain_csv, enc, columns=["email", "phone"], keyring=keyset, workers=2).run()
    assert summary.rows == len(ROWS)
    assert summary.columns["email"].processed == len(ROWS)
    assert summary.key_versions == {keyset.primary_id}
    encrypted = read_csv(enc)
    assert [r["id"] for r in encrypted] == [r["id"] for r in ROWS]
    for before, after in zip(ROWS, encrypted, strict=True):
        assert after["email"].startswith("gm1.") and after["phone"].startswith("gm1.")
        assert after["email"] != before["email"]
        for col in ("id", "name", "note"):
            assert after[col] == before[col]
    # a value written by the job is a guomi.fields value of that column
    fld = field_for(key_source(keyset), "dataset", "email")
    assert fld.decrypt(encrypted[0]["email"]) == ROWS[0]["email"]
    Job(enc, dec, columns=["email", "phone"], operation="decrypt", keyring=keyset).run()
    assert read_csv(dec) == ROWS


def test_parquet_round_trip_keeps_schema_order_and_drops_stats(tmp_path: Path, keyset) -> None:
    src = tmp_path / "in.parquet"
    table = pa.table(
        {
            "id": pa.array(range(1000), pa.int64()),
            "email": pa.array([f"u{i}@x.cn" if i % 10 else None for i in range(1000)], pa.string()),
            "blob": pa.array([bytes([i % 256]) * (i % 5) for i in range(1000)], pa.binary()),
            "amount": pa.array([i * 1.5 for i in range(1000)], pa.float64()),
        },
        metadata={b"owner": b"risk"},
    )
    pq.write_table(table, src, row_group_size=300)
    enc, dec = tmp_path / "enc.parquet", tmp_path / "dec.parquet"
    Job(src, enc, columns=["email", "blob"], keyring=keyset, workers=2).run()
    out = pq.ParquetFile(enc)
    assert out.schema_arrow.names == table.schema.names
    assert out.schema_arrow.field("blob").type == pa.binary()
    assert out.metadata.num_row_groups == 4
    md = out.metadata.row_group(0)
    names = [md.column(i).path_in_schema for i in range(md.num_columns)]
    assert md.column(names.index("email")).statistics is None
    assert md.column(names.index("id")).statistics is not None
    enc_table = out.read()
    assert enc_table.column("email").null_count == 100
    assert enc_table.column("id").equals(table.column("id"))
    Job(enc, dec, columns=["email", "blob"], operation="decrypt", keyring=keyset).run()
    back = pq.read_table(dec)
    assert back.equals(table)
    assert back.schema.metadata[b"owner"] == b"risk"


def test_parquet_directory(tmp_path: Path, keyset) -> None:
    src = tmp_path / "lake"
    (src / "day=1").mkdir(parents=True)
    for i in range(3):
        pq.write_table(pa.table({"k": [f"v{i}-{j}" for j in range(50)]}), src / "day=1" / f"part-{i}.parquet")
    enc, dec = tmp_path / "lake-enc", tmp_path / "lake-dec"
    summary = Job(src, enc, columns=["k"], keyring=keyset).run()
    assert summary.rows == 150
    assert sorted(p.name for p in (enc / "day=1").iterdir()) == [
        "part-0.parquet",
        "part-1.parquet",
        "part-2.parquet",
    ]
    Job(enc, dec, columns=["k"], operation="decrypt", keyring=keyset).run()
    for i in range(3):
        assert pq.read_table(dec / "day=1" / f"part-{i}.parquet").column("k").to_pylist() == [
            f"v{i}-{j}" for j in range(50)
        ]


def test_rekey_moves_old_versions_to_primary(tmp_path: Path, plain_csv: Path, keyset) -> None:
    old = keyset.primary_id
    enc, rekeyed, dec = tmp_path / "enc.csv", tmp_path / "rk.csv", tmp_path / "dec.csv"
    Job(plain_csv, enc, columns=["email"], keyring=keyset).run()
    new = keyset.rotate()
    summary = Job(enc, rekeyed, columns=["email"], operation="rekey", keyring=keyset).run()
    assert summary.columns["email"].processed == len(ROWS)
    assert summary.key_versions == {old, new}
    again = Job(rekeyed, tmp_path / "rk2.csv", columns=["email"], operation="rekey", keyring=keyset).run()
    assert again.columns["email"].processed == 0 and again.columns["email"].skipped == len(ROWS)
    keyset.disable(old)
    Job(rekeyed, dec, columns=["email"], operation="decrypt", keyring=keyset).run()
    assert read_csv(dec) == ROWS


def test_indexes_written_and_dropped(tmp_path: Path, plain_csv: Path, keyset) -> None:
    enc, dec = tmp_path / "enc.csv", tmp_path / "dec.csv"
    Job(plain_csv, enc, columns=["email:email_bidx"], keyring=keyset).run()
    rows = read_csv(enc)
    fld = field_for(key_source(keyset), "dataset", "email", ("email_bidx",))
    assert int(rows[3]["email_bidx"]) == fld.index("email_bidx", ROWS[3]["email"])
    Job(enc, dec, columns=["email:email_bidx"], operation="decrypt", keyring=keyset).run()
    assert read_csv(dec) == ROWS


def test_csv_to_parquet_and_back(tmp_path: Path, plain_csv: Path, keyset) -> None:
    Job(plain_csv, tmp_path / "e.parquet", columns=["email"], keyring=keyset).run()
    Job(
        tmp_path / "e.parquet", tmp_path / "d.csv", columns=["email"], operation="decrypt", keyring=keyset
    ).run()
    assert read_csv(tmp_path / "d.csv") == ROWS


def test_existing_output_refused_unless_force(tmp_path: Path, plain_csv: Path, keyset) -> None:
    out = tmp_path / "out.csv"
    out.write_text("precious\n")
    with pytest.raises(OutputExistsError, match=r"out\.csv"):
        Job(plain_csv, out, columns=["email"], keyring=keyset).run()
    assert out.read_text() == "precious\n"
    Job(plain_csv, out, columns=["email"], keyring=keyset, force=True).run()
    assert len(read_csv(out)) == len(ROWS)


def test_reindex_recomputes_index_columns(tmp_path: Path, plain_csv: Path, keyset) -> None:
    enc, damaged, fixed = tmp_path / "e.parquet", tmp_path / "x.parquet", tmp_path / "f.parquet"
    Job(plain_csv, enc, columns=["email:email_bidx"], keyring=keyset).run()
    table = pq.read_table(enc)
    good = table.column("email_bidx").to_pylist()
    pq.write_table(
        table.set_column(
            table.schema.get_field_index("email_bidx"), "email_bidx", pa.array([0] * len(good), pa.int64())
        ),
        damaged,
    )
    summary = Job(damaged, fixed, columns=["email:email_bidx"], operation="reindex", keyring=keyset).run()
    assert summary.columns["email"].processed == len(ROWS)
    out = pq.read_table(fixed)
    assert out.column("email_bidx").to_pylist() == good
    assert out.column("email").to_pylist() == table.column("email").to_pylist()  # ciphertext untouched


def test_csv_round_trip_is_byte_identical(tmp_path: Path, keyset) -> None:
    src = tmp_path / "plain.csv"
    src.write_bytes(b"id,name,mobile,city\n1,Zhang,13812345678,Beijing\n2,Li,13900001111,\n3,,,Shanghai\n")
    enc, dec = tmp_path / "enc.csv", tmp_path / "dec.csv"
    Job(src, enc, columns=["name", "mobile"], keyring=keyset).run()
    assert b"13812345678" not in enc.read_bytes()
    Job(enc, dec, columns=["name", "mobile"], operation="decrypt", keyring=keyset).run()
    assert dec.read_bytes() == src.read_bytes()


def test_csv_decrypt_quotes_values_that_need_it(tmp_path: Path, keyset) -> None:
    src = tmp_path / "plain.csv"
    src.write_bytes(b'id,addr\n1,"Road 1, Beijing"\n2,"He said ""hi"""\n')
    enc, dec = tmp_path / "enc.csv", tmp_path / "dec.csv"
    Job(src, enc, columns=["addr"], keyring=keyset).run()
    Job(enc, dec, columns=["addr"], operation="decrypt", keyring=keyset).run()
    assert [row["addr"] for row in read_csv(dec)] == ["Road 1, Beijing", 'He said "hi"']
