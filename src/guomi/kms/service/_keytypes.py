"""The key-type registry: one small class per key type, its capabilities and operations.

Layer: ``guomi.kms.service`` (internal).  A key type says which operations its
keys support (:attr:`KeyType.operations`), how a version is generated and
stored, and how a stored version becomes usable :class:`Material`.  The
engine looks a key's type up here (:func:`key_type`) and asks "can it
encrypt?"; it never compares type strings.  Adding a type is one class plus
one entry in :data:`KEY_TYPES` (and its algorithm identifier in
``guomi.api`` ``ALGORITHM_IDS``).

Version records (JSON, sealed by the barrier): ``version``, ``created``,
``secret`` (base64: 32 random bytes, or the SM2 private scalar) and
``public_key`` (PEM, SM2 types only).
"""

from __future__ import annotations

import base64
import json
import os
import struct
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from guomi.api import ErrorCode, TokenHeader
from guomi.exceptions import GuomiError, InvalidSignature, InvalidTag
from guomi.kms._crypto import (
    NONCE_SIZE,
    TAG_SIZE,
    AeadCipher,
    Sm4GcmTokenKey,
    aes256gcm,
    ct_equal,
    derive,
    hmac_sm3,
    sm4gcm,
)
from guomi.kms.errors import BadRequestError, DecryptionFailedError
from guomi.kms.service import _token
from guomi.primitives import serialization, sm2
from guomi.primitives.sm2 import SM2PrivateKey, SM2PublicKey

__all__ = [
    "KEY_TYPES",
    "AeadKeyType",
    "KeyType",
    "Material",
    "Operation",
    "key_type",
]

#: What a key can be used for (the transit operations; ``rewrap`` and ``datakey``
#: are encryption operations).
Operation = Literal["encrypt", "decrypt", "sign", "verify", "hmac"]


@dataclass(slots=True)
class Material:
    """One version of a key, ready to use; secrets hidden from repr.

    The operations a type does not support raise ``unsupported_operation``
    (the engine checks :meth:`KeyType.supports` first, so they are not reached)."""

    version: int
    created: float
    secret: bytes = field(repr=False)
    public_pem: str | None = None

    def encrypt(self, name: str, plaintext: bytes, caller_ad: bytes | None, nonce: bytes) -> bytes:
        """A ciphertext token (ASCII bytes) for key ``name``; ``nonce`` from the OS CSPRNG."""
        raise _unsupported("encryption")

    def decrypt(self, name: str, header: TokenHeader, body: bytes, caller_ad: bytes | None) -> bytes:
        """Opens a token body (after its header) parsed by :func:`._token.parse`."""
        raise _unsupported("decryption")

    def batch_opener(self, name: str) -> Sm4GcmTokenKey | None:
        """What opens this version's tokens of key ``name`` in bulk (Rust, one call per
        batch), or ``None`` if this type has no batch path (its items take :meth:`decrypt`)."""
        return None

    def sign(self, message: bytes, user_id: bytes) -> str:
        """A signature token (docs/spec/token.md §8)."""
        raise _unsupported("signing")

    def mac(self, message: bytes) -> str:
        """An HMAC token (docs/spec/token.md §8)."""
        raise _unsupported("hmac")

    def verify(self, tag: bytes, message: bytes, user_id: bytes) -> bool:
        """Whether ``tag`` (a DER signature or an HMAC) matches ``message``."""
        raise _unsupported("verification")

    def sign_digest(self, digest: bytes) -> str:
        """A signature token over a precomputed e = SM3(Z_A || M) (``prehashed``)."""
        raise _unsupported("prehashed signing")

    def verify_digest(self, tag: bytes, digest: bytes) -> bool:
        """Whether the DER signature ``tag`` matches a precomputed e = SM3(Z_A || M)."""
        raise _unsupported("prehashed verification")


def _unsupported(what: str) -> BadRequestError:
    return BadRequestError(f"this key type does not support {what}", code=ErrorCode.UNSUPPORTED_OPERATION)


class KeyType:
    """A key type: its wire name, the operations it supports, its version records."""

    name: ClassVar[str]
    operations: ClassVar[frozenset[Operation]]
    #: The request field holding what ``verify`` checks (``signature`` or ``hmac``).
    verify_field: ClassVar[str | None] = None
    #: Whether ``decrypt`` batches of this type open in bulk (:meth:`Material.batch_opener`).
    batch_decrypt: ClassVar[bool] = False

    def supports(self, operation: Operation) -> bool:
        """Whether keys of this type can do ``operation``."""
        return operation in self.operations

    def new_secret(self) -> tuple[bytes, str | None]:
        """(secret, public key PEM or None) of a fresh version."""
        return os.urandom(32), None

    def new_version_record(self, version: int, now: float) -> bytes:
        """The storage form of a fresh version."""
        secret, public_pem = self.new_secret()
        return json.dumps(
            {
                "version": version,
                "created": now,
                "secret": base64.b64encode(secret).decode("ascii"),
                "public_key": public_pem,
            }
        ).encode()

    def load(self, record: bytes) -> Material:
        """Usable material from a version record."""
        d = json.loads(record)
        return self.material(
            int(d["version"]), float(d["created"]), base64.b64decode(d["secret"]), d.get("public_key")
        )

    def material(self, version: int, created: float, secret: bytes, public_pem: str | None) -> Material:
        """The material object of this type."""
        raise NotImplementedError


# ---------------------------------------------------------------- AEAD (sm4-gcm, aes-256-gcm)


@dataclass(slots=True)
class _AeadMaterial(Material):
    algorithm: str = ""
    aead: AeadCipher | None = field(default=None, repr=False)
    commit_key: bytes = field(default=b"", repr=False)
    #: This version's token frames by key name (the hot path skips the shared LRU).
    frames: dict[str, _token.Frame] = field(default_factory=dict, repr=False)
    #: Batch openers by key name (sm4-gcm only); they hold the derived keys in Rust.
    openers: dict[str, Sm4GcmTokenKey] = field(default_factory=dict, repr=False)

    def encrypt(self, name: str, plaintext: bytes, caller_ad: bytes | None, nonce: bytes) -> bytes:
        assert self.aead is not None
        fr = self.frames.get(name)
        if fr is None:
            fr = self.frames[name] = _token.frame(self.algorithm, self.version, name)
        return _token.seal_aead(fr, self.aead, self.commit_key, nonce, plaintext, caller_ad=caller_ad)

    def decrypt(self, name: str, header: TokenHeader, body: bytes, caller_ad: bytes | None) -> bytes:
        assert self.aead is not None
        fr = _token.frame(self.algorithm, self.version, name)
        try:
            return _token.open_aead(fr, self.aead, self.commit_key, body, caller_ad)
        except (InvalidTag, GuomiError, ValueError):
            raise DecryptionFailedError() from None

    def batch_opener(self, name: str) -> Sm4GcmTokenKey | None:
        if self.algorithm != Sm4GcmKey.name:
            return None
        opener = self.openers.get(name)
        if opener is None:
            fr = _token.frame(self.algorithm, self.version, name)
            enc_key = derive(self.secret, _token.ENC_LABEL, Sm4GcmKey.key_size)
            opener = self.openers[name] = Sm4GcmTokenKey(enc_key, self.commit_key, fr.ad_head)
        return opener


class AeadKeyType(KeyType):
    """A symmetric AEAD key; tokens are key-committing (docs/spec/token.md §6)."""

    operations: ClassVar[frozenset[Operation]] = frozenset({"encrypt", "decrypt"})
    key_size: ClassVar[int]

    @staticmethod
    def cipher(key: bytes) -> AeadCipher:
        raise NotImplementedError

    def material(self, version: int, created: float, secret: bytes, public_pem: str | None) -> Material:
        return _AeadMaterial(
            version,
            created,
            secret,
            public_pem,
            algorithm=self.name,
            aead=self.cipher(derive(secret, _token.ENC_LABEL, self.key_size)),
            commit_key=derive(secret, _token.COMMIT_LABEL, 32),
        )


class Sm4GcmKey(AeadKeyType):
    """``sm4-gcm``: SM4-GCM (RFC 8998), the default key type."""

    name = "sm4-gcm"
    key_size = 16
    batch_decrypt = True
    cipher = staticmethod(sm4gcm)


class Aes256GcmKey(AeadKeyType):
    """``aes-256-gcm``: only for migrating data encrypted with AES elsewhere."""

    name = "aes-256-gcm"
    key_size = 32
    cipher = staticmethod(aes256gcm)


# ---------------------------------------------------------------- SM2


class _Sm2KeyType(KeyType):
    def new_secret(self) -> tuple[bytes, str | None]:
        # GB/T 32918.1 §6.1 key pair generation.
        priv = sm2.generate_private_key()
        pem = (
            priv.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )
        return int(priv.private_value).to_bytes(32, "big"), pem


@dataclass(slots=True)
class _Sm2Material(Material):
    private: SM2PrivateKey | None = field(default=None, repr=False)
    public: SM2PublicKey | None = field(default=None, repr=False)


@dataclass(slots=True)
class _Sm2EncryptMaterial(_Sm2Material):
    # Hybrid (docs/spec/token.md §7): a fresh SM4 key wrapped with SM2 (GB/T 32918.4) in DER,
    # the data under SM4-GCM with the token AD.
    def encrypt(self, name: str, plaintext: bytes, caller_ad: bytes | None, nonce: bytes) -> bytes:
        assert self.public is not None
        fr = _token.frame("sm2-encrypt", self.version, name)
        dek = os.urandom(16)
        wrapped = self.public.encrypt(dek, layout="der")
        body = sm4gcm(dek).encrypt(nonce, plaintext, fr.ad(caller_ad))
        return _token.to_text(fr, fr.header + struct.pack(">H", len(wrapped)) + wrapped + nonce + body)

    def decrypt(self, name: str, header: TokenHeader, body: bytes, caller_ad: bytes | None) -> bytes:
        assert self.private is not None
        fr = _token.frame("sm2-encrypt", self.version, name)
        try:
            if len(body) < 2:
                raise DecryptionFailedError()
            (n,) = struct.unpack_from(">H", body)
            if len(body) < 2 + n + NONCE_SIZE + TAG_SIZE:
                raise DecryptionFailedError()
            dek = self.private.decrypt(body[2 : 2 + n], layout="der")
            if len(dek) != 16:
                raise DecryptionFailedError()
            nonce = body[2 + n : 2 + n + NONCE_SIZE]
            return sm4gcm(dek).decrypt(nonce, body[2 + n + NONCE_SIZE :], fr.ad(caller_ad))
        except (InvalidTag, GuomiError, ValueError):
            raise DecryptionFailedError() from None


@dataclass(slots=True)
class _Sm2SignMaterial(_Sm2Material):
    def sign(self, message: bytes, user_id: bytes) -> str:
        assert self.private is not None
        fr = _token.frame("sm2-sign", self.version, "")
        der = self.private.sign(message, user_id=user_id, encoding="der")
        return _token.to_text(fr, fr.header + bytes(der)).decode("ascii")

    def verify(self, tag: bytes, message: bytes, user_id: bytes) -> bool:
        assert self.public is not None
        try:
            self.public.verify(tag, message, user_id=user_id, encoding="der")
        except (InvalidSignature, GuomiError, ValueError):
            return False
        return True

    def sign_digest(self, digest: bytes) -> str:
        assert self.private is not None
        fr = _token.frame("sm2-sign", self.version, "")
        der = self.private.sign_digest(digest, encoding="der")
        return _token.to_text(fr, fr.header + bytes(der)).decode("ascii")

    def verify_digest(self, tag: bytes, digest: bytes) -> bool:
        assert self.public is not None
        try:
            self.public.verify_digest(tag, digest, encoding="der")
        except (InvalidSignature, GuomiError, ValueError):
            return False
        return True


class _Sm2Type(_Sm2KeyType):
    material_class: ClassVar[type[_Sm2Material]]

    def material(self, version: int, created: float, secret: bytes, public_pem: str | None) -> Material:
        private = SM2PrivateKey.from_private_value(int.from_bytes(secret, "big"))
        return self.material_class(
            version, created, secret, public_pem, private=private, public=private.public_key()
        )


class Sm2SignKey(_Sm2Type):
    """``sm2-sign``: SM2 signatures (GB/T 32918.2) with a user ID."""

    name = "sm2-sign"
    operations: ClassVar[frozenset[Operation]] = frozenset({"sign", "verify"})
    verify_field = "signature"
    material_class = _Sm2SignMaterial


class Sm2EncryptKey(_Sm2Type):
    """``sm2-encrypt``: SM2 public-key encryption (hybrid with SM4-GCM)."""

    name = "sm2-encrypt"
    operations: ClassVar[frozenset[Operation]] = frozenset({"encrypt", "decrypt"})
    material_class = _Sm2EncryptMaterial


# ---------------------------------------------------------------- HMAC-SM3


@dataclass(slots=True)
class _HmacMaterial(Material):
    def mac(self, message: bytes) -> str:
        fr = _token.frame("hmac-sm3", self.version, "")
        return _token.to_text(fr, fr.header + hmac_sm3(self.secret, message)).decode("ascii")

    def verify(self, tag: bytes, message: bytes, user_id: bytes) -> bool:
        return ct_equal(tag, hmac_sm3(self.secret, message))


class HmacSm3Key(KeyType):
    """``hmac-sm3``: HMAC-SM3 (GB/T 15852.2, RFC 2104)."""

    name = "hmac-sm3"
    operations: ClassVar[frozenset[Operation]] = frozenset({"hmac", "verify"})
    verify_field = "hmac"

    def material(self, version: int, created: float, secret: bytes, public_pem: str | None) -> Material:
        return _HmacMaterial(version, created, secret, public_pem)


#: Every key type by its wire name.
KEY_TYPES: dict[str, KeyType] = {
    kt.name: kt for kt in (Sm4GcmKey(), Aes256GcmKey(), Sm2SignKey(), Sm2EncryptKey(), HmacSm3Key())
}


def key_type(name: str) -> KeyType:
    """The registered type ``name`` (stored metadata names only registered types)."""
    return KEY_TYPES[name]
