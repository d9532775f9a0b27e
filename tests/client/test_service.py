"""The SDK against the real custody-service application, in process (no socket).

Each test gets a fresh service on in-memory storage, initialised and unsealed, and a
client holding its root token (tests/client/conftest.py).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from guomi.client import AsyncClient, Client
from guomi.exceptions import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidSignature,
    InvalidTag,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    SealedError,
    ServiceError,
)
from guomi.keys import Aead, LocalAead, Signer
from guomi.primitives.sm3 import digest as sm3_digest
from tests.client.asgi import SyncASGITransport, make_app, running


def other(transport: SyncASGITransport, token: str | None) -> Client:
    return Client("http://guomi.test", token=token, transport=transport)


def test_health_and_seal_status(root: Client) -> None:
    health = root.health()
    assert health.initialized is True
    assert health.sealed is False
    status = root.seal_status()
    assert status.sealed is False and status.initialized is True


def test_encrypt_decrypt_with_associated_data(root: Client) -> None:
    root.create_key("orders")
    token = root.encrypt("orders", b"4111 1111 1111 1111", b"row-7")
    assert token.startswith("guomi:v1:1:")
    assert root.decrypt("orders", token, b"row-7") == b"4111 1111 1111 1111"
    with pytest.raises(BadRequestError):
        root.decrypt("orders", token, b"row-8")
    with pytest.raises(BadRequestError):
        root.decrypt("orders", token)


def test_empty_and_binary_plaintexts(root: Client) -> None:
    root.create_key("k")
    for pt in (b"", b"\x00", bytes(range(256)) * 5):
        assert root.decrypt("k", root.encrypt("k", pt)) == pt


def test_token_moved_to_other_key_fails(root: Client) -> None:
    root.create_key("a")
    root.create_key("b")
    token = root.encrypt("a", b"secret")
    with pytest.raises(BadRequestError):
        root.decrypt("b", token)


def test_batch_keeps_order_and_reports_item_errors(root: Client) -> None:
    root.create_key("batch")
    pts = [f"item {i}".encode() for i in range(20)]
    results = root.encrypt_batch("batch", pts, associated_data=[str(i).encode() for i in range(20)])
    tokens = [r.unwrap() for r in results]
    tokens[3] = tokens[3][:-4] + ("AAAA" if not tokens[3].endswith("AAAA") else "BBBB")
    back = root.decrypt_batch("batch", tokens, associated_data=[str(i).encode() for i in range(20)])
    assert [r.ok for r in back] == [i != 3 for i in range(20)]
    assert [r.value for i, r in enumerate(back) if i != 3] == [p for i, p in enumerate(pts) if i != 3]
    assert back[3].error


def test_rotate_rewrap_and_min_decryption_version(root: Client) -> None:
    root.create_key("rot")
    v1 = root.encrypt("rot", b"payload")
    root.rotate_key("rot")
    info = root.read_key("rot")
    assert info.latest_version == 2
    assert set(info.keys) == {"1", "2"}
    v2 = root.encrypt("rot", b"payload")
    assert v2.startswith("guomi:v1:2:")
    assert root.decrypt("rot", v1) == b"payload"
    rewrapped = root.rewrap("rot", v1)
    assert rewrapped.startswith("guomi:v1:2:")
    assert root.decrypt("rot", rewrapped) == b"payload"
    batch = root.rewrap_batch("rot", [v1, v2])
    assert all(r.unwrap().startswith("guomi:v1:2:") for r in batch)
    root.configure_key("rot", min_decryption_version=2)
    assert root.read_key("rot").min_decryption_version == 2
    with pytest.raises(BadRequestError):
        root.decrypt("rot", v1)
    assert root.decrypt("rot", rewrapped) == b"payload"


def test_encrypt_with_older_version(root: Client) -> None:
    root.create_key("old")
    root.rotate_key("old")
    token = root.encrypt("old", b"x", key_version=1)
    assert token.startswith("guomi:v1:1:")
    root.configure_key("old", min_encryption_version=2)
    with pytest.raises(BadRequestError):
        root.encrypt("old", b"x", key_version=1)


def test_datakey_plaintext_and_wrapped(root: Client) -> None:
    root.create_key("dek")
    dk = root.datakey("dek", associated_data=b"file-9")
    assert dk.plaintext is not None and len(dk.plaintext) == 16
    assert root.decrypt("dek", dk.ciphertext, b"file-9") == dk.plaintext
    # A local AEAD under the data key: the envelope path for large data.
    local = LocalAead(dk.plaintext)
    assert local.decrypt(local.encrypt(b"bulk")) == b"bulk"
    wrapped = root.datakey("dek", plaintext=False)
    assert wrapped.plaintext is None
    assert len(root.decrypt("dek", wrapped.ciphertext)) == 16


def test_service_aead_satisfies_protocol(root: Client) -> None:
    root.create_key("fields")
    aead = root.aead("fields")
    assert isinstance(aead, Aead)
    ct = aead.encrypt(b"field", b"ctx")
    assert aead.decrypt(ct, b"ctx") == b"field"
    with pytest.raises(InvalidTag):
        aead.decrypt(ct, b"other")
    with pytest.raises(InvalidTag):
        aead.decrypt(ct[:-3], b"ctx")
    with pytest.raises(InvalidTag):
        aead.decrypt(b"\xff\xfe", b"ctx")


def test_sign_verify_and_signer_protocol(root: Client) -> None:
    root.create_key("signing", "sm2-sign")
    sig = root.sign("signing", b"transfer 100")
    assert sig.startswith("guomi:v1:1:")
    assert root.verify("signing", b"transfer 100", sig) is True
    assert root.verify("signing", b"transfer 900", sig) is False
    signer = root.signer("signing")
    assert isinstance(signer, Signer)
    der = signer.sign(b"local check")
    signer.public_key().verify(der, b"local check")
    with pytest.raises(InvalidSignature):
        signer.public_key().verify(der, b"tampered")


def test_sign_user_id_is_bound(root: Client) -> None:
    root.create_key("ids", "sm2-sign")
    sig = root.sign("ids", b"m", user_id="alice@bank.example")
    assert root.verify("ids", b"m", sig, user_id="alice@bank.example") is True
    assert root.verify("ids", b"m", sig) is False
    der = root.signer("ids", user_id="alice@bank.example").sign(b"m2")
    root.signer("ids").public_key().verify(der, b"m2", user_id=b"alice@bank.example")


def test_signatures_survive_rotation(root: Client) -> None:
    root.create_key("srot", "sm2-sign")
    old = root.sign("srot", b"m")
    root.rotate_key("srot")
    new = root.sign("srot", b"m")
    assert new.startswith("guomi:v1:2:")
    assert root.verify("srot", b"m", old) and root.verify("srot", b"m", new)


def test_hmac(root: Client) -> None:
    root.create_key("mac", "hmac-sm3")
    tag = root.hmac("mac", b"account 6222")
    assert tag.startswith("guomi:v1:1:")
    assert root.hmac("mac", b"account 6222") == tag  # deterministic
    assert root.verify_hmac("mac", b"account 6222", tag) is True
    assert root.verify_hmac("mac", b"account 6223", tag) is False


def test_random_and_hash(root: Client) -> None:
    a, b = root.random(32), root.random(32)
    assert len(a) == 32 and a != b
    assert len(root.random(1)) == 1
    assert root.hash(b"abc") == sm3_digest(b"abc")
    assert root.hash(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_key_lifecycle_errors(root: Client) -> None:
    root.create_key("life")
    with pytest.raises(ConflictError):
        root.create_key("life")
    with pytest.raises(NotFoundError):
        root.read_key("missing")
    with pytest.raises(NotFoundError):
        root.encrypt("missing", b"x")
    with pytest.raises(BadRequestError):
        root.create_key("bad", "rot13")
    with pytest.raises(ServiceError):
        root.delete_key("life")  # deletion not allowed
    assert "life" in root.list_keys()
    root.configure_key("life", deletion_allowed=True)
    root.delete_key("life")
    assert "life" not in root.list_keys()


@pytest.mark.parametrize("name", ["", "-lead", "has space", "a/b", "x" * 200, "..", "名字"])
def test_invalid_key_names_are_refused(root: Client, name: str) -> None:
    with pytest.raises((BadRequestError, NotFoundError, ValueError)):
        root.create_key(name)
    assert root.list_keys() == []


def test_backup_restore(root: Client) -> None:
    root.create_key("bk", deletion_allowed=True)
    t1 = root.encrypt("bk", b"one")
    root.rotate_key("bk")
    t2 = root.encrypt("bk", b"two")
    blob = root.backup_key("bk")
    root.delete_key("bk")
    with pytest.raises(NotFoundError):
        root.decrypt("bk", t1)
    root.restore_key(blob)
    assert root.decrypt("bk", t1) == b"one"
    assert root.decrypt("bk", t2) == b"two"
    assert root.read_key("bk").latest_version == 2
    with pytest.raises(ConflictError):
        root.restore_key(blob)
    root.restore_key(blob, name="bk-copy")
    assert root.read_key("bk-copy").latest_version == 2


def test_tokens_and_policies(root: Client, transport: SyncASGITransport) -> None:
    root.create_key("orders-eu")
    root.create_key("payroll")
    root.write_policy("orders-writer", [{"pattern": "orders-*", "capabilities": ["encrypt"]}])
    assert "orders-writer" in root.list_policies()
    assert root.read_policy("orders-writer").rules[0].pattern == "orders-*"
    issued = root.create_token(["orders-writer"], ttl="1h")
    token = issued.token
    assert issued.policies == ["orders-writer"]
    with other(transport, token) as app_client:
        ct = app_client.encrypt("orders-eu", b"x")
        with pytest.raises(PermissionDeniedError):
            app_client.decrypt("orders-eu", ct)
        with pytest.raises(PermissionDeniedError):
            app_client.encrypt("payroll", b"x")
        with pytest.raises(PermissionDeniedError):
            app_client.rotate_key("orders-eu")
        with pytest.raises(PermissionDeniedError):
            app_client.create_token(["root"])
        me = app_client.lookup_self()
        assert me.policies == ["orders-writer"]
        assert "token" not in me
    # A denial changed nothing.
    assert root.read_key("orders-eu").latest_version == 1
    root.revoke_token(token)
    with other(transport, token) as revoked, pytest.raises(AuthenticationError):
        revoked.encrypt("orders-eu", b"x")


def test_missing_or_wrong_token(transport: SyncASGITransport, root: Client) -> None:
    root.create_key("k")
    with other(transport, None) as anonymous, pytest.raises(AuthenticationError):
        anonymous.encrypt("k", b"x")
    with other(transport, "not-a-token") as bad, pytest.raises(AuthenticationError):
        bad.list_keys()


def test_seal_blocks_key_operations_until_unsealed() -> None:
    with running(make_app(), shares=3, threshold=2) as (root, init):
        root.create_key("s")
        token = root.encrypt("s", b"kept")
        root.seal()
        with pytest.raises(SealedError):
            root.encrypt("s", b"x")
        assert root.health().sealed is True
        progress = root.unseal(init.keys_base64[2])
        assert progress.sealed is True and progress.progress == 1
        assert root.unseal(init.keys_base64[0]).sealed is False
        assert root.decrypt("s", token) == b"kept"


def test_unseal_with_a_wrong_share_fails() -> None:
    with running(make_app(), shares=2, threshold=2) as (root, init):
        root.seal()
        forged = "A" * len(init.keys_base64[0])
        root.unseal(init.keys_base64[0])
        with pytest.raises(ServiceError):
            root.unseal(forged)
        assert root.health().sealed is True


def test_init_twice_conflicts(root: Client) -> None:
    with pytest.raises(ConflictError):
        root.init(1, 1)


def test_async_client_over_asgi_transport() -> None:
    app = make_app()

    async def scenario() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with AsyncClient("http://guomi.test", transport=transport) as anonymous:
            init = await anonymous.init(1, 1)
            await anonymous.unseal(init.keys_base64[0])
        async with AsyncClient("http://guomi.test", init.root_token, transport=transport) as c:
            await c.create_key("async", deletion_allowed=True)
            tokens = await asyncio.gather(*(c.encrypt("async", bytes([i]) * i) for i in range(16)))
            plain = await asyncio.gather(*(c.decrypt("async", t) for t in tokens))
            assert plain == [bytes([i]) * i for i in range(16)]
            await c.rotate_key("async")
            rewrapped = await c.rewrap("async", tokens[5])
            batch = await c.decrypt_batch("async", [rewrapped, tokens[6]])
            await c.create_key("async-sign", "sm2-sign")
            sig = await c.sign("async-sign", b"m")
            return {
                "batch": [r.unwrap() for r in batch],
                "valid": await c.verify("async-sign", b"m", sig),
                "keys": await c.list_keys(),
                "hash": await c.hash(b"abc"),
            }

    out = asyncio.run(scenario())
    assert out["batch"] == [bytes([5]) * 5, bytes([6]) * 6]
    assert out["valid"] is True
    assert sorted(out["keys"]) == ["async", "async-sign"]
    assert out["hash"] == sm3_digest(b"abc")


def test_service_signature_verifies_with_openssl(root: Client, tmp_path: Path) -> None:
    """The DER inside a service signature token is a plain GB/T 32918.2 signature (token.md §8)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    root.create_key("interop", "sm2-sign")
    message = b"ledger 2026-11-24"
    der = root.signer("interop", user_id="bank-A").sign(message)
    pem = root.read_key("interop").keys["1"].public_key
    (tmp_path / "pub.pem").write_text(pem)
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig").write_bytes(der)

    def openssl_verify(distid: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"), "-rawin",
             "-digest", "sm3", "-pkeyopt", f"distid:{distid}", "-in", str(tmp_path / "msg"),
             "-sigfile", str(tmp_path / "sig")],
            capture_output=True, check=False,
        )  # fmt: skip

    good = openssl_verify("bank-A")
    assert good.returncode == 0, good.stderr
    assert openssl_verify("1234567812345678").returncode != 0


def test_big_batches_are_split_under_the_server_limits() -> None:
    from guomi.client import BatchLimits  # noqa: PLC0415

    with running(make_app(max_batch_items=5, max_body_bytes=8192)) as (root, _):
        root.create_key("many")
        plaintexts = [b"%03d" % i * (i % 50) for i in range(40)]
        small = Client("http://guomi.test", token=root.token, transport=root._http._transport,  # type: ignore[attr-defined]
                       batch_limits=BatchLimits(max_items=5, max_body_bytes=8192))  # fmt: skip
        tokens = [r.unwrap() for r in small.encrypt_batch("many", plaintexts)]
        assert [r.unwrap() for r in small.decrypt_batch("many", tokens)] == plaintexts
        with pytest.raises(PayloadTooLargeError):  # unsplit, the server refuses
            root.encrypt_batch("many", plaintexts)
