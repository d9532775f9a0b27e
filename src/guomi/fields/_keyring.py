"""Where a field's keys come from: a local :class:`~guomi.keys.Keyset` or the custody service.

Layer: ``guomi.fields`` (imports ``guomi.keys`` only; never ``guomi.client`` or ``guomi.kms``).

A keyring hands :class:`~guomi.fields.Field` a :class:`KeySnapshot`: the key versions'
material (the data keys), which one is primary, and which one keys the blind indexes.

- :class:`LocalKeyring` wraps a :class:`~guomi.keys.Keyset` held in this process (stored
  encrypted at rest with :meth:`~guomi.keys.Keyset.to_encrypted_json`).
- :class:`ServiceKeyring` holds the data keys *wrapped* by a key in the custody service: the
  keyset document written by ``Keyset.to_encrypted_json(aead=service_aead)``. It is unwrapped
  with one ``decrypt`` call the first time a field needs it, then cached in this process for
  ``ttl`` seconds: never a service call per row. Rotating the service key and calling
  :meth:`ServiceKeyring.rewrap` re-encrypts only that document; no row changes.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from guomi.exceptions import InvalidArgumentError
from guomi.keys import INSECURE_CLEARTEXT_KEYSET_ACCESS, Aead, Keyset

__all__ = ["KeySnapshot", "Keyring", "LocalKeyring", "ServiceKeyring", "as_keyring"]


@dataclass(frozen=True, repr=False)
class KeySnapshot:
    """The usable key versions at one moment (material hidden from ``repr``)."""

    generation: object
    primary: int
    #: key id -> 16-byte data key, enabled keys only.
    material: dict[int, bytes] = field(compare=False)
    #: The id of the first key of the keyset (keys the blind indexes unless pinned), and its status.
    first_key: int = 0
    first_status: str = "enabled"

    def __repr__(self) -> str:
        return f"KeySnapshot(primary={self.primary}, keys={sorted(self.material)}, <material hidden>)"


@runtime_checkable
class Keyring(Protocol):
    """Anything that can hand out a :class:`KeySnapshot` and say when it changed."""

    def generation(self) -> object:
        """A cheap value that changes whenever the snapshot would."""
        ...

    def snapshot(self) -> KeySnapshot:
        """The current key versions."""
        ...


def _snapshot_of(keyset: Keyset, generation: object) -> KeySnapshot:
    doc = json.loads(keyset.export_cleartext(access=INSECURE_CLEARTEXT_KEYSET_ACCESS))
    import base64  # noqa: PLC0415 (only on a key change)

    material = {
        int(k["id"]): base64.b64decode(k["material"])
        for k in doc["keys"]
        if k["status"] == "enabled" and "material" in k
    }
    first = doc["keys"][0]
    return KeySnapshot(generation, int(doc["primary"]), material, int(first["id"]), str(first["status"]))


class LocalKeyring:
    """A keyring over a :class:`~guomi.keys.Keyset` in this process; follows its rotations."""

    __slots__ = ("_cache", "_keyset", "_lock")

    def __init__(self, keyset: Keyset) -> None:
        if not isinstance(keyset, Keyset):
            raise InvalidArgumentError("LocalKeyring needs a guomi.keys.Keyset")
        self._keyset = keyset
        self._cache: KeySnapshot | None = None
        self._lock = threading.Lock()

    def generation(self) -> object:
        # Called on every encrypt/index: read the keyset's slots directly (same package family,
        # read-only) instead of building KeyInfo objects; any rotation, status change or
        # destruction changes this tuple.
        ks = self._keyset
        return (ks._primary, *[(k.id, k.status) for k in ks._keys.values()])

    def snapshot(self) -> KeySnapshot:
        gen = self.generation()
        with self._lock:
            if self._cache is None or self._cache.generation != gen:
                self._cache = _snapshot_of(self._keyset, gen)
            return self._cache

    def __repr__(self) -> str:
        return f"LocalKeyring(primary={self._keyset.primary_id})"


class ServiceKeyring:
    """Data keys wrapped by a custody-service key, unwrapped once per process per ``ttl``.

    ``aead`` is any :class:`~guomi.keys.Aead` (``guomi.client.Client(...).aead("name")`` for a
    key in the custody service). ``wrapped`` is the text of
    ``Keyset.to_encrypted_json(aead=aead)`` — see :meth:`create`. Keep one instance per
    process (a module-level object): its cache is what makes the service call once.
    """

    def __init__(self, aead: Aead, wrapped: str, *, ttl: float = 3600.0) -> None:
        if ttl <= 0:
            raise InvalidArgumentError("ttl must be a positive number of seconds")
        self._aead = aead
        self._wrapped = wrapped
        self._wrapped_digest = hashlib.sha256(wrapped.encode()).hexdigest()
        self._ttl = ttl
        self._lock = threading.Lock()
        self._keyset: Keyset | None = None
        self._expires = 0.0
        self._snap: KeySnapshot | None = None
        #: How many times this keyring called the service to unwrap (for tests and metrics).
        self.unwrap_count = 0

    @classmethod
    def create(cls, aead: Aead, *, ttl: float = 3600.0) -> ServiceKeyring:
        """A new keyring with one fresh data key wrapped under ``aead``; store ``.wrapped``."""
        return cls(aead, Keyset.generate().to_encrypted_json(aead=aead), ttl=ttl)

    @property
    def wrapped(self) -> str:
        """The wrapped keyset document to store (safe at rest: encrypted by the service key)."""
        return self._wrapped

    def _unwrapped(self) -> Keyset:
        now = time.monotonic()
        if self._keyset is None or now >= self._expires:
            self._keyset = Keyset.from_encrypted_json(self._wrapped, aead=self._aead)
            self.unwrap_count += 1
            self._expires = now + self._ttl
        return self._keyset

    def _set_wrapped(self, text: str) -> None:
        self._wrapped = text
        self._wrapped_digest = hashlib.sha256(text.encode()).hexdigest()

    def generation(self) -> object:
        # Called on every encrypt/index: a clock read and a tuple, the digest is cached.
        with self._lock:
            self._unwrapped()
            return (self._wrapped_digest, self._expires)

    def snapshot(self) -> KeySnapshot:
        with self._lock:
            ks = self._unwrapped()
            gen = (self._wrapped_digest, self._expires)
            if self._snap is None or self._snap.generation != gen:
                self._snap = _snapshot_of(ks, gen)
            return self._snap

    def rewrap(self, aead: Aead | None = None) -> str:
        """Re-encrypt the data keys under ``aead`` (default: the same service key, at its newest
        version after a rotation). Rows are untouched; returns the new document to store."""
        with self._lock:
            ks = self._unwrapped()
            target = aead if aead is not None else self._aead
            self._set_wrapped(ks.to_encrypted_json(aead=target))
            self._aead = target
            return self._wrapped

    def rotate(self) -> str:
        """Add a new data-key version and make it primary; returns the new document to store."""
        with self._lock:
            ks = self._unwrapped()
            ks.rotate()
            self._set_wrapped(ks.to_encrypted_json(aead=self._aead))
            self._snap = None
            return self._wrapped

    def __repr__(self) -> str:
        return f"ServiceKeyring(ttl={self._ttl}, <keys hidden>)"


def as_keyring(obj: object) -> Keyring:
    """A :class:`Keyset` becomes a :class:`LocalKeyring`; a keyring passes through."""
    if isinstance(obj, Keyset):
        return LocalKeyring(obj)
    if isinstance(obj, Keyring):
        return obj
    raise InvalidArgumentError(
        "keyring must be a guomi.keys.Keyset, a guomi.fields.ServiceKeyring or another Keyring"
    )
