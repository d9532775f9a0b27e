"""Re-checking querysets: candidates found through a blind index are decrypted and compared.

Layer: integration. When a model with an :class:`EncryptedField` is prepared, each of its
managers gets a queryset class with :class:`RecheckMixin`. A query whose WHERE holds a blind
lookup fetches the candidate rows, then keeps only those whose decrypted value matches;
``count()``/``exists()`` are answered from the re-checked rows. A blind lookup under OR or
NOT (``exclude``) cannot be re-checked row by row and raises ``FieldError``. ``update()`` and
``bulk_update()`` of an encrypted field also refresh its blind indexes.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldError  # type: ignore[import-untyped]
from django.db.models.signals import class_prepared  # type: ignore[import-untyped]
from django.db.models.sql.where import AND, WhereNode  # type: ignore[import-untyped]

from guomi.django._fields import BlindIndexField, EncryptedField, _BlindLookup

__all__ = ["RecheckMixin"]


def _blind_lookups(node: Any, conjunctive: bool = True) -> list[_BlindLookup]:
    out: list[_BlindLookup] = []
    if isinstance(node, _BlindLookup):
        if not conjunctive:
            raise FieldError(
                f"a lookup on encrypted field {node.lhs.target.name} under OR or exclude() cannot be "
                "re-checked; filter on it with AND only"
            )
        return [node]
    if isinstance(node, WhereNode):
        ok = conjunctive and node.connector == AND and not node.negated
        for child in node.children:
            out += _blind_lookups(child, ok)
    return out


class RecheckMixin:
    """Filters blind-index candidates by their decrypted values."""

    # Provided by QuerySet (annotations only: no class attributes that would shadow them).
    _result_cache: list[Any] | None
    query: Any
    model: Any

    def _guomi_checks(self) -> list[_BlindLookup]:
        return _blind_lookups(self.query.where)

    def _fetch_all(self) -> None:
        if self._result_cache is not None:
            return
        super()._fetch_all()  # type: ignore[misc]
        checks = self._guomi_checks()
        if not checks or self._result_cache is None:
            return
        self._result_cache = [row for row in self._result_cache if all(_matches(row, c) for c in checks)]

    def count(self) -> int:
        if self._guomi_checks():
            return len(self._chain()._fetched())  # type: ignore[attr-defined]
        return super().count()  # type: ignore[misc,no-any-return]

    def exists(self) -> bool:
        if self._guomi_checks():
            return self.count() > 0
        return super().exists()  # type: ignore[misc,no-any-return]

    def _fetched(self) -> list[Any]:
        self._fetch_all()
        return self._result_cache or []

    def update(self, **kwargs: Any) -> int:
        model = self.model
        for f in model._meta.concrete_fields:
            if isinstance(f, BlindIndexField) and f.source in kwargs and f.name not in kwargs:
                kwargs[f.name] = f.compute(kwargs[f.source])
        return super().update(**kwargs)  # type: ignore[misc,no-any-return]

    def bulk_update(self, objs: Any, fields: Any, batch_size: Any = None) -> int:
        model = self.model
        fields = list(fields)
        objs = list(objs)
        for f in model._meta.concrete_fields:
            if isinstance(f, BlindIndexField) and f.source in fields and f.name not in fields:
                for obj in objs:
                    setattr(obj, f.attname, f.compute(getattr(obj, f.source)))
                fields.append(f.name)
        return super().bulk_update(objs, fields, batch_size=batch_size)  # type: ignore[misc,no-any-return]


def _matches(row: Any, lookup: _BlindLookup) -> bool:
    field = lookup.lhs.target
    if hasattr(row, "_meta"):
        return lookup.predicate(getattr(row, field.attname))
    if isinstance(row, dict) and field.attname in row:
        return lookup.predicate(row[field.attname])
    raise FieldError(
        f"cannot re-check encrypted field {field.name} on rows that do not include it: "
        "select model instances or include the field in values()"
    )


_patched: set[Any] = set()


def _patch(model: Any) -> None:
    if model in _patched or not any(isinstance(f, EncryptedField) for f in model._meta.concrete_fields):
        return
    for manager in model._meta.managers:
        qs_class = manager._queryset_class
        if not issubclass(qs_class, RecheckMixin):
            manager._queryset_class = type(f"Guomi{qs_class.__name__}", (RecheckMixin, qs_class), {})
    _patched.add(model)


def _on_prepared(sender: Any, **kwargs: Any) -> None:
    _patch(sender)


# Connected when the package is imported (guomi.django imports this module), so every model
# class declared afterwards with an EncryptedField gets re-checking managers; _patch ignores
# models without one. A module-level connection keeps _fields free of an import of this
# module (which imports _fields).
class_prepared.connect(_on_prepared, weak=False, dispatch_uid="guomi.django.recheck")
