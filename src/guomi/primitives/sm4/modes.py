"""SM4 confidentiality modes for :class:`guomi.primitives.sm4.Cipher`.

Shaped like ``cryptography.hazmat.primitives.ciphers.modes``: each mode is a
small immutable value carrying its IV or nonce; the work happens in Rust.

- :class:`ECB` - no IV; whole blocks only. Leaks equal blocks: only for
  interoperability and building other modes.
- :class:`CBC` - 16-byte IV, unpredictable per message; whole blocks only.
- :class:`CFB` - full-block CFB-128 (feedback size s = 128, NIST SP 800-38A §6.3), 16-byte IV.
- :class:`OFB` - 16-byte IV, never reused under one key.
- :class:`CTR` - 16-byte nonce = the first counter block, incremented as a
  128-bit big-endian integer (NIST SP 800-38A §B.1); never reuse a counter
  value under one key.

A wrong IV/nonce length raises :class:`guomi.exceptions.InvalidArgumentError`
naming the field and the expected length, at construction.
"""

from __future__ import annotations

from typing import ClassVar

from guomi.exceptions import InvalidArgumentError

__all__ = ["CBC", "CFB", "CTR", "ECB", "OFB", "Mode"]

#: IV / nonce length of every SM4 mode that has one (the block size).
IV_SIZE = 16

Buffer = bytes | bytearray | memoryview


def _block(value: Buffer, mode: str, field: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"SM4-{mode} {field} must be bytes-like, got {type(value).__name__}")
    data = bytes(value)
    if len(data) != IV_SIZE:
        raise InvalidArgumentError(f"SM4-{mode} {field} must be {IV_SIZE} bytes, got {len(data)}")
    return data


class Mode:
    """Base class of the SM4 modes."""

    __slots__ = ()
    #: The mode's name as pyca/cryptography spells it (``"CBC"``, ...).
    name: ClassVar[str] = ""

    @property
    def _iv(self) -> bytes | None:
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mode) and type(self) is type(other) and self._iv == other._iv

    def __hash__(self) -> int:
        return hash((self.name, self._iv))


class ECB(Mode):
    """Electronic codebook: each block encrypted independently; no IV."""

    __slots__ = ()
    name: ClassVar[str] = "ECB"

    def __repr__(self) -> str:
        return "ECB()"


class _IvMode(Mode):
    """A mode with a 16-byte initialization vector."""

    __slots__ = ("_value",)

    def __init__(self, initialization_vector: Buffer) -> None:
        self._value = _block(initialization_vector, self.name, "iv")

    @property
    def initialization_vector(self) -> bytes:
        """The 16-byte IV (pyca/cryptography's attribute name)."""
        return self._value

    @property
    def iv(self) -> bytes:
        """The 16-byte IV."""
        return self._value

    @property
    def _iv(self) -> bytes | None:
        return self._value

    def __repr__(self) -> str:
        return f"{self.name}(iv={self._value.hex()!r})"


class CBC(_IvMode):
    """Cipher block chaining (NIST SP 800-38A §6.2); whole blocks only."""

    __slots__ = ()
    name: ClassVar[str] = "CBC"


class CFB(_IvMode):
    """Cipher feedback with 128-bit feedback (CFB-128); a stream mode."""

    __slots__ = ()
    name: ClassVar[str] = "CFB"


class OFB(_IvMode):
    """Output feedback; a stream mode."""

    __slots__ = ()
    name: ClassVar[str] = "OFB"


class CTR(Mode):
    """Counter mode; the 16-byte nonce is the first counter block."""

    __slots__ = ("_value",)
    name: ClassVar[str] = "CTR"

    def __init__(self, nonce: Buffer) -> None:
        self._value = _block(nonce, self.name, "nonce")

    @property
    def nonce(self) -> bytes:
        """The 16-byte initial counter block."""
        return self._value

    @property
    def _iv(self) -> bytes | None:
        return self._value

    def __repr__(self) -> str:
        return f"CTR(nonce={self._value.hex()!r})"
