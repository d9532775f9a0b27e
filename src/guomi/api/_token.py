"""Text and binary framing of ciphertext, signature and HMAC tokens (``docs/spec/token.md``).

Layer: ``guomi.api`` (wire format only, no cryptography).  The server builds and
checks tokens; the SDK may parse them to learn the key version without a round
trip.  Parsing is strict: every deviation raises
:class:`guomi.exceptions.InvalidEncodingError` with a message that names the
problem and never echoes the token.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass

from guomi.exceptions import InvalidEncodingError

__all__ = [
    "ALGORITHM_IDS",
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "MAX_KEY_VERSION",
    "TEXT_PREFIX",
    "TokenHeader",
    "algorithm_name",
    "format_text",
    "parse_text",
    "signature_der",
]

#: Format version of the token layout, independent of key versions.
FORMAT_VERSION = 1
TEXT_PREFIX = "guomi"
#: Key versions are encoded as an unsigned 32-bit big-endian integer.
MAX_KEY_VERSION = 0xFFFFFFFF

#: Algorithm identifiers in the binary header (byte 1); never reused.
ALGORITHM_IDS: dict[str, int] = {
    "sm4-gcm": 0x01,
    "aes-256-gcm": 0x02,
    "sm2-encrypt": 0x03,
    "sm2-sign": 0x10,
    "hmac-sm3": 0x20,
}
_ALGORITHM_NAMES = {v: k for k, v in ALGORITHM_IDS.items()}

#: format version (1) | algorithm id (1) | key version (4, big-endian)
_HEADER = struct.Struct(">BBI")
HEADER_SIZE = _HEADER.size


@dataclass(frozen=True, slots=True)
class TokenHeader:
    """The self-describing head of a binary token."""

    format_version: int
    algorithm: str
    key_version: int

    def encode(self) -> bytes:
        """The 6-byte binary header."""
        return _HEADER.pack(self.format_version, ALGORITHM_IDS[self.algorithm], self.key_version)

    @classmethod
    def decode(cls, blob: bytes) -> TokenHeader:
        """Reads the header at the start of ``blob``."""
        if len(blob) < HEADER_SIZE:
            raise InvalidEncodingError("token is truncated (shorter than its header)")
        fmt, alg, version = _HEADER.unpack_from(blob)
        if fmt != FORMAT_VERSION:
            raise InvalidEncodingError("unsupported token format version")
        name = _ALGORITHM_NAMES.get(alg)
        if name is None:
            raise InvalidEncodingError("unknown algorithm identifier in token")
        if version < 1:
            raise InvalidEncodingError("token key version must be >= 1")
        return cls(fmt, name, version)


def algorithm_name(algorithm_id: int) -> str:
    """The wire name of a binary algorithm identifier."""
    try:
        return _ALGORITHM_NAMES[algorithm_id]
    except KeyError:
        raise InvalidEncodingError("unknown algorithm identifier") from None


def format_text(header: TokenHeader, blob: bytes) -> str:
    """``guomi:v<format>:<key_version>:<base64url(blob), unpadded>``.

    ``blob`` is the complete binary token, header included."""
    body = base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")
    return f"{TEXT_PREFIX}:v{header.format_version}:{header.key_version}:{body}"


def parse_text(token: str) -> tuple[TokenHeader, bytes]:
    """Splits a text token into its checked header and the complete binary token.

    The key version written in the text must equal the one in the binary header."""
    if not isinstance(token, str):
        raise InvalidEncodingError("token must be a string")
    parts = token.split(":")
    if len(parts) != 4 or parts[0] != TEXT_PREFIX:
        raise InvalidEncodingError("token is not of the form guomi:v1:<key_version>:<data>")
    if parts[1] != f"v{FORMAT_VERSION}":
        raise InvalidEncodingError("unsupported token format version")
    text_version = parts[2]
    if not text_version.isascii() or not text_version.isdigit() or text_version.startswith("0"):
        raise InvalidEncodingError("token key version is not a positive decimal integer")
    if len(text_version) > 10:
        raise InvalidEncodingError("token key version out of range")
    body = parts[3]
    if not body or len(body) % 4 == 1:
        raise InvalidEncodingError("token data is not valid unpadded base64url")
    try:
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise InvalidEncodingError("token data is not valid unpadded base64url") from None
    # Reject non-canonical encodings (stray bits in the last character, '+' '/'
    # characters accepted by the decoder): one token, one spelling.
    if base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii") != body:
        raise InvalidEncodingError("token data is not canonical unpadded base64url")
    header = TokenHeader.decode(blob)
    if header.key_version != int(text_version):
        raise InvalidEncodingError("token key version in text and binary differ")
    return header, blob


def signature_der(signature: str) -> bytes:
    """The DER ``SEQUENCE {r, s}`` inside an ``sm2-sign`` signature token
    ``guomi:v1:<version>:<data>`` (``docs/spec/token.md`` §8): ``data`` is the 6-byte header
    (format, algorithm, key version) followed by the DER signature, which verifies with
    any SM2 implementation (``openssl pkeyutl -verify -rawin -digest sm3``)."""
    header, blob = parse_text(signature)
    if header.algorithm != "sm2-sign":
        raise InvalidEncodingError(f"token is a {header.algorithm} token, not an sm2-sign signature")
    return blob[HEADER_SIZE:]
