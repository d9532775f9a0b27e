"""Django model fields for :class:`guomi.fields.Field` values and their blind indexes.

Layer: integration (imports ``guomi.fields``). ``EncryptedField`` (and the typed aliases)
stores ``gm1.`` text in a TEXT column; ``BlindIndexField`` is the indexed BIGINT column that
``filter(email=...)``, ``email__iexact`` and ``email__in`` query. The candidate rows are
decrypted and re-checked by the model's managers (patched when the model is prepared), so
false positives never reach the caller; any other lookup raises ``FieldError``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import FieldError  # type: ignore[import-untyped]
from django.db import models  # type: ignore[import-untyped]
from django.db.models.expressions import Col  # type: ignore[import-untyped]
from django.db.models.lookups import Lookup  # type: ignore[import-untyped]

from guomi.exceptions import InvalidArgumentError
from guomi.fields import Field

__all__ = [
    "BlindIndexField",
    "EncryptedCharField",
    "EncryptedDateField",
    "EncryptedDateTimeField",
    "EncryptedDecimalField",
    "EncryptedField",
    "EncryptedIntegerField",
    "EncryptedJSONField",
    "EncryptedTextField",
    "register_field",
]

_REGISTRY: dict[str, Field] = {}


def register_field(field: Field) -> Field:
    """Make ``field`` findable by ``"table.column"`` (migrations store that name, not the object)."""
    _REGISTRY[f"{field.table}.{field.column}"] = field
    return field


def _resolve(field: Field | str) -> Field:
    if isinstance(field, Field):
        return register_field(field)
    try:
        return _REGISTRY[field]
    except KeyError:
        raise InvalidArgumentError(
            f"no guomi Field registered as {field!r} (call register_field first)"
        ) from None


class EncryptedField(models.TextField):  # type: ignore[misc]
    """A column of field values; any supported Python type goes in and comes back out."""

    description = "A value encrypted with SM4 (guomi field format)"
    ALLOWED_LOOKUPS: ClassVar[frozenset[str]] = frozenset({"exact", "iexact", "in", "isnull"})

    def __init__(self, *args: Any, field: Field | str, **kwargs: Any) -> None:
        self.guomi_field = _resolve(field)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["field"] = f"{self.guomi_field.table}.{self.guomi_field.column}"
        return name, path, args, kwargs

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return self.guomi_field.encrypt(value)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return self.guomi_field.decrypt(value)

    def to_python(self, value: Any) -> Any:
        return value

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "exact":
            return BlindExact
        if lookup_name == "iexact":
            return BlindIExact
        if lookup_name == "in":
            return BlindIn
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise FieldError(_unsupported(self, lookup_name))

    def get_transform(self, lookup_name: str) -> Any:
        raise FieldError(_unsupported(self, lookup_name))


def _unsupported(field: EncryptedField, lookup: str) -> str:
    where = f"{field.guomi_field.table}.{field.guomi_field.column}"
    if lookup in ("startswith", "istartswith"):
        hint = (
            "declare BlindIndex(name, 'prefix:N') and filter on its BlindIndexField with field.index(name, v)"
        )
    elif lookup in ("endswith", "iendswith"):
        hint = (
            "declare BlindIndex(name, 'last:N') and filter on its BlindIndexField with field.index(name, v)"
        )
    elif lookup in ("contains", "icontains", "regex", "iregex", "search"):
        hint = "substring search is not offered on encrypted columns (an n-gram index would leak too much)"
    elif lookup in ("lt", "lte", "gt", "gte", "range"):
        hint = "range lookups and ordering cannot use blind indexes (values are randomly encrypted)"
    else:
        hint = "supported lookups are exact, iexact (with a 'casefold' BlindIndex), in and isnull"
    return f"Unsupported lookup '{lookup}' on encrypted field {where}: {hint}"


# Typed aliases: the storage is the same; the names say what the model holds.
class EncryptedCharField(EncryptedField):
    pass


class EncryptedTextField(EncryptedField):
    pass


class EncryptedIntegerField(EncryptedField):
    pass


class EncryptedDecimalField(EncryptedField):
    pass


class EncryptedDateField(EncryptedField):
    pass


class EncryptedDateTimeField(EncryptedField):
    pass


class EncryptedJSONField(EncryptedField):
    pass


class BlindIndexField(models.BigIntegerField):  # type: ignore[misc]
    """The indexed BIGINT blind index ``index`` of the encrypted field named ``source``."""

    def __init__(self, *args: Any, source: str, index: str, **kwargs: Any) -> None:
        self.source = source
        self.index_name = index
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("null", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs["index"] = self.index_name
        return name, path, args, kwargs

    def source_field(self) -> EncryptedField:
        src = self.model._meta.get_field(self.source)
        if not isinstance(src, EncryptedField):
            raise FieldError(f"BlindIndexField {self.name}: source {self.source!r} is not an EncryptedField")
        return src

    def compute(self, value: Any) -> int | None:
        return None if value is None else self.source_field().guomi_field.index(self.index_name, value)

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = self.compute(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value


def index_fields(field: EncryptedField, *, casefold: bool = False) -> list[BlindIndexField]:
    """The blind-index columns of an encrypted field usable for equality (or case-insensitive)."""
    out = [
        f
        for f in field.model._meta.concrete_fields
        if isinstance(f, BlindIndexField) and f.source == field.name
    ]
    gf = field.guomi_field
    if casefold:
        return [f for f in out if gf.indexes[f.index_name].transform == "casefold"]
    return [f for f in out if gf.indexes[f.index_name].is_exact] or out


class _BlindLookup(Lookup):  # type: ignore[misc]
    """Equality through blind indexes; rows are re-checked by the patched queryset."""

    prepare_rhs = False
    casefold = False

    def get_prep_lookup(self) -> Any:
        return self.rhs

    def values(self) -> list[Any]:
        return [self.rhs]

    def predicate(self, value: Any) -> bool:
        wanted = self.values()
        if self.casefold:
            return isinstance(value, str) and value.casefold() in {w.casefold() for w in wanted}
        return value is not None and any(value == w and type(value) is type(w) for w in wanted)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        field = self.lhs.target
        columns = index_fields(field, casefold=self.casefold)
        if not columns:
            need = "a 'casefold' BlindIndex" if self.casefold else "a BlindIndex"
            raise FieldError(
                f"lookup on encrypted field {field.name} needs {need} "
                f"and a BlindIndexField(source={field.name!r}, ...)"
            )
        values = [v for v in self.values() if v is not None]
        if not values:
            return "1 = 0", []
        parts, params = [], []
        for col in columns:
            hashes = sorted(set(field.guomi_field.index_many(col.index_name, values)))
            sql, p = compiler.compile(Col(self.lhs.alias, col))
            parts.append(f"{sql} IN ({', '.join(['%s'] * len(hashes))})")
            params += p + hashes
        return "(" + " OR ".join(parts) + ")", params


class BlindExact(_BlindLookup):
    lookup_name = "exact"


class BlindIExact(_BlindLookup):
    lookup_name = "iexact"
    casefold = True


class BlindIn(_BlindLookup):
    lookup_name = "in"

    def values(self) -> list[Any]:
        return list(self.rhs)
