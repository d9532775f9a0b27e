"""Classify one sampled value: PII plaintext, guomi ciphertext, a legacy format, or other.

Layer: ``guomi.scan``. Text formats with a recognisable prefix are checked first and
strictly (a guomi token must parse per ``docs/spec/token.md``, a Fernet token must have
the version byte and a consistent length, a Vault token its ``vault:vN:`` header). Then
text that is hex or base64 of random-looking bytes, and raw bytes, get a *shape* from
their length (``gcm``: IV12‖ct‖tag16 with a length no block mode gives; ``block``: a
whole number of 16-byte blocks; ``rsa``: a modulus size). ECB versus CBC versus an RSA
wrap is decided per column (:mod:`guomi.scan._column`), where repeated ciphertexts and
uniform lengths show.
"""

from __future__ import annotations

import base64
import binascii
import re

from guomi.scan._fieldfmt import field_token_info
from guomi.scan._model import Kind, ValueFinding
from guomi.scan._pii import is_bank_card, is_mobile, is_resident_id

__all__ = ["RSA_MODULUS_BYTES", "classify_value"]

#: RSA-1024/2048/3072/4096 ciphertext lengths.
RSA_MODULUS_BYTES = frozenset({128, 256, 384, 512})
_HEX_RE = re.compile(r"[0-9A-Fa-f]+")
_B64_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_VAULT_RE = re.compile(r"vault:v([1-9]\d{0,9}):([A-Za-z0-9+/]+={0,2})")
# version(1) | timestamp(8) | IV(16) | ciphertext(16n, n >= 1) | HMAC-SHA256(32)
_FERNET_OVERHEAD = 1 + 8 + 16 + 32
# Smallest body per token algorithm (token.md §3), after the 6-byte header.
_TOKEN_MIN_BODY = {
    "sm4-gcm": 60,
    "aes-256-gcm": 60,
    "sm2-encrypt": 2 + 12 + 16,
    "sm2-sign": 8,
    "hmac-sm3": 32,
}
#: docs/spec/token.md §3 algorithm ids (never reused).
_TOKEN_ALG_NAMES = {
    0x01: "sm4-gcm",
    0x02: "aes-256-gcm",
    0x03: "sm2-encrypt",
    0x10: "sm2-sign",
    0x20: "hmac-sm3",
}
_TOKEN_RE = re.compile(r"guomi:v1:([1-9][0-9]{0,9}):([A-Za-z0-9_-]+)")
_MAX_TEXT = 1 << 16


def _printable_share(data: bytes) -> float:
    if not data:
        return 1.0
    printable = sum(1 for b in data if 32 <= b < 127 or b in (9, 10, 13))
    return printable / len(data)


def _random_looking(data: bytes) -> bool:
    """Ciphertext is uniformly random: few bytes fall in printable ASCII (~37% expected)."""
    if len(data) < 8:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    # Valid UTF-8 random data is rare beyond a few bytes; printable text is plaintext.
    return _printable_share(text.encode("utf-8")) < 0.75


def _parse_token(text: str) -> tuple[str, int, bytes] | None:
    """(algorithm, key version, binary token) of a text token, strictly per docs/spec/token.md §2-3."""
    m = _TOKEN_RE.fullmatch(text)
    if m is None or len(m.group(2)) % 4 == 1:
        return None
    body = m.group(2)
    try:
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return None
    if base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii") != body or len(blob) < 6:
        return None
    alg = _TOKEN_ALG_NAMES.get(blob[1])
    version = int.from_bytes(blob[2:6], "big")
    if blob[0] != 0x01 or alg is None or version != int(m.group(1)) or version > 0xFFFFFFFF:
        return None
    if len(blob) - 6 < _TOKEN_MIN_BODY[alg]:
        return None
    return alg, version, blob


def _guomi_token(text: str) -> ValueFinding:
    parsed = _parse_token(text)
    if parsed is None:
        return ValueFinding(Kind.GUOMI_INVALID, 0.9, length=len(text))
    alg, version, blob = parsed
    return ValueFinding(Kind.GUOMI_TOKEN, 0.99, key_id=f"token:{alg}:v{version}", suite=alg, length=len(blob))


def _fernet(text: str) -> ValueFinding | None:
    try:
        data = base64.urlsafe_b64decode(text)
    except (binascii.Error, ValueError):
        return None
    if len(data) >= _FERNET_OVERHEAD + 16 and data[0] == 0x80 and (len(data) - _FERNET_OVERHEAD) % 16 == 0:
        return ValueFinding(Kind.FERNET, 0.99, encoding="base64url", length=len(data))
    return None


def _binary_token(data: bytes) -> ValueFinding | None:
    """A guomi service token stored in binary form (header: 0x01, algorithm id, version)."""
    if len(data) < 6 + 30 or data[0] != 0x01:
        return None
    alg = _TOKEN_ALG_NAMES.get(data[1])
    version = int.from_bytes(data[2:6], "big")
    if alg is None or not 1 <= version < 1_000_000 or len(data) - 6 < _TOKEN_MIN_BODY[alg]:
        return None
    return ValueFinding(
        Kind.GUOMI_TOKEN, 0.8, key_id=f"token:{alg}:v{version}", suite=alg, encoding="bytes", length=len(data)
    )


def _repeated_blocks(data: bytes) -> bool:
    blocks = [data[i : i + 16] for i in range(0, len(data) - 15, 16)]
    return len(blocks) != len(set(blocks))


def _binary(data: bytes, encoding: str) -> ValueFinding:  # noqa: PLR0911 (one exit per format)
    """Shape of random-looking bytes (see the module docstring)."""
    field = field_token_info(data)
    if field is not None:
        if not field.valid:
            return ValueFinding(Kind.GUOMI_INVALID, 0.9, encoding=encoding, length=len(data))
        return ValueFinding(
            Kind.GUOMI_FIELD, 0.99, key_id=f"field:{field.key_id}", suite=field.suite, encoding=encoding
        )
    token = _binary_token(data)
    if token is not None:
        return token
    n = len(data)
    if n % 16 == 0 and n >= 16:
        shape = "rsa" if n in RSA_MODULUS_BYTES else "block"
        kind = Kind.AES_ECB if n == 16 else Kind.UNKNOWN_BINARY
        return ValueFinding(
            kind,
            0.5,
            encoding=encoding,
            shape=shape,
            length=n,
            repeated_blocks=_repeated_blocks(data),
            head=data[:16],
            tail=tuple(data[i : i + 16] for i in range(16, n, 16)),
        )
    if n >= 12 + 16 + 1:
        return ValueFinding(Kind.AES_GCM, 0.6, encoding=encoding, shape="gcm", length=n)
    if n == 20:  # SHA-1's length; no cipher layout gives 20 bytes
        return ValueFinding(Kind.UNKEYED_DIGEST, 0.6, encoding=encoding, shape="digest", length=n)
    return ValueFinding(Kind.UNKNOWN_BINARY, 0.3, encoding=encoding, length=n)


def _decode_text_binary(text: str) -> tuple[bytes, str] | None:
    """Bytes of ``text`` if it is hex or base64 of random-looking data; else ``None``."""
    n = len(text)
    if n >= 32 and n % 2 == 0 and _HEX_RE.fullmatch(text) and not text.isdigit():
        data = bytes.fromhex(text)
        if _random_looking(data):
            return data, "hex"
    if n >= 20 and n % 4 == 0:
        for pattern, decode, name in (
            (_B64_RE, base64.b64decode, "base64"),
            (_B64URL_RE, base64.urlsafe_b64decode, "base64url"),
        ):
            if pattern.fullmatch(text):
                try:
                    data = decode(text)
                except (binascii.Error, ValueError):
                    continue
                # Words and identifiers are valid base64 too: demand mixed case and digits
                # (or base64 punctuation) as a random encoding has, and random-looking bytes.
                mixed = (
                    any(c.isupper() for c in text)
                    and any(c.islower() for c in text)
                    and any(c.isdigit() or c in "+/_-=" for c in text)
                )
                if mixed and _random_looking(data):
                    return data, name
    return None


def _text(text: str) -> ValueFinding:  # noqa: PLR0911 (one exit per recognised format)
    stripped = text.strip()
    if not stripped:
        return ValueFinding(Kind.EMPTY, 1.0)
    if stripped.startswith("guomi:"):
        return _guomi_token(stripped)
    field = field_token_info(stripped)
    if field is not None:
        if not field.valid:
            return ValueFinding(Kind.GUOMI_INVALID, 0.9, length=len(stripped))
        return ValueFinding(Kind.GUOMI_FIELD, 0.99, key_id=f"field:{field.key_id}", suite=field.suite)
    m = _VAULT_RE.fullmatch(stripped)
    if m is not None:
        return ValueFinding(Kind.VAULT_TRANSIT, 0.99, key_id=f"vault:v{m.group(1)}", length=len(stripped))
    if stripped.startswith("gAAAAA"):
        fernet = _fernet(stripped)
        if fernet is not None:
            return fernet
    if is_resident_id(stripped):
        return ValueFinding(Kind.PII_RESIDENT_ID, 0.99, length=len(stripped))
    if is_bank_card(stripped):
        return ValueFinding(Kind.PII_BANK_CARD, 0.85, length=len(stripped))
    if is_mobile(stripped):
        return ValueFinding(Kind.PII_MOBILE, 0.9, length=len(stripped))
    decoded = _decode_text_binary(stripped)
    if decoded is not None:
        return _binary(*decoded)
    return ValueFinding(Kind.PLAINTEXT, 0.8, length=len(stripped))


def classify_value(  # noqa: PLR0911 (one exit per input type)
    value: str | bytes | bytearray | memoryview | int | float | None,
) -> ValueFinding:
    """What one sampled value holds (``None`` and ``""`` are :attr:`Kind.EMPTY`).

    Numbers are read as their decimal text (a card number stored as an integer is
    still a card number); bytes that are printable UTF-8 are read as text."""
    if value is None:
        return ValueFinding(Kind.EMPTY, 1.0)
    if isinstance(value, bool):
        return ValueFinding(Kind.PLAINTEXT, 0.8)
    if isinstance(value, int | float):
        return _text(str(value))
    if isinstance(value, bytearray | memoryview):
        value = bytes(value)
    if isinstance(value, bytes):
        if not value:
            return ValueFinding(Kind.EMPTY, 1.0)
        if not _random_looking(value) and len(value) <= _MAX_TEXT:
            try:
                return _text(value.decode("utf-8"))
            except UnicodeDecodeError:
                pass
        return _binary(value, "bytes")
    return _text(str(value)[:_MAX_TEXT])
