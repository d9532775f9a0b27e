"""PKCS #7 padding (RFC 5652 §6.3) for block modes, pyca-shaped.

``PKCS7(128).padder()`` / ``.unpadder()`` return contexts with ``update`` and
``finalize``, as in ``cryptography.hazmat.primitives.padding``. Padding
always adds 1 to ``block_size / 8`` bytes. The unpadder's check of the final
block runs in Rust in constant time with respect to the pad length; a bad
padding raises :class:`guomi.exceptions.InvalidArgumentError` (a
``ValueError``) with one fixed message.

Padding is not authentication: decrypting attacker-controlled CBC data and
reporting padding errors is a padding oracle. Use an AEAD (``SM4GCM``) or
MAC the ciphertext and verify before unpadding.
"""

from __future__ import annotations

from guomi import _rust
from guomi.exceptions import AlreadyFinalizedError, InvalidArgumentError

__all__ = ["PKCS7", "PaddingContext"]

Buffer = bytes | bytearray | memoryview


def _check_data(data: object) -> bytes | bytearray | memoryview:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes-like, got {type(data).__name__}")
    return data


class PaddingContext:
    """Common shape of the padder and unpadder contexts."""

    __slots__ = ("_block", "_buffer", "_done")

    def __init__(self, block_bytes: int) -> None:
        self._block = block_bytes
        self._buffer = bytearray()
        self._done = False

    def _check_open(self) -> None:
        if self._done:
            raise AlreadyFinalizedError("this padding context has already been finalized")

    def update(self, data: Buffer) -> bytes:
        """Absorbs ``data`` and returns the output it completes."""
        raise NotImplementedError

    def finalize(self) -> bytes:
        """Returns the remaining output; the context is then closed."""
        raise NotImplementedError


class _Padder(PaddingContext):
    __slots__ = ()

    def update(self, data: Buffer) -> bytes:
        self._check_open()
        self._buffer += _check_data(data)
        whole = len(self._buffer) // self._block * self._block
        out = bytes(self._buffer[:whole])
        del self._buffer[:whole]
        return out

    def finalize(self) -> bytes:
        self._check_open()
        self._done = True
        pad = self._block - len(self._buffer)
        out = bytes(self._buffer) + bytes([pad]) * pad
        self._buffer.clear()
        return out


class _Unpadder(PaddingContext):
    __slots__ = ()

    def update(self, data: Buffer) -> bytes:
        self._check_open()
        self._buffer += _check_data(data)
        # Keep the last (possibly padded) block back until finalize.
        whole = max(len(self._buffer) // self._block - 1, 0) * self._block
        out = bytes(self._buffer[:whole])
        del self._buffer[:whole]
        return out

    def finalize(self) -> bytes:
        self._check_open()
        self._done = True
        block = bytes(self._buffer)
        self._buffer.clear()
        if len(block) != self._block:
            raise InvalidArgumentError("invalid PKCS7 padding")
        pad = _rust.padding_pkcs7_unpad_len(block)
        return block[: self._block - pad]


class PKCS7:
    """PKCS #7 padding for a block size given in bits (128 for SM4)."""

    __slots__ = ("_block_bytes", "block_size")

    def __init__(self, block_size: int) -> None:
        if isinstance(block_size, bool) or not isinstance(block_size, int):
            raise TypeError("block_size must be an int (in bits)")
        if not 8 <= block_size <= 2040 or block_size % 8:
            raise InvalidArgumentError(
                f"block_size must be a multiple of 8 bits between 8 and 2040, got {block_size}"
            )
        self.block_size = block_size
        self._block_bytes = block_size // 8

    def padder(self) -> PaddingContext:
        """A context that appends 1..block_size/8 padding bytes at finalize."""
        return _Padder(self._block_bytes)

    def unpadder(self) -> PaddingContext:
        """A context that checks and strips the padding at finalize."""
        return _Unpadder(self._block_bytes)

    def __repr__(self) -> str:
        return f"PKCS7({self.block_size})"
