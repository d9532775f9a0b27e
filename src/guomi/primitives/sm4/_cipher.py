"""``Cipher(key, mode)``: SM4 with a confidentiality mode, pyca-shaped.

``Cipher(key, modes.CBC(iv)).encryptor()`` returns a context with
``update(data) -> bytes``, ``update_into(data, buf) -> int`` and
``finalize() -> bytes``, exactly like pyca/cryptography's ``Cipher``. The
context is the Rust object itself, so streaming costs one call per chunk; its
input is read without copying and large chunks run with the GIL released.

The key is expanded once, in Rust, when the :class:`Cipher` is created; the
Python object never holds the key bytes, and its ``repr`` shows none.
"""

from __future__ import annotations

from guomi import _rust
from guomi.primitives.sm4.modes import Buffer, Mode

__all__ = ["Cipher", "CipherContext"]

#: The type of the contexts returned by :meth:`Cipher.encryptor` /
#: :meth:`Cipher.decryptor`.
CipherContext = _rust.Sm4Context

#: SM4 block size in bytes.
BLOCK_SIZE = 16
#: SM4 key size in bytes.
KEY_SIZE = 16


class Cipher:
    """SM4 (GB/T 32907-2016) under a confidentiality mode.

    - ``key``: 16 bytes, else :class:`~guomi.exceptions.InvalidKey`.
    - ``mode``: one of :mod:`guomi.primitives.sm4.modes` (``ECB()``,
      ``CBC(iv)``, ``CFB(iv)``, ``OFB(iv)``, ``CTR(nonce)``).

    No padding is applied: ECB and CBC need a total length that is a
    multiple of 16 bytes (``finalize`` raises
    :class:`~guomi.exceptions.InvalidArgumentError` otherwise); use
    :class:`guomi.primitives.padding.PKCS7` for other lengths. After
    ``finalize`` every call raises
    :class:`~guomi.exceptions.AlreadyFinalizedError`.
    """

    __slots__ = ("_key", "_mode")

    def __init__(self, key: Buffer, mode: Mode) -> None:
        if not isinstance(mode, Mode):
            raise TypeError(
                "mode must be an instance of guomi.primitives.sm4.modes "
                f"(ECB, CBC, CFB, OFB, CTR), got {type(mode).__name__}"
            )
        self._key = _rust.Sm4Key(key)
        self._mode = mode

    @property
    def mode(self) -> Mode:
        """The mode this cipher was created with."""
        return self._mode

    @property
    def backend(self) -> str:
        """The SM4 implementation path the expanded key runs on."""
        return self._key.backend

    def encryptor(self) -> CipherContext:
        """A new streaming encryption context."""
        return self._key.encryptor(self._mode.name, self._mode._iv)

    def decryptor(self) -> CipherContext:
        """A new streaming decryption context."""
        return self._key.decryptor(self._mode.name, self._mode._iv)

    def __repr__(self) -> str:
        return f"Cipher(SM4, {self._mode!r})"
