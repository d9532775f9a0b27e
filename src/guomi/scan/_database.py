"""Sample the columns of database tables and classify them.

Layer: ``guomi.scan``. SQLite URLs (``sqlite:///path``) are read with the standard
library, read-only; ``postgresql://`` with psycopg (a core dependency); any other
SQLAlchemy URL (DB2, Oracle, MySQL, ...) through SQLAlchemy when it is installed. A
database that cannot be reached, or a table that cannot be read, is reported with its
error in the finding; nothing here raises for a bad database.

Sampling: ``sample`` rows drawn at random on every backend (:mod:`guomi.scan._sampling`;
each table's finding names the method). Row counts are exact ``COUNT(*)``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from guomi.scan._column import classify_values
from guomi.scan._model import DatabaseFinding, TableFinding
from guomi.scan._sampling import Sample, quote_ident, sample_postgres, sample_sqlalchemy, sample_sqlite

__all__ = ["primary_key_columns", "redact_url", "sample_column", "sample_keyed_column", "scan_database"]


def redact_url(url: str) -> str:
    """``url`` without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _quote(name: str) -> str:
    return quote_ident(name)


def _error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300]


def _columns_of(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    return {name: classify_values((row[i] for row in rows), name=name) for i, name in enumerate(names)}


def _sqlite_path(url: str) -> str:
    # sqlite:///relative.db, sqlite:////abs/path.db, sqlite:///:memory:
    rest = url.split(":///", 1)[1] if ":///" in url else url.removeprefix("sqlite://")
    return rest


def _scan_sqlite(url: str, tables: Iterable[str] | None, sample: int) -> DatabaseFinding:
    path = _sqlite_path(url)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.text_factory = lambda b: b.decode("utf-8", errors="surrogateescape")
        names = (
            list(tables)
            if tables is not None
            else [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
        )
    except sqlite3.Error as exc:
        return DatabaseFinding(redact_url(url), [], error=_error(exc))
    found: list[TableFinding] = []
    try:
        for name in names:
            try:
                q = _quote(name)
                count = int(conn.execute(f"SELECT COUNT(*) FROM {q}").fetchone()[0])  # noqa: S608 (quoted identifier)
                got = sample_sqlite(conn, name, sample)
                found.append(
                    TableFinding(name, count, _columns_of(got.columns, got.rows), sampling=got.method)
                )
            except (sqlite3.Error, ValueError) as exc:
                found.append(TableFinding(name, None, {}, error=_error(exc)))
    finally:
        conn.close()
    return DatabaseFinding(redact_url(url), found)


def _scan_postgres(url: str, tables: Iterable[str] | None, sample: int) -> DatabaseFinding:
    import psycopg  # noqa: PLC0415 (only for PostgreSQL URLs)

    try:
        conn = psycopg.connect(url, connect_timeout=10, autocommit=True)
    except psycopg.Error as exc:
        return DatabaseFinding(redact_url(url), [], error=_error(exc))
    found: list[TableFinding] = []
    with conn:
        try:
            names = (
                list(tables)
                if tables is not None
                else [
                    r[0]
                    for r in conn.execute(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' "
                        "ORDER BY table_name"
                    )
                ]
            )
        except psycopg.Error as exc:
            return DatabaseFinding(redact_url(url), [], error=_error(exc))
        for name in names:
            try:
                q = _quote(name)
                count = int(conn.execute(f"SELECT COUNT(*) FROM {q}").fetchone()[0])  # type: ignore[index]  # noqa: S608
                got = sample_postgres(conn, name, sample)
                found.append(
                    TableFinding(name, count, _columns_of(got.columns, got.rows), sampling=got.method)
                )
            except (psycopg.Error, ValueError) as exc:
                found.append(TableFinding(name, None, {}, error=_error(exc)))
    return DatabaseFinding(redact_url(url), found)


def _scan_sqlalchemy(url: str, tables: Iterable[str] | None, sample: int) -> DatabaseFinding:
    try:
        import sqlalchemy as sa  # noqa: PLC0415 (optional: other databases)
    except ImportError:
        return DatabaseFinding(
            redact_url(url),
            [],
            error="SQLAlchemy is not installed (pip install 'guomi[assess]') for this URL",
        )
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            names = list(tables) if tables is not None else sa.inspect(conn).get_table_names()
            found: list[TableFinding] = []
            for name in names:
                try:
                    table = sa.Table(name, sa.MetaData(), autoload_with=conn)
                    count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                    got = sample_sqlalchemy(conn, table, sample)
                    found.append(
                        TableFinding(
                            name, int(count), _columns_of(got.columns, got.rows), sampling=got.method
                        )
                    )
                except sa.exc.SQLAlchemyError as exc:
                    found.append(TableFinding(name, None, {}, error=_error(exc)))
        engine.dispose()
    except (sa.exc.SQLAlchemyError, ImportError, ValueError) as exc:
        return DatabaseFinding(redact_url(url), [], error=_error(exc))
    return DatabaseFinding(redact_url(url), found)


def scan_database(url: str, tables: Iterable[str] | None = None, sample: int = 1000) -> DatabaseFinding:
    """Sample up to ``sample`` rows of each table (all tables when ``tables`` is None) and classify
    every column. Never raises for an unreachable database: the finding carries ``error``."""
    if sample < 1:
        raise ValueError("sample must be at least 1")
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        return _scan_sqlite(url, tables, sample)
    if scheme in ("postgresql", "postgres"):
        return _scan_postgres(url, tables, sample)
    return _scan_sqlalchemy(url, tables, sample)


def _sample(url: str, table: str, columns: Sequence[str], not_null: str, sample: int) -> Sample:
    """Random rows of ``columns`` where ``not_null`` has a value, on the URL's backend."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        with contextlib.closing(sqlite3.connect(f"file:{_sqlite_path(url)}?mode=ro", uri=True)) as conn:
            conn.text_factory = lambda b: b.decode("utf-8", errors="surrogateescape")
            return sample_sqlite(conn, table, sample, columns, not_null)
    if scheme in ("postgresql", "postgres"):
        import psycopg  # noqa: PLC0415

        with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
            return sample_postgres(conn, table, sample, columns, not_null)
    import sqlalchemy as sa  # noqa: PLC0415

    for name in (table, *columns):
        quote_ident(name)  # the same identifier rules on every backend
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
            for c in columns:
                if c not in reflected.c:
                    raise ValueError(f"table {table!r} has no column {c!r}")
            return sample_sqlalchemy(conn, reflected, sample, columns, not_null)
    finally:
        engine.dispose()


def sample_column(url: str, table: str, column: str, sample: int = 1000) -> list[Any]:
    """Up to ``sample`` non-NULL values of one column, drawn at random (for checks that need
    the values themselves, such as proving through the custody service that sampled
    ciphertexts open). Raises ``ValueError`` for a bad identifier and the driver's error for
    an unreachable database."""
    return [row[0] for row in _sample(url, table, [column], column, sample).rows]


def sample_keyed_column(
    url: str, table: str, column: str, key_column: str, sample: int = 1000
) -> list[tuple[Any, Any]]:
    """Up to ``sample`` random ``(key, value)`` pairs of the rows where ``column`` is not NULL:
    for field values bound to their row (the row context is the ``key_column`` value,
    ``docs/spec/field.md`` §4)."""
    rows = _sample(url, table, [key_column, column], column, sample).rows
    return [(row[0], row[1]) for row in rows]


def primary_key_columns(url: str, table: str) -> list[str]:
    """The primary-key columns of ``table`` (empty if it has none)."""
    quote_ident(table)
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        with contextlib.closing(sqlite3.connect(f"file:{_sqlite_path(url)}?mode=ro", uri=True)) as conn:
            info = conn.execute("SELECT name, pk FROM pragma_table_info(?)", (table,)).fetchall()
            return [name for name, pk in sorted(info, key=lambda r: r[1]) if pk]
    if scheme in ("postgresql", "postgres"):
        import psycopg  # noqa: PLC0415

        with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
            got = conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = to_regclass(%s) AND i.indisprimary ORDER BY a.attnum",
                (quote_ident(table),),
            ).fetchall()
            return [str(r[0]) for r in got]
    import sqlalchemy as sa  # noqa: PLC0415

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(sa.inspect(conn).get_pk_constraint(table).get("constrained_columns") or [])
    finally:
        engine.dispose()
