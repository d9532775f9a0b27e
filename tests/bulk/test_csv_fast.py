"""The one-pass CSV encrypt path (guomi.bulk._csvfast): same output as the pyarrow path.

Both paths draw fresh nonces, so outputs are compared with every ``gm1.`` value replaced by
its length; the values themselves are checked by decrypting them.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from guomi.bulk import BulkInputError, Job, _fieldapi
from guomi.bulk._csvfast import CsvBlockEncryptor
from guomi.bulk._keys import field_for, key_source
from guomi.exceptions import InvalidArgumentError
from guomi.primitives.field import csv_encrypt_block

TOKEN = re.compile(rb"gm1\.[A-Za-z0-9_-]+")


def _masked(data: bytes) -> bytes:
    return TOKEN.sub(lambda m: b"<token:%d>" % len(m.group()), data)


def _lines(rows: int, *, newline: bytes = b"\n") -> bytes:
    out = [b"id,name,mobile,city,remark"]
    for i in range(rows):
        mobile = b"gm1.AQEAAAAB" if i % 97 == 5 else b"138%08d" % i  # a few already "encrypted"
        city = "上海市浦东新区".encode() if i % 3 else b""
        out.append(b"%d,name %d,%s,%s,r%d" % (i, i, mobile, city, i % 5))
        if i % 50 == 7:
            out.append(b"")  # empty lines are dropped by both paths
    return newline.join(out)


def _run(src: Path, out: Path, keyset, columns: list[str], *, fast: bool, monkeypatch) -> dict:
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(CsvBlockEncryptor, "applies", staticmethod(lambda operation, specs: False))
        summary = Job(src, out, columns=columns, keyring=keyset, workers=2).run()
    return {name: (s.processed, s.skipped, s.nulls) for name, s in summary.columns.items()} | {
        "rows": summary.rows
    }


@pytest.mark.parametrize(
    "body",
    [
        _lines(700),
        _lines(700) + b"\n",
        _lines(700, newline=b"\r\n") + b"\r\n",
        # quoted records in some blocks: those blocks take the pyarrow path, the others the fast one
        _lines(300) + b'\n1,"quoted, value",x,y,z\n' + _lines(300).split(b"\n", 1)[1],
    ],
    ids=["lf-no-final-newline", "lf", "crlf", "mixed-quoted-blocks"],
)
def test_fast_path_writes_what_the_general_path_writes(
    tmp_path: Path, keyset, monkeypatch, body: bytes
) -> None:
    monkeypatch.setattr("guomi.bulk._files.CSV_BLOCK_BYTES", 1024)  # many blocks
    src = tmp_path / "in.csv"
    src.write_bytes(body)
    calls: list[bool] = []
    real = _fieldapi.encrypt_csv_block

    def spy(*args):
        done = real(*args)
        calls.append(done is not None)
        return done

    monkeypatch.setattr(_fieldapi, "encrypt_csv_block", spy)
    columns = ["mobile", "id", "city"]  # not in file order
    fast = _run(src, tmp_path / "fast.csv", keyset, columns, fast=True, monkeypatch=monkeypatch)
    assert any(calls), "the fast path was never taken"
    general = _run(src, tmp_path / "general.csv", keyset, columns, fast=False, monkeypatch=monkeypatch)
    assert fast == general
    fast_bytes, general_bytes = (tmp_path / "fast.csv").read_bytes(), (tmp_path / "general.csv").read_bytes()
    assert _masked(fast_bytes) == _masked(general_bytes)
    assert fast["mobile"][1] > 0  # the gm1.-looking values were skipped, not encrypted twice
    # every value the fast path wrote is a guomi.fields value of its column
    fields = {name: field_for(key_source(keyset), "dataset", name) for name in columns}
    expected = [row for row in csv.reader(io.StringIO(body.decode(), newline="")) if row]
    got = list(csv.reader(io.StringIO(fast_bytes.decode(), newline="")))
    assert got[0] == expected[0] and len(got) == len(expected)
    for plain, enc in zip(expected[1:], got[1:], strict=True):
        for name in columns:
            i = expected[0].index(name)
            if plain[i].startswith("gm1."):
                assert enc[i] == plain[i]
            else:
                assert fields[name].decrypt(enc[i]) == plain[i]


def test_bad_rows_report_the_same_error_on_both_paths(tmp_path: Path, keyset, monkeypatch) -> None:
    for body, what in [
        (b"a,b\n1,2\n3,4,5\n6,7\n", "columns"),
        (b"a,b\n1,2\n3,\xff\xfe\n", "UTF-8"),
    ]:
        src = tmp_path / "bad.csv"
        src.write_bytes(body)
        errors = []
        for fast in (True, False):
            out = tmp_path / f"out-{fast}.csv"
            with pytest.raises(BulkInputError) as info:
                _run(src, out, keyset, ["b"], fast=fast, monkeypatch=monkeypatch)
            assert not out.exists()
            errors.append(str(info.value))
        assert errors[0] == errors[1]
        assert what in errors[0]


def test_kernel_declines_other_shapes_and_checks_its_arguments(keyset) -> None:
    fld = field_for(key_source(keyset), "dataset", "b")
    kernel = _fieldapi.kernel_of(fld)
    data, rows, counts = csv_encrypt_block(b"1,x\r\n\r\n2,gm1.AA\n", 2, [(1, kernel)])
    assert rows == 2 and counts == [(1, 1)]
    assert data.endswith(b",gm1.AA\n") and data.count(b"\n") == 2 and b"\r" not in data
    for block in (b'1,"x"\n', b"1,x\r2,y\n", b"1,x,y\n", b"1\n", b"1,\xff\n"):
        assert csv_encrypt_block(block, 2, [(1, kernel)]) is None
    for targets in ([(2, kernel)], [(1, kernel), (0, kernel)], [(1, kernel), (1, kernel)]):
        with pytest.raises(InvalidArgumentError):
            csv_encrypt_block(b"1,x\n", 2, targets)
