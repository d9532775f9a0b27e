"""SM4 (GB/T 32907-2016), the Chinese national block cipher, and its modes.

- :class:`Cipher` with :mod:`modes` (ECB, CBC, CFB, OFB, CTR): streaming,
  pyca/cryptography-shaped, no implicit padding (see
  :class:`guomi.primitives.padding.PKCS7`).
- ``SM4GCM`` / ``SM4CCM``: authenticated encryption.
- ``SM4XTS``: the tweakable storage mode.

All of it runs in Rust on a constant-time path (bit-sliced, or AES-NI/GFNI
when the CPU has them; see :func:`guomi.primitives.backend`).
"""

from __future__ import annotations

from guomi.primitives.sm4 import modes

# AEAD / XTS exports (SM4 AEAD work) and the mode cipher, kept in isort order.
from guomi.primitives.sm4._aead import SM4CCM, SM4GCM
from guomi.primitives.sm4._cipher import BLOCK_SIZE, KEY_SIZE, Cipher, CipherContext
from guomi.primitives.sm4._xts import SM4XTS

__all__ = [
    "BLOCK_SIZE",
    "KEY_SIZE",
    "SM4CCM",
    "SM4GCM",
    "SM4XTS",
    "Cipher",
    "CipherContext",
    "modes",
]
