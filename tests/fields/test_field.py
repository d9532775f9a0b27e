"""guomi.fields: round trips for every value type, tamper and swap failures, batches, the
packed (Arrow-layout) API, rotation, the planner and keyless inspection."""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guomi.exceptions import IndexPlanError, InvalidArgumentError, InvalidEncodingError, InvalidTag
from guomi.fields import (
    TYPE_BYTES,
    TYPE_INT,
    TYPE_STR,
    BlindIndex,
    Field,
    encode_value,
    is_field_token,
    plan,
    token_info,
)
from guomi.fields._token import decode_armour
from guomi.keys import Keyset

KEYSET = Keyset.generate()
FIELD = Field("customer", "note", KEYSET, indexes=[BlindIndex("exact", bits=20)])
SIV = Field("customer", "note", KEYSET, suite="sm4-siv")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(max_size=10),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
    max_leaves=8,
)
values = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40),
    st.integers(),
    st.booleans(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False),
    st.dates(),
    st.datetimes(timezones=st.none() | st.just(dt.UTC) | st.just(dt.timezone(dt.timedelta(hours=8)))),
    st.dictionaries(st.text(max_size=5), json_values, max_size=3),
    st.lists(json_values, max_size=3),
)


@given(value=values, context=st.none() | st.binary(max_size=12))
def test_every_type_round_trips(value: Any, context: bytes | None) -> None:
    for field in (FIELD, SIV):
        token = field.encrypt(value, context=context)
        assert token.startswith("gm1.") and token.isascii()
        back = field.decrypt(token, context=context)
        assert back == value and type(back) is type(value)
        assert field.decrypt(field.encrypt_binary(value, context), context) == value
        assert field.index_many("exact", [value]) == [field.index("exact", value)] if field is FIELD else True


@given(value=values)
def test_batch_equals_single(value: Any) -> None:
    tokens = FIELD.encrypt_many([value, None, value])
    assert tokens[1] is None
    assert FIELD.decrypt_many(tokens) == [value, None, value]
    assert FIELD.index_many("exact", [value, None]) == [FIELD.index("exact", value), None]


def test_every_single_bit_flip_fails_typed() -> None:
    binary = FIELD.encrypt_binary("Zhang@Bank.cn", b"42")
    for i in range(len(binary) * 8):
        bad = bytearray(binary)
        bad[i // 8] ^= 1 << (i % 8)
        with pytest.raises((InvalidTag, InvalidEncodingError)):
            FIELD.decrypt(bytes(bad), b"42")
    text = FIELD.encrypt("Zhang@Bank.cn", b"42")
    for i in range(4, len(text)):
        for c in "AB_":
            if text[i] != c:
                with pytest.raises((InvalidTag, InvalidEncodingError)):
                    FIELD.decrypt(text[:i] + c + text[i + 1 :], b"42")


def test_every_swap_between_rows_columns_tables_fails() -> None:
    ks = Keyset.generate()
    cells = [Field(t, c, ks) for t in ("customer", "account") for c in ("email", "mobile")]
    for src in cells:
        for row in (b"1", b"2"):
            token = src.encrypt("13800138000", context=row)
            for dst in cells:
                for other_row in (b"1", b"2", None):
                    same = dst.table == src.table and dst.column == src.column and other_row == row
                    if same:
                        assert dst.decrypt(token, context=other_row) == "13800138000"
                    else:
                        with pytest.raises(InvalidTag):
                            dst.decrypt(token, context=other_row)


def test_batch_error_names_the_position() -> None:
    tokens = FIELD.encrypt_many(["a", "b", "c"])
    tokens[1] = tokens[0][:-2] + ("A" if tokens[0][-2] != "A" else "B") + tokens[0][-1]
    with pytest.raises((InvalidTag, InvalidEncodingError), match="value 1"):
        FIELD.decrypt_many(tokens)


def test_other_keyset_and_unknown_types_are_refused() -> None:
    other = Field("customer", "note", Keyset.generate())
    with pytest.raises(InvalidTag, match="does not hold"):
        other.decrypt(FIELD.encrypt("x"))
    with pytest.raises(InvalidArgumentError):
        FIELD.encrypt(object())
    with pytest.raises(InvalidArgumentError):
        FIELD.encrypt(None)
    with pytest.raises(InvalidArgumentError):
        FIELD.index("nope", "x")
    with pytest.raises(InvalidArgumentError):
        Field("t", "c", KEYSET, suite="aes")
    with pytest.raises(InvalidArgumentError):
        BlindIndex("x", "soundex")
    with pytest.raises(InvalidArgumentError):
        BlindIndex("x", bits=64)


def test_randomized_vs_deterministic() -> None:
    assert FIELD.encrypt("same") != FIELD.encrypt("same")
    assert SIV.encrypt("same") == SIV.encrypt("same")
    assert SIV.encrypt("same", b"1") != SIV.encrypt("same", b"2")


def test_transforms_match_between_kernel_and_python() -> None:
    idx = [
        BlindIndex("ci", "casefold", bits=40),
        BlindIndex("dg", "digits", bits=40),
        BlindIndex("l4", "last:4", bits=40),
        BlindIndex("p3", "prefix:3", bits=40),
        BlindIndex("chain", "digits|last:4", bits=40),
        BlindIndex("fn", lambda v: v.strip().lower(), bits=40),
    ]
    f = Field("t", "c", KEYSET, indexes=idx)
    assert f.index("ci", "Straße") == f.index("ci", "STRASSE")
    assert f.index("ci", "Zhang@BANK.cn") == f.index("ci", "zhang@bank.cn")
    assert f.index("dg", "+86 138-0013-8000") == f.index("dg", "8613800138000")
    assert f.index("l4", "6222 0202 0011 2233") == f.index("l4", "2233")
    assert f.index("p3", "张三丰先生") == f.index("p3", "张三丰")
    assert f.index("chain", "card 6222-0202-0011-2233") == f.index("chain", "2233")
    assert f.index("fn", " ABC ") == f.index("fn", "abc")
    words = ["Straße", "ABC", "ǅ", "İstanbul", "x"]
    for name in ("ci", "dg", "l4", "p3", "chain"):
        assert f.index_many(name, words) == [f.index(name, w) for w in words]
    with pytest.raises(InvalidArgumentError):
        f.index("dg", 12345)


def _arrow_buffers(arr: pa.Array) -> tuple[Any, Any, Any]:
    validity, offsets, data = arr.buffers()
    return validity, offsets, data


@pytest.mark.parametrize("large", [False, True])
def test_packed_api_with_pyarrow_buffers(large: bool) -> None:
    f = Field("customer", "email", KEYSET, indexes=[BlindIndex("ci", "casefold", bits=24)])
    values = ["Zhang@Bank.cn", None, "", "李四@例子.中国", "Straße@x.de"]
    arr = pa.array(values, type=pa.large_string() if large else pa.string())
    validity, offsets, data = _arrow_buffers(arr)
    out_offsets, out_data = f.encrypt_packed(offsets, data, validity=validity, offset_width=8 if large else 4)
    enc = pa.Array.from_buffers(
        pa.large_string() if large else pa.string(),
        len(values),
        [validity, pa.py_buffer(out_offsets), pa.py_buffer(out_data)],
    )
    tokens = enc.to_pylist()
    assert tokens[1] is None
    assert f.decrypt_many(tokens) == values
    # Back through the packed decryption, zero-copy in.
    _, e_off, e_data = enc.buffers()
    d_off, d_data = f.decrypt_packed(e_off, e_data, validity=validity, offset_width=8 if large else 4)
    dec = pa.Array.from_buffers(arr.type, len(values), [validity, pa.py_buffer(d_off), pa.py_buffer(d_data)])
    assert dec.to_pylist() == values
    # Indexes: little-endian int64, equal to the per-value API, 0 for nulls.
    raw = f.index_packed("ci", offsets, data, validity=validity)
    got = list(struct.unpack(f"<{len(values)}q", raw))
    assert got == [0 if v is None else f.index("ci", v) for v in values]
    # Width inferred from consistency with len(data) when not given.
    assert f.index_packed("ci", offsets, data, validity=validity) == raw


def test_packed_contexts_and_binary_types() -> None:
    f = Field("t", "blob", KEYSET, indexes=[BlindIndex("exact", bits=30)])
    arr = pa.array([b"\x00\x01", b"", b"\xff" * 50], type=pa.binary())
    _, offsets, data = arr.buffers()
    ctx = [b"1", b"2", b"3"]
    o, d = f.encrypt_packed(offsets, data, contexts=ctx, type_tag=TYPE_BYTES, binary=True, offset_width=4)
    enc = pa.Array.from_buffers(pa.binary(), 3, [None, pa.py_buffer(o), pa.py_buffer(d)])
    assert f.decrypt_many(enc.to_pylist(), ctx) == arr.to_pylist()
    with pytest.raises(InvalidTag, match="value 0"):
        f.decrypt_packed(
            pa.py_buffer(o), pa.py_buffer(d), contexts=[b"9", b"2", b"3"], type_tag=TYPE_BYTES, offset_width=4
        )
    with pytest.raises(InvalidEncodingError, match="type tag"):
        f.decrypt_packed(o, d, contexts=ctx, type_tag=TYPE_STR, offset_width=4)
    # Integers as canonical bytes: the bulk lane packs encode_value(...)[1].
    ints = [7, -300, 2**40]
    packed = [encode_value(i)[1] for i in ints]
    offs = struct.pack("<4i", 0, *[sum(len(p) for p in packed[: k + 1]) for k in range(3)])
    o, d = f.encrypt_packed(offs, b"".join(packed), type_tag=TYPE_INT, offset_width=4)
    tokens = [
        d[a:b].decode()
        for a, b in zip(struct.unpack("<4i", o)[:-1], struct.unpack("<4i", o)[1:], strict=True)
    ]
    assert f.decrypt_many(tokens) == ints
    assert struct.unpack("<3q", f.index_packed("exact", offs, b"".join(packed), type_tag=TYPE_INT)) == tuple(
        f.index("exact", i) for i in ints
    )
    with pytest.raises(InvalidArgumentError):
        f.encrypt_packed(b"\x00\x00\x00\x00\x09\x00\x00\x00", b"abc", offset_width=4)


def test_rotation_keeps_old_values_readable_and_indexes_stable() -> None:
    ks = Keyset.generate()
    f = Field("customer", "email", ks, indexes=[BlindIndex("email_bidx", bits=16)])
    old = f.encrypt("a@b.cn")
    before = f.index("email_bidx", "a@b.cn")
    new_id = ks.rotate()
    new = f.encrypt("a@b.cn")
    assert token_info(new).key_id == new_id != token_info(old).key_id
    assert f.decrypt(old) == f.decrypt(new) == "a@b.cn"
    assert f.index("email_bidx", "a@b.cn") == before
    assert f.needs_rekey(old) and not f.needs_rekey(new)
    assert [token_info(t).key_id for t in f.rekey_many([old])] == [new_id]
    # A fresh Field object (another process) computes the same index.
    assert (
        Field("customer", "email", ks, indexes=[BlindIndex("email_bidx", bits=16)]).index(
            "email_bidx", "a@b.cn"
        )
        == before
    )


def test_plan() -> None:
    idx = BlindIndex("id_no_bidx", bits=32)
    with pytest.raises(IndexPlanError, match="unique per value"):
        plan(idx, rows=1_000_000)
    with pytest.warns(UserWarning):
        p = plan(idx, rows=1_000_000, allow_unique=True)
    assert p.unique and p.recommended_bits == 18
    ok = plan(BlindIndex("x", bits=p.recommended_bits), rows=1_000_000)
    assert not ok.unique and ok.values_per_index_value >= 2 and ok.rows_per_lookup < 10
    low = plan(BlindIndex("gender", bits=1), rows=1_000_000, distinct=3)
    assert low.recommended_bits == 1 and not low.unique


def test_token_inspection() -> None:
    t = FIELD.encrypt("x")
    assert is_field_token(t) and is_field_token(FIELD.encrypt_binary("x"))
    assert not is_field_token("gm1.AAAA") and not is_field_token("hello") and not is_field_token(5)
    info = token_info(t)
    assert (
        info.suite == "sm4-gcm"
        and info.format_version == 1
        and not info.binary
        and info.plaintext_length == 1
    )
    assert decode_armour(t) == decode_armour(t)
    snap = FIELD.keyring.snapshot()
    assert "hidden" in repr(snap)
    for material in snap.material.values():
        for text in (repr(snap), repr(FIELD), repr(FIELD.keyring)):
            assert material.hex() not in text and repr(material) not in text


def test_overhead_is_35_bytes() -> None:
    for n in (0, 1, 30, 1000):
        assert len(FIELD.encrypt_binary("x" * n)) == n + 35
