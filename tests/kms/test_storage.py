"""The storage protocol on every backend: CAS, atomic commits, revisions, listing, threads.

PostgreSQL runs when GUOMI_TEST_POSTGRES_URL is set (CI); memory and SQLite always.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from guomi.kms.storage import (
    Delete,
    MemoryStorage,
    Put,
    SQLiteStorage,
    Storage,
    StorageConflict,
    open_storage,
)


def test_get_missing_is_none(storage: Storage) -> None:
    assert storage.get("nope") is None


def test_put_get_and_revisions_increase(storage: Storage) -> None:
    r1 = storage.commit([Put("a", b"1")])
    rec = storage.get("a")
    assert rec is not None and rec.value == b"1" and rec.revision == r1
    r2 = storage.commit([Put("a", b"2", r1)])
    assert r2 > r1
    rec = storage.get("a")
    assert rec is not None and (rec.value, rec.revision) == (b"2", r2)


def test_create_only_if_absent(storage: Storage) -> None:
    storage.commit([Put("k", b"v", 0)])
    with pytest.raises(StorageConflict):
        storage.commit([Put("k", b"w", 0)])
    rec = storage.get("k")
    assert rec is not None and rec.value == b"v"


def test_stale_revision_conflicts_and_changes_nothing(storage: Storage) -> None:
    r1 = storage.commit([Put("k", b"v1")])
    storage.commit([Put("k", b"v2", r1)])
    with pytest.raises(StorageConflict):
        storage.commit([Put("other", b"x", 0), Put("k", b"v3", r1)])
    # Atomic: the first op of the failed commit is not visible either.
    assert storage.get("other") is None
    rec = storage.get("k")
    assert rec is not None and rec.value == b"v2"


def test_multi_record_commit_is_atomic_and_shares_a_revision(storage: Storage) -> None:
    rev = storage.commit([Put("x/1", b"a", 0), Put("x/2", b"b", 0), Put("y", b"c")])
    for p in ("x/1", "x/2", "y"):
        rec = storage.get(p)
        assert rec is not None and rec.revision == rev


def test_delete_with_and_without_expectation(storage: Storage) -> None:
    r = storage.commit([Put("d1", b"1"), Put("d2", b"2")])
    with pytest.raises(StorageConflict):
        storage.commit([Delete("d1", r + 1000)])
    assert storage.get("d1") is not None
    storage.commit([Delete("d1", r), Delete("d2")])
    assert storage.get("d1") is None and storage.get("d2") is None
    storage.commit([Delete("never-there")])


def test_no_aba_after_delete_and_recreate(storage: Storage) -> None:
    r1 = storage.commit([Put("k", b"1", 0)])
    storage.commit([Delete("k", r1)])
    r3 = storage.commit([Put("k", b"again", 0)])
    assert r3 != r1
    with pytest.raises(StorageConflict):
        storage.commit([Put("k", b"stale writer", r1)])


def test_list_prefix_sorted_and_stripped(storage: Storage) -> None:
    storage.commit(
        [
            Put("keyver/a/0000000002", b""),
            Put("keyver/a/0000000001", b""),
            Put("keyver/ab/x", b""),
            Put("keymeta/a", b""),
        ]
    )
    assert storage.list("keyver/a/") == ["0000000001", "0000000002"]
    assert storage.list("keymeta/") == ["a"]
    assert storage.list("nothing/") == []


def test_binary_values_roundtrip(storage: Storage) -> None:
    value = bytes(range(256)) * 4
    storage.commit([Put("bin", value)])
    rec = storage.get("bin")
    assert rec is not None and rec.value == value


def test_concurrent_cas_increments_lose_nothing(storage: Storage) -> None:
    storage.commit([Put("counter", b"0", 0)])
    n_threads, per_thread = 4, 15

    def worker() -> None:
        done = 0
        while done < per_thread:
            rec = storage.get("counter")
            assert rec is not None
            try:
                storage.commit([Put("counter", str(int(rec.value) + 1).encode(), rec.revision)])
            except StorageConflict:
                continue
            done += 1

    threads = [threading.Thread(target=worker) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rec = storage.get("counter")
    assert rec is not None and int(rec.value) == n_threads * per_thread


def test_sqlite_is_durable_across_reopen_and_uses_wal(tmp_path: Path) -> None:
    s = SQLiteStorage(tmp_path / "d" / "guomi.db")
    s.commit([Put("a", b"1")])
    s.close()
    s2 = SQLiteStorage(tmp_path / "d" / "guomi.db")
    rec = s2.get("a")
    assert rec is not None and rec.value == b"1"
    assert s2.pragma("journal_mode") == "wal"
    assert s2.pragma("synchronous") == 2  # FULL
    for suffix in ("", "-wal", "-shm"):
        f = tmp_path / "d" / f"guomi.db{suffix}"
        assert not f.exists() or f.stat().st_mode & 0o077 == 0, suffix
    s2.close()


def test_two_sqlite_handles_on_one_file_see_each_other(tmp_path: Path) -> None:
    a = SQLiteStorage(tmp_path / "g.db")
    b = SQLiteStorage(tmp_path / "g.db")
    r = a.commit([Put("k", b"1", 0)])
    rec = b.get("k")
    assert rec is not None and rec.revision == r
    with pytest.raises(StorageConflict):
        b.commit([Put("k", b"2", 0)])
    a.close()
    b.close()


def test_open_storage_urls(tmp_path: Path) -> None:
    assert isinstance(open_storage("memory://"), MemoryStorage)
    s = open_storage(f"sqlite:///{tmp_path}/x.db")
    assert isinstance(s, SQLiteStorage)
    s.close()
    with pytest.raises(ValueError, match="scheme"):
        open_storage("redis://localhost")
    with pytest.raises(ValueError, match="path"):
        open_storage("sqlite://")


def test_connections_do_not_pile_up_with_thread_churn(storage: Storage) -> None:
    # The ASGI thread pool's workers come and go; connections are pooled, not per thread.
    storage.commit([Put("k", b"v")])
    for _ in range(40):
        t = threading.Thread(target=storage.get, args=("k",))
        t.start()
        t.join()
    pool = getattr(storage, "_pool", None)
    if pool is not None:
        assert len(pool._idle) <= 2


def test_single_record_put_and_delete(storage: Storage) -> None:
    r1 = storage.put("one", b"1", 0)
    with pytest.raises(StorageConflict):
        storage.put("one", b"2", 0)
    r2 = storage.put("one", b"2", r1)
    with pytest.raises(StorageConflict):
        storage.delete("one", r1)
    storage.delete("one", r2)
    assert storage.get("one") is None
