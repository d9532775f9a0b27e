"""SQLAlchemy 2 column type and blind-index columns for :class:`guomi.fields.Field`.

Layer: integration (imports ``guomi.fields``). ``EncryptedType(field)`` stores ``gm1.`` text
(or the binary form) and decrypts on load; ``blind_index_column(field, name)`` declares the
BIGINT index column (with a database index) that is filled from the encrypted column's value
on every INSERT and UPDATE (ORM or Core), through a column default, not a per-row ORM hook.

Comparisons on the encrypted attribute are rewritten: ``==`` and ``in_`` become lookups on
the blind-index column(s) and, in an ORM :class:`~sqlalchemy.orm.Session`, the candidate rows
are decrypted and re-checked so false positives never reach the caller (see ``_recheck``).
Anything the indexes cannot answer raises :class:`~guomi.exceptions.UnsupportedQueryError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, LargeBinary, String, Text, literal, or_
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import MappedColumn, mapped_column
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BindParameter, ClauseElement, ColumnElement
from sqlalchemy.types import TypeDecorator

from guomi.exceptions import InvalidArgumentError, UnsupportedQueryError
from guomi.fields import Field

__all__ = ["BlindMatch", "EncryptedType", "blind_index_column", "text_length"]

INFO_KEY = "guomi_blind_index"


def text_length(plaintext_bytes: int) -> int:
    """VARCHAR length that holds the ``gm1.`` text of a value of up to ``plaintext_bytes``."""
    return 4 + -(-(4 * (plaintext_bytes + 35)) // 3)


@dataclass(frozen=True)
class _Check:
    """One re-check to apply to candidate rows: the attribute's decrypted value must satisfy it."""

    column_key: str
    table: Any
    predicate: Callable[[Any], bool]
    description: str


class BlindMatch(ColumnElement[bool]):
    """A blind-index lookup that must be re-checked on the decrypted values.

    It renders as its SQL (``bidx = :h OR ...``); executing it outside an ORM Session (which
    re-checks) raises, so false positives can never be returned silently.
    """

    inherit_cache = False
    __visit_name__ = "guomi_blind_match"

    def __init__(self, sql: ColumnElement[bool], check: _Check) -> None:
        self.sql = sql
        self.check = check
        self.type = sql.type

    def get_children(self, **kw: Any) -> Sequence[ColumnElement[Any]]:
        return [self.sql]

    def _copy_internals(self, clone: Any = None, **kw: Any) -> None:
        if clone is not None:
            self.sql = clone(self.sql, **kw)

    def self_group(self, against: Any = None) -> ColumnElement[Any]:
        return self


def _compile_blind_match(element: BlindMatch, compiler: Any, **kw: Any) -> str:
    return "(" + str(compiler.process(element.sql, **kw)) + ")"


from sqlalchemy.ext.compiler import compiles  # noqa: E402

compiles(BlindMatch)(_compile_blind_match)


def _index_columns(expr: Any, field: Field) -> dict[str, Any]:
    """The blind-index columns of ``field`` in the encrypted column's table, by index name."""
    table = getattr(expr, "table", None)
    if table is None:
        return {}
    out = {}
    for col in table.columns:
        spec = col.info.get(INFO_KEY)
        if spec is not None and spec[0] is field:
            out[spec[1]] = col
    return out


class _Comparator(TypeDecorator.Comparator):  # type: ignore[type-arg]
    def _field(self) -> Field:
        return self.type.field  # type: ignore[no-any-return,attr-defined]

    def _lookup(self, values: list[Any], *, casefold: bool = False) -> ColumnElement[bool]:
        field = self._field()
        columns = _index_columns(self.expr, field)
        if casefold:
            wanted_exact = [(n, c) for n, c in columns.items() if field.indexes[n].transform == "casefold"]
        else:
            # Exact indexes (several during a reindex: old and new are both answered); failing
            # that, any index, since equal values have equal transformed values and the
            # candidates are re-checked.
            wanted_exact = [(n, c) for n, c in columns.items() if field.indexes[n].is_exact] or list(
                columns.items()
            )
        if not wanted_exact:
            kind = "BlindIndex(name, 'casefold')" if casefold else "BlindIndex(name) (no transform)"
            raise UnsupportedQueryError(
                f"{field.table}.{field.column}: equality needs a blind index column; declare {kind} on the "
                f"Field and blind_index_column(field, name) on the model "
                f"(indexes declared: {sorted(field.indexes)}, "
                f"columns mapped: {sorted(columns)})"
            )
        if field.suite == "sm4-siv" and not casefold:
            # Deterministic values are equal in the database: compare ciphertexts exactly.
            tokens = field.encrypt_many(values)
            expr: Any = self.expr
            result: ColumnElement[bool] = expr.in_(tokens) if len(tokens) != 1 else expr == tokens[0]
            return result
        parts = []
        for name, col in wanted_exact:
            hashes = sorted({h for h in field.index_many(name, values) if h is not None})
            parts.append(col == hashes[0] if len(hashes) == 1 else col.in_(hashes))
        sql = parts[0] if len(parts) == 1 else or_(*parts)
        if casefold:
            folded = {v.casefold() for v in values}
            predicate: Callable[[Any], bool] = lambda v: isinstance(v, str) and v.casefold() in folded  # noqa: E731
            desc = "casefold in"
        else:
            wanted = list(values)
            predicate = lambda v: v is not None and any(v == w and type(v) is type(w) for w in wanted)  # noqa: E731
            desc = "in"
        check = _Check(str(self.expr.key), getattr(self.expr, "table", None), predicate, desc)
        return BlindMatch(sql, check)

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> ColumnElement[Any]:  # noqa: PLR0911
        field = self._field()
        if other and isinstance(other[0], ClauseElement) and not isinstance(other[0], BindParameter):
            # Column-to-column comparisons (joins, the ORM's own bookkeeping) stay plain SQL.
            return super().operate(op, *other, **kwargs)
        if op is operators.eq:
            if other[0] is None:
                return super().operate(op, *other, **kwargs)
            return self._lookup([other[0]])
        if op is operators.in_op:
            values = list(other[0])
            if not values:
                return literal(False)
            return self._lookup(values)
        if op in (operators.is_, operators.is_not):
            return super().operate(op, *other, **kwargs)
        if op is operators.ne and other[0] is None:
            return super().operate(op, *other, **kwargs)
        raise UnsupportedQueryError(_unsupported(field, op))

    def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> ColumnElement[Any]:
        return self.operate(op, other, **kwargs)

    def iequals(self, value: str) -> ColumnElement[bool]:
        """Case-insensitive equality through a ``casefold`` blind index."""
        return self._lookup([value], casefold=True)


def _unsupported(field: Field, op: Any) -> str:
    name = getattr(op, "__name__", str(op))
    where = f"{field.table}.{field.column}"
    if name in ("like_op", "ilike_op", "startswith_op", "istartswith_op"):
        hint = (
            f"a prefix search needs a prefix index, e.g. BlindIndex('{field.column}_prefix3', 'prefix:3'), "
            f"queried as {field.column}_prefix3 == field.index('{field.column}_prefix3', value)"
        )
    elif name in ("contains_op", "endswith_op", "icontains_op", "iendswith_op", "notlike_op", "match_op"):
        hint = (
            f"a suffix search needs BlindIndex('{field.column}_last4', 'last:4'); "
            "substring search is not offered "
            "(it would need an n-gram index that leaks far more)"
        )
    elif name in ("lt", "le", "gt", "ge", "between_op"):
        hint = "range comparisons and ORDER BY cannot be answered by blind indexes (randomized encryption)"
    elif name == "ne":
        hint = "'!=' would return nearly the whole table; select and filter the decrypted values instead"
    else:
        hint = f"only ==, in_ and IS NULL are supported (blind indexes: {sorted(field.indexes)})"
    return f"{where} is encrypted: {name} is not supported; {hint}"


class EncryptedType(TypeDecorator[Any]):
    """A column holding :class:`~guomi.fields.Field` values.

    ``length``: VARCHAR length for the text form (see :func:`text_length`); ``None`` gives
    TEXT. ``binary=True`` stores the binary form in a BLOB/BYTEA column.
    """

    impl = Text
    cache_ok = True
    comparator_factory = _Comparator

    def __init__(self, field: Field, length: int | None = None, *, binary: bool = False) -> None:
        if not isinstance(field, Field):
            raise InvalidArgumentError("EncryptedType needs a guomi.fields.Field")
        self.field = field
        self.binary = binary
        super().__init__()
        if binary:
            self.impl = LargeBinary()  # type: ignore[assignment]
        elif length is not None:
            self.impl = String(length)  # type: ignore[assignment]

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        return dialect.type_descriptor(self.impl_instance)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if self.binary:
            return self.field.encrypt_binary(value)
        return self.field.encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return self.field.decrypt(value)

    @property
    def python_type(self) -> type:
        return object

    def __repr__(self) -> str:
        return f"EncryptedType({self.field!r})"


def _source_key(table: Any, field: Field) -> str | None:
    """The key of the column that stores ``field`` in ``table`` (found by its type)."""
    for col in getattr(table, "columns", ()):
        if isinstance(col.type, EncryptedType) and col.type.field is field:
            return str(col.key)
    return None


def _index_default(field: Field, name: str) -> Callable[[Any], Any]:
    def compute(context: Any) -> Any:
        params = context.get_current_parameters()
        column = getattr(context, "current_column", None)
        key = _source_key(getattr(column, "table", None), field) or field.column
        value = params.get(key)
        return None if value is None else field.index(name, value)

    return compute


def _as_field(obj: Any) -> Field:
    """The Field behind ``obj``: a Field, or (inside a class body, where the name ``email`` is
    already the mapped column) a mapped column / Column / attribute of an EncryptedType."""
    if isinstance(obj, Field):
        return obj
    for candidate in (getattr(obj, "column", None), obj, getattr(obj, "expression", None)):
        typ = getattr(candidate, "type", None)
        if isinstance(typ, EncryptedType):
            return typ.field
    raise InvalidArgumentError("blind_index_column needs a guomi.fields.Field or an EncryptedType column")


def blind_index_column(field: Any, index_name: str, **kwargs: Any) -> MappedColumn[Any]:
    """The BIGINT blind-index column ``index_name`` of ``field``, with a database index.

    Filled from the value written to the field's column (``field.column``): on ORM flushes
    (insert and update) by a mapper event, on Core ``insert()`` by the column default, on Core
    ``update().values(...)`` by a statement rewrite (``guomi.sqlalchemy._events``)."""
    field = _as_field(field)
    field.blind_index(index_name)  # typed error if not declared
    info = dict(kwargs.pop("info", {}))
    info[INFO_KEY] = (field, index_name)
    kwargs.setdefault("index", True)
    kwargs.setdefault("nullable", True)
    return mapped_column(
        index_name if "name" not in kwargs else kwargs.pop("name"),
        BigInteger(),
        default=_index_default(field, index_name),
        info=info,
        **kwargs,
    )
