"""Optional extras: which third-party packages each one brings, and the check that says so.

Layer: beside ``guomi.exceptions`` (importable from anywhere; imports only the standard
library and ``guomi.exceptions``). ``pip install guomi`` installs the primitives, keys and
formats with no web server, database driver or CLI library; the rest comes with extras
(``pyproject.toml`` ``[project.optional-dependencies]``, which must list at least the
packages named here). A package that needs an extra imports the guard module of that
extra first, e.g. ``from guomi._extras import server as _requires_server`` at the top of
``guomi/kms/__init__.py``: importing it without the extra raises
:class:`~guomi.exceptions.MissingExtraError` naming ``pip install "guomi[server]"``,
instead of a bare ``ModuleNotFoundError`` from deep inside.

Adding an extra is one entry in :data:`EXTRAS` (plus its list in ``pyproject.toml`` and,
if a package is guarded at import, a two-line guard module here).
"""

from __future__ import annotations

import importlib.util

from guomi.exceptions import MissingExtraError

__all__ = ["EXTRAS", "missing_modules", "require_extra"]

EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    # extra: (what needs it, the top-level modules it must make importable)
    "client": ("the custody-service SDK (guomi.client, guomi.api)", ("httpx", "pydantic")),
    "server": ("the custody service (guomi.kms, guomi server)", ("fastapi", "pydantic", "uvicorn")),
    "cli": ("the guomi command line", ("click", "rich", "httpx", "pydantic")),
    "sql": ("SQLAlchemy field encryption (guomi.sqlalchemy)", ("sqlalchemy",)),
    "django": ("Django field encryption (guomi.django)", ("django",)),
    "bulk": ("table and dataset jobs (guomi.bulk, guomi table)", ("pyarrow", "sqlalchemy")),
    "spark": ("the Spark engine of guomi.bulk", ("pyspark", "pyarrow")),
    "assess": ("the assessment pack's sampling of non-SQLite databases (guomi assess)", ("sqlalchemy",)),
    "hsm": ("the PKCS#11 seal (guomi.kms.seal.pkcs11)", ("pkcs11",)),
}


def missing_modules(extra: str, modules: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The modules of ``extra`` (or just ``modules`` of it) that cannot be imported here."""
    wanted = EXTRAS[extra][1] if modules is None else modules
    return tuple(m for m in wanted if importlib.util.find_spec(m) is None)


def require_extra(extra: str, modules: tuple[str, ...] | None = None, feature: str | None = None) -> None:
    """Raise :class:`MissingExtraError` unless the modules of ``extra`` are importable.

    ``modules`` narrows the check to the part of the extra a feature needs (``guomi.api``
    needs only pydantic, which both the ``client`` and ``server`` extras bring).
    """
    missing = missing_modules(extra, modules)
    if missing:
        raise MissingExtraError(extra, missing, feature or EXTRAS[extra][0])
