"""Where a job's keys come from, and the per-process cache that unwraps them once.

Layer: ``guomi.bulk``. A :class:`KeySource` is a small picklable description (a local
keyset, or a key name in the custody service plus the address and token to reach it);
:func:`field_for` turns it into a :class:`guomi.fields.Field` through a cache held in
the module, so each worker process (this process for the embedded engine, each Python
worker for Spark) builds its keyring once and every batch after that reuses it: the
service is asked at most once per key version per process, whatever the row count.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

from guomi.bulk import _fieldapi
from guomi.keys import INSECURE_CLEARTEXT_KEYSET_ACCESS, Keyset

__all__ = [
    "KeySource",
    "LocalKeys",
    "ServiceKeys",
    "clear_cache",
    "field_for",
    "key_source",
    "new_wrapped_keys",
]


@dataclass(frozen=True)
class LocalKeys:
    """A local keyset, carried to worker processes in its cleartext JSON form.

    Spark ships a job's closure to its executors; the keyset travels with it (as it would
    with any local key), never in a query plan or a log. ``repr`` shows no key material.
    """

    cleartext: str = field(repr=False)

    @property
    def fingerprint(self) -> str:
        return "local:" + hashlib.sha256(self.cleartext.encode()).hexdigest()[:16]

    def keyring(self) -> Any:
        return Keyset.import_cleartext(self.cleartext, access=INSECURE_CLEARTEXT_KEYSET_ACCESS)


@dataclass(frozen=True)
class ServiceKeys:
    """A key in the custody service: column keys are data keys it wraps (unwrapped once)."""

    name: str
    wrapped: str = field(repr=False)
    addr: str | None = None
    token: str | None = field(default=None, repr=False)
    transport: Any = field(default=None, repr=False, compare=False)
    """Tests: an httpx transport to an in-process service (never pickled to Spark workers)."""

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.wrapped.encode()).hexdigest()[:16]
        return f"kms:{self.addr}:{self.name}:{digest}"

    def keyring(self) -> Any:
        from guomi.client import Client  # noqa: PLC0415

        return _fieldapi.service_keyring(
            Client(self.addr, self.token, transport=self.transport), self.name, self.wrapped
        )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["transport"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


KeySource = LocalKeys | ServiceKeys | Any

_lock = threading.Lock()
_keyrings: dict[str, Any] = {}
_fields: dict[tuple[str, str, str, tuple[str, ...], str], Any] = {}


def key_source(
    keyring: Any = None,
    *,
    kms: str | None = None,
    wrapped_keys: str | None = None,
    addr: str | None = None,
    token: str | None = None,
    transport: Any = None,
) -> Any:
    """A :class:`KeySource` from a Keyset, a keyring object or a service key name."""
    if kms is not None:
        if not wrapped_keys:
            from guomi.bulk._errors import BulkInputError  # noqa: PLC0415

            raise BulkInputError(
                "kms= needs wrapped_keys= (the data-key document wrapped by that service key; "
                "guomi.bulk.new_wrapped_keys makes one)"
            )
        return ServiceKeys(kms, wrapped_keys, addr, token, transport)
    if isinstance(keyring, Keyset):
        return LocalKeys(keyring.export_cleartext(access=INSECURE_CLEARTEXT_KEYSET_ACCESS))
    return keyring


def new_wrapped_keys(
    name: str, *, addr: str | None = None, token: str | None = None, transport: Any = None
) -> str:
    """A fresh data-key document wrapped by the custody-service key ``name`` (store it; it is
    safe at rest): pass it as ``Job(..., kms=name, wrapped_keys=doc)``."""
    from guomi.client import Client  # noqa: PLC0415

    with Client(addr, token, transport=transport) as client:
        return _fieldapi.new_wrapped_keys(client, name)


def _keyring(source: Any) -> Any:
    if not isinstance(source, LocalKeys | ServiceKeys):
        return source  # a keyring object given directly (this process only)
    with _lock:
        ring = _keyrings.get(source.fingerprint)
        if ring is None:
            ring = _keyrings[source.fingerprint] = source.keyring()
        return ring


def field_for(
    source: Any, table: str, column: str, indexes: tuple[str, ...] = (), index_settings: Any = None
) -> Any:
    """The cached field of ``table.column`` under the keys of ``source``; ``index_settings``
    maps an index name to its :class:`guomi.fields.BlindIndex` settings (bits, transform, ...)."""
    ident = source.fingerprint if isinstance(source, LocalKeys | ServiceKeys) else f"obj:{id(source)}"
    chosen = {n: dict(index_settings[n]) for n in indexes if index_settings and n in index_settings}
    key = (ident, table, column, indexes, repr(sorted((n, sorted(v.items())) for n, v in chosen.items())))
    with _lock:
        fld = _fields.get(key)
    if fld is None:
        fld = _fieldapi.make_field(table, column, _keyring(source), indexes, chosen)
        with _lock:
            fld = _fields.setdefault(key, fld)
    return fld


def clear_cache() -> None:
    """Forget every cached keyring and field (tests; a long-lived process after a rotation)."""
    with _lock:
        _keyrings.clear()
        _fields.clear()
