"""The one place that recognises guomi *field* ciphertext (``docs/spec/field.md``).

Layer: ``guomi.scan``. The field format belongs to ``guomi.fields`` (its lane defines and
exports ``is_field_token`` / ``token_info``); the scanner asks it rather than parsing the
format a second time. When ``guomi.fields`` is not installed in this build, field values
are simply not recognised here (they then show as unrecognised binary or text), and
:data:`FIELD_FORMAT_AVAILABLE` says so, so a report can state it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

__all__ = ["FIELD_FORMAT_AVAILABLE", "FieldInfo", "field_token_info"]


def _load() -> Any:
    try:
        return importlib.import_module("guomi.fields")
    except (ImportError, AttributeError):
        # Not installed, or a build whose compiled core predates the field kernel.
        return None


_FIELDS = _load()
FIELD_FORMAT_AVAILABLE: bool = _FIELDS is not None and hasattr(_FIELDS, "is_field_token")


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """A recognised field value: ``valid`` False when it has the prefix but does not parse."""

    valid: bool
    key_id: str | None = None
    suite: str | None = None


def field_token_info(value: str | bytes) -> FieldInfo | None:
    """``None`` if ``value`` is not a guomi field value; else what its header says."""
    if not FIELD_FORMAT_AVAILABLE:
        return None
    prefix = str(getattr(_FIELDS, "TEXT_PREFIX", "gm1."))
    try:
        if not _FIELDS.is_field_token(value):
            # The text armour's prefix with a body that does not parse: damaged field ciphertext.
            if isinstance(value, str) and value.startswith(prefix):
                return FieldInfo(valid=False)
            return None
    except (TypeError, ValueError):
        return None
    try:
        info = _FIELDS.token_info(value)
    except (TypeError, ValueError):
        return FieldInfo(valid=False)
    key_id = getattr(info, "key_id", None)
    if isinstance(key_id, int):
        key_id = f"{key_id:08x}"
    suite = getattr(info, "suite", None)
    return FieldInfo(valid=True, key_id=None if key_id is None else str(key_id), suite=suite and str(suite))
