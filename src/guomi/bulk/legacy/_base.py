"""The shape every legacy decryptor has: one value in, its plaintext out; whole Arrow arrays.

Layer: ``guomi.bulk.legacy``. Legacy formats are decrypted with pyca/cryptography (the
reference implementation of AES, Fernet and RSA in Python): migration runs once per
value, so a Python loop is fine; what matters is that every failure names its row and
column and never shows the value.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

import pyarrow as pa

from guomi.bulk._errors import BulkValueError
from guomi.exceptions import GuomiError

__all__ = ["Encoding", "LegacyDecryptor", "LegacyFormatError"]

Encoding = Literal["raw", "base64", "hex"]


class LegacyFormatError(GuomiError, ValueError):
    """A value is not in the legacy format, or does not decrypt under the given key."""


class LegacyDecryptor:
    """Base class: subclasses implement :meth:`decrypt_bytes` on the raw (decoded) value."""

    name = "legacy"

    def __init__(self, encoding: Encoding | None = None) -> None:
        if encoding not in (None, "raw", "base64", "hex"):
            raise LegacyFormatError(f"unknown encoding {encoding!r} (raw, base64 or hex)")
        self.encoding = encoding

    def _decode(self, value: str | bytes) -> bytes:
        encoding = self.encoding or ("base64" if isinstance(value, str) else "raw")
        raw = value.encode("ascii", "replace") if isinstance(value, str) else bytes(value)
        try:
            if encoding == "base64":
                text = raw.strip()
                alt = b"-_" if (b"-" in text or b"_" in text) else None
                return base64.b64decode(text + b"=" * (-len(text) % 4), altchars=alt, validate=True)
            if encoding == "hex":
                return bytes.fromhex(raw.decode("ascii"))
        except (binascii.Error, ValueError):
            raise LegacyFormatError(f"not {encoding}") from None
        return raw

    def decrypt_bytes(self, raw: bytes) -> bytes:  # pragma: no cover (abstract)
        raise NotImplementedError

    def decrypt(self, value: str | bytes) -> bytes:
        """The plaintext of one stored value (text or bytes as the column holds it)."""
        return self.decrypt_bytes(self._decode(value))

    def decrypt_array(
        self, array: pa.Array, *, first_row: int = 0, file: str | None = None, column: str | None = None
    ) -> pa.Array:
        """A binary array of plaintexts (nulls stay null); the first bad value raises, naming its row."""
        out: list[bytes | None] = []
        for i, value in enumerate(array.to_pylist()):
            if value is None:
                out.append(None)
                continue
            try:
                out.append(self.decrypt(value))
            except (LegacyFormatError, ValueError) as exc:
                raise BulkValueError(
                    f"{self.name}: {exc} (wrong key, or not a {self.name} value)",
                    file=file,
                    row=first_row + i,
                    column=column,
                ) from None
        return pa.array(out, type=pa.binary())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<key hidden>)"
