"""The hot-path optimisations change no answer: the fast ASGI routes, decoded-record reuse.

``guomi.kms.http.fast`` answers encrypt / decrypt / rewrap / sign / verify /
hmac and health before FastAPI.  Each case here sends the same request to two
apps over one engine, one with the fast path and one with it switched off
(``app.fast = None``: FastAPI's own routes answer), and compares status,
error body, ``X-Request-Id`` and the audit records each request produced:
one per authenticated request on both, written before the response.

The engine reuses decoded token, policy and key-metadata records while their
stored bytes are unchanged; the last tests show another server's revocation,
policy change and rotation apply on the very next request, and that a tampered
record is authenticated again (and refused).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from guomi import api
from guomi.kms import Config, create_app
from guomi.kms.audit import AuditLog, MemorySink
from guomi.kms.errors import ForbiddenError, StorageIntegrityError, UnauthorizedError
from guomi.kms.http import fast
from guomi.kms.service import Engine, RequestContext
from guomi.kms.storage import MemoryStorage, StorageError
from guomi.kms.storage.sqlite import SQLiteStorage

from .conftest import fresh_pg_url, init_unseal, needs_postgres

PT = base64.b64encode(b"x" * 1024).decode()
LIMIT = 64 * 1024


class Pair:
    """One engine, two apps: ``fast`` (the default) and ``slow`` (FastAPI routes only)."""

    def __init__(self) -> None:
        self.sink = MemorySink()
        self.engine = Engine(MemoryStorage(), AuditLog(self.sink), Config())
        self.root = init_unseal(self.engine).root_token
        caller = self.engine.authenticate(self.root, RequestContext("setup"))
        self.engine.create_key(caller, "orders", api.CreateKeyRequest())
        self.engine.create_key(caller, "signing", api.CreateKeyRequest(type="sm2-sign"))
        self.engine.create_key(caller, "mac", api.CreateKeyRequest(type="hmac-sm3"))
        self.engine.write_policy(
            caller,
            "enc-only",
            api.PolicyRequest(rules=[api.PolicyRule(pattern="orders", capabilities=["encrypt"])]),
        )
        self.limited = self.engine.create_token(caller, api.CreateTokenRequest(policies=["enc-only"])).token
        cfg = Config(auto_rotate_check_interval=0, max_body_bytes=LIMIT)
        self.fast = create_app(cfg, engine=self.engine)
        self.slow = create_app(cfg, engine=self.engine)
        self.slow.fast = None
        assert self.fast.fast is not None
        self.loop = asyncio.new_event_loop()

    def send(self, app: Any, method: str, path: str, **kw: Any) -> tuple[httpx.Response, list[bytes]]:
        before = len(self.sink.lines)

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://kms") as c:
                return await c.request(method, path, **kw)

        r = self.loop.run_until_complete(go())
        return r, self.sink.lines[before:]

    def both(self, method: str, path: str, **kw: Any) -> tuple[httpx.Response, httpx.Response]:
        rf, af = self.send(self.fast, method, path, **kw)
        rs, as_ = self.send(self.slow, method, path, **kw)
        assert rf.status_code == rs.status_code, (rf.text, rs.text)
        assert rf.headers.get("content-type") == rs.headers.get("content-type")
        assert rf.headers["x-request-id"]
        # Same audit records (one per authenticated request), apart from time, seq and chain.
        assert len(af) == len(as_)
        for a, b in zip(af, as_, strict=True):
            ja, jb = json.loads(a), json.loads(b)
            for k in ("time", "seq", "prev", "request_id", "ciphertext"):
                ja.pop(k, None)
                jb.pop(k, None)
            assert ja == jb
        if rf.status_code >= 400:
            assert rf.json() == rs.json()
        return rf, rs


@pytest.fixture
def pair() -> Pair:
    return Pair()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("path", "content", "status"),
    [
        ("encrypt/orders", b'{"plaintext": "', 400),  # malformed JSON
        ("encrypt/orders", b"", 400),  # no body
        ("encrypt/orders", b"[]", 400),  # not an object
        ("encrypt/orders", b'{"plaintext": 5}', 400),  # wrong type
        ("encrypt/orders", b'{"plaintext": "a=b="}', 400),  # bad base64
        ("encrypt/orders", b'{"plaintext": "QQ==", "extra": 1}', 400),  # unknown field
        ("encrypt/orders", b'{"plaintext": "QQ==", "batch_input": [{"plaintext": "QQ=="}]}', 400),
        ("encrypt/orders", b'{"batch_input": []}', 400),
        ("encrypt/nope", b'{"plaintext": "QQ=="}', 404),
        ("encrypt/bad name!", b'{"plaintext": "QQ=="}', 400),
        ("encrypt/signing", b'{"plaintext": "QQ=="}', 400),  # wrong key type
        ("decrypt/orders", b'{"ciphertext": "guomi:v1:1:AAAA"}', 400),
        ("decrypt/orders", b'{"ciphertext": "not a token"}', 400),
        ("sign/orders", b'{"input": "QQ=="}', 400),
        ("verify/signing", b'{"input": "QQ==", "signature": "x"}', 400),
        ("hmac/mac", b'{"input": "QQ=="}', 200),
        ("rewrap/orders", b'{"ciphertext": "guomi:v1:1:AAAA"}', 400),
    ],
)
def test_same_answers_and_audit(pair: Pair, path: str, content: bytes, status: int) -> None:
    for prefix in ("/v1/", "/v1/transit/"):
        rf, _ = pair.both("POST", prefix + path, content=content, headers=bearer(pair.root))
        assert rf.status_code == status, rf.text


def test_authentication_and_policy(pair: Pair) -> None:
    body = {"plaintext": PT}
    rf, _ = pair.both("POST", "/v1/encrypt/orders", json=body)  # no token
    assert rf.status_code == 401
    rf, _ = pair.both("POST", "/v1/encrypt/orders", json=body, headers=bearer("gmt." + "A" * 43))
    assert rf.status_code == 401
    rf, _ = pair.both("POST", "/v1/encrypt/orders", json=body, headers={"Authorization": "Basic abc"})
    assert rf.status_code == 401
    rf, _ = pair.both("POST", "/v1/decrypt/orders", json={"ciphertext": "x"}, headers=bearer(pair.limited))
    assert rf.status_code == 403
    rf, _ = pair.both("POST", "/v1/encrypt/orders", json=body, headers=bearer(pair.limited))
    assert rf.status_code == 200
    # Vault's header.
    rf, _ = pair.both("POST", "/v1/encrypt/orders", json=body, headers={"X-Vault-Token": pair.limited})
    assert rf.status_code == 200


def test_revocation_takes_effect_on_the_next_request(pair: Pair) -> None:
    h = bearer(pair.limited)
    rf, _ = pair.send(pair.fast, "POST", "/v1/encrypt/orders", json={"plaintext": PT}, headers=h)
    assert rf.status_code == 200
    r, _ = pair.send(pair.fast, "POST", "/v1/auth/tokens/revoke", json={"token": pair.limited},
                     headers=bearer(pair.root))  # fmt: skip
    assert r.status_code in (200, 204), r.text
    rf, audit = pair.send(pair.fast, "POST", "/v1/encrypt/orders", json={"plaintext": PT}, headers=h)
    assert rf.status_code == 401
    assert len(audit) == 1 and json.loads(audit[0])["result"] == "denied"


def test_round_trip_across_paths(pair: Pair) -> None:
    h = bearer(pair.root)
    rf, rs = pair.both("POST", "/v1/encrypt/orders", json={"plaintext": PT, "associated_data": "QQ=="},
                       headers=h)  # fmt: skip
    for enc, other in ((rf, pair.slow), (rs, pair.fast)):
        ct = enc.json()["data"]["ciphertext"]
        r, _ = pair.send(other, "POST", "/v1/decrypt/orders",
                         json={"ciphertext": ct, "associated_data": "QQ=="}, headers=h)  # fmt: skip
        assert r.json() == {"data": {"plaintext": PT, "key_version": 1}}
    batch = {"batch_input": [{"plaintext": PT, "reference": "a"}, {"plaintext": PT, "key_version": 9}]}
    rf, rs = pair.both("POST", "/v1/encrypt/orders", json=batch, headers=h)
    for r in (rf, rs):
        res = r.json()["data"]["batch_results"]
        assert res[0]["reference"] == "a" and res[0]["ciphertext"].startswith("guomi:v1:1:")
        assert res[1]["code"] == "invalid_request" and "key_version" in res[1]["error"]
    sig, _ = pair.both("POST", "/v1/sign/signing", json={"input": PT}, headers=h)
    v, _ = pair.both("POST", "/v1/verify/signing",
                     json={"input": PT, "signature": sig.json()["data"]["signature"]}, headers=h)  # fmt: skip
    assert v.json() == {"data": {"valid": True}}


def test_request_id_echoed_and_audited(pair: Pair) -> None:
    h = {**bearer(pair.root), "X-Request-Id": "req-123"}
    for app in (pair.fast, pair.slow):
        r, audit = pair.send(app, "POST", "/v1/encrypt/orders", json={"plaintext": PT}, headers=h)
        assert r.headers["x-request-id"] == "req-123"
        assert json.loads(audit[0])["request_id"] == "req-123"
    r, _ = pair.send(pair.fast, "POST", "/v1/encrypt/orders", json={"plaintext": PT},
                     headers={**h, "X-Request-Id": "bad id;"})  # fmt: skip
    assert r.headers["x-request-id"] != "req-123" and len(r.headers["x-request-id"]) == 32


def test_body_limits(pair: Pair) -> None:
    big = json.dumps({"plaintext": base64.b64encode(b"x" * LIMIT).decode()}).encode()
    rf, _ = pair.both("POST", "/v1/encrypt/orders", content=big, headers=bearer(pair.root))
    assert rf.status_code == 413

    async def chunks() -> Any:  # no Content-Length: counted while streaming
        for _ in range(4):
            yield big[: LIMIT // 2]

    for app in (pair.fast, pair.slow):
        r, audit = pair.send(app, "POST", "/v1/encrypt/orders", content=chunks(), headers=bearer(pair.root))
        assert r.status_code == 413 and r.json()["errors"][0]["code"] == "payload_too_large"
        assert audit == []


def test_other_methods_and_paths_fall_through(pair: Pair) -> None:
    h = bearer(pair.root)
    rf, _ = pair.both("GET", "/v1/encrypt/orders", headers=h)
    assert rf.status_code == 405
    rf, _ = pair.both("POST", "/v1/encrypt/orders/extra", json={"plaintext": PT}, headers=h)
    assert rf.status_code == 404
    rf, _ = pair.both("POST", "/v1/encrypt/", json={"plaintext": PT}, headers=h)
    assert rf.status_code in (404, 405)
    rf, rs = pair.both("GET", "/v1/sys/health")
    assert rf.status_code == 200 and rf.json().keys() == rs.json().keys()
    assert rf.json()["sealed"] is False


# ---------------------------------------------------------------- decoded-record reuse


def _two_servers(tmp_path: Path) -> tuple[Engine, Engine, str]:
    """Two engines (two "servers") on one SQLite file, both unsealed."""
    a = Engine(SQLiteStorage(tmp_path / "kms.db"), AuditLog(MemorySink()), Config())
    init = init_unseal(a)
    b = Engine(SQLiteStorage(tmp_path / "kms.db"), AuditLog(MemorySink()), Config())
    b.unseal(api.UnsealRequest(key=base64.b64decode(init.keys_base64[0])))
    return a, b, init.root_token


def test_revocation_and_policy_changes_by_another_server_apply_at_once(tmp_path: Path) -> None:
    a, b, root_token = _two_servers(tmp_path)
    root_b = b.authenticate(root_token, RequestContext("b"))
    b.create_key(root_b, "orders", api.CreateKeyRequest())
    rules = [api.PolicyRule(pattern="orders", capabilities=["encrypt"])]
    b.write_policy(root_b, "p", api.PolicyRequest(rules=rules))
    token = b.create_token(root_b, api.CreateTokenRequest(policies=["p"])).token
    req = api.EncryptRequest(plaintext=b"x")
    for _ in range(3):  # server A has read (and reuses) the token, policy and key records
        a.encrypt(a.authenticate(token, RequestContext("a")), "orders", req)
    # B narrows the policy: A's next request is denied.
    rules = [api.PolicyRule(pattern="orders", capabilities=["decrypt"])]
    b.write_policy(root_b, "p", api.PolicyRequest(rules=rules))
    with pytest.raises(ForbiddenError):
        a.encrypt(a.authenticate(token, RequestContext("a")), "orders", req)
    # B changes the key: A sees the new version at once.
    b.rotate_key(root_b, "orders")
    assert a.encrypt(a.authenticate(root_token, RequestContext("a")), "orders", req).key_version == 2
    # B revokes the token: A refuses it on the very next request.
    b.revoke_token(root_b, api.RevokeTokenRequest(token=token))
    with pytest.raises(UnauthorizedError):
        a.authenticate(token, RequestContext("a"))


def test_tampered_record_is_authenticated_again() -> None:
    storage = MemoryStorage()
    e = Engine(storage, AuditLog(MemorySink()), Config())
    root_token = init_unseal(e).root_token
    root = e.authenticate(root_token, RequestContext())
    e.create_key(root, "orders", api.CreateKeyRequest())
    e.encrypt(root, "orders", api.EncryptRequest(plaintext=b"x"))  # metadata decoded and kept
    path = "keymeta/orders"
    rec = storage.get(path)
    assert rec is not None
    # Same revision, one flipped bit: must be opened again, and fail authentication.
    storage._data[path] = type(rec)(rec.value[:-1] + bytes([rec.value[-1] ^ 1]), rec.revision)
    with pytest.raises(StorageIntegrityError):
        e.encrypt(root, "orders", api.EncryptRequest(plaintext=b"x"))


def test_health_with_failing_storage_is_a_json_503() -> None:
    class Broken(MemoryStorage):
        def get(self, path: str) -> Any:
            raise StorageError("down")

    engine = Engine(Broken(), AuditLog(MemorySink()), Config())
    app = create_app(Config(auto_rotate_check_interval=0), engine=engine)
    slow = create_app(Config(auto_rotate_check_interval=0), engine=engine)
    slow.fast = None

    async def go(a: Any) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://kms") as c:
            return await c.get("/v1/sys/health")

    rf = asyncio.run(go(app))
    rs = asyncio.run(go(slow))
    assert rf.status_code == rs.status_code == 503
    expected = {"errors": [{"code": "storage_unavailable", "message": "storage unavailable"}]}
    assert rf.json() == rs.json() == expected


def test_prefetch_reads_token_and_metadata_in_one_round_trip() -> None:
    storage = MemoryStorage()
    e = Engine(storage, AuditLog(MemorySink()), Config())
    root_token = init_unseal(e).root_token
    root = e.authenticate(root_token, RequestContext())
    e.create_key(root, "orders", api.CreateKeyRequest())
    ct = e.encrypt(root, "orders", api.EncryptRequest(plaintext=b"x")).ciphertext  # material cached
    before = storage.reads
    e.prefetch(root_token, ("orders",))
    try:
        caller = e.authenticate(root_token, RequestContext())
        e.decrypt(caller, "orders", api.DecryptRequest(ciphertext=ct))
    finally:
        e.end_request()
    assert storage.reads - before == 1
    # Used once: the next request (no prefetch) reads storage again and sees a revocation.
    other = e.create_token(root, api.CreateTokenRequest(policies=["root"])).token
    e.prefetch(other, ("orders",))
    e.end_request()
    e.revoke_token(root, api.RevokeTokenRequest(token=other))
    with pytest.raises(UnauthorizedError):
        e.authenticate(other, RequestContext())


@needs_postgres
def test_postgres_get_many_and_http_on_prefetch() -> None:
    from guomi.kms.storage.postgres import PostgresStorage  # noqa: PLC0415

    storage = PostgresStorage(fresh_pg_url())
    try:
        r1 = storage.put("a/1", b"one")
        storage.put("a/2", b"two")
        got = storage.get_many(["a/2", "missing", "a/1"])
        assert [g.value if g else None for g in got] == [b"two", None, b"one"]
        assert got[2] is not None and got[2].revision == r1
        # The HTTP fast path on PostgreSQL prefetches; revocation still applies at once.
        e = Engine(storage, AuditLog(MemorySink()), Config())
        root_token = init_unseal(e).root_token
        root = e.authenticate(root_token, RequestContext())
        e.create_key(root, "orders", api.CreateKeyRequest())
        token = e.create_token(root, api.CreateTokenRequest(policies=["root"])).token
        app = create_app(Config(auto_rotate_check_interval=0), engine=e)

        async def enc() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://k") as c:
                return await c.post("/v1/encrypt/orders", json={"plaintext": PT}, headers=bearer(token))

        assert asyncio.run(enc()).status_code == 200
        e.revoke_token(root, api.RevokeTokenRequest(token=token))
        assert asyncio.run(enc()).status_code == 401
    finally:
        storage.close()


# ---------------------------------------------------------------- batches: the plain path
#
# encrypt/decrypt batches that are certainly valid skip the request models and per-item
# result objects (fast._plain_batch + Engine.encrypt_batch_json / decrypt_batch_json);
# anything else takes the model path.  These compare both apps byte for byte (ciphertexts
# aside, which are random) and check which path the fast app took.

_TOKEN_RE = re.compile(r'"ciphertext":"guomi:v1:\d+:[A-Za-z0-9_-]+"')


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _batch(pair: Pair, op: str, items: list[Any], **kw: Any) -> tuple[httpx.Response, httpx.Response]:
    content = json.dumps({"batch_input": items}, **kw).encode()
    return pair.both("POST", f"/v1/{op}/orders", content=content, headers=bearer(pair.root))


def _masked(r: httpx.Response) -> str:
    return _TOKEN_RE.sub('"ciphertext":"T"', r.text)


def _decrypt_all(pair: Pair, results: list[dict[str, Any]], ads: list[bytes | None]) -> list[bytes]:
    caller = pair.engine.authenticate(pair.root, RequestContext("check"))
    out = []
    for res, ad in zip(results, ads, strict=True):
        req = api.DecryptRequest(ciphertext=res["ciphertext"], associated_data=ad)
        out.append(pair.engine.decrypt(caller, "orders", req).plaintext or b"")
    return out


def test_batch_encrypt_valid_same_answer(pair: Pair) -> None:
    pts = [bytes([i]) * (i * 37 % 1500) for i in range(50)]  # includes b"" (i = 0)
    ads: list[bytes | None] = [None if i % 3 else b"ad-%d" % i for i in range(50)]
    items: list[dict[str, Any]] = []
    for i, (pt, ad) in enumerate(zip(pts, ads, strict=True)):
        item: dict[str, Any] = {"plaintext": _b64(pt)}
        if ad is not None:
            item["associated_data"] = _b64(ad)
        if i % 4 == 0:
            item["reference"] = f'ref-{i}-\u00e9"\\\n'  # escaping as pydantic does
        elif i % 4 == 1:
            item["associated_data"] = None  # explicit null: as absent
        items.append(item)
    body = json.dumps({"batch_input": items}).encode()
    assert fast._plain_batch("encrypt", body) is not None
    rf, rs = _batch(pair, "encrypt", items)
    assert rf.status_code == 200
    assert _masked(rf) == _masked(rs)
    res_f, res_s = rf.json()["data"]["batch_results"], rs.json()["data"]["batch_results"]
    assert [r.get("reference") for r in res_f] == [it.get("reference") for it in items]
    plain_ads = [ad if it.get("associated_data") else None for ad, it in zip(ads, items, strict=True)]
    assert _decrypt_all(pair, res_f, plain_ads) == pts
    assert _decrypt_all(pair, res_s, plain_ads) == pts


def test_batch_decrypt_tampered_item_in_the_middle(pair: Pair) -> None:
    pts = [b"p%d" % i * 100 for i in range(9)]
    caller = pair.engine.authenticate(pair.root, RequestContext("setup"))
    toks = [
        pair.engine.encrypt(
            caller, "orders", api.EncryptRequest(plaintext=p, associated_data=b"a" if i % 2 else None)
        ).ciphertext
        or ""
        for i, p in enumerate(pts)
    ]
    items: list[dict[str, Any]] = [
        {"ciphertext": t, **({"associated_data": _b64(b"a")} if i % 2 else {}), "reference": f"r{i}"}
        for i, t in enumerate(toks)
    ]
    t = toks[4]
    items[4]["ciphertext"] = t[:-3] + ("A" if t[-3] != "A" else "B") + t[-2:]  # tampered
    items[5]["associated_data"] = _b64(b"wrong")  # wrong associated data
    items[6]["ciphertext"] = "not a token"
    del items[7]["reference"]
    body = json.dumps({"batch_input": items}).encode()
    assert fast._plain_batch("decrypt", body) is not None
    rf, rs = _batch(pair, "decrypt", items)
    assert rf.status_code == 200
    assert rf.content == rs.content  # decryption is deterministic: same bytes
    res = rf.json()["data"]["batch_results"]
    assert [r.get("plaintext") for r in res] == [
        None if i in (4, 5, 6) else _b64(p) for i, p in enumerate(pts)
    ]
    assert [r.get("code") for r in res][4:7] == [
        "decryption_failed",
        "decryption_failed",
        "invalid_ciphertext",
    ]
    assert [r.get("reference") for r in res] == [f"r{i}" if i != 7 else None for i in range(9)]


@pytest.mark.parametrize(
    ("op", "items"),
    [
        ("encrypt", [{"plaintext": PT}, {"plaintext": "a=b="}]),  # bad base64
        ("encrypt", [{"plaintext": PT}, {"plaintext": "QQ== "}]),  # trailing whitespace
        ("encrypt", [{"plaintext": PT}, {"plaintext": "QQ"}]),  # unpadded
        ("encrypt", [{"plaintext": PT}, {"plaintext": "\u00e9"}]),  # non-ASCII
        ("encrypt", [{"plaintext": PT}, {"plaintext": 5}]),  # wrong type
        ("encrypt", [{"plaintext": PT}, {"plaintext": None}]),  # null
        ("encrypt", [{"plaintext": PT}, {"associated_data": "QQ=="}]),  # missing plaintext
        ("encrypt", [{"plaintext": PT, "associated_data": "QQ="}]),  # bad associated_data
        ("encrypt", [{"plaintext": PT, "associated_data": 1}]),
        ("encrypt", [{"plaintext": PT, "reference": 7}]),
        ("encrypt", [{"plaintext": PT, "extra": 1}]),  # unknown field
        ("encrypt", [{"plaintext": PT}, "QQ=="]),  # item not an object
        ("encrypt", [{"plaintext": PT, "key_version": 1}, {"plaintext": PT, "key_version": 9}]),
        ("encrypt", [{"plaintext": PT, "key_version": True}]),
        ("encrypt", []),  # empty batch
        ("decrypt", [{"ciphertext": 5}]),
        ("decrypt", [{"plaintext": PT}]),  # missing ciphertext, unknown field
        ("decrypt", [{"ciphertext": "x", "associated_data": "%%%="}]),
        ("decrypt", []),
    ],
)
def test_batch_invalid_items_same_answer(pair: Pair, op: str, items: list[Any]) -> None:
    body = json.dumps({"batch_input": items}).encode()
    plain = fast._plain_batch(op, body)
    rf, rs = _batch(pair, op, items)
    assert _masked(rf) == _masked(rs)
    if plain is None:  # the model path answered: 400 naming the field, or per-item errors
        assert rf.status_code == 400 or "key_version" in body.decode(), rf.text
    else:
        assert items == []
        assert rf.json()["errors"][0]["code"] == "invalid_request"


def test_batch_whole_request_shapes_take_the_model_path(pair: Pair) -> None:
    for content in (
        b'{"batch_input": {"plaintext": "QQ=="}}',
        b'{"batch_input": null}',
        b'{"batch_input": [{"plaintext": "QQ=="}], "plaintext": "QQ=="}',
        b'{"batch_input": [{"plaintext": "QQ=="}], "key_version": 1}',
        b'{"batch_input": [{"plaintext": "QQ=="}]',  # malformed JSON
    ):
        assert fast._plain_batch("encrypt", content) is None
        rf, rs = pair.both("POST", "/v1/encrypt/orders", content=content, headers=bearer(pair.root))
        assert _masked(rf) == _masked(rs)


def test_batch_over_the_maximum_and_authorisation(pair: Pair) -> None:
    pair.engine.config.max_batch_items = 3
    for op, item in (("encrypt", {"plaintext": PT}), ("decrypt", {"ciphertext": "guomi:v1:1:AAAA"})):
        rf, _ = _batch(pair, op, [item] * 4)
        assert rf.status_code == 413
        assert rf.json()["errors"][0]["code"] == "batch_too_large"
        rf, _ = _batch(pair, op, [item] * 3)
        assert rf.status_code == 200
    # Plain path: still authenticated and authorised before anything is done (and audited).
    content = json.dumps({"batch_input": [{"plaintext": PT}]}).encode()
    rf, _ = pair.both("POST", "/v1/encrypt/orders", content=content)
    assert rf.status_code == 401
    rf, _ = pair.both("POST", "/v1/decrypt/orders", content=content, headers=bearer(pair.limited))
    assert rf.status_code == 400  # plaintext is not a decrypt item field: the model path's 400
    dec = json.dumps({"batch_input": [{"ciphertext": "x"}]}).encode()
    rf, _ = pair.both("POST", "/v1/decrypt/orders", content=dec, headers=bearer(pair.limited))
    assert rf.status_code == 403
    rf, _ = pair.both("POST", "/v1/encrypt/signing", content=content, headers=bearer(pair.root))
    assert rf.status_code == 400
    rf, _ = pair.both("POST", "/v1/decrypt/signing", content=dec, headers=bearer(pair.root))
    assert rf.status_code == 400


def test_batch_encrypt_fresh_nonce_per_item(pair: Pair) -> None:
    # The plain path draws the batch's nonces in one os.urandom call: each item still
    # gets its own (docs/spec/token.md: nonce after the 6-byte header).
    rf, _ = _batch(pair, "encrypt", [{"plaintext": "QQ=="}] * 64)
    toks = [r["ciphertext"] for r in rf.json()["data"]["batch_results"]]
    nonces = {api.parse_text(t)[1][6:18] for t in toks}
    assert len(nonces) == len(toks) == 64
    assert _decrypt_all(pair, [{"ciphertext": t} for t in toks], [None] * 64) == [b"A"] * 64
