"""The storage protocol every backend implements (memory, SQLite, PostgreSQL).

Layer: ``guomi.kms.storage``.  Storage sees only opaque bytes under string
paths: everything but the seal configuration and the wrapped keyring is
encrypted by the barrier (``guomi.kms.barrier``) before it gets here.

Semantics every backend guarantees (and ``tests/kms/test_storage.py`` checks
on each):

* every record has a **revision**, a positive integer drawn from one
  store-wide increasing counter, so a record deleted and created again never
  reuses an old revision (no ABA in compare-and-set);
* :meth:`Storage.commit` applies a list of puts and deletes **atomically**:
  either all of them are durable or none is, and each may carry an expected
  revision (``0``: the record must not exist; ``n``: it must be at revision
  ``n``; ``None``: unconditional).  Any mismatch raises
  :class:`StorageConflict` and changes nothing;
* reads are never served from a cache that could hide another server's write.

:meth:`Storage.get_many` reads several records in one round trip (PostgreSQL does
it in one query; the others loop): :class:`~guomi.kms.storage.ReadAheadStorage`
uses it to fetch a request's token record and key metadata together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from guomi.exceptions import GuomiError

__all__ = ["Delete", "Op", "Put", "Record", "SingleOps", "Storage", "StorageConflict", "StorageError"]


class StorageError(GuomiError):
    """The backend failed (I/O, connection); the message names no stored value."""


class StorageConflict(StorageError):
    """A compare-and-set expectation did not hold; nothing was written."""


@dataclass(frozen=True, slots=True)
class Record:
    """A stored value and its revision."""

    value: bytes
    revision: int

    def __repr__(self) -> str:
        return f"Record(<{len(self.value)} bytes>, revision={self.revision})"


@dataclass(frozen=True, slots=True)
class Put:
    """Write ``value`` at ``path`` if the record's revision is ``expected``."""

    path: str
    value: bytes
    expected: int | None = None

    def __repr__(self) -> str:
        return f"Put({self.path!r}, <{len(self.value)} bytes>, expected={self.expected})"


@dataclass(frozen=True, slots=True)
class Delete:
    """Remove ``path`` if the record's revision is ``expected`` (``None``: if present)."""

    path: str
    expected: int | None = None


Op = Put | Delete


@runtime_checkable
class Storage(Protocol):
    """A transactional key-value store with compare-and-set."""

    #: ``memory``, ``sqlite`` or ``postgresql``.
    kind: str

    def get(self, path: str) -> Record | None:
        """The record at ``path``, or ``None``."""
        ...

    def get_many(self, paths: Sequence[str]) -> list[Record | None]:
        """The records at ``paths`` (``None`` where absent), in one round trip where possible."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Sorted paths starting with ``prefix``, with the prefix removed."""
        ...

    def commit(self, ops: Sequence[Op]) -> int:
        """Applies ``ops`` atomically; returns the revision given to the written records."""
        ...

    def put(self, path: str, value: bytes, expected: int | None = None) -> int:
        """One-record :meth:`commit`; returns the new revision."""
        ...

    def delete(self, path: str, expected: int | None = None) -> None:
        """One-record delete through :meth:`commit`."""
        ...

    def close(self) -> None:
        """Releases connections and files."""
        ...


class SingleOps:
    """``put`` / ``delete`` for backends that implement ``commit`` (and a looping ``get_many``)."""

    def get(self, path: str) -> Record | None:  # pragma: no cover - overridden
        raise NotImplementedError

    def get_many(self, paths: Sequence[str]) -> list[Record | None]:
        """One :meth:`get` per path (backends with a cheaper way override it)."""
        return [self.get(p) for p in paths]

    def commit(self, ops: Sequence[Op]) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def put(self, path: str, value: bytes, expected: int | None = None) -> int:
        """Writes one record (compare-and-set when ``expected`` is given)."""
        return self.commit([Put(path, value, expected)])

    def delete(self, path: str, expected: int | None = None) -> None:
        """Removes one record (compare-and-set when ``expected`` is given)."""
        self.commit([Delete(path, expected)])
