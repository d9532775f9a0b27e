"""SM4 authenticated encryption: :class:`SM4GCM` and :class:`SM4CCM`.

Shaped like pyca/cryptography's ``AESGCM`` / ``AESCCM``: construct with a key,
then ``encrypt(nonce, data, associated_data) -> ciphertext || tag`` and
``decrypt(nonce, data, associated_data)``, which raises
:class:`guomi.exceptions.InvalidTag` and never returns unauthenticated
plaintext.

Both classes subclass the Rust objects in ``guomi._rust`` directly, so
``encrypt``/``decrypt`` run with no Python frame in between (a 64-byte
one-shot call costs about a microsecond). All validation is done in Rust, at
construction (key, tag length) or per call (nonce, lengths), and raises the
matching :mod:`guomi.exceptions` type with a message naming the field.
"""

from __future__ import annotations

import os

from guomi import _rust
from guomi.exceptions import InvalidArgumentError

__all__ = ["SM4CCM", "SM4GCM"]


def _random_key(bit_length: int) -> bytes:
    if bit_length != 128:
        raise InvalidArgumentError(f"bit_length must be 128 for SM4, got {bit_length}")
    return os.urandom(16)


class SM4GCM(_rust.Sm4Gcm):
    """SM4 in Galois/Counter Mode (NIST SP 800-38D; RFC 8998; GB/T 36624-2018).

    ``SM4GCM(key, tag_length=16, allow_short_tags=False)``

    - ``key``: 16 bytes (:class:`~guomi.exceptions.InvalidKey` otherwise).
    - ``tag_length``: 12 to 16 bytes; 4 or 8 only with
      ``allow_short_tags=True`` (SP 800-38D Appendix C limits such tags to
      short messages under a bounded number of invocations).
    - ``encrypt(nonce, data, associated_data=None)``: any nonce of at least
      1 byte; 12 bytes is the standard and fastest choice. Never reuse a
      nonce with the same key. Returns ``ciphertext || tag``. Plaintext is
      limited to 2^36 - 32 bytes (SP 800-38D §5.2.1.1).
    - ``decrypt(nonce, data, associated_data=None)``: checks the tag in
      constant time *before* decrypting; raises
      :class:`~guomi.exceptions.InvalidTag` on any mismatch.

    With empty ``data`` this is GMAC (GB/T 15852.3): the result is the tag
    over ``associated_data``.

    Inputs may be ``bytes``, ``bytearray`` or any contiguous buffer; they are
    read without copying, and large ones are processed with the GIL released.
    """

    __slots__ = ()

    @classmethod
    def generate_key(cls, bit_length: int = 128) -> bytes:
        """A fresh random 16-byte key from the operating system's CSPRNG.

        ``bit_length`` exists for pyca/cryptography compatibility; SM4 keys
        are always 128 bits.
        """
        return _random_key(bit_length)


class SM4CCM(_rust.Sm4Ccm):
    """SM4 in Counter with CBC-MAC mode (NIST SP 800-38C; RFC 8998).

    ``SM4CCM(key, tag_length=16)``

    - ``key``: 16 bytes.
    - ``tag_length``: 4, 6, 8, 10, 12, 14 or 16 bytes.
    - ``encrypt(nonce, data, associated_data=None)``: the nonce is 7 to 13
      bytes; with an ``n``-byte nonce the message may be at most
      ``2^(8·(15-n)) - 1`` bytes (so 65535 bytes for a 13-byte nonce).
      Returns ``ciphertext || tag``.
    - ``decrypt(nonce, data, associated_data=None)``: raises
      :class:`~guomi.exceptions.InvalidTag` on any mismatch; the tentative
      plaintext is wiped and never returned.
    """

    __slots__ = ()

    @classmethod
    def generate_key(cls, bit_length: int = 128) -> bytes:
        """A fresh random 16-byte key from the operating system's CSPRNG.

        ``bit_length`` exists for pyca/cryptography compatibility; SM4 keys
        are always 128 bits.
        """
        return _random_key(bit_length)
