"""The event hooks of guomi.sqlalchemy: index filling, Core UPDATE rewriting, and the re-check.

Layer: integration. Installed once on import of :mod:`guomi.sqlalchemy`:

- mapper ``before_insert`` / ``before_update``: set each blind-index attribute from the
  encrypted attribute's new value (only when that value changed);
- engine ``before_execute``: a Core ``update(...).values(col=...)`` of an encrypted column
  gets its blind-index columns added; and a statement holding a :class:`BlindMatch` that is
  not executed through an ORM Session (which re-checks) is refused, so false positives never
  come back silently;
- session ``do_orm_execute``: runs a SELECT holding a :class:`BlindMatch`, decrypts each
  candidate row's value and keeps only rows whose value really matches.
"""

# ruff: noqa: S608 (the UPDATE rewrite adds bound parameters only)
from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine, Row
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.sql import Update, operators, visitors
from sqlalchemy.sql.elements import BindParameter, BooleanClauseList, Grouping

from guomi.exceptions import UnsupportedQueryError
from guomi.fields import Field
from guomi.sqlalchemy._types import INFO_KEY, BlindMatch, EncryptedType, _source_key

__all__ = ["install"]

_RECHECKED = "_guomi_rechecked"
_mapper_specs: dict[Any, list[tuple[Field, str, str, str]]] = {}


def _specs(mapper: Any) -> list[tuple[Field, str, str, str]]:
    """(field, index name, index attribute key, source attribute key) for a mapper."""
    hit = _mapper_specs.get(mapper)
    if hit is None:
        hit = []
        for col in mapper.columns:
            spec = col.info.get(INFO_KEY)
            if spec is None:
                continue
            field, name = spec
            source = next(
                (c for c in mapper.columns if isinstance(c.type, EncryptedType) and c.type.field is field),
                None,
            )
            if source is None:
                continue
            hit.append(
                (
                    field,
                    name,
                    mapper.get_property_by_column(col).key,
                    mapper.get_property_by_column(source).key,
                )
            )
        _mapper_specs[mapper] = hit
    return hit


def _fill(mapper: Any, target: Any, *, only_changed: bool) -> None:
    specs = _specs(mapper)
    if not specs:
        return
    state = inspect(target)
    for field, name, index_key, source_key in specs:
        if only_changed and not state.attrs[source_key].history.has_changes():
            continue
        value = getattr(target, source_key)
        setattr(target, index_key, None if value is None else field.index(name, value))


def _before_insert(mapper: Any, connection: Any, target: Any) -> None:
    _fill(mapper, target, only_changed=False)


def _before_update(mapper: Any, connection: Any, target: Any) -> None:
    _fill(mapper, target, only_changed=True)


def _blind_matches(statement: Any) -> list[BlindMatch]:
    return [e for e in visitors.iterate(statement) if isinstance(e, BlindMatch)]


def _before_execute(
    conn: Any, clauseelement: Any, multiparams: Any, params: Any, execution_options: Any
) -> tuple[Any, Any, Any]:
    if isinstance(clauseelement, Update):
        clauseelement = _rewrite_update(clauseelement)
    elif (
        hasattr(clauseelement, "get_children")
        and not execution_options.get(_RECHECKED)
        and not conn.get_execution_options().get(_RECHECKED)
        and _blind_matches(clauseelement)
    ):
        raise UnsupportedQueryError(
            "a query on an encrypted column's blind index must run through an ORM Session "
            "(session.execute / session.scalars), which decrypts and re-checks the candidate rows; "
            "with Core, select the blind-index column yourself and compare the decrypted values"
        )
    return clauseelement, multiparams, params


def _rewrite_update(stmt: Update) -> Update:
    """Add blind-index values to a Core UPDATE that sets an encrypted column to a literal."""
    values = getattr(stmt, "_values", None)
    if not values:
        return stmt
    table = stmt.table
    extra: dict[Any, Any] = {}
    names = {getattr(k, "key", k): v for k, v in values.items()}
    for col in getattr(table, "columns", ()):
        spec = col.info.get(INFO_KEY)
        if spec is None or col.key in names:
            continue
        field, name = spec
        source = _source_key(table, field) or field.column
        if source not in names:
            continue
        bind = names[source]
        if not isinstance(bind, BindParameter):
            raise UnsupportedQueryError(
                f"UPDATE of encrypted column {field.table}.{field.column} to a SQL expression: "
                "its blind index cannot be computed; set a Python value"
            )
        value = bind.effective_value
        extra[col] = None if value is None else field.index(name, value)
    return stmt.values(extra) if extra else stmt


def _do_orm_execute(state: Any) -> Any:
    if not state.is_select:
        return None
    matches = _blind_matches(state.statement)
    if not matches:
        return None
    top = set(map(id, _conjuncts(getattr(state.statement, "whereclause", None))))
    if any(id(m) not in top for m in matches):
        raise UnsupportedQueryError(
            "a comparison on an encrypted column under OR / NOT (or outside the WHERE clause) cannot be "
            "re-checked row by row; combine it with AND only"
        )
    result = state.invoke_statement(execution_options={_RECHECKED: True})
    frozen = result.freeze()
    keys = list(result.keys()) if hasattr(result, "keys") else []
    kept = [row for row in frozen.data if all(_row_matches(row, keys, m) for m in matches)]
    filtered = copy.copy(frozen)
    filtered.data = kept  # same shape as frozen.data (rows, or objects for scalar results)
    return filtered()


def _conjuncts(clause: Any) -> list[Any]:
    """The AND-ed terms of a WHERE clause (a term under OR/NOT is not a conjunct)."""
    if clause is None:
        return []
    if isinstance(clause, BooleanClauseList) and clause.operator is operators.and_:
        out = []
        for c in clause.clauses:
            out += _conjuncts(c)
        return out
    if isinstance(clause, Grouping):
        return _conjuncts(clause.element)
    return [clause]


def _row_matches(row: Any, keys: list[str], match: BlindMatch) -> bool:
    check = match.check
    items = row if isinstance(row, tuple | Row) else (row,)
    for item in items:
        mapper = getattr(type(item), "__mapper__", None)
        if mapper is not None and check.table is not None and check.table in mapper.tables:
            prop = mapper.get_property_by_column(check.table.c[check.column_key])
            return check.predicate(getattr(item, prop.key))
    if check.column_key in keys:
        return check.predicate(items[keys.index(check.column_key)])
    raise UnsupportedQueryError(
        f"cannot re-check {check.column_key} on these rows: select the mapped entity or the encrypted column "
        "itself with a blind-index comparison"
    )


_installed = False


def install() -> None:
    """Register the hooks (idempotent; done on import of guomi.sqlalchemy)."""
    global _installed  # noqa: PLW0603 (one registration per process)
    if _installed:
        return
    event.listen(Mapper, "before_insert", _before_insert)
    event.listen(Mapper, "before_update", _before_update)
    event.listen(Engine, "before_execute", _before_execute, retval=True)
    event.listen(Session, "do_orm_execute", _do_orm_execute)
    _installed = True
