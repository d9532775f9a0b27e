"""Random row samples of a database table, on every backend the scanner reads.

Layer: ``guomi.scan``. An assessment's coverage figure is only as good as its sample: the
first rows of a table are its oldest (often encrypted first, or never), so every backend
draws rows at random, and says how (``method``, shown in the evidence):

* **SQLite** (standard library): ``rowid IN (SELECT rowid ... ORDER BY random() LIMIT n)``
  — uniform; the rowid subquery sorts only integers.
* **PostgreSQL** (psycopg): tables the planner estimates (``pg_class.reltuples``) at more
  than 10 x n rows: ``TABLESAMPLE BERNOULLI (p)`` with p sized for about 3 x n rows, then
  ``ORDER BY random() LIMIT n`` over those — uniform per row, one sequential pass with no
  sort of the table; if the estimate was stale and too few rows came back, and for smaller
  tables: ``ORDER BY random() LIMIT n`` (a bounded top-n sort).
* **Any other SQLAlchemy dialect** (no portable ``random()`` exists): with a one-column
  integer primary key, *random key ranges*: n keys drawn uniformly in [min, max] and, for
  each, the first row at or above it (one index probe each; a row after a gap in the keys
  is proportionally more likely, which the method names); without one, a reservoir sample
  (Vitter's algorithm R) of the first ``RESERVOIR_SCAN_ROWS`` rows streamed — uniform when
  the table is no larger, and said otherwise.
* A table with at most n rows is read whole (``all rows``).

``not_null`` restricts the sample to rows where that column has a value (a coverage check
of one column should not spend its sample on NULLs).
"""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "RESERVOIR_SCAN_ROWS",
    "Sample",
    "quote_ident",
    "sample_postgres",
    "sample_sqlalchemy",
    "sample_sqlite",
]

RESERVOIR_SCAN_ROWS = 200_000
"""Most rows streamed for a reservoir sample (tables without an integer key, other dialects)."""

_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?")
_BERNOULLI_ABOVE = 10  # x n estimated rows: below it, ORDER BY random() is as cheap
_BERNOULLI_OVERSAMPLE = 3
_KEY_DRAW_ROUNDS = 3  # draws per wanted row, at most (gaps and repeats)

# Row sampling is not a secret, but it should not repeat from run to run either.
_rng = random.SystemRandom()


@dataclass(frozen=True, slots=True)
class Sample:
    """Sampled rows (``columns`` name each position) and how they were drawn."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    method: str


def quote_ident(name: str) -> str:
    """``name`` (``table`` or ``schema.table``) as a double-quoted SQL identifier."""
    if not _IDENT_RE.fullmatch(name):
        raise ValueError(f"name {name!r} is not a plain SQL identifier")
    return ".".join(f'"{p}"' for p in name.split("."))


def _select_list(columns: Sequence[str] | None) -> str:
    return "*" if columns is None else ", ".join(quote_ident(c) for c in columns)


def _where(not_null: str | None) -> str:
    return f" WHERE {quote_ident(not_null)} IS NOT NULL" if not_null else ""


def sample_sqlite(
    conn: sqlite3.Connection,
    table: str,
    n: int,
    columns: Sequence[str] | None = None,
    not_null: str | None = None,
) -> Sample:
    q, cols, where = quote_ident(table), _select_list(columns), _where(not_null)
    cur = conn.execute(
        f"SELECT {cols} FROM {q} WHERE rowid IN (SELECT rowid FROM {q}{where} ORDER BY random() LIMIT ?)",  # noqa: S608 (quoted identifiers)
        (n,),
    )
    names = [d[0] for d in cur.description]
    return Sample(names, [tuple(r) for r in cur.fetchall()], "random rows (ORDER BY random() over rowids)")


def sample_postgres(
    conn: Any, table: str, n: int, columns: Sequence[str] | None = None, not_null: str | None = None
) -> Sample:
    """``conn``: a psycopg connection (autocommit, or the caller's transaction)."""
    q, cols, where = quote_ident(table), _select_list(columns), _where(not_null)
    row = conn.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", (q,)).fetchone()
    estimate = float(row[0]) if row is not None and row[0] is not None else -1.0
    if estimate > _BERNOULLI_ABOVE * n:
        percent = min(100.0, 100.0 * _BERNOULLI_OVERSAMPLE * n / estimate)
        cur = conn.execute(
            f"SELECT {cols} FROM {q} TABLESAMPLE BERNOULLI (%s){where} ORDER BY random() LIMIT %s",  # noqa: S608
            (percent, n),
        )
        rows = cur.fetchall()
        if len(rows) >= n:
            names = [d.name for d in cur.description or ()]
            return Sample(
                names, rows, f"random rows (TABLESAMPLE BERNOULLI {percent:.3g} %, then ORDER BY random())"
            )
    cur = conn.execute(f"SELECT {cols} FROM {q}{where} ORDER BY random() LIMIT %s", (n,))  # noqa: S608
    names = [d.name for d in cur.description or ()]
    return Sample(names, cur.fetchall(), "random rows (ORDER BY random())")


def _integer_key(table: Any) -> Any:
    """The one-column integer primary key of a reflected SQLAlchemy table, else ``None``."""
    pk = list(table.primary_key.columns)
    if len(pk) != 1:
        return None
    try:
        python_type = pk[0].type.python_type
    except NotImplementedError:
        return None
    return pk[0] if python_type is int else None


def sample_sqlalchemy(
    conn: Any, table: Any, n: int, columns: Sequence[str] | None = None, not_null: str | None = None
) -> Sample:
    """``conn``: a SQLAlchemy connection; ``table``: the reflected ``sa.Table``."""
    import sqlalchemy as sa  # noqa: PLC0415 (only for other dialects)

    chosen = [table.c[c] for c in columns] if columns is not None else list(table.c)
    names = [c.name for c in chosen]
    cond = table.c[not_null].isnot(None) if not_null else sa.true()
    total = conn.execute(sa.select(sa.func.count()).select_from(table).where(cond)).scalar_one()
    if total <= n:
        rows = conn.execute(sa.select(*chosen).where(cond)).fetchall()
        return Sample(names, [tuple(r) for r in rows], "all rows")
    key = _integer_key(table)
    if key is not None:
        lo, hi = conn.execute(sa.select(sa.func.min(key), sa.func.max(key)).where(cond)).one()
        picked: dict[Any, tuple[Any, ...]] = {}
        probe = sa.select(key, *chosen).where(cond, key >= sa.bindparam("r")).order_by(key).limit(1)
        for _ in range(_KEY_DRAW_ROUNDS * n):
            if len(picked) >= n:
                break
            hit = conn.execute(probe, {"r": _rng.randint(int(lo), int(hi))}).first()
            if hit is not None:
                picked.setdefault(hit[0], tuple(hit[1:]))
        return Sample(
            names,
            list(picked.values()),
            f"random key ranges on integer primary key {key.name} (first row at or above a uniform draw)",
        )
    reservoir: list[tuple[Any, ...]] = []
    result = conn.execution_options(stream_results=True).execute(
        sa.select(*chosen).where(cond).limit(RESERVOIR_SCAN_ROWS)
    )
    for seen, row in enumerate(result, start=1):  # Vitter's algorithm R
        if len(reservoir) < n:
            reservoir.append(tuple(row))
        else:
            j = _rng.randrange(seen)
            if j < n:
                reservoir[j] = tuple(row)
    scope = "all rows" if total <= RESERVOIR_SCAN_ROWS else f"the first {RESERVOIR_SCAN_ROWS} rows"
    return Sample(names, reservoir, f"reservoir sample of {scope} (no integer primary key)")
