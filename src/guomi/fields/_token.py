"""Keyless inspection of field values: :func:`is_field_token` and :func:`token_info`.

Layer: ``guomi.fields``. For scanners (``guomi table scan``, ``guomi assess``): recognise a
guomi field value and read its header (format version, suite, key id) without any key.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Final

from guomi.exceptions import InvalidEncodingError

__all__ = ["SUITES", "TEXT_PREFIX", "FieldTokenInfo", "decode_armour", "is_field_token", "token_info"]

TEXT_PREFIX: Final = "gm1."
FORMAT_VERSION: Final = 0x01
SUITES: Final = {0x01: "sm4-gcm", 0x02: "sm4-siv"}
#: header 6 + nonce 12 + type tag 1 + GCM tag 16
MIN_BINARY: Final = 35


@dataclass(frozen=True)
class FieldTokenInfo:
    """The public header of a field value."""

    format_version: int
    suite: str
    key_id: int
    #: True for the binary (BLOB/BYTEA) form, False for the ``gm1.`` text armour.
    binary: bool
    #: Length of the canonical plaintext (value length is not hidden; see the spec's leakage notes).
    plaintext_length: int


def decode_armour(text: str) -> bytes:
    """The binary value inside ``gm1.`` text; strict canonical unpadded base64url."""
    if not text.startswith(TEXT_PREFIX):
        raise InvalidEncodingError("not a guomi field value (no gm1. prefix)")
    body = text[len(TEXT_PREFIX) :]
    if not body.isascii() or len(body) % 4 == 1 or "=" in body or "+" in body or "/" in body:
        raise InvalidEncodingError("field value text is not canonical base64url")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise InvalidEncodingError("field value text is not canonical base64url") from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != body:
        raise InvalidEncodingError("field value text is not canonical base64url")
    return raw


def token_info(value: str | bytes | bytearray | memoryview) -> FieldTokenInfo:
    """Header of a field value (text or binary); :class:`InvalidEncodingError` if it is not one."""
    if isinstance(value, str):
        raw, binary = decode_armour(value), False
    elif isinstance(value, bytes | bytearray | memoryview):
        raw, binary = bytes(value), True
        if raw.startswith(TEXT_PREFIX.encode()):
            raw, binary = decode_armour(raw.decode("ascii", "replace")), False
    else:
        raise InvalidEncodingError(f"a field value is str or bytes, not {type(value).__name__}")
    if len(raw) < MIN_BINARY:
        raise InvalidEncodingError("field value is too short")
    if raw[0] != FORMAT_VERSION:
        raise InvalidEncodingError("unknown field format version")
    suite = SUITES.get(raw[1])
    if suite is None:
        raise InvalidEncodingError("unknown field suite")
    return FieldTokenInfo(raw[0], suite, int.from_bytes(raw[2:6], "big"), binary, len(raw) - MIN_BINARY)


def is_field_token(value: object) -> bool:
    """True when ``value`` parses as a guomi field value (text or binary form)."""
    if not isinstance(value, str | bytes | bytearray | memoryview):
        return False
    try:
        token_info(value)
    except InvalidEncodingError:
        return False
    return True
