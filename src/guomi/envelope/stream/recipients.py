"""Recipients and identities of ``guomi-stream/v1`` files, and their text forms.

Layer: ``guomi.envelope``. Recipients (who may open a file) and identities (what a reader
holds) are age's two extension points (``docs/spec/stream.md`` §3): a :class:`Recipient`
wraps the file key into a stanza; an :class:`Identity` looks at all stanzas and answers
"not mine" (``None``) or the file key, or raises
:class:`~guomi.exceptions.StreamFormatError` when a stanza addressed to it does not open, so
"no identity matches" is never said of a damaged file or a wrong key. Three kinds ship:
SM2 public keys (§3.1), a passphrase (§3.2, the file's only recipient) and a key in the
custody service, reached through any object with an ``aead(name)`` method (§3.3).

Text forms (§8), what a person copies around:

- SM2 recipient (public, safe to publish): ``sm2:`` + base64url without padding of the
  33-byte compressed point, e.g. ``sm2:AtJ1...`` (46 characters).
- custody-service recipient / identity: ``kms:NAME``.
- SM2 identity (secret): a line ``GUOMI-SM2-SECRET-KEY-1-`` + 64 upper-case hex digits of
  the private scalar, in an identity file whose ``#`` lines are comments; ``guomi keygen``
  writes ``# public: sm2:...`` above it.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from guomi.envelope.stream._format import (
    DEFAULT_ITERATIONS,
    DEFAULT_MAX_ITERATIONS,
    FILE_KEY_SIZE,
    HEADER_FAILED,
    KMS_ASSOCIATED_DATA,
    LABEL_PASSPHRASE,
    LABEL_SM2_FP,
    MAX_ITERATIONS,
    MIN_ITERATIONS,
    TAG_SIZE,
    TYPE_KMS,
    TYPE_PASSPHRASE,
    TYPE_SM2,
    Stanza,
)
from guomi.exceptions import (
    DecryptionError,
    GuomiError,
    InvalidEncodingError,
    InvalidKey,
    InvalidTag,
    StreamError,
    StreamFormatError,
)
from guomi.primitives.kdf import pbkdf2_hmac_sm3
from guomi.primitives.sm2 import SM2PrivateKey, SM2PublicKey, generate_private_key
from guomi.primitives.sm3 import digest as sm3_digest
from guomi.primitives.sm4 import SM4GCM

if TYPE_CHECKING:
    from guomi.keys import Aead

__all__ = [
    "SM2_RECIPIENT_PREFIX",
    "SM2_SECRET_PREFIX",
    "AeadProvider",
    "Identity",
    "KmsIdentity",
    "KmsRecipient",
    "PassphraseIdentity",
    "PassphraseRecipient",
    "Recipient",
    "SM2Identity",
    "SM2Recipient",
    "format_identity_file",
    "generate_identity",
    "parse_identity_file",
    "parse_kms_body",
    "parse_sm2_recipient",
    "sm2_fingerprint",
    "sm2_recipient_string",
    "sm2_secret_string",
]


@runtime_checkable
class Recipient(Protocol):
    """Someone a file is encrypted for: wraps the file key into a stanza."""

    def wrap(self, file_key: bytes) -> Stanza:
        """The stanza that lets this recipient recover ``file_key``."""
        ...


@runtime_checkable
class Identity(Protocol):
    """What a reader holds: finds and opens its stanza, or says "not mine"."""

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        """The file key, ``None`` if no stanza is addressed to this identity.

        Raise :class:`~guomi.exceptions.StreamFormatError` if a stanza is addressed to this
        identity and does not open.
        """
        ...


def sm2_fingerprint(public_key: SM2PublicKey) -> bytes:
    """``SM3(label || 04 || x || y)[0:8]`` (spec §3.1)."""
    return sm3_digest(LABEL_SM2_FP + public_key.public_bytes_raw())[:8]


class SM2Recipient:
    """An SM2 public key: the file key is SM2-encrypted to it (C1||C3||C2, spec §3.1)."""

    __slots__ = ("public_key",)

    def __init__(self, public_key: SM2PublicKey) -> None:
        self.public_key = public_key

    def wrap(self, file_key: bytes) -> Stanza:
        body = sm2_fingerprint(self.public_key) + self.public_key.encrypt(file_key, layout="c1c3c2")
        return Stanza(TYPE_SM2, body)

    def __str__(self) -> str:
        return sm2_recipient_string(self.public_key)

    def __repr__(self) -> str:
        return f"SM2Recipient({str(self)!r})"


class SM2Identity:
    """An SM2 private key; opens the SM2 stanzas whose fingerprint is its own."""

    __slots__ = ("_fingerprint", "_key")

    def __init__(self, private_key: SM2PrivateKey) -> None:
        self._key = private_key
        self._fingerprint = sm2_fingerprint(private_key.public_key())

    @property
    def private_key(self) -> SM2PrivateKey:
        return self._key

    def recipient(self) -> SM2Recipient:
        """The matching recipient."""
        return SM2Recipient(self._key.public_key())

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.type != TYPE_SM2 or stanza.body[:8] != self._fingerprint:
                continue  # not mine (spec §3.1: the fingerprint tells)
            try:
                file_key = self._key.decrypt(stanza.body[8:], layout="c1c3c2")
            except (DecryptionError, InvalidEncodingError, InvalidKey, ValueError):
                raise StreamFormatError(HEADER_FAILED) from None
            if len(file_key) != FILE_KEY_SIZE:
                raise StreamFormatError(HEADER_FAILED)
            return file_key
        return None

    def __repr__(self) -> str:
        return "SM2Identity(<private key hidden>)"


class PassphraseRecipient:
    """A passphrase: PBKDF2-HMAC-SM3 wraps the file key (spec §3.2). Must be the only recipient."""

    __slots__ = ("_iterations", "_passphrase")

    def __init__(self, passphrase: str, iterations: int = DEFAULT_ITERATIONS) -> None:
        if not passphrase:
            raise StreamError("the passphrase is empty")
        if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
            raise StreamError(f"iterations must be {MIN_ITERATIONS}..{MAX_ITERATIONS}, got {iterations}")
        self._passphrase = passphrase
        self._iterations = iterations

    def wrap(self, file_key: bytes) -> Stanza:
        salt = os.urandom(16)
        wrap_key = pbkdf2_hmac_sm3(self._passphrase.encode("utf-8"), salt, self._iterations, 16)
        wrapped = SM4GCM(wrap_key).encrypt(bytes(12), file_key, LABEL_PASSPHRASE)
        return Stanza(TYPE_PASSPHRASE, struct.pack(">I", self._iterations) + salt + wrapped)

    def __repr__(self) -> str:
        return f"PassphraseRecipient(<hidden>, iterations={self._iterations})"


class PassphraseIdentity:
    """A passphrase, or a callable asked for it only if the file has a passphrase stanza.

    ``max_iterations`` caps the PBKDF2 work a file may demand of this reader (default
    :data:`DEFAULT_MAX_ITERATIONS`, about a second); a file asking for more is refused
    before the passphrase is asked for or any work is done.
    """

    __slots__ = ("_max_iterations", "_passphrase")

    def __init__(
        self, passphrase: str | Callable[[], str], *, max_iterations: int = DEFAULT_MAX_ITERATIONS
    ) -> None:
        if not MIN_ITERATIONS <= max_iterations <= MAX_ITERATIONS:
            raise StreamError(
                f"max_iterations must be {MIN_ITERATIONS}..{MAX_ITERATIONS}, got {max_iterations}"
            )
        self._passphrase = passphrase
        self._max_iterations = max_iterations

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        mine = [s for s in stanzas if s.type == TYPE_PASSPHRASE]
        if not mine:
            return None
        if len(stanzas) != 1:
            raise StreamFormatError(
                "a passphrase stanza must be the file's only stanza (spec §3.2); this file has "
                f"{len(stanzas)} stanzas"
            )
        body = mine[0].body
        if len(body) != 4 + 16 + FILE_KEY_SIZE + TAG_SIZE:
            raise StreamFormatError(f"passphrase stanza has {len(body)} bytes, expected 52")
        (iterations,) = struct.unpack(">I", body[:4])
        if iterations < MIN_ITERATIONS:
            raise StreamFormatError(
                f"passphrase stanza asks for {iterations} PBKDF2 iterations, fewer than the "
                f"minimum {MIN_ITERATIONS}: refused"
            )
        if iterations > self._max_iterations:
            raise StreamFormatError(
                f"passphrase stanza asks for {iterations} PBKDF2 iterations, more than this "
                f"reader's maximum {self._max_iterations}: refused (raise max_iterations, or "
                "--max-iterations, only for files you expect to be that expensive)"
            )
        passphrase = self._passphrase() if callable(self._passphrase) else self._passphrase
        wrap_key = pbkdf2_hmac_sm3(passphrase.encode("utf-8"), body[4:20], iterations, 16)
        try:
            return SM4GCM(wrap_key).decrypt(bytes(12), body[20:], LABEL_PASSPHRASE)
        except InvalidTag:
            raise StreamFormatError(HEADER_FAILED) from None

    def __repr__(self) -> str:
        return f"PassphraseIdentity(<hidden>, max_iterations={self._max_iterations})"


def _kms_name_bytes(name: str) -> bytes:
    raw = name.encode("utf-8")
    if not 1 <= len(raw) <= 255:
        raise StreamError(f"custody-service key name must be 1..255 bytes of UTF-8, got {len(raw)}")
    return raw


class AeadProvider(Protocol):
    """Anything that hands out a named :class:`guomi.keys.Aead`: the SDK's
    ``guomi.client.Client`` does (``client.aead(name)``). Typed structurally so
    this layer never imports the SDK, which sits above it."""

    def aead(self, name: str) -> Aead: ...


class KmsRecipient:
    """A key ``NAME`` in the custody service: the service wraps the file key (spec §3.3)."""

    __slots__ = ("_client", "name")

    def __init__(self, client: AeadProvider, name: str) -> None:
        _kms_name_bytes(name)
        self._client = client
        self.name = name

    def wrap(self, file_key: bytes) -> Stanza:
        token = self._client.aead(self.name).encrypt(file_key, KMS_ASSOCIATED_DATA)
        raw = _kms_name_bytes(self.name)
        body = struct.pack(">B", len(raw)) + raw + struct.pack(">H", len(token)) + token
        return Stanza(TYPE_KMS, body)

    def __repr__(self) -> str:
        return f"KmsRecipient({self.name!r})"


def parse_kms_body(body: bytes) -> tuple[str, bytes]:
    try:
        n = body[0]
        name = body[1 : 1 + n].decode("utf-8")
        (tlen,) = struct.unpack(">H", body[1 + n : 3 + n])
        token = body[3 + n :]
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise StreamFormatError("custody-service stanza is malformed") from exc
    if len(token) != tlen or len(name.encode("utf-8")) != n:
        raise StreamFormatError("custody-service stanza lengths do not add up")
    return name, token


class KmsIdentity:
    """Key ``NAME`` in the custody service, used through ``client`` to unwrap."""

    __slots__ = ("_client", "name")

    def __init__(self, client: AeadProvider, name: str) -> None:
        self._client = client
        self.name = name

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.type != TYPE_KMS:
                continue
            name, token = parse_kms_body(stanza.body)
            if name != self.name:
                continue  # not mine
            try:
                file_key = self._client.aead(self.name).decrypt(token, KMS_ASSOCIATED_DATA)
            except InvalidTag:
                # A damaged header, or a token of another installation.
                raise StreamFormatError(HEADER_FAILED) from None
            if len(file_key) != FILE_KEY_SIZE:
                raise StreamFormatError(HEADER_FAILED)
            return file_key
        return None

    def __repr__(self) -> str:
        return f"KmsIdentity({self.name!r})"


# ------------------------------------------------------------------ text forms (spec §8)

SM2_RECIPIENT_PREFIX = "sm2:"
SM2_SECRET_PREFIX = "GUOMI-SM2-SECRET-KEY-1-"  # noqa: S105 (a prefix, not a password)


def sm2_recipient_string(public_key: SM2PublicKey) -> str:
    """``sm2:`` + base64url (no padding) of the compressed point."""
    raw = public_key.public_bytes_raw(compressed=True)
    return SM2_RECIPIENT_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def parse_sm2_recipient(text: str) -> SM2Recipient:
    """Parse ``sm2:<base64url compressed point>``; a bad string raises StreamError naming why."""
    text = text.strip()
    if not text.startswith(SM2_RECIPIENT_PREFIX):
        raise StreamError(f"not an SM2 recipient (expected {SM2_RECIPIENT_PREFIX}...): {text[:20]!r}")
    body = text[len(SM2_RECIPIENT_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise StreamError("SM2 recipient is not valid base64url") from exc
    if len(raw) != 33 or raw[0] not in (2, 3):
        raise StreamError("SM2 recipient must hold a 33-byte compressed point")
    try:
        return SM2Recipient(SM2PublicKey.from_encoded_point(raw))
    except GuomiError as exc:
        raise StreamError(f"SM2 recipient is not a point on the curve: {exc}") from exc


def sm2_secret_string(private_key: SM2PrivateKey) -> str:
    """The secret line of an identity file."""
    return SM2_SECRET_PREFIX + private_key.private_value.to_bytes(32, "big").hex().upper()


def _parse_secret(line: str, where: str) -> SM2Identity:
    digits = line[len(SM2_SECRET_PREFIX) :]
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        raise StreamError(f"{where}: the secret key is not hex") from None
    if len(raw) != 32:
        raise StreamError(f"{where}: the secret key must be 64 hex digits")
    try:
        return SM2Identity(SM2PrivateKey.from_private_value(raw))
    except GuomiError:
        raise StreamError(f"{where}: the secret key is out of range") from None


def parse_identity_file(text: str, source: str = "identity file") -> list[SM2Identity]:
    """Every ``GUOMI-SM2-SECRET-KEY-1-...`` line of an identity file (``#`` lines ignored)."""
    identities = []
    for number, raw_line in enumerate(text.splitlines(), 1):
        line = raw_line.strip()
        if not line or line.startswith("#") or line.startswith(SM2_RECIPIENT_PREFIX):
            continue  # comments, and the recipient line `guomi keygen > FILE` ends with
        if not line.startswith(SM2_SECRET_PREFIX):
            # Never echo the line: it may be a mangled secret.
            raise StreamError(f"{source} line {number}: not an identity (expected {SM2_SECRET_PREFIX}...)")
        identities.append(_parse_secret(line, f"{source} line {number}"))
    if not identities:
        raise StreamError(f"{source}: no identity in it")
    return identities


def format_identity_file(private_key: SM2PrivateKey, now: datetime | None = None) -> str:
    """The text ``guomi keygen`` writes: two comment lines and the secret line."""
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"# created: {when}\n"
        f"# public: {sm2_recipient_string(private_key.public_key())}\n"
        f"{sm2_secret_string(private_key)}\n"
    )


def generate_identity() -> SM2PrivateKey:
    """A fresh SM2 key for an identity file."""
    return generate_private_key()
