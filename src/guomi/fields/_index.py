"""Blind-index declarations, transforms and the width planner (``docs/spec/field.md`` §6).

Layer: ``guomi.fields``. A :class:`BlindIndex` says how to turn a value into a short keyed
HMAC-SM3 fingerprint stored in an integer column: which transform first (``"casefold"``,
``"digits"``, ``"last:4"``, ``"prefix:3"``, ... or a callable), how many bits to keep, and
whether to use the slow PBKDF2-HMAC-SM3 variant for low-entropy values. :func:`plan` picks
the width: enough collisions to hide values, few enough to keep lookups selective.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from guomi.exceptions import IndexPlanError, InvalidArgumentError

__all__ = ["DEFAULT_BITS", "SLOW_ITERATIONS", "BlindIndex", "IndexPlan", "plan"]

#: Width used when ``bits`` is not given: 2^32 buckets, fine up to tens of millions of
#: distinct values; run :func:`plan` for the column's real size.
DEFAULT_BITS: Final = 32
#: PBKDF2-HMAC-SM3 iterations of ``slow=True`` (about 1 ms per value on one core).
SLOW_ITERATIONS: Final = 2_000

# Kernel transform codes (rust/guomi-core/src/field/transform.rs).
_IDENTITY, _CASEFOLD, _DIGITS, _LAST, _PREFIX = 0, 1, 2, 3, 4
_PARAM = re.compile(r"^(last|prefix):(\d{1,4})$")


def _digits(s: str) -> str:
    return "".join(c for c in s if "0" <= c <= "9")


def _named(step: str) -> tuple[Callable[[str], str], int, int]:  # noqa: PLR0911 (one per name)
    """(python function, kernel code, kernel parameter) of one named transform."""
    if step == "casefold":
        return str.casefold, _CASEFOLD, 0
    if step == "digits":
        return _digits, _DIGITS, 0
    if step == "lower":
        return str.lower, -1, 0
    if step == "upper":
        return str.upper, -1, 0
    if step == "strip":
        return str.strip, -1, 0
    m = _PARAM.match(step)
    if m:
        n = int(m.group(2))
        if m.group(1) == "last":
            return (lambda s: s[len(s) - n :] if n else ""), _LAST, n
        return (lambda s: s[:n]), _PREFIX, n
    raise InvalidArgumentError(
        f"unknown blind-index transform {step!r}: use casefold, digits, lower, upper, strip, "
        "last:N, prefix:N (joined with '|'), or a callable"
    )


class BlindIndex:
    """One blind index of a field.

    ``transform``: ``None`` (exact value), a name (``"casefold"``, ``"digits"``, ``"last:4"``,
    ``"prefix:3"``, ``"lower"``, ``"upper"``, ``"strip"``, or several joined with ``"|"``,
    applied left to right) or a callable taking the value. ``bits``: 1..63 (default
    :data:`DEFAULT_BITS`). ``slow``: ``True`` for PBKDF2-HMAC-SM3 with
    :data:`SLOW_ITERATIONS`, or an iteration count. ``key_id`` pins the key version that keys
    the index (default: the keyset's first key, which stays put across rotations; a
    ``reindex`` moves an index to another version under a new name).
    """

    __slots__ = ("_py", "bits", "kernel_transform", "key_id", "name", "slow_iterations", "transform")

    def __init__(
        self,
        name: str,
        transform: str | Callable[[Any], Any] | None = None,
        bits: int | None = None,
        slow: bool | int = False,
        *,
        key_id: int | None = None,
    ) -> None:
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
            raise InvalidArgumentError("blind index name must be an identifier of at most 63 characters")
        bits = DEFAULT_BITS if bits is None else bits
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 63:
            raise InvalidArgumentError("blind index bits must be an integer 1..63 (it is stored in a BIGINT)")
        if slow is True:
            iterations = SLOW_ITERATIONS
        elif slow is False:
            iterations = 0
        elif isinstance(slow, int) and 1 <= slow <= 10_000_000:
            iterations = slow
        else:
            raise InvalidArgumentError("slow must be True, False or an iteration count 1..10000000")
        self.name = name
        self.transform = transform
        self.bits = bits
        self.slow_iterations = iterations
        self.key_id = key_id
        self._py: Callable[[Any], Any] | None
        #: (code, n) when the Rust kernel applies the transform itself, else None.
        self.kernel_transform: tuple[int, int] | None
        if transform is None:
            self._py, self.kernel_transform = None, (_IDENTITY, 0)
        elif callable(transform):
            self._py, self.kernel_transform = transform, None
        elif isinstance(transform, str):
            steps = [_named(s.strip()) for s in transform.split("|")]
            funcs = [f for f, _, _ in steps]

            def chain(value: Any) -> Any:
                if not isinstance(value, str):
                    raise InvalidArgumentError(
                        f"blind index transform {transform!r} needs a str value, got {type(value).__name__}"
                    )
                for f in funcs:
                    value = f(value)
                return value

            self._py = chain
            single = len(steps) == 1 and steps[0][1] >= 0
            self.kernel_transform = (steps[0][1], steps[0][2]) if single else None
        else:
            raise InvalidArgumentError("transform must be None, a transform name or a callable")

    @property
    def is_exact(self) -> bool:
        """True when the index is over the value itself (answers ``==`` and ``in``)."""
        return self.transform is None

    def apply(self, value: Any) -> Any:
        """The transformed value (what is hashed)."""
        return value if self._py is None else self._py(value)

    def __repr__(self) -> str:
        t = self.transform if isinstance(self.transform, str | None) else "<callable>"
        slow = f", slow={self.slow_iterations}" if self.slow_iterations else ""
        return f"BlindIndex({self.name!r}, transform={t!r}, bits={self.bits}{slow})"


@dataclass(frozen=True)
class IndexPlan:
    """What :func:`plan` found for one index."""

    index: str
    rows: int
    distinct: int
    #: The width recommended for this column.
    recommended_bits: int
    #: The width planned (the index's own ``bits``).
    bits: int
    #: Expected distinct values sharing one index value (>= 2 hides which value a row holds).
    values_per_index_value: float
    #: Expected candidate rows fetched (then decrypted and re-checked) per equality lookup.
    rows_per_lookup: float
    #: True when the planned width makes the index (nearly) unique per distinct value.
    unique: bool
    message: str


def plan(
    index: BlindIndex, rows: int, distinct: int | None = None, *, allow_unique: bool = False
) -> IndexPlan:
    """Recommend a width for ``index`` on a column of ``rows`` rows (``distinct`` values).

    The recommendation is the widest index that still leaves at least two distinct values
    per index value (so an index value does not identify its plaintext), which keeps each
    lookup to about ``2 * rows / distinct`` candidate rows. ``distinct=None`` assumes
    every row is different (the case of ID and card numbers). When the index's own ``bits``
    would be unique per value, :func:`plan` raises :class:`~guomi.exceptions.IndexPlanError`
    unless ``allow_unique=True``, in which case it warns.
    """
    if rows < 1:
        raise InvalidArgumentError("rows must be at least 1")
    d = rows if distinct is None else distinct
    if d < 1 or d > rows:
        raise InvalidArgumentError("distinct must be 1..rows")
    recommended = max(1, min(63, math.floor(math.log2(d / 2)) if d >= 4 else 1))
    per_value = d / 2.0**index.bits
    rows_per_lookup = rows / d + rows / 2.0**index.bits
    unique = per_value < 1.0
    if unique:
        message = (
            f"index {index.name!r} with {index.bits} bits on {d} distinct values is unique per value "
            f"(~{per_value:.3g} values per index value): it reveals which rows are equal and invites a "
            f"dictionary attack; use bits={recommended}"
        )
    else:
        message = (
            f"index {index.name!r}: ~{per_value:.3g} distinct values per index value, "
            f"~{rows_per_lookup:.3g} candidate rows per lookup"
        )
    result = IndexPlan(
        index.name, rows, d, recommended, index.bits, per_value, rows_per_lookup, unique, message
    )
    if unique:
        if not allow_unique:
            raise IndexPlanError(message + " (pass allow_unique=True to accept)")
        warnings.warn(message, UserWarning, stacklevel=2)
    return result
