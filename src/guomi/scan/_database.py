"""Sample the columns of database tables and classify them.

Layer: ``guomi.scan``. SQLite URLs (``sqlite:///path``) are read with the standard
library, read-only; ``postgresql://`` with psycopg (a core dependency); any other
SQLAlchemy URL (DB2, Oracle, MySQL, ...) through SQLAlchemy when it is installed. A
database that cannot be reached, or a table that cannot be read, is reported with its
error in the finding; nothing here raises for a bad database.

Sampling: SQLite draws ``sample`` random rows (by rowid); other databases read the
first ``sample`` rows (portable; say so in a report). Row counts are exact ``COUNT(*)``.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from guomi.scan._column import classify_values
from guomi.scan._model import DatabaseFinding, TableFinding

__all__ = ["redact_url", "sample_column", "scan_database"]

_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?")


def redact_url(url: str) -> str:
    """``url`` without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _quote(name: str) -> str:
    if not _IDENT_RE.fullmatch(name):
        raise ValueError(f"table name {name!r} is not a plain SQL identifier")
    return ".".join(f'"{p}"' for p in name.split("."))


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
                cur = conn.execute(
                    f"SELECT * FROM {q} WHERE rowid IN (SELECT rowid FROM {q} ORDER BY random() LIMIT ?)",  # noqa: S608
                    (sample,),
                )
                cols = [d[0] for d in cur.description]
                rows = cur.fetchall()
                found.append(TableFinding(name, count, _columns_of(cols, rows)))
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
                cur = conn.execute(f"SELECT * FROM {q} LIMIT %s", (sample,))  # noqa: S608
                cols = [d.name for d in cur.description or ()]
                found.append(TableFinding(name, count, _columns_of(cols, cur.fetchall())))
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
                    result = conn.execute(sa.select(table).limit(sample))
                    cols = list(result.keys())
                    found.append(TableFinding(name, int(count), _columns_of(cols, result.fetchall())))
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


def sample_column(url: str, table: str, column: str, sample: int = 1000) -> list[Any]:
    """Up to ``sample`` non-NULL values of one column (for checks that need the values themselves,
    such as proving through the custody service that sampled ciphertexts open). Raises
    ``ValueError`` for a bad identifier and the driver's error for an unreachable database."""
    t, c = _quote(table), _quote(column)
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        with contextlib.closing(sqlite3.connect(f"file:{_sqlite_path(url)}?mode=ro", uri=True)) as conn:
            conn.text_factory = lambda b: b.decode("utf-8", errors="surrogateescape")
            q = f"SELECT {c} FROM {t} WHERE {c} IS NOT NULL ORDER BY random() LIMIT ?"  # noqa: S608
            return [r[0] for r in conn.execute(q, (sample,))]
    if scheme in ("postgresql", "postgres"):
        import psycopg  # noqa: PLC0415

        with psycopg.connect(url, connect_timeout=10) as conn:
            q2 = f"SELECT {c} FROM {t} WHERE {c} IS NOT NULL LIMIT %s"  # noqa: S608
            return [r[0] for r in conn.execute(q2, (sample,))]
    import sqlalchemy as sa  # noqa: PLC0415

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            q3 = sa.text(f"SELECT {c} FROM {t} WHERE {c} IS NOT NULL")  # noqa: S608
            return [r[0] for r in conn.execute(q3).fetchmany(sample)]
    finally:
        engine.dispose()
