"""The token tree's storage logic (``guomi.kms._token_tree``) over a real barrier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from guomi.kms import auth
from guomi.kms._token_tree import TokenTree
from guomi.kms.auth import TokenEntry
from guomi.kms.barrier import Barrier, Keyring
from guomi.kms.errors import NotFoundError
from tests.kms.conftest import BACKENDS, make_storage


@pytest.fixture(params=BACKENDS)
def tree(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TokenTree]:
    # Memory, SQLite and (when GUOMI_TEST_POSTGRES_URL is set) PostgreSQL: the tree relies on
    # each backend's atomic compare-and-set commits.
    storage = make_storage(request.param, tmp_path)
    yield TokenTree(Barrier(storage, Keyring.generate()))
    storage.close()


def make(tree: TokenTree, parent: TokenEntry | None, policies: tuple[str, ...] = ("p",)) -> TokenEntry:
    entry = TokenEntry(
        token_id=auth.new_accessor() * 2,
        accessor=auth.new_accessor(),
        policies=policies,
        created=0.0,
        expires=None,
        parent=None if parent is None else parent.accessor,
    )
    tree.create(entry, None if parent is None else tree.get(parent.token_id))
    stored = tree.get(entry.token_id)
    assert stored is not None
    return stored


def test_revoking_a_token_revokes_its_descendants_only(tree: TokenTree) -> None:
    root = make(tree, None, ("root",))
    a = make(tree, root)
    b = make(tree, a)
    c = make(tree, b)
    sibling = make(tree, root)
    assert tree.children(a.accessor) == [b.accessor]
    revoked = tree.revoke(a.token_id)
    assert revoked == [a.accessor, b.accessor, c.accessor]
    for gone in (a, b, c):
        assert tree.get(gone.token_id) is None and tree.by_accessor(gone.accessor) is None
    assert tree.get(root.token_id) is not None and tree.get(sibling.token_id) is not None
    assert tree.children(root.accessor) == [sibling.accessor]


def test_orphan_revocation_keeps_children_as_orphans(tree: TokenTree) -> None:
    root = make(tree, None, ("root",))
    a = make(tree, root)
    b = make(tree, a)
    c = make(tree, b)
    assert tree.revoke(a.token_id, orphan_children=True) == [a.accessor]
    kept = tree.get(b.token_id)
    assert kept is not None and kept.parent is None
    assert tree.get(c.token_id) is not None  # grandchild untouched
    # b is now a root of its own subtree: revoking it still takes c.
    assert tree.revoke(b.token_id) == [b.accessor, c.accessor]


def test_creating_under_a_revoked_parent_is_refused(tree: TokenTree) -> None:
    root = make(tree, None, ("root",))
    a = make(tree, root)
    stale = tree.get(a.token_id)
    tree.revoke(a.token_id)
    child = TokenEntry(auth.new_accessor() * 2, auth.new_accessor(), ("p",), 0.0, None, parent=a.accessor)
    with pytest.raises(NotFoundError):
        tree.create(child, stale)
    assert tree.get(child.token_id) is None


def test_revocation_racing_a_child_creation_never_leaves_the_child(tree: TokenTree) -> None:
    # The revocation reads the subtree, then a child is created before it commits: the
    # parent's revision changed, so the revocation's commit conflicts and is redone.
    root = make(tree, None, ("root",))
    a = make(tree, root)
    created: list[TokenEntry] = []
    original_commit = tree.barrier.commit

    def commit_after_a_sneaky_child(ops):  # type: ignore[no-untyped-def]
        if not created and any("auth/token/" in getattr(op, "path", "") for op in ops):
            tree.barrier.commit = original_commit  # type: ignore[method-assign]
            created.append(make(tree, a))
        return original_commit(ops)

    tree.barrier.commit = commit_after_a_sneaky_child  # type: ignore[method-assign]
    revoked = tree.revoke(a.token_id)
    assert created and created[0].accessor in revoked
    assert tree.get(created[0].token_id) is None


def test_listing_by_policy_and_accessor(tree: TokenTree) -> None:
    root = make(tree, None, ("root",))
    a = make(tree, root, ("pay",))
    b = make(tree, root, ("pay", "audit"))
    make(tree, root, ("other",))
    assert {e.accessor for e in tree.with_policy("pay")} == {a.accessor, b.accessor}
    assert set(tree.accessors()) >= {root.accessor, a.accessor, b.accessor}
    found = tree.by_accessor(b.accessor)
    assert found is not None and found.policies == ("pay", "audit")
