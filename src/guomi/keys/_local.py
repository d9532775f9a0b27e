"""In-process implementations of the :mod:`guomi.keys` protocols over raw key material.

Layer: ``guomi.keys``. These are the building blocks of :class:`guomi.keys.Keyset`
(``keys/keyset.py``: versioned keys with a key id in front of each ciphertext); on their
own they are the simplest correct way to use one key in one process.

Ciphertext layout of :class:`LocalAead` (SM4-GCM, GB/T 32907 + NIST SP 800-38D)::

    nonce (12 bytes, random) || ciphertext (len(plaintext) bytes) || tag (16 bytes)

The nonce is 96 random bits from the OS CSPRNG. SP 800-38D §8.3 bounds random 96-bit
nonces to 2**32 encryptions per key (collision probability <= 2**-32); rotate the key
well before that. The full 16-byte tag is always used.
"""

from __future__ import annotations

import hmac as _stdlib_hmac
import os
from typing import TYPE_CHECKING

from guomi.exceptions import InvalidKey, InvalidSignature, InvalidTag
from guomi.primitives.hmac import hmac_sm3
from guomi.primitives.sm4 import SM4GCM

if TYPE_CHECKING:
    from guomi.primitives.sm2 import SM2PrivateKey, SM2PublicKey

__all__ = ["LocalAead", "LocalMac", "LocalSigner", "LocalVerifier"]

NONCE_SIZE = 12
"""SM4-GCM nonce length: 96 bits is GCM's native IV size (SP 800-38D §8.2.1, no GHASH of the IV)."""
TAG_SIZE = 16
"""Full-length GCM tag; truncated tags weaken forgery bounds (SP 800-38D Appendix C)."""
KEY_SIZE = 16
"""SM4 key length (GB/T 32907 §5)."""


class LocalAead:
    """SM4-GCM over a 16-byte key held in this process; satisfies :class:`guomi.keys.Aead`.

    >>> aead = LocalAead.generate()
    >>> aead.decrypt(aead.encrypt(b"secret", b"row-17"), b"row-17")
    b'secret'
    """

    __slots__ = ("_gcm",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise InvalidKey(f"LocalAead needs a {KEY_SIZE}-byte SM4 key, got {len(key)} bytes")
        self._gcm = SM4GCM(bytes(key))

    @classmethod
    def generate(cls) -> LocalAead:
        """A new instance over a fresh random key (the key cannot be read back out)."""
        return cls(os.urandom(KEY_SIZE))

    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> bytes:
        """Return ``nonce || ciphertext || tag`` with a fresh random nonce."""
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._gcm.encrypt(nonce, plaintext, associated_data)

    def decrypt(self, ciphertext: bytes, associated_data: bytes = b"") -> bytes:
        """Split off the nonce, verify the tag, return the plaintext or raise InvalidTag."""
        if len(ciphertext) < NONCE_SIZE + TAG_SIZE:
            # Too short to hold a nonce and a tag: indistinguishable from a bad tag to the caller.
            raise InvalidTag("ciphertext is shorter than nonce + tag")
        view = memoryview(ciphertext)
        return self._gcm.decrypt(bytes(view[:NONCE_SIZE]), bytes(view[NONCE_SIZE:]), associated_data)

    def __repr__(self) -> str:
        return "LocalAead(<SM4-GCM key hidden>)"


class LocalVerifier:
    """SM2 signature verification under a public key; satisfies :class:`guomi.keys.Verifier`."""

    __slots__ = ("_key", "_user_id")

    def __init__(self, public_key: SM2PublicKey, user_id: bytes | None = None) -> None:
        from guomi.primitives.sm2 import DEFAULT_USER_ID  # noqa: PLC0415 (SM2 loads on first use)

        self._key = public_key
        self._user_id = DEFAULT_USER_ID if user_id is None else bytes(user_id)

    def verify(self, signature: bytes, data: bytes) -> None:
        """Raise :class:`~guomi.exceptions.InvalidSignature` unless ``signature`` is valid."""
        self._key.verify(signature, data, user_id=self._user_id)

    def __repr__(self) -> str:
        return "LocalVerifier(sm2)"


class LocalSigner:
    """SM2 signing (GB/T 32918.2) with a private key in this process; a :class:`guomi.keys.Signer`.

    ``user_id`` is the signer's distinguishing identifier that goes into Z_A
    (GB/T 32918.2 §5.5); the default is the standard's ``1234567812345678``
    (GM/T 0009 §10). Signatures are DER-encoded ``SEQUENCE { r, s }``.
    """

    __slots__ = ("_key", "_user_id")

    def __init__(self, private_key: SM2PrivateKey, user_id: bytes | None = None) -> None:
        from guomi.primitives.sm2 import DEFAULT_USER_ID  # noqa: PLC0415 (SM2 loads on first use)

        self._key = private_key
        self._user_id = DEFAULT_USER_ID if user_id is None else bytes(user_id)

    @classmethod
    def generate(cls, user_id: bytes | None = None) -> LocalSigner:
        """A signer over a fresh SM2 private key."""
        from guomi.primitives.sm2 import generate_private_key  # noqa: PLC0415

        return cls(generate_private_key(), user_id)

    def sign(self, data: bytes) -> bytes:
        """DER signature over ``data`` (Z_A and SM3 are applied inside)."""
        return self._key.sign(data, user_id=self._user_id)

    def public_key(self) -> SM2PublicKey:
        """The matching public key."""
        return self._key.public_key()

    def verifier(self) -> LocalVerifier:
        """A :class:`LocalVerifier` for the matching public key and the same user ID."""
        return LocalVerifier(self._key.public_key(), self._user_id)

    def __repr__(self) -> str:
        return "LocalSigner(sm2, <private key hidden>)"


class LocalMac:
    """HMAC-SM3 (GB/T 15852.2 with SM3) over a key in this process; satisfies :class:`guomi.keys.Mac`."""

    __slots__ = ("_key",)

    MIN_KEY_SIZE = 16
    """Shorter keys give less than 128-bit security against key search."""

    def __init__(self, key: bytes) -> None:
        if len(key) < self.MIN_KEY_SIZE:
            raise InvalidKey(f"LocalMac needs a key of at least {self.MIN_KEY_SIZE} bytes, got {len(key)}")
        self._key = bytes(key)

    @classmethod
    def generate(cls) -> LocalMac:
        """A new instance over a fresh random 32-byte key."""
        return cls(os.urandom(32))

    def compute_mac(self, data: bytes) -> bytes:
        """The 32-byte HMAC-SM3 tag."""
        return hmac_sm3(self._key, data)

    def verify_mac(self, tag: bytes, data: bytes) -> None:
        """Constant-time comparison of ``tag`` with the expected tag."""
        if not _stdlib_hmac.compare_digest(self.compute_mac(data), bytes(tag)):
            raise InvalidSignature("HMAC-SM3 tag did not verify")

    def __repr__(self) -> str:
        return "LocalMac(hmac-sm3, <key hidden>)"
