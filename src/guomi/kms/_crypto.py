"""The service's view of the primitives: SM4-GCM, AES-256-GCM, HMAC-SM3, SM3, SM2.

Layer: ``guomi.kms`` (internal).  One place that imports
``guomi.primitives`` (and pyca's AESGCM for the migration-only
``aes-256-gcm`` keys), so the engine reads as protocol logic.
"""

from __future__ import annotations

import hmac as _hmac
from typing import Protocol

from cryptography.exceptions import InvalidTag as PycaInvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from guomi.exceptions import InvalidTag
from guomi.primitives.hmac import hmac_sm3
from guomi.primitives.sm3 import digest as sm3_digest
from guomi.primitives.sm4 import SM4GCM
from guomi.primitives.token_batch import (
    Sm4GcmTokenKey,
    sm4gcm_token_open_batch,
    sm4gcm_token_open_batch_json,
)

__all__ = [
    "AeadCipher",
    "Sm4GcmTokenKey",
    "aes256gcm",
    "ct_equal",
    "derive",
    "hmac_sm3",
    "sm3_digest",
    "sm4gcm",
    "sm4gcm_token_open_batch",
    "sm4gcm_token_open_batch_json",
]

NONCE_SIZE = 12
TAG_SIZE = 16


class AeadCipher(Protocol):
    """What the engine needs of an AEAD object (pyca's shape)."""

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...
    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...


def sm4gcm(key: bytes) -> AeadCipher:
    """SM4-GCM (RFC 8998 §3, 16-byte tag)."""
    cipher: AeadCipher = SM4GCM(key)
    return cipher


class _AESGCM:
    """pyca's AESGCM with guomi's exception: a failed tag raises :class:`guomi.exceptions.InvalidTag`."""

    __slots__ = ("_inner",)

    def __init__(self, key: bytes) -> None:
        self._inner = AESGCM(key)

    def __repr__(self) -> str:
        return "AES-256-GCM(<key hidden>)"

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        return self._inner.encrypt(nonce, data, associated_data)

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        try:
            return self._inner.decrypt(nonce, data, associated_data)
        except PycaInvalidTag:
            raise InvalidTag("AES-256-GCM tag did not verify") from None


def aes256gcm(key: bytes) -> AeadCipher:
    """AES-256-GCM (NIST SP 800-38D) from pyca/cryptography, only for migration keys."""
    return _AESGCM(key)


def derive(secret: bytes, label: bytes, length: int) -> bytes:
    """HKDF-Expand with HMAC-SM3, one block (RFC 5869 §2.3; ``secret`` is uniformly random).

    ``length`` <= 32."""
    return hmac_sm3(secret, label + b"\x01")[:length]


def ct_equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison of MACs and commitments."""
    return _hmac.compare_digest(a, b)
