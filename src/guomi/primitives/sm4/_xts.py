"""SM4-XTS (GB/T 17964-2021 and IEEE Std 1619): :class:`SM4XTS`.

XTS encrypts fixed-position data units (disk sectors, database pages) so that
each unit is bound to its position through a 16-byte tweak. It provides no
integrity: use an AEAD when ciphertext may be tampered with.

The two standards share the construction and ciphertext stealing but differ
in how the tweak is multiplied by ``x`` from block to block, so the choice is
an explicit parameter: ``"gb"`` (GB/T 17964-2021, bit-reflected as in GCM)
or ``"ieee"`` (IEEE 1619, little-endian with the constant 0x87). They give
the same first block and different ciphertexts afterwards.
"""

from __future__ import annotations

import os

from guomi import _rust

__all__ = ["SM4XTS"]


class SM4XTS(_rust.Sm4Xts):
    """SM4-XTS with a 32-byte key = data key || tweak key.

    ``SM4XTS(key, standard="gb")``

    - ``key``: 32 bytes; the two 16-byte halves must differ
      (:class:`~guomi.exceptions.InvalidKey` otherwise).
    - ``standard``: ``"gb"`` (GB/T 17964-2021) or ``"ieee"`` (IEEE 1619).
    - ``encrypt(tweak, data)`` / ``decrypt(tweak, data)``: ``tweak`` is 16
      bytes (for IEEE 1619 usually the data-unit number, little-endian);
      ``data`` is 16 bytes to 16 MiB (2^20 blocks); lengths that are not a
      multiple of 16 use ciphertext stealing, so output length = input length.
    """

    __slots__ = ()

    @classmethod
    def generate_key(cls) -> bytes:
        """A fresh random 32-byte key (two distinct halves) from the OS CSPRNG."""
        while True:
            key = os.urandom(32)
            # Equal halves happen with probability 2^-128; loop for rigour.
            if key[:16] != key[16:]:
                return key
