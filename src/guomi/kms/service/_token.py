"""Ciphertext, signature and HMAC tokens of ``docs/spec/token.md``: sealing and opening.

Layer: ``guomi.kms.service`` (internal).  The one module that builds a token's
associated data (§5) and its key-committing AEAD body (§6-7); the key types in
:mod:`._keytypes` call it with their ciphers.  It lives in the service rather
than in ``guomi.envelope`` because it needs the token header of ``guomi.api``,
and the layering contract keeps ``envelope`` and ``api`` independent.

Speed: the part of the associated data that depends only on (algorithm, key
version, key name) -- the 6-byte header, the AD label, the length-prefixed key
name -- and the text prefix ``guomi:v1:<v>:`` are computed once per triple by
:func:`frame` (an LRU cache) and reused for every token; only the caller's
associated data is appended per call.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass
from functools import lru_cache

from guomi.api import HEADER_SIZE, ErrorCode, TokenHeader, parse_text
from guomi.exceptions import InvalidEncodingError
from guomi.kms._crypto import NONCE_SIZE, TAG_SIZE, AeadCipher, ct_equal, hmac_sm3
from guomi.kms.errors import BadRequestError, DecryptionFailedError

__all__ = [
    "COMMIT_LABEL",
    "COMMIT_SIZE",
    "ENC_LABEL",
    "Frame",
    "frame",
    "open_aead",
    "parse",
    "parse_signature",
    "seal_aead",
    "to_text",
]

#: KDF labels (docs/spec/token.md §6): the encryption key and the commitment key of a
#: version are independent HKDF-SM3 outputs of its secret.
ENC_LABEL = b"guomi/token/v1/enc"
COMMIT_LABEL = b"guomi/token/v1/commit"
#: The AD label (§5) keeps token AD apart from every other use of the same key.
_AD_LABEL = b"guomi/token/v1\x00"
COMMIT_SIZE = 32

_URLSAFE = bytes.maketrans(b"+/", b"-_")
_u16 = struct.Struct(">H").pack
_u32 = struct.Struct(">I").pack
_NO_AD = b"\x00\x00\x00\x00"


@dataclass(frozen=True, slots=True)
class Frame:
    """What a token of (algorithm, key version, key name) starts with; no secrets."""

    header: bytes
    ad_head: bytes
    text_prefix: bytes

    def ad(self, caller_ad: bytes | None) -> bytes:
        """The AEAD associated data (§5): label, header, name, caller AD, each length-prefixed
        where it is variable, so (name, caller AD) pairs cannot collide."""
        return self.ad_head + (_u32(len(caller_ad)) + caller_ad if caller_ad else _NO_AD)


@lru_cache(maxsize=8192)
def frame(algorithm: str, version: int, name: str) -> Frame:
    """The (cached) :class:`Frame` for tokens of ``name`` version ``version``."""
    header = TokenHeader(1, algorithm, version).encode()
    n = name.encode("ascii")
    return Frame(header, _AD_LABEL + header + _u16(len(n)) + n, b"guomi:v1:%d:" % version)


def to_text(fr: Frame, blob: bytes) -> bytes:
    """``guomi:v1:<v>:<base64url(blob), unpadded>`` as ASCII bytes (``blob`` holds the header).

    Same text as :func:`guomi.api.format_text`, without its extra copies."""
    return fr.text_prefix + binascii.b2a_base64(blob, newline=False).translate(_URLSAFE).rstrip(b"=")


def seal_aead(
    fr: Frame,
    aead: AeadCipher,
    commit_key: bytes,
    nonce: bytes,
    plaintext: bytes,
    *,
    caller_ad: bytes | None,
) -> bytes:
    """A key-committing AEAD token (§6): header || nonce || commitment || ciphertext."""
    # Frame.ad and to_text inlined: this runs once per item of 1,000-item batches.
    ad = fr.ad_head + (_u32(len(caller_ad)) + caller_ad if caller_ad else _NO_AD)
    commitment = hmac_sm3(commit_key, COMMIT_LABEL + nonce + ad)
    blob = fr.header + nonce + commitment + aead.encrypt(nonce, plaintext, ad)
    return fr.text_prefix + binascii.b2a_base64(blob, newline=False).translate(_URLSAFE).rstrip(b"=")


def open_aead(fr: Frame, aead: AeadCipher, commit_key: bytes, body: bytes, caller_ad: bytes | None) -> bytes:
    """The plaintext of a token body (after the header) sealed by :func:`seal_aead`."""
    if len(body) < NONCE_SIZE + COMMIT_SIZE + TAG_SIZE:
        raise DecryptionFailedError()
    ad = fr.ad(caller_ad)
    nonce = body[:NONCE_SIZE]
    commitment = body[NONCE_SIZE : NONCE_SIZE + COMMIT_SIZE]
    if not ct_equal(commitment, hmac_sm3(commit_key, COMMIT_LABEL + nonce + ad)):
        raise DecryptionFailedError()
    return aead.decrypt(nonce, body[NONCE_SIZE + COMMIT_SIZE :], ad)


def parse(token: str, algorithm: str) -> tuple[TokenHeader, bytes]:
    """(header, body after the header) of a ciphertext token made by an ``algorithm`` key."""
    try:
        header, blob = parse_text(token)
    except InvalidEncodingError as exc:
        raise DecryptionFailedError(f"ciphertext: {exc}", code=ErrorCode.INVALID_CIPHERTEXT) from None
    if header.algorithm != algorithm:
        raise DecryptionFailedError()
    return header, blob[HEADER_SIZE:]


def parse_signature(token: str, algorithm: str, field_name: str) -> tuple[int, bytes]:
    """(key version, signature or tag bytes) of a ``sign`` / ``hmac`` token (§8)."""
    try:
        header, blob = parse_text(token)
    except InvalidEncodingError as exc:
        raise BadRequestError(
            f"{field_name}: {exc}", code=ErrorCode.INVALID_SIGNATURE, field=field_name
        ) from None
    if header.algorithm != algorithm:
        raise BadRequestError(
            f"{field_name}: made by a {header.algorithm} key, not {algorithm}",
            code=ErrorCode.INVALID_SIGNATURE,
            field=field_name,
        )
    return header.key_version, blob[HEADER_SIZE:]
