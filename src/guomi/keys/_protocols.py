"""The key-use protocols every guomi key satisfies, wherever the key lives.

Layer: ``guomi.keys`` (imports only ``guomi.primitives`` and ``guomi.exceptions``).

A local key (:mod:`guomi.keys._local`), a keyset (:mod:`guomi.keys.keyset`), a key held by the
custody service (``guomi.client``) and, later, an HSM key all satisfy these protocols, so
code that encrypts a database field or a file never needs to know where its key lives.
They are :class:`typing.Protocol` classes decorated ``runtime_checkable`` so
``isinstance(obj, Aead)`` works (it checks method names only, not signatures).

The shapes follow Google Tink: ``encrypt(plaintext, associated_data)`` takes no nonce (the
implementation chooses it, so a caller cannot reuse one), and the ciphertext is
self-contained (everything decryption needs other than the key travels inside it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from guomi.primitives.sm2 import SM2PublicKey

__all__ = ["Aead", "Mac", "Signer", "Verifier"]


@runtime_checkable
class Aead(Protocol):
    """Authenticated encryption with associated data.

    ``associated_data`` is authenticated but not encrypted; decryption must be given the
    same bytes. :meth:`decrypt` raises :class:`guomi.exceptions.InvalidTag` for any
    ciphertext that is not exactly what :meth:`encrypt` produced under this key and these
    associated data (tampered, truncated, wrong key, wrong associated data), and says no more.
    """

    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> bytes:
        """Encrypt and authenticate ``plaintext``; bind ``associated_data``."""
        ...

    def decrypt(self, ciphertext: bytes, associated_data: bytes = b"") -> bytes:
        """Verify and decrypt; raise :class:`~guomi.exceptions.InvalidTag` on any mismatch."""
        ...


@runtime_checkable
class Verifier(Protocol):
    """Verifies signatures made by the matching :class:`Signer`."""

    def verify(self, signature: bytes, data: bytes) -> None:
        """Return ``None`` if ``signature`` is valid over ``data``.

        Raise :class:`~guomi.exceptions.InvalidSignature` otherwise.
        """
        ...


@runtime_checkable
class Signer(Protocol):
    """Produces digital signatures (SM2 with a user ID, DER-encoded, for guomi's keys)."""

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` (the message itself; hashing with Z_A happens inside)."""
        ...

    def public_key(self) -> SM2PublicKey:
        """The public key that verifies this signer's signatures."""
        ...


@runtime_checkable
class Mac(Protocol):
    """A message authentication code (HMAC-SM3 for guomi's keys)."""

    def compute_mac(self, data: bytes) -> bytes:
        """The tag over ``data``."""
        ...

    def verify_mac(self, tag: bytes, data: bytes) -> None:
        """Return ``None`` if ``tag`` is valid; raise :class:`~guomi.exceptions.InvalidSignature`."""
        ...
