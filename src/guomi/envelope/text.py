"""Text forms of ``guomi-stream/v1`` recipients and identities (``docs/spec/stream.md`` §7).

Layer: ``guomi.envelope``. What a person copies around:

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
from datetime import UTC, datetime

from guomi.envelope.stream import SM2Identity, SM2Recipient
from guomi.exceptions import GuomiError, StreamError
from guomi.primitives.sm2 import SM2PrivateKey, SM2PublicKey, generate_private_key

__all__ = [
    "SM2_RECIPIENT_PREFIX",
    "SM2_SECRET_PREFIX",
    "format_identity_file",
    "generate_identity",
    "parse_identity_file",
    "parse_sm2_recipient",
    "sm2_recipient_string",
    "sm2_secret_string",
]

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
