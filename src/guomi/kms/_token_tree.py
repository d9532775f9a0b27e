"""Tokens as a tree: every token records its parent; revoking one revokes its descendants.

Layer: ``guomi.kms`` (internal; the engine's token operations call it).  Issue
10, finding 1: before, nothing linked a child token to the token that created
it, so revoking a leaked token left every token it had minted working.

Records (all through the barrier):

* ``auth/token/<hmac>``: the :class:`~guomi.kms.auth.TokenEntry` (with ``parent``,
  the creator's accessor);
* ``auth/accessor/<accessor>``: the token's storage id;
* ``auth/child/<parent accessor>/<child accessor>``: the child index that
  revocation walks.

Consistency without locks, across servers sharing one store: creating a
child re-writes the parent's record with a compare-and-set on its revision
in the same atomic commit, and revocation deletes every token of the subtree
with a compare-and-set on the revision it read.  A child created while its
parent is being revoked therefore makes one of the two commits fail, and the
loser retries from fresh reads: either the creation sees the parent gone
(refused) or the revocation sees the new child (revoked with the rest).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from guomi.kms.auth import TokenEntry
from guomi.kms.barrier import Barrier
from guomi.kms.errors import ConflictError, NotFoundError
from guomi.kms.storage import Delete, Op, Put, StorageConflict

__all__ = ["TokenTree"]

_RETRIES = 64
T = TypeVar("T")


def token_path(token_id: str) -> str:
    """Storage path of a token record."""
    return f"auth/token/{token_id}"


def accessor_path(accessor: str) -> str:
    """Storage path of an accessor record."""
    return f"auth/accessor/{accessor}"


def child_path(parent: str, child: str) -> str:
    """Storage path of a child-index entry."""
    return f"auth/child/{parent}/{child}"


class TokenTree:
    """Token records and the parent/child index over one barrier."""

    def __init__(self, barrier: Barrier) -> None:
        self.barrier = barrier

    def _retry(self, attempt: Callable[[], T]) -> T:
        for _ in range(_RETRIES):
            try:
                return attempt()
            except StorageConflict:
                continue
        raise ConflictError("token records kept changing; try again", code="cas_conflict")

    # ------------------------------------------------------------ reads

    def get(self, token_id: str) -> TokenEntry | None:
        """The entry stored under ``token_id`` (fresh read)."""
        rec = self.barrier.get(token_path(token_id))
        return None if rec is None else TokenEntry.from_json(token_id, rec.value, rec.revision)

    def by_accessor(self, accessor: str) -> TokenEntry | None:
        """The entry an accessor names, or ``None``."""
        rec = self.barrier.get(accessor_path(accessor))
        return None if rec is None else self.get(rec.value.decode("ascii"))

    def accessors(self) -> list[str]:
        """Every live token's accessor (sorted)."""
        return self.barrier.list("auth/accessor/")

    def children(self, accessor: str) -> list[str]:
        """Accessors of the tokens ``accessor`` created (direct children)."""
        return self.barrier.list(f"auth/child/{accessor}/")

    def with_policy(self, policy: str) -> list[TokenEntry]:
        """Every live token holding ``policy``."""
        out = []
        for acc in self.accessors():
            entry = self.by_accessor(acc)
            if entry is not None and policy in entry.policies:
                out.append(entry)
        return out

    # ------------------------------------------------------------ writes

    def create(self, entry: TokenEntry, parent: TokenEntry | None) -> None:
        """Stores a new token; with ``parent``, links it as that token's child.

        The parent must still exist, unchanged since it was read, when the commit
        lands (compare-and-set); otherwise the parent is re-read and the creation
        retried, and refused if the parent was revoked meanwhile."""

        def attempt() -> None:
            ops: list[Op] = [
                Put(token_path(entry.token_id), entry.to_json(), 0),
                Put(accessor_path(entry.accessor), entry.token_id.encode("ascii"), 0),
            ]
            if parent is not None:
                current = self.get(parent.token_id)
                if current is None:
                    raise NotFoundError("the parent token was revoked")
                ops.append(Put(child_path(parent.accessor, entry.accessor), b"", 0))
                ops.append(Put(token_path(current.token_id), current.to_json(), current.revision))
            self.barrier.commit(ops)

        self._retry(attempt)

    def renew(self, entry: TokenEntry, expires: float | None) -> TokenEntry:
        """Stores ``entry`` with a new expiry (compare-and-set on its revision)."""
        new = replace(entry, expires=expires)
        rev = self.barrier.commit([Put(token_path(entry.token_id), new.to_json(), entry.revision)])
        return replace(new, revision=rev)

    def revoke(self, token_id: str, *, orphan_children: bool = False) -> list[str]:
        """Revokes a token and (unless ``orphan_children``) every descendant, atomically.

        Returns the revoked accessors (the token's first).  With
        ``orphan_children`` the direct children stay valid and become orphans
        (their ``parent`` cleared): Vault's ``revoke-orphan``, for root only."""

        def attempt() -> list[str]:
            top = self.get(token_id)
            if top is None:
                raise NotFoundError("no such token (already revoked or expired)")
            ops: list[Op] = []
            revoked: list[str] = []
            queue = [top]
            while queue:
                node = queue.pop(0)
                revoked.append(node.accessor)
                ops.append(Delete(token_path(node.token_id), node.revision))
                ops.append(Delete(accessor_path(node.accessor)))
                for child_acc in self.children(node.accessor):
                    ops.append(Delete(child_path(node.accessor, child_acc)))
                    child = self.by_accessor(child_acc)
                    if child is None:
                        continue  # expired and cleaned up, or a stale index entry
                    if orphan_children and node is top:
                        ops.append(
                            Put(
                                token_path(child.token_id),
                                replace(child, parent=None).to_json(),
                                child.revision,
                            )
                        )
                    else:
                        queue.append(child)
            if top.parent is not None:
                ops.append(Delete(child_path(top.parent, top.accessor)))
            self.barrier.commit(ops)
            return revoked

        return self._retry(attempt)
