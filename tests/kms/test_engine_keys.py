"""Engine without HTTP: keys, versions, rotation, config, deletion, backup/restore, batches, concurrency."""

from __future__ import annotations

import base64
import threading
import time

import pytest

from guomi import api
from guomi.kms.audit import AuditLog, MemorySink
from guomi.kms.config import Config
from guomi.kms.errors import (
    BadRequestError,
    ConflictError,
    DecryptionFailedError,
    NotFoundError,
    PayloadTooLargeError,
)
from guomi.kms.service import Caller, Engine, RequestContext
from guomi.kms.storage import MemoryStorage

from .conftest import FakeClock, init_unseal

AEAD_TYPES = ["sm4-gcm", "aes-256-gcm"]


def enc(e: Engine, c: Caller, name: str, pt: bytes, ad: bytes | None = None, v: int | None = None) -> str:
    r = e.encrypt(c, name, api.EncryptRequest(plaintext=pt, associated_data=ad, key_version=v))
    assert r.ciphertext is not None
    return r.ciphertext


def dec(e: Engine, c: Caller, name: str, ct: str, ad: bytes | None = None) -> bytes:
    r = e.decrypt(c, name, api.DecryptRequest(ciphertext=ct, associated_data=ad))
    assert r.plaintext is not None
    return r.plaintext


@pytest.mark.parametrize("key_type", AEAD_TYPES)
def test_encrypt_decrypt_roundtrip(engine: Engine, root: Caller, key_type: str) -> None:
    info = engine.create_key(root, "k", api.CreateKeyRequest(type=key_type))  # type: ignore[arg-type]
    assert info.latest_version == 1 and info.type == key_type and info.supports_encryption
    for pt in (b"", b"a", bytes(range(256)) * 40):
        ct = enc(engine, root, "k", pt, b"ctx")
        assert ct.startswith("guomi:v1:1:")
        assert dec(engine, root, "k", ct, b"ctx") == pt


def test_create_duplicate_and_invalid_names(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "orders", api.CreateKeyRequest())
    with pytest.raises(ConflictError):
        engine.create_key(root, "orders", api.CreateKeyRequest(type="hmac-sm3"))
    assert engine.read_key(root, "orders").type == "sm4-gcm"
    for bad in ("", "a/b", "../x", "-lead", "x" * 129, "sp ace", "ü"):
        with pytest.raises(BadRequestError) as ei:
            engine.create_key(root, bad, api.CreateKeyRequest())
        assert ei.value.field == "name"
    assert engine.list_keys(root).keys == ["orders"]


def test_unknown_key_is_404(engine: Engine, root: Caller) -> None:
    with pytest.raises(NotFoundError):
        engine.encrypt(root, "ghost", api.EncryptRequest(plaintext=b"x"))
    with pytest.raises(NotFoundError):
        engine.read_key(root, "ghost")


def test_rotation_versions_and_old_ciphertexts(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "k", api.CreateKeyRequest())
    cts = {1: enc(engine, root, "k", b"v1")}
    for v in (2, 3, 4):
        assert engine.rotate_key(root, "k").latest_version == v
        cts[v] = enc(engine, root, "k", f"v{v}".encode())
        assert cts[v].startswith(f"guomi:v1:{v}:")
    for v, ct in cts.items():
        assert dec(engine, root, "k", ct) == f"v{v}".encode()
    # An explicit older version for encryption.
    assert enc(engine, root, "k", b"old", v=2).startswith("guomi:v1:2:")
    info = engine.read_key(root, "k")
    assert sorted(info.keys, key=int) == ["1", "2", "3", "4"]


def test_min_decryption_and_encryption_versions(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "k", api.CreateKeyRequest())
    ct1 = enc(engine, root, "k", b"one")
    engine.rotate_key(root, "k")
    engine.rotate_key(root, "k")
    engine.configure_key(root, "k", api.KeyConfigRequest(min_decryption_version=2))
    with pytest.raises(DecryptionFailedError) as ei:
        dec(engine, root, "k", ct1)
    assert ei.value.code == "key_version_disabled"
    # Rewrap of a disabled version fails too.
    with pytest.raises(DecryptionFailedError):
        engine.rewrap(root, "k", api.RewrapRequest(ciphertext=ct1))
    engine.configure_key(root, "k", api.KeyConfigRequest(min_encryption_version=3))
    with pytest.raises(BadRequestError):
        enc(engine, root, "k", b"x", v=2)
    # Lowering min_decryption_version again re-enables the old ciphertext (Vault semantics).
    engine.configure_key(root, "k", api.KeyConfigRequest(min_decryption_version=1, min_encryption_version=0))
    assert dec(engine, root, "k", ct1) == b"one"
    for bad in (
        api.KeyConfigRequest(min_decryption_version=9),
        api.KeyConfigRequest(min_encryption_version=9),
        api.KeyConfigRequest(min_decryption_version=3, min_encryption_version=2),
    ):
        with pytest.raises(BadRequestError):
            engine.configure_key(root, "k", bad)
    info = engine.read_key(root, "k")
    assert (info.min_decryption_version, info.min_encryption_version) == (1, 0)


def test_rewrap_moves_to_latest_without_returning_plaintext(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "k", api.CreateKeyRequest())
    ct1 = enc(engine, root, "k", b"secret", b"ad")
    engine.rotate_key(root, "k")
    r = engine.rewrap(root, "k", api.RewrapRequest(ciphertext=ct1, associated_data=b"ad"))
    assert r.key_version == 2 and r.ciphertext and r.ciphertext.startswith("guomi:v1:2:")
    assert "plaintext" not in r.model_dump(exclude_none=True)
    assert dec(engine, root, "k", r.ciphertext, b"ad") == b"secret"
    with pytest.raises(DecryptionFailedError):
        engine.rewrap(root, "k", api.RewrapRequest(ciphertext=ct1, associated_data=b"other"))


def test_datakey_plaintext_and_wrapped(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "k", api.CreateKeyRequest())
    p = engine.datakey(root, "k", "plaintext", api.DatakeyRequest(associated_data=b"file-7"))
    assert p.plaintext is not None and len(p.plaintext) == 16
    assert dec(engine, root, "k", p.ciphertext, b"file-7") == p.plaintext
    w = engine.datakey(root, "k", "wrapped", api.DatakeyRequest())
    assert w.plaintext is None
    assert len(dec(engine, root, "k", w.ciphertext)) == 16
    with pytest.raises(NotFoundError):
        engine.datakey(root, "k", "sideways", api.DatakeyRequest())


def test_hmac_and_verify(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "m", api.CreateKeyRequest(type="hmac-sm3"))
    h = engine.hmac(root, "m", api.HmacRequest(input=b"msg")).hmac
    assert h is not None and h.startswith("guomi:v1:1:")
    assert engine.verify(root, "m", api.VerifyRequest(input=b"msg", hmac=h)).valid is True
    assert engine.verify(root, "m", api.VerifyRequest(input=b"msG", hmac=h)).valid is False
    engine.rotate_key(root, "m")
    h2 = engine.hmac(root, "m", api.HmacRequest(input=b"msg")).hmac
    assert h2 is not None and h2 != h and h2.startswith("guomi:v1:2:")
    assert engine.verify(root, "m", api.VerifyRequest(input=b"msg", hmac=h)).valid is True
    with pytest.raises(BadRequestError):
        engine.verify(root, "m", api.VerifyRequest(input=b"msg", hmac="guomi:v1:1:AAAA"))
    with pytest.raises(BadRequestError):
        engine.verify(root, "m", api.VerifyRequest(input=b"msg", signature=h))
    # Wrong operations for key types.
    with pytest.raises(BadRequestError) as ei:
        engine.encrypt(root, "m", api.EncryptRequest(plaintext=b"x"))
    assert ei.value.code == "unsupported_operation"
    engine.create_key(root, "e", api.CreateKeyRequest())
    with pytest.raises(BadRequestError):
        engine.hmac(root, "e", api.HmacRequest(input=b"x"))


def test_random_and_hash(engine: Engine, root: Caller) -> None:
    r = engine.random(root, 32, api.RandomRequest())
    assert len(base64.b64decode(r.random_bytes)) == 32
    assert len(bytes.fromhex(engine.random(root, 8, api.RandomRequest(format="hex")).random_bytes)) == 8
    for n in (0, 1025, -1):
        with pytest.raises(BadRequestError):
            engine.random(root, n, api.RandomRequest())
    # GB/T 32905-2016 Appendix A.1: SM3("abc").
    assert engine.hash(root, api.HashRequest(input=b"abc")).sum == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )


def test_batch_results_in_order_with_per_item_errors(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "k", api.CreateKeyRequest())
    items = [
        api.EncryptItem(plaintext=b"a", reference="r0"),
        api.EncryptItem(plaintext=b"b", key_version=7, reference="r1"),
        api.EncryptItem(plaintext=b"c", associated_data=b"x", reference="r2"),
    ]
    res = engine.encrypt(root, "k", api.EncryptRequest(batch_input=items)).batch_results
    assert res is not None and len(res) == 3
    assert isinstance(res[0], api.EncryptResult) and res[0].reference == "r0"
    assert (
        isinstance(res[1], api.BatchItemError) and res[1].reference == "r1" and "key_version" in res[1].error
    )
    assert isinstance(res[2], api.EncryptResult)
    d_items = [
        api.DecryptItem(ciphertext=res[0].ciphertext),
        api.DecryptItem(ciphertext="garbage"),
        api.DecryptItem(ciphertext=res[2].ciphertext, associated_data=b"x"),
        api.DecryptItem(ciphertext=res[2].ciphertext),
    ]
    out = engine.decrypt(root, "k", api.DecryptRequest(batch_input=d_items)).batch_results
    assert out is not None
    assert isinstance(out[0], api.DecryptResult) and out[0].plaintext == b"a"
    assert isinstance(out[1], api.BatchItemError) and out[1].code == "invalid_ciphertext"
    assert isinstance(out[2], api.DecryptResult) and out[2].plaintext == b"c"
    assert isinstance(out[3], api.BatchItemError) and out[3].code == "decryption_failed"


def test_batch_limits(clock: FakeClock) -> None:
    e = Engine(MemoryStorage(), AuditLog(MemorySink()), Config(max_batch_items=5), clock=clock)
    resp = init_unseal(e)
    root = e.authenticate(resp.root_token, RequestContext())
    e.create_key(root, "k", api.CreateKeyRequest())
    with pytest.raises(PayloadTooLargeError) as ei:
        e.encrypt(root, "k", api.EncryptRequest(batch_input=[api.EncryptItem(plaintext=b"x")] * 6))
    assert ei.value.field == "batch_input"
    with pytest.raises(BadRequestError):
        e.encrypt(root, "k", api.EncryptRequest(batch_input=[]))
    with pytest.raises(BadRequestError):
        e.encrypt(
            root, "k", api.EncryptRequest(plaintext=b"x", batch_input=[api.EncryptItem(plaintext=b"y")])
        )
    with pytest.raises(BadRequestError):
        e.encrypt(root, "k", api.EncryptRequest())
    assert (
        len(
            e.encrypt(
                root, "k", api.EncryptRequest(batch_input=[api.EncryptItem(plaintext=b"x")] * 5)
            ).batch_results
            or []
        )
        == 5
    )


def test_delete_only_when_allowed_and_removes_every_version(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "k", api.CreateKeyRequest())
    engine.rotate_key(root, "k")
    with pytest.raises(BadRequestError) as ei:
        engine.delete_key(root, "k")
    assert ei.value.code == "deletion_not_allowed"
    assert engine.read_key(root, "k").latest_version == 2
    engine.configure_key(root, "k", api.KeyConfigRequest(deletion_allowed=True))
    engine.delete_key(root, "k")
    with pytest.raises(NotFoundError):
        engine.read_key(root, "k")
    assert engine.storage.list("keyver/k/") == [] and engine.storage.list("keymeta/") == []
    # The name can be reused; the new key is unrelated.
    engine.create_key(root, "k", api.CreateKeyRequest())
    assert engine.read_key(root, "k").latest_version == 1


def test_backup_restore_roundtrip_rename_and_force(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "k", api.CreateKeyRequest(deletion_allowed=True))
    engine.rotate_key(root, "k")
    cts = [enc(engine, root, "k", b"one", v=1), enc(engine, root, "k", b"two")]
    blob = engine.backup_key(root, "k").backup
    assert blob.startswith("guomi-backup:v2:k:")
    engine.delete_key(root, "k")
    info = engine.restore_key(root, api.RestoreRequest(backup=blob))
    assert info.latest_version == 2
    assert [dec(engine, root, "k", c) for c in cts] == [b"one", b"two"]
    with pytest.raises(ConflictError):
        engine.restore_key(root, api.RestoreRequest(backup=blob))
    engine.restore_key(root, api.RestoreRequest(backup=blob, force=True))
    # Restoring under another name: old tokens do not open there (the name is in the AD).
    engine.restore_key(root, api.RestoreRequest(backup=blob, name="k-copy"))
    with pytest.raises(DecryptionFailedError):
        dec(engine, root, "k-copy", cts[0])
    assert dec(engine, root, "k-copy", enc(engine, root, "k-copy", b"z")) == b"z"


def test_backup_from_another_installation_or_tampered_is_rejected(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "k", api.CreateKeyRequest())
    blob = engine.backup_key(root, "k").backup
    other = Engine(MemoryStorage(), AuditLog(MemorySink()), Config())
    resp = init_unseal(other)
    oroot = other.authenticate(resp.root_token, RequestContext())
    with pytest.raises(BadRequestError) as ei:
        other.restore_key(oroot, api.RestoreRequest(backup=blob))
    assert ei.value.code == "invalid_backup"
    tampered = blob[:-3] + ("A" if blob[-3] != "A" else "B") + blob[-2:]
    with pytest.raises(BadRequestError):
        engine.restore_key(root, api.RestoreRequest(backup=tampered, name="t"))
    with pytest.raises(BadRequestError):
        engine.restore_key(root, api.RestoreRequest(backup="not a backup", name="t"))
    assert other.storage.list("keymeta/") == []


def test_auto_rotate_lazily_on_use_and_by_scan(engine: Engine, root: Caller, clock: FakeClock) -> None:
    engine.create_key(root, "k", api.CreateKeyRequest(auto_rotate_period="1h"))
    engine.create_key(root, "idle", api.CreateKeyRequest(auto_rotate_period=3600))
    ct = enc(engine, root, "k", b"x")
    clock.advance(3599)
    assert enc(engine, root, "k", b"x").startswith("guomi:v1:1:")
    clock.advance(2)
    assert enc(engine, root, "k", b"x").startswith("guomi:v1:2:")  # lazily rotated on use
    assert enc(engine, root, "k", b"x").startswith("guomi:v1:2:")  # only once per period
    assert dec(engine, root, "k", ct) == b"x"
    assert engine.rotate_due_keys() == ["idle"]
    assert engine.read_key(root, "idle").latest_version == 2
    assert engine.rotate_due_keys() == []
    engine.configure_key(root, "k", api.KeyConfigRequest(auto_rotate_period=0))
    clock.advance(10 * 3600)
    assert enc(engine, root, "k", b"x").startswith("guomi:v1:2:")
    with pytest.raises(BadRequestError):
        engine.configure_key(root, "k", api.KeyConfigRequest(auto_rotate_period="5s"))
    with pytest.raises(BadRequestError):
        engine.configure_key(root, "k", api.KeyConfigRequest(auto_rotate_period="soon"))


def test_ten_thousand_versions_cost_constant_reads_per_operation(clock: FakeClock) -> None:
    storage = MemoryStorage()
    e = Engine(storage, AuditLog(MemorySink()), Config(), clock=clock)
    resp = init_unseal(e)
    root = e.authenticate(resp.root_token, RequestContext())
    e.create_key(root, "big", api.CreateKeyRequest())
    # 9,999 rotations through the engine's own rotation (a CAS commit of the new
    # version record plus the metadata each time), then one through the public method.
    for _ in range(9_999):
        e._rotate("big")
    r = e.rotate_key(root, "big")  # and one real rotation on top
    assert r.latest_version == 10_001
    ct_old = enc(e, root, "big", b"old", v=3)

    t0 = time.perf_counter()
    before = storage.reads
    ct = enc(e, root, "big", b"hello")
    assert storage.reads - before <= 2  # metadata + (uncached) the one version used
    before = storage.reads
    assert dec(e, root, "big", ct) == b"hello"
    assert storage.reads - before <= 2
    before = storage.reads
    assert dec(e, root, "big", ct_old) == b"old"
    assert storage.reads - before <= 2
    before = storage.reads
    info = e.read_key(root, "big")
    assert info.latest_version == 10_001 and len(info.keys) == e.config.key_info_versions
    assert storage.reads - before <= 1 + e.config.key_info_versions
    before = storage.reads
    e.rotate_key(root, "big")
    # A rotation reads the metadata and writes two records, whatever the version count
    # (plus the window of versions listed in the returned metadata).
    assert storage.reads - before <= 2 + e.config.key_info_versions
    elapsed = time.perf_counter() - t0
    print(f"10,001-version key: encrypt+decrypt x2+read+rotate in {elapsed * 1000:.1f} ms")


def test_concurrent_rotations_yield_consecutive_versions(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "hot", api.CreateKeyRequest())
    n_threads, per_thread = 4, 10
    seen: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(per_thread):
            v = engine.rotate_key(root, "hot").latest_version
            with lock:
                seen.append(v)

    threads = [threading.Thread(target=worker) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(2, 2 + n_threads * per_thread))
    assert engine.read_key(root, "hot").latest_version == 1 + n_threads * per_thread
    assert engine.storage.list("keyver/hot/") == [f"{v:010d}" for v in range(1, 2 + n_threads * per_thread)]


def test_concurrent_encrypt_rotate_decrypt_loses_nothing(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "k", api.CreateKeyRequest())
    written: list[tuple[str, bytes]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def encryptor(i: int) -> None:
        n = 0
        while not stop.is_set():
            pt = f"{i}-{n}".encode()
            ct = enc(engine, root, "k", pt)
            with lock:
                written.append((ct, pt))
            n += 1

    def rotator() -> None:
        for _ in range(15):
            engine.rotate_key(root, "k")
            time.sleep(0.005)

    threads = [threading.Thread(target=encryptor, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    rotator()
    stop.set()
    for t in threads:
        t.join()
    assert engine.read_key(root, "k").latest_version == 16
    for ct, pt in written:
        assert dec(engine, root, "k", ct) == pt
