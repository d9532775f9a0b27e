"""Tokens and policies: who may do what to which key.

Layer: ``guomi.kms``.  Pure logic over records the engine reads and writes
through the barrier.

* A token is ``gmt.`` + 43 base64url characters (32 bytes from the OS CSPRNG).
  The service stores only HMAC-SM3(token_key, token) as the record's path
  (``auth/token/<hex>``), so neither the storage nor a backup reveals a usable
  token; lookups are by that MAC (a keyed hash, so a leaked database cannot
  even be used to test guesses offline without the keyring).
* An **accessor** (random, not a credential) names a token for revocation and
  appears in audit records.
* Policies grant capabilities on key names matching a glob (``*`` any run of
  characters, ``?`` one); the ``root`` policy grants everything, including the
  administrative paths (``sys/seal``, policies, tokens for any policy).
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from guomi.api import CAPABILITIES, is_valid_key_name
from guomi.kms._crypto import hmac_sm3
from guomi.kms.errors import BadRequestError

__all__ = [
    "ROOT_POLICY",
    "Policy",
    "TokenEntry",
    "glob_match_steps",
    "hash_token",
    "iso",
    "new_accessor",
    "new_token",
    "parse_duration",
    "pattern_matches",
    "validate_pattern",
]

ROOT_POLICY = "root"
TOKEN_PREFIX = "gmt."  # noqa: S105 - a prefix, not a credential
_TOKEN_RE = re.compile(r"^gmt\.[A-Za-z0-9_-]{43}$")
_PATTERN_RE = re.compile(r"^[A-Za-z0-9._*?-]{1,128}$")
_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def iso(ts: float) -> str:
    """RFC 3339 UTC time with microseconds."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_token() -> str:
    """A fresh bearer token (256 bits from the OS CSPRNG)."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode("ascii")


def new_accessor() -> str:
    """A fresh accessor (128 bits; identifies, never authenticates)."""
    return os.urandom(16).hex()


def looks_like_token(token: str) -> bool:
    """Syntax check before any lookup."""
    return _TOKEN_RE.fullmatch(token) is not None


def hash_token(token_key: bytes, token: str) -> str:
    """HMAC-SM3 of the token under the keyring's token key, hex: the storage name of a token."""
    return hmac_sm3(token_key, b"guomi/token-id/v1\x00" + token.encode("ascii")).hex()


def parse_duration(value: int | str | None, *, field_name: str) -> int:
    """Seconds from ``3600``, ``"3600"``, ``"90s"``, ``"30m"``, ``"1h"``, ``"7d"``, ``"1h30m"``."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise BadRequestError(f"{field_name}: must be a duration", field=field_name)
    if isinstance(value, int):
        seconds = value
    else:
        text = value.strip()
        if text.isdigit():
            seconds = int(text)
        else:
            m = _DURATION_RE.fullmatch(text)
            if not text or m is None:
                raise BadRequestError(
                    f'{field_name}: not a duration (use seconds or e.g. "90s", "30m", "1h", "7d")',
                    field=field_name,
                )
            d, h, mi, s = (int(g) if g else 0 for g in m.groups())
            seconds = ((d * 24 + h) * 60 + mi) * 60 + s
    if seconds < 0 or seconds > 100 * 365 * 86400:
        raise BadRequestError(f"{field_name}: out of range", field=field_name)
    return seconds


def validate_pattern(pattern: str) -> None:
    """Patterns use the key-name alphabet plus ``*`` and ``?``."""
    if _PATTERN_RE.fullmatch(pattern) is None:
        raise BadRequestError(
            "rules.pattern: use letters, digits, '.', '_', '-', '*' and '?' (at most 128)",
            field="rules.pattern",
        )


def glob_match_steps(pattern: str, name: str) -> tuple[bool, int]:
    """Whole-name glob match (``*`` any run, ``?`` one character) and the work it took.

    The classic two-pointer wildcard matcher: on a mismatch it resumes just
    after the most recent ``*``, letting that star absorb one more character.
    Only the latest star ever needs revisiting (an earlier star can absorb
    whatever a later one would), so each (star, name position) pair is tried
    at most once: at most ``(len(pattern) + 1) * (len(name) + 1)`` steps, with
    no backtracking regex over caller-chosen key names (issue 10, finding 5).
    The step count is returned so tests can prove the bound without timing."""
    p = n = 0
    star = -1  # index in pattern of the latest '*'
    resume = 0  # name position that star currently absorbs up to
    steps = 0
    plen, nlen = len(pattern), len(name)
    while n < nlen:
        steps += 1
        if p < plen and (pattern[p] == "?" or pattern[p] == name[n]) and pattern[p] != "*":
            p += 1
            n += 1
        elif p < plen and pattern[p] == "*":
            star, resume = p, n
            p += 1
        elif star >= 0:
            resume += 1
            p, n = star + 1, resume
        else:
            return False, steps
    while p < plen and pattern[p] == "*":
        steps += 1
        p += 1
    return p == plen, steps


def pattern_matches(pattern: str, name: str) -> bool:
    """Whether a policy pattern covers the key name (whole-name match, linear-time; see
    :func:`glob_match_steps`)."""
    return glob_match_steps(pattern, name)[0]


@dataclass(frozen=True, slots=True)
class Policy:
    """A named list of (pattern, capabilities) rules."""

    name: str
    rules: tuple[tuple[str, frozenset[str]], ...]

    def capabilities_for(self, key_name: str) -> frozenset[str]:
        """Union of the capabilities of every rule whose pattern matches ``key_name``."""
        out: set[str] = set()
        for pattern, caps in self.rules:
            if pattern_matches(pattern, key_name):
                out |= caps
        return frozenset(out)

    def to_json(self) -> bytes:
        """Storage form."""
        return json.dumps(
            {"name": self.name, "rules": [{"pattern": p, "capabilities": sorted(c)} for p, c in self.rules]}
        ).encode()

    @classmethod
    def from_json(cls, blob: bytes) -> Policy:
        """From the storage form."""
        d = json.loads(blob)
        return cls(
            name=str(d["name"]),
            rules=tuple((str(r["pattern"]), frozenset(r["capabilities"])) for r in d["rules"]),
        )

    @classmethod
    def build(cls, name: str, rules: list[tuple[str, list[str]]]) -> Policy:
        """Validates and builds a policy from request data."""
        if not is_valid_key_name(name) or name == ROOT_POLICY:
            raise BadRequestError("name: invalid policy name (or the reserved name 'root')", field="name")
        out = []
        for pattern, caps in rules:
            validate_pattern(pattern)
            unknown = set(caps) - set(CAPABILITIES)
            if unknown:
                raise BadRequestError("rules.capabilities: unknown capability", field="rules.capabilities")
            out.append((pattern, frozenset(caps)))
        return cls(name, tuple(out))


@dataclass(slots=True)
class TokenEntry:
    """What is stored about a token (under ``auth/token/<hmac>``); never the token."""

    token_id: str = field(repr=False)
    accessor: str
    policies: tuple[str, ...]
    created: float
    expires: float | None
    display_name: str | None = None
    revision: int = 0
    #: Accessor of the token that created this one (``None``: an orphan, e.g. the root
    #: token, a token root created as an orphan, or one stored before tokens had parents).
    parent: str | None = None
    #: Lifetime asked for at creation (seconds; 0 = no expiry), for renewal.
    ttl: int = 0
    #: TLS client certificate subject the token is bound to (``None``: not bound).
    bound_cert_subject: str | None = None

    @property
    def is_root(self) -> bool:
        """Holds the ``root`` policy."""
        return ROOT_POLICY in self.policies

    def expired(self, now: float | None = None) -> bool:
        """Past its TTL."""
        return self.expires is not None and (now if now is not None else time.time()) >= self.expires

    def to_json(self) -> bytes:
        """Storage form."""
        return json.dumps(
            {
                "accessor": self.accessor,
                "policies": list(self.policies),
                "created": self.created,
                "expires": self.expires,
                "display_name": self.display_name,
                "parent": self.parent,
                "ttl": self.ttl,
                **({"bound_cert_subject": self.bound_cert_subject} if self.bound_cert_subject else {}),
            }
        ).encode()

    @classmethod
    def from_json(cls, token_id: str, blob: bytes, revision: int) -> TokenEntry:
        """From the storage form."""
        d = json.loads(blob)
        return cls(
            token_id=token_id,
            accessor=str(d["accessor"]),
            policies=tuple(d["policies"]),
            created=float(d["created"]),
            expires=None if d["expires"] is None else float(d["expires"]),
            display_name=d.get("display_name"),
            revision=revision,
            parent=d.get("parent"),
            ttl=int(d.get("ttl") or 0),
            bound_cert_subject=d.get("bound_cert_subject"),
        )
