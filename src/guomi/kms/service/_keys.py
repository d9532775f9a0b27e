"""Key metadata, per-version key material, and the token constructions of docs/spec/token.md.

Layer: ``guomi.kms.service`` (internal).  Storage layout (all through the barrier):

* ``keymeta/<name>``: one small JSON record (type, latest version, minimum
  versions, deletion flag, rotation period, a random ``uid``).  Its storage
  revision is the compare-and-set handle for every change of the key.
* ``keyver/<name>/<version, 10 digits>``: one record per version holding its
  secret.  An operation reads the metadata plus at most the one version it
  uses, so the cost does not grow with the number of versions (Vault keeps all
  versions in one record, which grows without bound).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import struct
from dataclasses import dataclass, field, replace
from typing import Any

from guomi.api import TokenHeader, format_text, parse_text
from guomi.exceptions import GuomiError, InvalidEncodingError, InvalidTag
from guomi.kms._crypto import (
    NONCE_SIZE,
    TAG_SIZE,
    AeadCipher,
    aes256gcm,
    ct_equal,
    derive,
    hmac_sm3,
    sm4gcm,
)
from guomi.kms.errors import BadRequestError, DecryptionFailedError
from guomi.primitives import serialization, sm2
from guomi.primitives.sm2 import SM2PrivateKey

__all__ = [
    "AEAD_TYPES",
    "KeyMeta",
    "Material",
    "decrypt_token",
    "encrypt_token",
    "hmac_token",
    "meta_path",
    "new_version_record",
    "parse_signature_token",
    "sign_token",
    "version_path",
    "versions_prefix",
]

AEAD_TYPES = frozenset({"sm4-gcm", "aes-256-gcm"})
ENCRYPTION_TYPES = frozenset({"sm4-gcm", "aes-256-gcm", "sm2-encrypt"})

_ENC_LABEL = b"guomi/token/v1/enc"
_COMMIT_LABEL = b"guomi/token/v1/commit"
_AD_PREFIX = b"guomi/token/v1\x00"
_COMMIT_SIZE = 32


def meta_path(name: str) -> str:
    """Storage path of a key's metadata."""
    return f"keymeta/{name}"


def versions_prefix(name: str) -> str:
    """Storage prefix of a key's version records."""
    return f"keyver/{name}/"


def version_path(name: str, version: int) -> str:
    """Storage path of one version (zero-padded so listings sort numerically)."""
    return f"keyver/{name}/{version:010d}"


@dataclass(frozen=True, slots=True)
class KeyMeta:
    """A key's metadata (no secret)."""

    name: str
    type: str
    uid: str
    latest: int
    min_decryption_version: int
    min_encryption_version: int
    deletion_allowed: bool
    auto_rotate_period: int
    created: float
    last_rotated: float
    revision: int = 0

    def to_json(self) -> bytes:
        """Storage form (without the revision, which belongs to the store)."""
        d = {k: getattr(self, k) for k in self.__slots__ if k != "revision"}
        return json.dumps(d).encode()

    @classmethod
    def from_json(cls, blob: bytes, revision: int) -> KeyMeta:
        """From the storage form."""
        d: dict[str, Any] = json.loads(blob)
        return cls(**d, revision=revision)

    def evolve(self, **changes: Any) -> KeyMeta:
        """A copy with ``changes``."""
        return replace(self, **changes)


@dataclass(slots=True)
class Material:
    """One version's key material, ready to use; secrets hidden from repr."""

    version: int
    type: str
    created: float
    secret: bytes = field(repr=False)
    public_pem: str | None = None
    aead: AeadCipher | None = field(default=None, repr=False)
    commit_key: bytes | None = field(default=None, repr=False)
    private: Any = field(default=None, repr=False)
    public: Any = field(default=None, repr=False)
    #: Cached per key name: (binary header, AD prefix, text prefix); no secrets.
    token_parts: dict[str, tuple[bytes, bytes, bytes]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_record(cls, key_type: str, blob: bytes) -> Material:
        """Builds usable objects (ciphers, SM2 keys) from a version record."""
        d = json.loads(blob)
        secret = base64.b64decode(d["secret"])
        m = cls(
            version=int(d["version"]),
            type=key_type,
            created=float(d["created"]),
            secret=secret,
            public_pem=d.get("public_key"),
        )
        if key_type == "sm4-gcm":
            m.aead = sm4gcm(derive(secret, _ENC_LABEL, 16))
            m.commit_key = derive(secret, _COMMIT_LABEL, 32)
        elif key_type == "aes-256-gcm":
            m.aead = aes256gcm(derive(secret, _ENC_LABEL, 32))
            m.commit_key = derive(secret, _COMMIT_LABEL, 32)
        elif key_type in ("sm2-sign", "sm2-encrypt"):
            m.private = SM2PrivateKey.from_private_value(int.from_bytes(secret, "big"))
            m.public = m.private.public_key()
        return m


def new_version_record(key_type: str, version: int, now: float) -> bytes:
    """A fresh version: 32 random bytes, or an SM2 key pair (GB/T 32918.1 §6.1)."""
    public_pem = None
    if key_type in ("sm2-sign", "sm2-encrypt"):
        priv = sm2.generate_private_key()
        secret = int(priv.private_value).to_bytes(32, "big")
        public_pem = (
            priv.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )
    else:
        secret = os.urandom(32)
    return json.dumps(
        {
            "version": version,
            "created": now,
            "secret": base64.b64encode(secret).decode("ascii"),
            "public_key": public_pem,
        }
    ).encode()


def _token_ad(header: bytes, name: str, caller_ad: bytes | None) -> bytes:
    # docs/spec/token.md §5: explicit lengths so (name, caller AD) pairs cannot collide.
    n = name.encode("ascii")
    ad = caller_ad or b""
    return _AD_PREFIX + header + struct.pack(">H", len(n)) + n + struct.pack(">I", len(ad)) + ad


_URLSAFE = bytes.maketrans(b"+/", b"-_")
_pack_u32 = struct.Struct(">I").pack


def encrypt_token(name: str, m: Material, plaintext: bytes, caller_ad: bytes | None) -> str:
    """A ciphertext token (docs/spec/token.md §6-7)."""
    return encrypt_token_ascii(name, m, plaintext, caller_ad).decode("ascii")


def encrypt_token_ascii(
    name: str, m: Material, plaintext: bytes, caller_ad: bytes | None, nonce: bytes | None = None
) -> bytes:
    """:func:`encrypt_token` as ASCII bytes: the batch path joins these into the JSON
    response directly (a token needs no JSON escaping: ``guomi:v1:<n>:`` + base64url).

    ``nonce``: NONCE_SIZE bytes the caller drew from ``os.urandom`` (a batch draws all its
    nonces in one call: each ``os.urandom`` releases and retakes the GIL, and with the
    server's other threads waiting that cost more than the encryption); default: drawn here."""
    fixed = m.token_parts.get(name)
    if fixed is None:
        # Per (version, key name): header, the AD up to the caller's part, the text prefix.
        header = TokenHeader(1, m.type, m.version).encode()
        n = name.encode("ascii")
        fixed = (header, _AD_PREFIX + header + struct.pack(">H", len(n)) + n, b"guomi:v1:%d:" % m.version)
        m.token_parts[name] = fixed
    header, ad_head, text_prefix = fixed
    ad = ad_head + (_pack_u32(len(caller_ad)) + caller_ad if caller_ad else b"\x00\x00\x00\x00")
    if nonce is None:
        nonce = os.urandom(NONCE_SIZE)
    if m.aead is not None and m.commit_key is not None:
        commitment = hmac_sm3(m.commit_key, _COMMIT_LABEL + nonce + ad)
        blob = header + nonce + commitment + m.aead.encrypt(nonce, plaintext, ad)
    elif m.type == "sm2-encrypt":
        dek = os.urandom(16)
        wrapped = m.public.encrypt(dek, layout="der")
        body = sm4gcm(dek).encrypt(nonce, plaintext, ad)
        blob = header + struct.pack(">H", len(wrapped)) + wrapped + nonce + body
    else:
        raise BadRequestError(f"key type {m.type} does not support encryption", code="unsupported_operation")
    # Same text as guomi.api.format_text (unpadded base64url), without the extra copies.
    return text_prefix + binascii.b2a_base64(blob, newline=False).translate(_URLSAFE).rstrip(b"=")


def parse_token(token: str, key_type: str) -> tuple[TokenHeader, bytes]:
    """Parses a token and checks it was made by a key of ``key_type``."""
    try:
        header, blob = parse_text(token)
    except InvalidEncodingError as exc:
        raise DecryptionFailedError(f"ciphertext: {exc}", code="invalid_ciphertext") from None
    if header.algorithm != key_type:
        raise DecryptionFailedError()
    return header, blob


def decrypt_token(name: str, m: Material, header: TokenHeader, blob: bytes, caller_ad: bytes | None) -> bytes:
    """Opens a token parsed by :func:`parse_token` with its version's material."""
    hdr = blob[:6]
    ad = _token_ad(hdr, name, caller_ad)
    body = blob[6:]
    try:
        if m.aead is not None and m.commit_key is not None:
            if len(body) < NONCE_SIZE + _COMMIT_SIZE + TAG_SIZE:
                raise DecryptionFailedError()
            nonce = body[:NONCE_SIZE]
            commitment = body[NONCE_SIZE : NONCE_SIZE + _COMMIT_SIZE]
            if not ct_equal(commitment, hmac_sm3(m.commit_key, _COMMIT_LABEL + nonce + ad)):
                raise DecryptionFailedError()
            return m.aead.decrypt(nonce, body[NONCE_SIZE + _COMMIT_SIZE :], ad)
        if m.type == "sm2-encrypt":
            if len(body) < 2:
                raise DecryptionFailedError()
            (n,) = struct.unpack_from(">H", body)
            if len(body) < 2 + n + NONCE_SIZE + TAG_SIZE:
                raise DecryptionFailedError()
            dek = m.private.decrypt(body[2 : 2 + n], layout="der")
            if len(dek) != 16:
                raise DecryptionFailedError()
            nonce = body[2 + n : 2 + n + NONCE_SIZE]
            return sm4gcm(dek).decrypt(nonce, body[2 + n + NONCE_SIZE :], ad)
    except (InvalidTag, GuomiError, ValueError):
        raise DecryptionFailedError() from None
    raise DecryptionFailedError()


def sign_token(m: Material, message: bytes, user_id: bytes) -> str:
    """``guomi:v1:<v>:<header || DER signature>`` (docs/spec/token.md §8)."""
    header_obj = TokenHeader(1, "sm2-sign", m.version)
    der = m.private.sign(message, user_id=user_id, encoding="der")
    return format_text(header_obj, header_obj.encode() + bytes(der))


def parse_signature_token(token: str, algorithm: str, field_name: str) -> tuple[int, bytes]:
    """(key version, signature or tag bytes) of a ``sign`` / ``hmac`` token."""
    try:
        header, blob = parse_text(token)
    except InvalidEncodingError as exc:
        raise BadRequestError(f"{field_name}: {exc}", code="invalid_signature", field=field_name) from None
    if header.algorithm != algorithm:
        raise BadRequestError(
            f"{field_name}: made by a {header.algorithm} key, not {algorithm}",
            code="invalid_signature",
            field=field_name,
        )
    return header.key_version, blob[6:]


def hmac_token(m: Material, message: bytes) -> str:
    """``guomi:v1:<v>:<header || HMAC-SM3(secret, message)>``."""
    header_obj = TokenHeader(1, "hmac-sm3", m.version)
    return format_text(header_obj, header_obj.encode() + hmac_sm3(m.secret, message))
