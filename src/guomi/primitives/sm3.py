"""SM3, the 256-bit hash of GB/T 32905-2016, with a hashlib-compatible interface.

``SM3(data=b"")`` behaves like a ``hashlib`` object (``update``, ``digest``,
``hexdigest``, ``copy``, ``name``, ``digest_size``, ``block_size``), so it can
be passed as ``digestmod`` to the standard library's :mod:`hmac` and used by
pbkdf2-style code written against hashlib. ``digest(data)`` is the one-shot
form. Both are the Rust implementations themselves: there is no Python layer
on the hot path.
"""

from __future__ import annotations

from guomi import _rust

__all__ = ["BLOCK_SIZE", "DIGEST_SIZE", "SM3", "digest"]

#: Digest size in bytes.
DIGEST_SIZE = 32
#: Internal block size in bytes.
BLOCK_SIZE = 64

#: ``SM3(data=b"")``: a streaming SM3 hash object (hashlib-compatible).
SM3 = _rust.Sm3

#: ``digest(data) -> bytes``: one-shot SM3 of a bytes-like object.
digest = _rust.sm3_digest
