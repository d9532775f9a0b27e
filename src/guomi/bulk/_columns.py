"""Which columns a job touches: ``NAME[:INDEX...]`` as the CLI's ``--column`` takes it.

Layer: ``guomi.bulk``. ``email:email_bidx`` says "encrypt column ``email`` and keep the
blind index ``email_bidx`` (a column of that name) next to it"; the index names are the
names of :class:`guomi.fields.BlindIndex` objects on the column's field.
"""

from __future__ import annotations

from dataclasses import dataclass

from guomi.bulk._errors import BulkInputError

__all__ = ["ColumnSpec", "parse_columns"]


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a job and the blind indexes kept beside it."""

    name: str
    indexes: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> ColumnSpec:
        """``"email"`` or ``"email:email_bidx:email_domain_bidx"``."""
        name, *indexes = (part.strip() for part in text.split(":"))
        if not name or any(not index for index in indexes):
            raise BulkInputError(f"bad column spec {text!r}: expected NAME[:INDEX...]")
        if len(set(indexes)) != len(indexes) or name in indexes:
            raise BulkInputError(f"bad column spec {text!r}: repeated name")
        return cls(name, tuple(indexes))


def parse_columns(columns: object) -> tuple[ColumnSpec, ...]:
    """Accept ``ColumnSpec`` objects or ``NAME[:INDEX...]`` strings; refuse duplicates."""
    if isinstance(columns, str | ColumnSpec):
        columns = [columns]
    if not isinstance(columns, list | tuple):
        raise BulkInputError("columns must be a list of NAME[:INDEX...] strings or ColumnSpec objects")
    specs = tuple(c if isinstance(c, ColumnSpec) else ColumnSpec.parse(str(c)) for c in columns)
    if not specs:
        raise BulkInputError("no columns given: name at least one column")
    names = [s.name for s in specs] + [i for s in specs for i in s.indexes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise BulkInputError(f"column named more than once: {', '.join(dupes)}")
    return specs
