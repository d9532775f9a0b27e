"""Typed values as canonical bytes with a one-byte type tag (``docs/spec/field.md`` §7).

Layer: ``guomi.fields``. The tag travels inside the ciphertext, so a decrypted value comes
back as the Python type it went in as, and the canonical bytes make equal values (and so
their blind indexes) byte-identical.
"""

from __future__ import annotations

import datetime as _dt
import json
import struct
from decimal import Decimal
from typing import Any, Final

from guomi.exceptions import InvalidArgumentError, InvalidEncodingError

__all__ = [
    "TYPE_BOOL",
    "TYPE_BYTES",
    "TYPE_DATE",
    "TYPE_DATETIME",
    "TYPE_DECIMAL",
    "TYPE_FLOAT",
    "TYPE_INT",
    "TYPE_JSON",
    "TYPE_STR",
    "decode_value",
    "encode_value",
]

TYPE_STR: Final = 0x01
TYPE_BYTES: Final = 0x02
TYPE_INT: Final = 0x03
TYPE_DECIMAL: Final = 0x04
TYPE_DATE: Final = 0x05
TYPE_DATETIME: Final = 0x06
TYPE_JSON: Final = 0x07
TYPE_BOOL: Final = 0x08
TYPE_FLOAT: Final = 0x09


def _json_bytes(value: Any) -> bytes:
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"value is not JSON-serialisable: {type(exc).__name__}") from None
    return text.encode("utf-8")


def encode_value(value: Any) -> tuple[int, bytes]:  # noqa: PLR0911 (one return per type)
    """``(type_tag, canonical_bytes)`` of a supported value; a typed error for any other type."""
    # bool before int (bool is an int subclass); datetime before date (likewise).
    if isinstance(value, str):
        return TYPE_STR, value.encode("utf-8")
    if isinstance(value, bytes | bytearray | memoryview):
        return TYPE_BYTES, bytes(value)
    if isinstance(value, bool):
        return TYPE_BOOL, b"\x01" if value else b"\x00"
    if isinstance(value, int):
        return TYPE_INT, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidArgumentError("only finite Decimal values can be encrypted")
        return TYPE_DECIMAL, str(value).encode("ascii")
    if isinstance(value, float):
        return TYPE_FLOAT, struct.pack(">d", value)
    if isinstance(value, _dt.datetime):
        return TYPE_DATETIME, value.isoformat().encode("ascii")
    if isinstance(value, _dt.date):
        return TYPE_DATE, value.isoformat().encode("ascii")
    if isinstance(value, dict | list | tuple):
        return TYPE_JSON, _json_bytes(value)
    raise InvalidArgumentError(
        f"cannot encrypt a {type(value).__name__}: use str, bytes, int, Decimal, float, bool, date, datetime "
        "or JSON (dict/list)"
    )


def decode_value(tag: int, data: bytes) -> Any:  # noqa: PLR0911 (one return per type)
    """The Python value of canonical bytes; :class:`InvalidEncodingError` if they are not canonical."""
    try:
        if tag == TYPE_STR:
            return data.decode("utf-8")
        if tag == TYPE_BYTES:
            return bytes(data)
        if tag == TYPE_INT:
            return int.from_bytes(data, "big", signed=True)
        if tag == TYPE_DECIMAL:
            return Decimal(data.decode("ascii"))
        if tag == TYPE_DATE:
            return _dt.date.fromisoformat(data.decode("ascii"))
        if tag == TYPE_DATETIME:
            return _dt.datetime.fromisoformat(data.decode("ascii"))
        if tag == TYPE_JSON:
            return json.loads(data.decode("utf-8"))
        if tag == TYPE_BOOL:
            if data not in (b"\x00", b"\x01"):
                raise ValueError("bool")
            return data == b"\x01"
        if tag == TYPE_FLOAT:
            return struct.unpack(">d", data)[0]
    except (ValueError, ArithmeticError, struct.error):
        raise InvalidEncodingError(
            f"decrypted value is not a canonical value of type tag {tag:#04x}"
        ) from None
    raise InvalidEncodingError(f"unknown field value type tag {tag:#04x}")
