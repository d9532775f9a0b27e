"""N workers doing random encrypt / decrypt / rotate / rewrap / config on shared keys, in process.

On SQLite (several connections, real transactions) and on PostgreSQL when
GUOMI_TEST_POSTGRES_URL is set.  Invariants at the end: versions are
consecutive (none lost or duplicated) and every ciphertext any worker ever
got back still decrypts to what was encrypted.  (The cross-process variant,
with two server processes on one PostgreSQL, lives with the SDK tests.)
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

from guomi import api
from guomi.kms.audit import AuditLog, MemorySink
from guomi.kms.config import Config
from guomi.kms.service import Engine, RequestContext
from guomi.kms.storage import SQLiteStorage, Storage

from .conftest import fresh_pg_url, init_unseal, needs_postgres

KEYS = ("alpha", "beta")


def _run_mix(storage: Storage, seconds: float, workers: int = 4) -> None:
    e = Engine(storage, AuditLog(MemorySink()), Config())
    resp = init_unseal(e)
    root = e.authenticate(resp.root_token, RequestContext())
    for k in KEYS:
        e.create_key(root, k, api.CreateKeyRequest())
    written: list[tuple[str, str, bytes, bytes]] = []
    rotations = dict.fromkeys(KEYS, 0)
    lock = threading.Lock()
    errors: list[BaseException] = []
    deadline = time.monotonic() + seconds

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while time.monotonic() < deadline:
                k = rng.choice(KEYS)
                op = rng.random()
                if op < 0.45:
                    pt = rng.randbytes(rng.randrange(0, 200))
                    ad = rng.randbytes(4)
                    ct = e.encrypt(root, k, api.EncryptRequest(plaintext=pt, associated_data=ad)).ciphertext
                    assert ct is not None
                    with lock:
                        written.append((k, ct, pt, ad))
                elif op < 0.7:
                    with lock:
                        item = rng.choice(written) if written else None
                    if item is not None:
                        got = e.decrypt(
                            root, item[0], api.DecryptRequest(ciphertext=item[1], associated_data=item[3])
                        )
                        assert got.plaintext == item[2]
                elif op < 0.8:
                    e.rotate_key(root, k)
                    with lock:
                        rotations[k] += 1
                elif op < 0.92:
                    with lock:
                        item = rng.choice(written) if written else None
                    if item is not None:
                        rw = e.rewrap(
                            root, item[0], api.RewrapRequest(ciphertext=item[1], associated_data=item[3])
                        )
                        assert rw.ciphertext is not None
                        with lock:
                            written.append((item[0], rw.ciphertext, item[2], item[3]))
                else:
                    # Config churn that never disables a version in use.
                    e.configure_key(root, k, api.KeyConfigRequest(deletion_allowed=rng.random() < 0.5))
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for k in KEYS:
        info = e.read_key(root, k)
        assert info.latest_version == 1 + rotations[k]
        assert e.storage.list(f"keyver/{k}/") == [f"{v:010d}" for v in range(1, 2 + rotations[k])]
    assert len(written) > 20
    for k, ct, pt, ad in written:
        assert e.decrypt(root, k, api.DecryptRequest(ciphertext=ct, associated_data=ad)).plaintext == pt


def test_random_mix_on_sqlite(tmp_path: Path) -> None:
    s = SQLiteStorage(tmp_path / "mix.db")
    try:
        _run_mix(s, seconds=2.0)
    finally:
        s.close()


@needs_postgres
def test_random_mix_on_postgres() -> None:
    from guomi.kms.storage.postgres import PostgresStorage  # noqa: PLC0415

    s = PostgresStorage(fresh_pg_url())
    try:
        _run_mix(s, seconds=2.0)
    finally:
        s.close()


def test_random_mix_in_memory() -> None:
    from guomi.kms.storage import MemoryStorage  # noqa: PLC0415

    _run_mix(MemoryStorage(), seconds=1.0)
