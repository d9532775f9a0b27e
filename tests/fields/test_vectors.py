"""Known answers (tests/vectors/field/field_v1.json, made with pyca/cryptography) and the
negative vectors named after their failure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from guomi import exceptions
from guomi.fields import BlindIndex, Field, token_info
from tests.fields.conftest import load_vectors, vector_keyset

DOC = load_vectors()


def typed(entry: dict[str, Any]) -> Any:
    t, v = entry["type"], entry["value"]
    return {
        "str": lambda: v,
        "bytes": lambda: bytes.fromhex(v),
        "int": lambda: v,
        "decimal": lambda: Decimal(v),
        "date": lambda: dt.date.fromisoformat(v),
        "datetime": lambda: dt.datetime.fromisoformat(v),
        "json": lambda: v,
        "bool": lambda: v,
    }[t]()


def ctx(entry: dict[str, Any]) -> bytes | None:
    return None if entry["context"] is None else bytes.fromhex(entry["context"])


@pytest.mark.parametrize("entry", DOC["values"], ids=[e["name"] for e in DOC["values"]])
def test_known_value_decrypts_in_both_forms(entry: dict[str, Any]) -> None:
    suite = "sm4-siv" if entry["suite"] == 2 else "sm4-gcm"
    field = Field(entry["table"], entry["column"], vector_keyset(), suite=suite)
    want = typed(entry)
    assert field.decrypt(entry["text"], context=ctx(entry)) == want
    assert field.decrypt(bytes.fromhex(entry["binary"]), context=ctx(entry)) == want
    info = token_info(entry["text"])
    assert (info.format_version, info.key_id, info.suite) == (1, entry["key_id"], suite)


def test_deterministic_suite_reproduces_the_vector() -> None:
    entry = next(e for e in DOC["values"] if e["suite"] == 2)
    field = Field(entry["table"], entry["column"], vector_keyset(), suite="sm4-siv")
    assert field.encrypt(typed(entry)) == entry["text"]
    assert field.encrypt_binary(typed(entry)) == bytes.fromhex(entry["binary"])


@pytest.mark.parametrize("entry", DOC["indexes"], ids=[f"{e['name']}-{e['value']}" for e in DOC["indexes"]])
def test_known_blind_index(entry: dict[str, Any]) -> None:
    idx = BlindIndex(
        entry["name"],
        entry["transform"],
        bits=entry["bits"],
        slow=entry["slow_iterations"] or False,
        key_id=entry["key_id"],
    )
    field = Field(entry["table"], entry["column"], vector_keyset(), indexes=[idx])
    assert field.index(entry["name"], entry["value"]) == entry["index"]
    assert field.index_many(entry["name"], [entry["value"]]) == [entry["index"]]


@pytest.mark.parametrize("entry", DOC["negative"], ids=[e["name"] for e in DOC["negative"]])
def test_negative_vector_fails_typed(entry: dict[str, Any]) -> None:
    field = Field(entry["table"], entry["column"], vector_keyset())
    error = getattr(exceptions, entry["error"])
    with pytest.raises(error):
        field.decrypt(entry["token"], context=ctx(entry))
