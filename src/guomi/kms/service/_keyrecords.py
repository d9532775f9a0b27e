"""Key metadata records and the storage paths of keys and their versions.

Layer: ``guomi.kms.service`` (internal).  Storage layout (all through the barrier):

* ``keymeta/<name>``: one small JSON record (type, latest version, minimum
  versions, deletion flag, rotation period, a random ``uid``).  Its storage
  revision is the compare-and-set handle for every change of the key.
* ``keyver/<name>/<version, 10 digits>``: one record per version holding its
  secret.  An operation reads the metadata plus at most the one version it
  uses, so the cost does not grow with the number of versions (Vault keeps all
  versions in one record, which grows without bound).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["KeyMeta", "meta_path", "version_path", "versions_prefix"]


def meta_path(name: str) -> str:
    """Storage path of a key's metadata."""
    return f"keymeta/{name}"


def versions_prefix(name: str) -> str:
    """Storage prefix of a key's version records."""
    return f"keyver/{name}/"


def version_path(name: str, version: int) -> str:
    """Storage path of one version (zero-padded so listings sort numerically)."""
    return f"keyver/{name}/{version:010d}"


@dataclass(frozen=True, slots=True)
class KeyMeta:
    """A key's metadata (no secret)."""

    name: str
    type: str
    uid: str
    latest: int
    min_decryption_version: int
    min_encryption_version: int
    deletion_allowed: bool
    auto_rotate_period: int
    created: float
    last_rotated: float
    revision: int = 0

    def to_json(self) -> bytes:
        """Storage form (without the revision, which belongs to the store)."""
        d = {k: getattr(self, k) for k in self.__slots__ if k != "revision"}
        return json.dumps(d).encode()

    @classmethod
    def from_json(cls, blob: bytes, revision: int) -> KeyMeta:
        """From the storage form."""
        d: dict[str, Any] = json.loads(blob)
        return cls(**d, revision=revision)

    def evolve(self, **changes: Any) -> KeyMeta:
        """A copy with ``changes``."""
        return replace(self, **changes)
