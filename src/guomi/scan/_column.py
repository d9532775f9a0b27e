"""Classify a column from a sample of its values (the scanner's main entry point).

Layer: ``guomi.scan``. Per-value results (:func:`classify_value`) are combined, then the
column-level evidence decides what a single value cannot show:

* a column with any value of a length no block mode can give is AES-GCM with a 12-byte
  IV prefix (Spark ``aes_encrypt`` GCM, or base64 AES-GCM as many applications write);
* values that all have a digest length (20 bytes; 16 or 32 bytes in a column named like
  ``*_md5`` / ``*_hash``) are unkeyed digests (ShardingSphere's MD5 "assisted query");
* ciphertext that repeats 16-byte blocks inside one value, or single-block values, is ECB
  (MySQL ``AES_ENCRYPT``, Spark ``aes_encrypt`` ECB);
* block-shaped values that all have one RSA modulus length (128/256/384/512 bytes) are
  RSA-wrapped keys;
* other block-shaped values are CBC with an IV prefix (Spark ``aes_encrypt`` CBC), with a
  *static IV* flagged when the first block repeats across values.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from guomi.scan._model import KIND_INFO, ColumnFinding, Kind, ValueFinding
from guomi.scan._values import classify_value

__all__ = ["classify_values"]

_BINARY_KINDS = {Kind.AES_ECB, Kind.AES_GCM, Kind.UNKNOWN_BINARY, Kind.UNKEYED_DIGEST}
_DIGEST_NAME_RE = re.compile(r"(?i)md5|sha|hash|digest|sm3|assist")
_DIGEST_BY_LENGTH = {16: ("MD5", "md5"), 20: ("SHA-1", "sha1"), 32: ("SHA-256 or SM3", "unkeyed-digest")}
_SHA1_BYTES = 20
_BLOCK = 16
_MAX_EXAMPLES = 3

_Value = str | bytes | bytearray | memoryview | int | float | None
_Resolved = tuple[Kind, float, list[str], tuple[str, ...]]


def _redact(value: object) -> str:
    """A hint of the value's form without its content: prefix, length."""
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    text = str(value)
    if text.startswith(("guomi:", "vault:", "gAAAAA")):
        return text[:12] + f"…({len(text)} chars)"
    return f"<{len(text)} chars>"


def _resolve_binary(  # noqa: PLR0911 (one exit per decision, in order)
    findings: list[ValueFinding], duplicates: int, name: str | None
) -> _Resolved:
    """One kind (with confidence, reasons and flags) for the column's binary values."""
    shapes = Counter(f.shape for f in findings)
    lengths = Counter(f.length for f in findings)
    details = [f"lengths: {', '.join(f'{n} B x{c}' for n, c in sorted(lengths.items())[:6])}"]
    if shapes.get("gcm"):
        details.append("lengths that no block mode gives: IV(12) || ciphertext || tag(16)")
        return Kind.AES_GCM, 0.8, details, ("aes-only",)
    if len(lengths) == 1 and next(iter(lengths)) in _DIGEST_BY_LENGTH:
        n = next(iter(lengths))
        algorithm, flag = _DIGEST_BY_LENGTH[n]
        if n == _SHA1_BYTES or (name is not None and _DIGEST_NAME_RE.search(name)):
            details.append(f"every value is {n} bytes: an unkeyed {algorithm} digest")
            return Kind.UNKEYED_DIGEST, 0.8, details, tuple(dict.fromkeys((flag, "unkeyed-digest")))
    ecb = ("ecb", "aes-only", "no-integrity")
    repeated_blocks = any(f.repeated_blocks for f in findings)
    if repeated_blocks or min(lengths) == _BLOCK:
        details.append(
            "repeated 16-byte blocks inside values"
            if repeated_blocks
            else "single 16-byte blocks: no room for an IV"
        )
        return Kind.AES_ECB, 0.95 if repeated_blocks or duplicates else 0.8, details, ecb
    if (
        len(lengths) == 1
        and next(iter(lengths)) in {128, 256, 384, 512}
        and shapes.get("rsa")
        and not duplicates
    ):
        size = next(iter(lengths))
        details.append(f"every value is {size} bytes: an RSA-{size * 8} ciphertext (wrapped key)")
        return Kind.RSA_WRAPPED, 0.8, details, ("rsa-wrapped",)
    # Blocks after the first repeating across *different* values: equal plaintext blocks gave
    # equal ciphertext blocks, which only a deterministic mode (ECB) does.
    distinct = {(f.head, f.tail) for f in findings}
    tails = Counter(b for head_tail in distinct for b in head_tail[1])
    repeated_tails = sum(c - 1 for c in tails.values() if c > 1)
    heads = Counter(h for h, _ in distinct)
    if len(distinct) >= 3 and len(heads) == 1:  # enough values to call it constant
        details.append("every value starts with the same 16 bytes: a static IV stored as prefix")
        return Kind.AES_CBC, 0.9, details, ("static-iv", "aes-only", "no-integrity")
    if repeated_tails or duplicates:
        details.append(
            f"deterministic: {repeated_tails} ciphertext blocks repeat across different values, "
            f"{duplicates} repeated ciphertexts in the sample (ECB, or CBC with a static IV)"
        )
        return Kind.AES_ECB, 0.9, details, ecb
    if sum(c - 1 for c in heads.values() if c > 1):
        details.append("the first 16 bytes repeat across values: a static IV (or ECB)")
        return Kind.AES_CBC, 0.85, details, ("static-iv", "aes-only", "no-integrity")
    details.append("whole 16-byte blocks, at least two: IV(16) || CBC ciphertext (or ECB of longer values)")
    return Kind.AES_CBC, 0.6, details, ("aes-only", "no-integrity")


class _Tally:
    """Per-value results plus what the column-level decisions need."""

    def __init__(self) -> None:
        self.findings: list[ValueFinding] = []
        self.seen: Counter[bytes | str] = Counter()
        self.finding_of: dict[bytes | str, ValueFinding] = {}
        self.examples: dict[Kind, str] = {}
        self.int_bits: int | None = 0

    def add(self, value: _Value) -> None:
        if self.int_bits is not None and value is not None:
            self.int_bits = max(self.int_bits, value.bit_length()) if type(value) is int else None
        f = classify_value(value)
        self.findings.append(f)
        if f.kind is Kind.EMPTY or value is None:
            return
        v = bytes(value) if isinstance(value, bytearray | memoryview) else value
        key = v if isinstance(v, bytes | str) else str(v)
        self.seen[key] += 1
        self.finding_of[key] = f
        self.examples.setdefault(f.kind, _redact(value))

    def duplicates(self, binary_only: bool = False) -> int:
        return sum(
            c - 1
            for v, c in self.seen.items()
            if c > 1 and (not binary_only or _is_binary(self.finding_of[v]))
        )


def _is_binary(f: ValueFinding) -> bool:
    return f.kind in _BINARY_KINDS and f.shape is not None


def classify_values(values: Iterable[_Value], *, name: str | None = None) -> ColumnFinding:
    """What a column holds, judged from sampled ``values`` (``str``, ``bytes`` or ``None``).

    ``name`` (the column's name, optional) only helps tell an unkeyed digest column
    (``phone_md5``, ``id_hash``) from single-block ECB, which have the same bytes.

    >>> f = classify_values(["11010519491231002X", None])
    >>> f.kind.value, f.pii_share
    ('pii-resident-id', 1.0)
    """
    tally = _Tally()
    for value in values:
        tally.add(value)
    findings = tally.findings
    sampled = len(findings)
    empty = sum(1 for f in findings if f.kind is Kind.EMPTY)
    duplicates = tally.duplicates()

    details: list[str] = []
    flags: tuple[str, ...] = ()
    binary = [f for f in findings if _is_binary(f)]
    if binary:
        kind, conf, details, flags = _resolve_binary(binary, tally.duplicates(binary_only=True), name)
        findings = [
            ValueFinding(kind, conf, encoding=f.encoding, shape=f.shape, length=f.length)
            if _is_binary(f)
            else f
            for f in findings
        ]

    counts = Counter(f.kind.value for f in findings)
    if sampled == empty:
        return ColumnFinding(Kind.EMPTY, KIND_INFO[Kind.EMPTY].label_en, 1.0, sampled, empty, dict(counts))
    non_empty = [f for f in findings if f.kind is not Kind.EMPTY]
    for k in dict.fromkeys(f.kind for f in non_empty):
        flags = tuple(dict.fromkeys((*flags, *KIND_INFO[k].flags)))
    kind, n = Counter(f.kind for f in non_empty).most_common(1)[0]
    per_value = sum(f.confidence for f in non_empty if f.kind is kind) / n
    if counts.get(Kind.GUOMI_INVALID.value):
        details.append(
            f"{counts[Kind.GUOMI_INVALID.value]} values look like guomi ciphertext but do not parse"
        )
    encodings = Counter(f.encoding for f in non_empty)
    if kind is not Kind.PLAINTEXT:
        details.append("stored as " + ", ".join(f"{e} x{c}" for e, c in encodings.most_common()))
    if duplicates and kind in (Kind.GUOMI_TOKEN, Kind.GUOMI_FIELD):
        details.append(f"{duplicates} repeated ciphertexts (a deterministic suite, or copied values)")
    return ColumnFinding(
        kind=kind,
        label=KIND_INFO[kind].label_en,
        confidence=round(per_value * n / len(non_empty), 3),
        sampled=sampled,
        empty=empty,
        counts=dict(counts),
        key_ids=dict(Counter(f.key_id for f in findings if f.key_id)),
        suites=dict(Counter(f.suite for f in findings if f.suite)),
        details=tuple(details),
        examples=tuple(list(tally.examples.values())[:_MAX_EXAMPLES]),
        duplicates=duplicates,
        flags=flags,
        int_bits=tally.int_bits or None,
    )
