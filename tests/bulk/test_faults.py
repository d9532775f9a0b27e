"""Bad input and faults: each error names its file/row/column and leaves no output behind."""

from __future__ import annotations

import csv
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from guomi.bulk import BulkInputError, BulkValueError, Job, _files
from guomi.bulk._atomic import TEMP_MARK
from guomi.keys import Keyset
from tests.bulk.conftest import ROWS, read_csv


def _leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if TEMP_MARK in p.name]


def test_malformed_csv_row_named(tmp_path: Path, keyset: Keyset) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("id,email\n1,a@x\n2,b@x\n3,c@x,extra\n4,d@x\n")
    with pytest.raises(
        BulkInputError, match=r"bad\.csv, row 3: malformed CSV row: Expected 2 columns, got 3"
    ):
        Job(src, tmp_path / "o.csv", columns=["email"], keyring=keyset).run()
    assert not (tmp_path / "o.csv").exists() and not _leftovers(tmp_path)


def test_invalid_utf8_csv(tmp_path: Path, keyset: Keyset) -> None:
    src = tmp_path / "bad.csv"
    src.write_bytes(b"id,email\n1,\xff\xfe\n")
    with pytest.raises(BulkInputError, match=r"bad\.csv.*UTF-8"):
        Job(src, tmp_path / "o.csv", columns=["email"], keyring=keyset).run()
    assert not (tmp_path / "o.csv").exists()


def test_missing_column_named(tmp_path: Path, plain_csv: Path, keyset: Keyset) -> None:
    with pytest.raises(BulkInputError, match=r"customers\.csv.*column 'emial'.*no such column"):
        Job(plain_csv, tmp_path / "o.csv", columns=["emial"], keyring=keyset).run()
    assert not (tmp_path / "o.csv").exists()


def test_already_encrypted_values_skipped_and_counted(
    tmp_path: Path, plain_csv: Path, keyset: Keyset
) -> None:
    once, twice, dec = tmp_path / "1.csv", tmp_path / "2.csv", tmp_path / "d.csv"
    Job(plain_csv, once, columns=["email"], keyring=keyset).run()
    rows = read_csv(once)
    # half the rows get their plaintext back: a column half encrypted, half not
    for row, original in zip(rows[::2], ROWS[::2], strict=True):
        row["email"] = original["email"]
    with open(once, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    summary = Job(once, twice, columns=["email"], keyring=keyset).run()
    assert summary.columns["email"].skipped == 150 and summary.columns["email"].processed == 150
    assert read_csv(twice)[1]["email"] == rows[1]["email"]  # untouched, not double-encrypted
    Job(twice, dec, columns=["email"], operation="decrypt", keyring=keyset).run()
    assert read_csv(dec) == ROWS


def test_unknown_key_version_names_row(tmp_path: Path, plain_csv: Path, keyset: Keyset) -> None:
    enc = tmp_path / "e.csv"
    Job(plain_csv, enc, columns=["email"], keyring=keyset).run()
    other = Keyset.generate()
    with pytest.raises(BulkValueError, match=r"e\.csv, row 1, column 'email'"):
        Job(enc, tmp_path / "d.csv", columns=["email"], operation="decrypt", keyring=other).run()
    assert not (tmp_path / "d.csv").exists() and not _leftovers(tmp_path)


def test_wrong_key_for_decrypt_names_row(tmp_path: Path, plain_csv: Path, keyset: Keyset) -> None:
    enc = tmp_path / "e.csv"
    Job(plain_csv, enc, columns=["email"], keyring=keyset).run()
    # row 5's tag damaged: only that row fails, and the error says which
    rows = read_csv(enc)
    rows[4]["email"] = rows[4]["email"][:-2] + ("AA" if rows[4]["email"][-2:] != "AA" else "BB")
    with open(enc, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(BulkValueError, match=r"row 5, column 'email'"):
        Job(enc, tmp_path / "d.csv", columns=["email"], operation="decrypt", keyring=keyset).run()
    assert not (tmp_path / "d.csv").exists()


def test_not_parquet(tmp_path: Path, keyset: Keyset) -> None:
    src = tmp_path / "fake.parquet"
    src.write_text("id,email\n1,a\n")
    with pytest.raises(BulkInputError, match=r"fake\.parquet.*not a readable Parquet file"):
        Job(src, tmp_path / "o.parquet", columns=["email"], keyring=keyset).run()
    assert not (tmp_path / "o.parquet").exists()


def test_non_string_column_refused(tmp_path: Path, keyset: Keyset) -> None:
    src = tmp_path / "n.parquet"
    pq.write_table(pa.table({"amount": [1, 2, 3]}), src)
    with pytest.raises(BulkInputError, match=r"column 'amount'.*string or binary"):
        Job(src, tmp_path / "o.parquet", columns=["amount"], keyring=keyset).run()


def test_disk_full_leaves_nothing(tmp_path: Path, plain_csv: Path, keyset: Keyset, monkeypatch) -> None:
    def full(self, batch):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_files.CsvWriter, "write", full)
    out = tmp_path / "o.csv"
    with pytest.raises(OSError, match="No space"):
        Job(plain_csv, out, columns=["email"], keyring=keyset).run()
    assert not out.exists() and not _leftovers(tmp_path)


def test_killed_run_leaves_no_final_file(tmp_path: Path, keyset: Keyset) -> None:
    src = tmp_path / "big.csv"
    with open(src, "w") as f:
        f.write("id,email\n")
        for i in range(400_000):
            f.write(f"{i},user{i}@example.com\n")
    ks = tmp_path / "ks.json"
    ks.write_text(keyset.to_encrypted_json(passphrase="pw-pw-pw-pw", iterations=100_000))
    out = tmp_path / "o.csv"
    env = {
        **os.environ,
        "GUOMI_PASSPHRASE": "pw-pw-pw-pw",
        "PYTHONPATH": os.pathsep.join([str(Path.cwd() / "src"), str(Path.cwd())]),
    }
    code = "from tests.bulk import conftest; from guomi.cli import main; main()"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "table",
            "encrypt",
            str(src),
            str(out),
            "-c",
            "email",
            "--keyset",
            str(ks),
            "--workers",
            "1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not _leftovers(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()


def test_binary_values_that_start_like_a_field_value_are_encrypted(tmp_path: Path, keyset: Keyset) -> None:
    """A binary plaintext starting with the format's version byte is not taken for a field
    value (the whole header must match a key of the keyring), so it is encrypted, not skipped."""
    src = tmp_path / "b.parquet"
    values = [bytes([1, 1]) + os.urandom(40) for _ in range(50)]
    pq.write_table(pa.table({"blob": pa.array(values, pa.binary())}), src)
    summary = Job(src, tmp_path / "e.parquet", columns=["blob"], keyring=keyset).run()
    assert summary.columns["blob"].processed == 50 and summary.columns["blob"].skipped == 0
    again = Job(tmp_path / "e.parquet", tmp_path / "e2.parquet", columns=["blob"], keyring=keyset).run()
    assert again.columns["blob"].skipped == 50
    Job(
        tmp_path / "e2.parquet", tmp_path / "d.parquet", columns=["blob"], operation="decrypt", keyring=keyset
    ).run()
    assert pq.read_table(tmp_path / "d.parquet").column("blob").to_pylist() == values


def test_small_blocks_keep_quoted_newlines_and_row_numbers(
    tmp_path: Path, keyset: Keyset, monkeypatch
) -> None:
    """Blocks are cut only between records (a quoted value with newlines and commas is never
    split), and an error deep in the file names its row in the file, not in its block."""
    monkeypatch.setattr(_files, "CSV_BLOCK_BYTES", 97)
    src = tmp_path / "q.csv"
    rows = [
        {"id": str(i), "email": f"u{i}@x.cn", "note": f'line1\nline2, "quoted" {i}' if i % 3 else ""}
        for i in range(200)
    ]
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["id", "email", "note"])
        w.writeheader()
        w.writerows(rows)
    Job(src, tmp_path / "e.csv", columns=["email", "note"], keyring=keyset, workers=2).run()
    Job(
        tmp_path / "e.csv", tmp_path / "d.csv", columns=["email", "note"], operation="decrypt", keyring=keyset
    ).run()
    assert read_csv(tmp_path / "d.csv") == rows
    with open(src, "a", encoding="utf-8") as f:
        f.write("200,u200@x.cn,ok\n201,too,many,fields\n")
    with pytest.raises(BulkInputError, match=r"q\.csv, row 202: malformed CSV row"):
        Job(src, tmp_path / "e2.csv", columns=["email"], keyring=keyset, workers=2).run()
