"""Classify a column from a sample of its values (the scanner's main entry point).

Layer: ``guomi.scan``. Per-value results (:func:`classify_value`) are combined, then the
column-level evidence decides what a single value cannot show:

* ciphertext that repeats (the same value twice in the sample) or repeats 16-byte blocks
  inside one value is deterministic: ECB, or CBC with a static IV — either way flagged;
* block-shaped values (a whole number of 16-byte blocks) are ECB when any is a single
  block or deterministic, CBC with an IV prefix (Spark ``aes_encrypt`` CBC) otherwise;
* block-shaped values that all have one RSA modulus length (128/256/384/512 bytes) are
  RSA-wrapped keys;
* a column with any value of a length no block mode can give is AES-GCM with a 12-byte
  IV prefix (Spark ``aes_encrypt`` GCM, or base64 AES-GCM as many applications write).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from guomi.scan._model import KIND_INFO, ColumnFinding, Kind, ValueFinding
from guomi.scan._values import classify_value

__all__ = ["classify_values"]

_BINARY_KINDS = {Kind.AES_ECB, Kind.AES_GCM, Kind.UNKNOWN_BINARY}
_MAX_EXAMPLES = 3


def _redact(value: object) -> str:
    """A hint of the value's form without its content: prefix, length."""
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    text = str(value)
    if text.startswith(("guomi:", "vault:", "gAAAAA")):
        return text[:12] + f"…({len(text)} chars)"
    return f"<{len(text)} chars>"


def _resolve_binary(findings: list[ValueFinding], duplicates: int) -> tuple[Kind, float, list[str]]:
    """One kind for the column's structurally-classified binary values."""
    shapes = Counter(f.shape for f in findings)
    lengths = Counter(f.length for f in findings)
    details = [f"lengths: {', '.join(f'{n} B x{c}' for n, c in sorted(lengths.items())[:6])}"]
    if shapes.get("gcm"):
        details.append("lengths that no block mode gives: IV(12) || ciphertext || tag(16)")
        return Kind.AES_GCM, 0.8, details
    deterministic = duplicates > 0 or any(f.repeated_blocks for f in findings)
    if deterministic:
        details.append(
            f"deterministic: {duplicates} repeated ciphertexts in the sample"
            + (", repeated 16-byte blocks inside values" if any(f.repeated_blocks for f in findings) else "")
        )
        return Kind.AES_ECB, 0.95, details
    if len(lengths) == 1 and next(iter(lengths)) in {128, 256, 384, 512} and shapes.get("rsa"):
        bits = next(iter(lengths)) * 8
        details.append(f"every value is {bits // 8} bytes: an RSA-{bits} ciphertext (wrapped key)")
        return Kind.RSA_WRAPPED, 0.8, details
    if min(lengths) == 16:
        details.append("single 16-byte blocks: no room for an IV, so ECB")
        return Kind.AES_ECB, 0.8, details
    if all(f.shape in ("block", "rsa") for f in findings):
        details.append(
            "whole 16-byte blocks, at least two: IV(16) || CBC ciphertext (or ECB of longer values)"
        )
        return Kind.AES_CBC, 0.6, details
    return Kind.UNKNOWN_BINARY, 0.4, details


def classify_values(
    values: Iterable[str | bytes | bytearray | memoryview | int | float | None],
) -> ColumnFinding:
    """What a column holds, judged from sampled ``values`` (``str``, ``bytes`` or ``None``).

    >>> f = classify_values(["11010519491231002X", "440524188001010014", None])
    >>> f.kind.value, f.pii_share
    ('pii-resident-id', 1.0)
    """
    findings: list[ValueFinding] = []
    seen: Counter[bytes | str] = Counter()
    finding_of: dict[bytes | str, ValueFinding] = {}
    examples: dict[Kind, str] = {}
    for value in values:
        f = classify_value(value)
        findings.append(f)
        if f.kind is not Kind.EMPTY and value is not None:
            v = bytes(value) if isinstance(value, bytearray | memoryview) else value
            k = v if isinstance(v, bytes | str) else str(v)
            seen[k] += 1
            finding_of[k] = f
            if f.kind not in examples:
                examples[f.kind] = _redact(value)
    sampled = len(findings)
    empty = sum(1 for f in findings if f.kind is Kind.EMPTY)
    # Repeated ciphertext is what betrays determinism (only meaningful for ciphertext).
    duplicates = sum(c - 1 for c in seen.values() if c > 1)

    binary = [f for f in findings if f.kind in _BINARY_KINDS and f.shape is not None]
    details: list[str] = []
    final: list[ValueFinding] = []
    if binary:
        bin_dups = sum(
            c - 1
            for v, c in seen.items()
            if c > 1 and finding_of[v].kind in _BINARY_KINDS and finding_of[v].shape is not None
        )
        kind, conf, details = _resolve_binary(binary, bin_dups)
        for f in findings:
            if f.kind in _BINARY_KINDS and f.shape is not None:
                final.append(ValueFinding(kind, conf, encoding=f.encoding, shape=f.shape, length=f.length))
            else:
                final.append(f)
    else:
        final = findings

    counts = Counter(f.kind.value for f in final)
    key_ids = Counter(f.key_id for f in final if f.key_id)
    suites = Counter(f.suite for f in final if f.suite)
    encodings = Counter(f.encoding for f in final if f.kind not in (Kind.EMPTY,))
    non_empty = sampled - empty
    if non_empty == 0:
        return ColumnFinding(Kind.EMPTY, KIND_INFO[Kind.EMPTY].label_en, 1.0, sampled, empty, dict(counts))
    counts_ne = Counter(f.kind for f in final if f.kind is not Kind.EMPTY)
    kind, n = counts_ne.most_common(1)[0]
    per_value = sum(f.confidence for f in final if f.kind is kind) / n
    confidence = round(per_value * n / non_empty, 3)
    if counts.get(Kind.GUOMI_INVALID.value):
        details.append(
            f"{counts[Kind.GUOMI_INVALID.value]} values look like guomi ciphertext but do not parse"
        )
    if len(encodings) > 0 and kind not in (Kind.PLAINTEXT,):
        details.append("stored as " + ", ".join(f"{e} x{c}" for e, c in encodings.most_common()))
    if duplicates and kind in (Kind.GUOMI_TOKEN, Kind.GUOMI_FIELD):
        details.append(f"{duplicates} repeated ciphertexts (a deterministic suite, or copied values)")
    return ColumnFinding(
        kind=kind,
        label=KIND_INFO[kind].label_en,
        confidence=confidence,
        sampled=sampled,
        empty=empty,
        counts=dict(counts),
        key_ids=dict(key_ids),
        suites=dict(suites),
        details=tuple(details),
        examples=tuple(examples[k] for k in list(examples)[:_MAX_EXAMPLES]),
        duplicates=duplicates,
    )
