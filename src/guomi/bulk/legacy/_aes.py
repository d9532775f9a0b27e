"""AES-era decryptors: Fernet, Spark ``aes_encrypt``, MySQL ``AES_ENCRYPT``, AES-GCM with a
12-byte IV prefix, Vault transit ``vault:vN:`` tokens.

Layer: ``guomi.bulk.legacy``. Each class is given the old key(s) and decrypts exactly the
bytes its system wrote:

- :class:`FernetDecryptor` — Fernet / MultiFernet tokens (pyca ``cryptography.fernet``).
- :class:`SparkAesDecryptor` — Spark SQL ``aes_encrypt(input, key, mode, padding)``: GCM
  (default) ``iv(12) || ciphertext || tag(16)``; CBC ``iv(16) || ciphertext`` with PKCS#7;
  ECB with PKCS#7 (Spark 3.3+ documentation of ``aes_encrypt``).
- :class:`MySQLAesDecryptor` — MySQL ``AES_ENCRYPT(str, key_str)`` in its default
  ``block_encryption_mode = aes-128-ecb``: the key string is folded into 16 bytes by XOR
  (byte i goes to position i mod 16), PKCS#7 padding.
- :class:`AesGcmIv12Decryptor` — the common hand-rolled format ``base64(iv(12) ||
  ciphertext || tag(16))``.
- :class:`VaultTransitDecryptor` — Vault transit ``vault:v<N>:base64(nonce(12) ||
  ciphertext || tag(16))`` for ``aes256-gcm96`` keys, given the exported key of each version
  (``vault read transit/export/encryption-key/<name>``); no derived/convergent keys.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag as PycaInvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from guomi.bulk.legacy._base import Encoding, LegacyDecryptor, LegacyFormatError

__all__ = [
    "AesGcmIv12Decryptor",
    "FernetDecryptor",
    "MySQLAesDecryptor",
    "SparkAesDecryptor",
    "VaultTransitDecryptor",
    "mysql_fold_key",
]


def _aes_key(key: bytes) -> bytes:
    if len(key) not in (16, 24, 32):
        raise LegacyFormatError("an AES key is 16, 24 or 32 bytes")
    return bytes(key)


def _unpad(data: bytes) -> bytes:
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(data) + unpadder.finalize()
    except ValueError:
        raise LegacyFormatError("bad padding") from None


def _gcm(key: bytes, iv: bytes, body: bytes, aad: bytes | None) -> bytes:
    try:
        return AESGCM(key).decrypt(iv, body, aad)
    except PycaInvalidTag:
        raise LegacyFormatError("GCM tag does not verify") from None


class FernetDecryptor(LegacyDecryptor):
    """Fernet tokens (any of ``keys``, as MultiFernet: the first one that opens it)."""

    name = "fernet"

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        super().__init__("raw")
        if not keys:
            raise LegacyFormatError("give at least one Fernet key")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, binascii.Error):
            raise LegacyFormatError("a Fernet key is 32 url-safe base64-encoded bytes") from None

    def decrypt(self, value: str | bytes) -> bytes:
        token = value.encode("ascii", "replace") if isinstance(value, str) else bytes(value)
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise LegacyFormatError("Fernet token does not verify") from None


class SparkAesDecryptor(LegacyDecryptor):
    """Spark ``aes_encrypt`` output (``mode`` GCM, CBC or ECB; ``aad`` for GCM only)."""

    name = "spark aes_encrypt"

    def __init__(
        self, key: bytes, mode: str = "GCM", aad: bytes | None = None, encoding: Encoding | None = None
    ) -> None:
        super().__init__(encoding)
        self._key = _aes_key(key)
        self.mode = mode.upper()
        if self.mode not in ("GCM", "CBC", "ECB"):
            raise LegacyFormatError("Spark aes_encrypt modes are GCM, CBC and ECB")
        if aad is not None and self.mode != "GCM":
            raise LegacyFormatError("associated data exists in GCM mode only")
        self._aad = aad

    def decrypt_bytes(self, raw: bytes) -> bytes:
        if self.mode == "GCM":
            if len(raw) < 28:
                raise LegacyFormatError("too short for iv(12) || ciphertext || tag(16)")
            return _gcm(self._key, raw[:12], raw[12:], self._aad)
        if self.mode == "CBC":
            if len(raw) < 32 or len(raw) % 16:
                raise LegacyFormatError("not iv(16) || whole AES blocks")
            dec = Cipher(algorithms.AES(self._key), modes.CBC(raw[:16])).decryptor()
            return _unpad(dec.update(raw[16:]) + dec.finalize())
        if not raw or len(raw) % 16:
            raise LegacyFormatError("not whole AES blocks")
        dec = Cipher(algorithms.AES(self._key), modes.ECB()).decryptor()  # noqa: S305 (legacy data, read only)
        return _unpad(dec.update(raw) + dec.finalize())


def mysql_fold_key(key: bytes) -> bytes:
    """MySQL's AES key: the key string XOR-folded into 16 bytes (``my_aes_create_key``)."""
    folded = bytearray(16)
    for i, b in enumerate(key):
        folded[i % 16] ^= b
    return bytes(folded)


class MySQLAesDecryptor(LegacyDecryptor):
    """MySQL ``AES_ENCRYPT(str, key_str)`` (aes-128-ecb): give the key string as MySQL got it."""

    name = "mysql AES_ENCRYPT"

    def __init__(self, key: bytes | str, encoding: Encoding | None = None) -> None:
        super().__init__(encoding)
        self._key = mysql_fold_key(key.encode() if isinstance(key, str) else bytes(key))

    def decrypt_bytes(self, raw: bytes) -> bytes:
        if not raw or len(raw) % 16:
            raise LegacyFormatError("not whole AES blocks")
        dec = Cipher(algorithms.AES(self._key), modes.ECB()).decryptor()  # noqa: S305 (legacy data, read only)
        return _unpad(dec.update(raw) + dec.finalize())


class AesGcmIv12Decryptor(LegacyDecryptor):
    """``iv(12) || ciphertext || tag(16)``, base64 in text columns, raw in binary ones."""

    name = "aes-gcm (iv12 prefix)"

    def __init__(self, key: bytes, aad: bytes | None = None, encoding: Encoding | None = None) -> None:
        super().__init__(encoding)
        self._key = _aes_key(key)
        self._aad = aad

    def decrypt_bytes(self, raw: bytes) -> bytes:
        if len(raw) < 28:
            raise LegacyFormatError("too short for iv(12) || ciphertext || tag(16)")
        return _gcm(self._key, raw[:12], raw[12:], self._aad)


class VaultTransitDecryptor(LegacyDecryptor):
    """``vault:v<N>:...`` tokens of an ``aes256-gcm96`` transit key, given each version's key."""

    name = "vault transit"

    def __init__(self, keys: Mapping[int, bytes | str]) -> None:
        super().__init__("raw")
        self._keys: dict[int, bytes] = {}
        for version, key in keys.items():
            material = base64.b64decode(key) if isinstance(key, str) else bytes(key)
            if len(material) != 32:
                raise LegacyFormatError("an aes256-gcm96 key is 32 bytes (base64 in Vault's export)")
            self._keys[int(version)] = material

    def decrypt(self, value: str | bytes) -> bytes:
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        parts = text.split(":")
        if (
            len(parts) != 3
            or parts[0] != "vault"
            or not parts[1].startswith("v")
            or not parts[1][1:].isdigit()
        ):
            raise LegacyFormatError("not a vault:v<N>: token")
        version = int(parts[1][1:])
        key = self._keys.get(version)
        if key is None:
            raise LegacyFormatError(f"no key for Vault key version {version}")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError):
            raise LegacyFormatError("token body is not base64") from None
        if len(raw) < 28:
            raise LegacyFormatError("token too short")
        return _gcm(key, raw[:12], raw[12:], None)
