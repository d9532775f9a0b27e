"""Keysets: versioned SM4-GCM keys with one primary, stored only encrypted (``docs/spec/keyset.md``).

Layer: ``guomi.keys``. Tink's idea with the national algorithms: code holds a
:class:`Keyset`, gets an :class:`~guomi.keys.Aead` from :meth:`Keyset.aead`, and key
rotation (:meth:`Keyset.rotate`) is a change of data, not of code, because every
ciphertext starts with the id of the key that made it.

>>> ks = Keyset.generate()
>>> aead = ks.aead()
>>> token = aead.encrypt(b"card 4111", b"row-1")
>>> new_id = ks.rotate()                 # new primary; the old key still decrypts
>>> aead.decrypt(token, b"row-1")
b'card 4111'
>>> stored = ks.to_encrypted_json(passphrase="long passphrase", iterations=100_000)
>>> Keyset.from_encrypted_json(stored, passphrase="long passphrase").primary_id == new_id
True

Cleartext key material is reachable only through :meth:`Keyset.export_cleartext` /
:meth:`Keyset.import_cleartext` with the greppable ``INSECURE_CLEARTEXT_KEYSET_ACCESS``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from guomi.exceptions import InvalidArgumentError, InvalidEncodingError, InvalidKey, InvalidTag
from guomi.keys._protocols import Aead
from guomi.primitives.kdf import pbkdf2_hmac_sm3
from guomi.primitives.sm4 import SM4GCM

__all__ = [
    "INSECURE_CLEARTEXT_KEYSET_ACCESS",
    "KeyInfo",
    "Keyset",
    "KeysetAead",
]

KeyStatus = Literal["enabled", "disabled", "destroyed"]

CIPHERTEXT_VERSION: Final = 0x01
PREFIX_SIZE: Final = 5
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16
KEY_SIZE: Final = 16
KEY_TYPE: Final = "sm4-gcm"
CLEARTEXT_FORMAT: Final = "guomi-keyset/v1"
ENCRYPTED_FORMAT: Final = "guomi-encrypted-keyset/v1"
DEFAULT_ITERATIONS: Final = 600_000
MIN_ITERATIONS: Final = 100_000
MAX_ITERATIONS: Final = 100_000_000


class _InsecureCleartextKeysetAccess:
    """Marker object: passing it says "I mean to handle raw key material here"."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "INSECURE_CLEARTEXT_KEYSET_ACCESS"


INSECURE_CLEARTEXT_KEYSET_ACCESS: Final = _InsecureCleartextKeysetAccess()
"""The access token for cleartext key material. Grep for it in code review."""


def _check_access(access: object) -> None:
    if access is not INSECURE_CLEARTEXT_KEYSET_ACCESS:
        raise InvalidArgumentError(
            "cleartext keyset access needs access=INSECURE_CLEARTEXT_KEYSET_ACCESS "
            "(store keysets with to_encrypted_json instead)"
        )


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown about a key: never its material."""

    id: int
    type: str
    status: KeyStatus
    created: str
    primary: bool


class _Key:
    __slots__ = ("created", "id", "material", "status")

    def __init__(self, key_id: int, status: KeyStatus, created: str, material: bytearray | None) -> None:
        self.id = key_id
        self.status: KeyStatus = status
        self.created = created
        self.material = material

    def __repr__(self) -> str:
        return f"_Key(id={self.id}, status={self.status!r}, <material hidden>)"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Keyset:
    """Versioned SM4-GCM keys, one primary. Build with :meth:`generate` or load encrypted."""

    __slots__ = ("_keys", "_primary")

    def __init__(self) -> None:
        # Internal: use Keyset.generate() / from_encrypted_json().
        self._keys: dict[int, _Key] = {}
        self._primary = 0

    # ------------------------------------------------------------ building

    @classmethod
    def generate(cls) -> Keyset:
        """A keyset holding one fresh primary key."""
        ks = cls()
        ks._primary = ks.add()
        return ks

    def _new_id(self) -> int:
        while True:
            key_id = secrets.randbits(32)
            if key_id != 0 and key_id not in self._keys:
                return key_id

    def add(self) -> int:
        """Add a fresh enabled key (not primary); return its id."""
        key_id = self._new_id()
        self._keys[key_id] = _Key(key_id, "enabled", _now(), bytearray(os.urandom(KEY_SIZE)))
        return key_id

    def rotate(self) -> int:
        """Add a fresh key and make it primary; older keys keep decrypting. Return its id."""
        key_id = self.add()
        self._primary = key_id
        return key_id

    def _get(self, key_id: int) -> _Key:
        try:
            return self._keys[key_id]
        except KeyError:
            raise InvalidArgumentError(f"no key with id {key_id} in this keyset") from None

    def set_primary(self, key_id: int) -> None:
        """Make an enabled key the primary (new encryptions use it)."""
        key = self._get(key_id)
        if key.status != "enabled":
            raise InvalidArgumentError(f"key {key_id} is {key.status}; only an enabled key can be primary")
        self._primary = key_id

    def disable(self, key_id: int) -> None:
        """Stop using a key (its ciphertexts fail to decrypt) without erasing it."""
        key = self._get(key_id)
        if key_id == self._primary:
            raise InvalidArgumentError("the primary key cannot be disabled; make another key primary first")
        if key.status == "destroyed":
            raise InvalidArgumentError(f"key {key_id} is destroyed")
        key.status = "disabled"

    def enable(self, key_id: int) -> None:
        """Re-enable a disabled key."""
        key = self._get(key_id)
        if key.status == "destroyed":
            raise InvalidArgumentError(f"key {key_id} is destroyed and cannot be enabled")
        key.status = "enabled"

    def destroy(self, key_id: int) -> None:
        """Erase a key's material for good (its id stays so its ciphertexts fail clearly)."""
        key = self._get(key_id)
        if key_id == self._primary:
            raise InvalidArgumentError("the primary key cannot be destroyed; make another key primary first")
        if key.material is not None:
            key.material[:] = bytes(len(key.material))
        key.material = None
        key.status = "destroyed"

    # ------------------------------------------------------------ reading

    @property
    def primary_id(self) -> int:
        return self._primary

    def info(self) -> list[KeyInfo]:
        """Ids, statuses and creation times (no key material)."""
        return [
            KeyInfo(k.id, KEY_TYPE, k.status, k.created, k.id == self._primary) for k in self._keys.values()
        ]

    def aead(self) -> KeysetAead:
        """A :class:`~guomi.keys.Aead` over this keyset (follows later rotations)."""
        return KeysetAead(self)

    def __repr__(self) -> str:
        return f"Keyset(primary={self._primary}, keys={len(self._keys)}, <material hidden>)"

    # ------------------------------------------------------------ cleartext (explicit access)

    def _cleartext(self) -> dict[str, Any]:
        keys = []
        for k in self._keys.values():
            entry: dict[str, Any] = {"id": k.id, "type": KEY_TYPE, "status": k.status, "created": k.created}
            if k.material is not None:
                entry["material"] = base64.b64encode(bytes(k.material)).decode("ascii")
            keys.append(entry)
        return {"format": CLEARTEXT_FORMAT, "primary": self._primary, "keys": keys}

    def export_cleartext(self, *, access: object) -> str:
        """The cleartext JSON, key material included. Needs ``access=INSECURE_CLEARTEXT_KEYSET_ACCESS``."""
        _check_access(access)
        return json.dumps(self._cleartext(), sort_keys=True)

    @classmethod
    def import_cleartext(cls, text: str | bytes, *, access: object) -> Keyset:
        """Load cleartext JSON. Needs ``access=INSECURE_CLEARTEXT_KEYSET_ACCESS``."""
        _check_access(access)
        return cls._from_cleartext(text)

    @classmethod
    def _from_cleartext(cls, text: str | bytes) -> Keyset:
        try:
            doc = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidEncodingError("keyset is not JSON") from exc
        if not isinstance(doc, dict) or doc.get("format") != CLEARTEXT_FORMAT:
            raise InvalidEncodingError(f"not a {CLEARTEXT_FORMAT} keyset")
        ks = cls()
        entries = doc.get("keys")
        if not isinstance(entries, list) or not entries:
            raise InvalidEncodingError("keyset has no keys")
        for e in entries:
            if not isinstance(e, dict) or e.get("type") != KEY_TYPE:
                raise InvalidEncodingError("keyset entry is not an sm4-gcm key")
            key_id, status = e.get("id"), e.get("status")
            if not isinstance(key_id, int) or isinstance(key_id, bool) or not 0 < key_id < 2**32:
                raise InvalidEncodingError("key id must be a u32 other than 0")
            if key_id in ks._keys:
                raise InvalidEncodingError(f"key id {key_id} appears twice")
            if status not in ("enabled", "disabled", "destroyed"):
                raise InvalidEncodingError(f"key {key_id} has an unknown status")
            material: bytearray | None = None
            if status != "destroyed":
                try:
                    material = bytearray(base64.b64decode(str(e.get("material", "")), validate=True))
                except (binascii.Error, ValueError) as exc:
                    raise InvalidEncodingError(f"key {key_id} material is not base64") from exc
                if len(material) != KEY_SIZE:
                    raise InvalidKey(f"key {key_id} material must be {KEY_SIZE} bytes")
            ks._keys[key_id] = _Key(key_id, status, str(e.get("created", "")), material)
        primary = doc.get("primary")
        if not isinstance(primary, int) or primary not in ks._keys or ks._keys[primary].status != "enabled":
            raise InvalidEncodingError("keyset primary must name an enabled key")
        ks._primary = primary
        return ks

    # ------------------------------------------------------------ encrypted storage

    def to_encrypted_json(
        self,
        *,
        passphrase: str | None = None,
        aead: Aead | None = None,
        iterations: int = DEFAULT_ITERATIONS,
    ) -> str:
        """The keyset encrypted under a passphrase or an :class:`~guomi.keys.Aead` (spec §3)."""
        if (passphrase is None) == (aead is None):
            raise InvalidArgumentError("give exactly one of passphrase= or aead=")
        cleartext = json.dumps(self._cleartext(), sort_keys=True).encode("utf-8")
        wrap: dict[str, Any]
        if passphrase is not None:
            _check_iterations(iterations)
            salt = os.urandom(16)
            wrap = {
                "kind": "passphrase",
                "kdf": "pbkdf2-hmac-sm3",
                "iterations": iterations,
                "salt": base64.b64encode(salt).decode("ascii"),
            }
            key = pbkdf2_hmac_sm3(passphrase.encode("utf-8"), salt, iterations, KEY_SIZE)
            nonce = os.urandom(NONCE_SIZE)
            blob = nonce + SM4GCM(key).encrypt(nonce, cleartext, _wrap_ad(wrap))
        else:
            assert aead is not None
            wrap = {"kind": "aead"}
            blob = aead.encrypt(cleartext, _wrap_ad(wrap))
        return json.dumps(
            {"format": ENCRYPTED_FORMAT, "wrap": wrap, "ciphertext": base64.b64encode(blob).decode("ascii")},
            sort_keys=True,
        )

    @classmethod
    def from_encrypted_json(
        cls, text: str | bytes, *, passphrase: str | None = None, aead: Aead | None = None
    ) -> Keyset:
        """Decrypt and load a keyset written by :meth:`to_encrypted_json`.

        A wrong passphrase or key, or any edit, raises :class:`~guomi.exceptions.InvalidTag`.
        """
        try:
            doc = json.loads(text)
            wrap = doc["wrap"]
            blob = base64.b64decode(doc["ciphertext"], validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise InvalidEncodingError(f"not a {ENCRYPTED_FORMAT} document") from exc
        if doc.get("format") != ENCRYPTED_FORMAT or not isinstance(wrap, dict):
            raise InvalidEncodingError(f"not a {ENCRYPTED_FORMAT} document")
        kind = wrap.get("kind")
        if kind == "passphrase":
            if passphrase is None:
                raise InvalidArgumentError("this keyset is encrypted under a passphrase: give passphrase=")
            if wrap.get("kdf") != "pbkdf2-hmac-sm3":
                raise InvalidEncodingError("unknown keyset KDF")
            iterations = wrap.get("iterations")
            if not isinstance(iterations, int):
                raise InvalidEncodingError("keyset KDF iterations missing")
            _check_iterations(iterations)
            try:
                salt = base64.b64decode(str(wrap.get("salt")), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise InvalidEncodingError("keyset KDF salt is not base64") from exc
            if len(salt) < 16 or len(blob) < NONCE_SIZE + TAG_SIZE:
                raise InvalidEncodingError("keyset KDF salt or ciphertext too short")
            key = pbkdf2_hmac_sm3(passphrase.encode("utf-8"), salt, iterations, KEY_SIZE)
            cleartext = SM4GCM(key).decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], _wrap_ad(wrap))
        elif kind == "aead":
            if aead is None:
                raise InvalidArgumentError("this keyset is encrypted under an Aead: give aead=")
            cleartext = aead.decrypt(blob, _wrap_ad(wrap))
        else:
            raise InvalidEncodingError("unknown keyset wrapping")
        return cls._from_cleartext(cleartext)


def _check_iterations(iterations: int) -> None:
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise InvalidArgumentError(f"iterations must be {MIN_ITERATIONS}..{MAX_ITERATIONS}, got {iterations}")


def _wrap_ad(wrap: dict[str, Any]) -> bytes:
    return b"guomi-keyset/v1\x00" + json.dumps(wrap, sort_keys=True, separators=(",", ":")).encode("utf-8")


class KeysetAead:
    """SM4-GCM under a keyset's primary key; decrypts with any enabled key by id (spec §2)."""

    __slots__ = ("_cache", "_keyset")

    def __init__(self, keyset: Keyset) -> None:
        self._keyset = keyset
        self._cache: dict[int, tuple[bytes, SM4GCM]] = {}

    def _gcm(self, key: _Key) -> SM4GCM:
        assert key.material is not None
        material = bytes(key.material)
        hit = self._cache.get(key.id)
        if hit is None or hit[0] != material:
            hit = (material, SM4GCM(material))
            self._cache[key.id] = hit
        return hit[1]

    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> bytes:
        """``0x01 || key_id || nonce || ciphertext || tag`` under the primary key."""
        key = self._keyset._keys[self._keyset._primary]
        prefix = struct.pack(">BI", CIPHERTEXT_VERSION, key.id)
        nonce = os.urandom(NONCE_SIZE)
        return prefix + nonce + self._gcm(key).encrypt(nonce, plaintext, prefix + associated_data)

    def decrypt(self, ciphertext: bytes, associated_data: bytes = b"") -> bytes:
        """Find the key by id, verify, decrypt; :class:`InvalidTag` on any failure."""
        if len(ciphertext) < PREFIX_SIZE + NONCE_SIZE + TAG_SIZE:
            raise InvalidTag("keyset ciphertext is too short")
        prefix = bytes(ciphertext[:PREFIX_SIZE])
        version, key_id = struct.unpack(">BI", prefix)
        if version != CIPHERTEXT_VERSION:
            raise InvalidTag(f"unknown keyset ciphertext version {version}")
        key = self._keyset._keys.get(key_id)
        if key is None or key.status != "enabled":
            state = "unknown" if key is None else key.status
            raise InvalidTag(f"the ciphertext's key {key_id} is {state} in this keyset")
        nonce = bytes(ciphertext[PREFIX_SIZE : PREFIX_SIZE + NONCE_SIZE])
        return self._gcm(key).decrypt(
            nonce, bytes(ciphertext[PREFIX_SIZE + NONCE_SIZE :]), prefix + associated_data
        )

    def __repr__(self) -> str:
        return f"KeysetAead(primary={self._keyset.primary_id})"
