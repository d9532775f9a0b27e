"""HMAC-SM3 (RFC 2104 with SM3; GB/T 15852.2-2012 MAC algorithm 2).

``HMAC(key, msg=b"", tag_length=32)`` is shaped like the standard library's
``hmac.HMAC`` (``update``, ``copy``, ``digest``, ``hexdigest``, ``name``,
``digest_size``, ``block_size``) plus ``verify(tag)``, which compares in
constant time and raises :class:`guomi.exceptions.InvalidSignature`.

The key's inner and outer pad blocks are compressed once at construction:
``copy()`` of a freshly keyed object is the cheap way to MAC many messages
under one key. Truncated tags (RFC 2104 §5) need an explicit
``tag_length=n`` with ``10 <= n <= 32``; ``digest()`` then returns the leftmost
``n`` bytes and ``verify`` accepts only ``n``-byte tags. The key never
appears in ``repr`` and is wiped from memory when the object dies.

``hmac_sm3(key, msg)`` is the one-shot form.
"""

from __future__ import annotations

from guomi import _rust

__all__ = ["HMAC", "MIN_TAG_LENGTH", "hmac_sm3"]

#: Shortest truncated tag accepted (RFC 2104 §5: not less than 80 bits).
MIN_TAG_LENGTH = 10

#: ``HMAC(key, msg=b"", tag_length=32)``: streaming HMAC-SM3.
HMAC = _rust.HmacSm3

#: ``hmac_sm3(key, msg) -> bytes``: one-shot 32-byte HMAC-SM3 tag.
hmac_sm3 = _rust.hmac_sm3
