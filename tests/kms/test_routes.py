"""Contract test of the one HTTP stack: the route table, its dispatcher and its OpenAPI document.

Replaces the former differential test of two stacks (``kms/http/fast.py`` beside the
FastAPI routes).  Checked here for every route of ``guomi.kms.http.ROUTES``: it is
served at its path and its aliases, documented (primary path only) with its request
and response models, answers the declared response model, and each authenticated
request writes exactly one audit record, whatever the outcome.  Then the dispatcher's
own duties (request ids, body limits, 404/405, bearer parsing, the error mapping, any
method token, per-family error styles) and the batch paths: a plain batch and the
model path give the same results, and a schema-invalid item fails alone.
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
from guomi.kms.http import ROUTES, Call, Dispatcher, Reply, Route
from guomi.kms.http.encrypt import plain_batch
from guomi.kms.service import Engine, RequestContext
from guomi.kms.storage import Delete, MemoryStorage, StorageError
from guomi.kms.storage.sqlite import SQLiteStorage

from .conftest import fresh_pg_url, init_unseal, needs_postgres

PT = base64.b64encode(b"x" * 1024).decode()
LIMIT = 64 * 1024


class Stack:
    """One engine behind the one app, with a root token and an encrypt-only token."""

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
        self.app = create_app(Config(auto_rotate_check_interval=0, max_body_bytes=LIMIT), engine=self.engine)
        self.loop = asyncio.new_event_loop()

    def send(self, method: str, path: str, app: Any = None, **kw: Any) -> tuple[httpx.Response, list[bytes]]:
        before = len(self.sink.lines)

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=app or self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://kms") as c:
                return await c.request(method, path, **kw)

        r = self.loop.run_until_complete(go())
        assert r.headers["x-request-id"]
        return r, self.sink.lines[before:]

    def root_call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.send(method, path, headers=bearer(self.root), **kw)[0]


@pytest.fixture
def stack() -> Stack:
    return Stack()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ---------------------------------------------------------------- every route of the table

#: A valid request for every route (path parameters filled in), run in this order.
_SAMPLES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/encrypt/orders", {"plaintext": PT}),
    ("POST", "/decrypt/orders", None),  # filled in from the encrypt answer
    ("POST", "/rewrap/orders", None),
    ("POST", "/sign/signing", {"input": PT}),
    ("POST", "/verify/signing", None),
    ("POST", "/hmac/mac", {"input": PT}),
    ("POST", "/random/{n}", {}),
    ("POST", "/hash", {"input": PT}),
    ("POST", "/datakey/{kind}/orders", {}),
    ("GET", "/keys", None),
    ("POST", "/keys/{name}", {"type": "sm4-gcm", "deletion_allowed": True}),
    ("GET", "/keys/{name}", None),
    ("POST", "/keys/{name}/rotate", None),
    ("POST", "/keys/{name}/config", {"min_decryption_version": 1}),
    ("POST", "/keys/{name}/trim", {"min_available_version": 1}),
    ("GET", "/keys/{name}/backup", None),
    ("DELETE", "/keys/{name}", None),
    ("POST", "/keys/restore", None),
    ("POST", "/auth/tokens", {"policies": ["enc-only"]}),
    ("GET", "/auth/tokens/self", None),
    ("POST", "/auth/tokens/lookup", {}),
    ("POST", "/auth/tokens/renew", {}),
    ("GET", "/auth/tokens/accessors", None),
    ("GET", "/auth/tokens/policy/{name}", None),
    ("POST", "/sys/audit/verify", {"records": []}),
    ("POST", "/sys/audit/checkpoint", None),
    ("PUT", "/policies/{name}", {"rules": [{"pattern": "x-*", "capabilities": ["read"]}]}),
    ("GET", "/policies", None),
    ("GET", "/policies/{name}", None),
    ("DELETE", "/policies/{name}", None),
    ("POST", "/auth/tokens/revoke", None),
    ("GET", "/sys/health", None),
    ("GET", "/sys/seal-status", None),
    ("POST", "/sys/unseal", {"reset": True}),
    ("POST", "/sys/init", {"secret_shares": 1, "secret_threshold": 1}),  # 409: already initialised
    ("GET", "/sys/state", None),
    ("POST", "/sys/seal", None),
]


def _route_of(method: str, path: str) -> Route:
    segs = path.strip("/").split("/")
    for r in ROUTES:
        rs = r.segments()
        same_shape = r.method == method and len(rs) == len(segs)
        if same_shape and all(a == b or a.startswith("{") for a, b in zip(rs, segs, strict=True)):
            return r
    raise AssertionError(f"no route for {method} {path}")


def test_every_route_is_served_documented_and_answers_its_model(stack: Stack) -> None:
    doc = stack.send("GET", "/v1/openapi.json")[0].json()
    assert {(m, "/v1" + r.path.replace(":int", "")) for r in ROUTES for m in [r.method]} == {
        (m.upper(), p) for p, ops in doc["paths"].items() for m in ops
    }
    sampled = set()
    answers: dict[str, Any] = {}
    for method, template, sample in _SAMPLES:
        body = sample
        path = template.replace("{n}", "16").replace("{kind}", "wrapped").replace("{name}", "tmp")
        if template == "/decrypt/orders" or template == "/rewrap/orders":
            body = {"ciphertext": answers["/encrypt/orders"]["ciphertext"]}
        if template == "/verify/signing":
            body = {"input": PT, "signature": answers["/sign/signing"]["signature"]}
        if template == "/keys/restore":
            body = {"backup": answers["/keys/{name}/backup"]["backup"], "name": "tmp"}
        if template == "/auth/tokens/revoke":
            body = {"token": answers["/auth/tokens"]["token"]}
        route = _route_of(method, path)
        sampled.add((route.method, route.path))
        kw: dict[str, Any] = {} if body is None else {"json": body}
        r, audit = stack.send(method, "/v1" + path, headers=bearer(stack.root), **kw)
        expected = 409 if template == "/sys/init" else (204 if route.response is None else 200)
        assert r.status_code == expected, (method, path, r.text)
        if route.auth:
            # sys/audit/checkpoint appends the signed checkpoint record before the request's own.
            records = 2 if template == "/sys/audit/checkpoint" else 1
            assert len(audit) == records and json.loads(audit[-1])["path"] == path.strip("/"), audit
        if r.status_code == 200:
            if route.wrap:
                answers[template] = (
                    api.DataResponse[route.response].model_validate_json(r.content).data.model_dump()
                )  # type: ignore[name-defined]
            else:
                assert route.response is not None
                route.response.model_validate_json(r.content)
        else:
            assert r.content == b"" or api.ErrorResponse.model_validate_json(r.content)
    assert sampled == {(r.method, r.path) for r in ROUTES}


def test_aliases_are_served_but_not_documented(stack: Stack) -> None:
    doc = stack.send("GET", "/v1/openapi.json")[0].json()
    assert not any(p.startswith("/v1/transit") for p in doc["paths"])
    for route in ROUTES:
        for alias in route.aliases:
            path = "/v1" + alias + route.path.replace("{name}", "orders").replace("{n:int}", "8")
            path = path.replace("{kind}", "wrapped")
            r, _ = stack.send(route.method, path, headers=bearer(stack.root), json={})
            assert r.status_code not in (404, 405) or "no key" in r.text, (path, r.text)
    assert stack.send("GET", "/v1/docs")[0].headers["content-type"].startswith("text/html")


# ---------------------------------------------------------------- the dispatcher's duties


@pytest.mark.parametrize(
    ("path", "content", "status", "code"),
    [
        ("encrypt/orders", b'{"plaintext": "', 400, "invalid_json"),
        ("encrypt/orders", b"", 400, "invalid_request"),
        ("encrypt/orders", b"[]", 400, "invalid_request"),
        ("encrypt/orders", b'{"plaintext": 5}', 400, "invalid_request"),
        ("encrypt/orders", b'{"plaintext": "a=b="}', 400, "invalid_request"),
        ("encrypt/orders", b'{"plaintext": "QQ==", "extra": 1}', 400, "invalid_request"),
        ("encrypt/orders", b'{"plaintext": "QQ==", "batch_input": [{"plaintext": "QQ=="}]}', 400, None),
        ("encrypt/orders", b'{"batch_input": []}', 400, "invalid_request"),
        ("encrypt/nope", b'{"plaintext": "QQ=="}', 404, "not_found"),
        ("encrypt/bad name!", b'{"plaintext": "QQ=="}', 400, "invalid_key_name"),
        ("encrypt/signing", b'{"plaintext": "QQ=="}', 400, "unsupported_operation"),
        ("decrypt/orders", b'{"ciphertext": "guomi:v1:1:AAAA"}', 400, None),
        ("decrypt/orders", b'{"ciphertext": "not a token"}', 400, "invalid_ciphertext"),
        ("sign/orders", b'{"input": "QQ=="}', 400, "unsupported_operation"),
        ("verify/signing", b'{"input": "QQ==", "signature": "x"}', 400, "invalid_signature"),
        ("hmac/mac", b'{"input": "QQ=="}', 200, None),
        ("rewrap/orders", b'{"ciphertext": "guomi:v1:1:AAAA"}', 400, None),
        ("random/abc", b"", 400, "invalid_request"),
        ("datakey/other/orders", b"", 400, "invalid_request"),
    ],
)
def test_answers_and_one_audit_record(
    stack: Stack, path: str, content: bytes, status: int, code: str | None
) -> None:
    # guomi's error style; /v1/transit answers in Vault's own (tests/vault/test_vault_shapes.py).
    for prefix in ("/v1/",):
        r, audit = stack.send("POST", prefix + path, content=content, headers=bearer(stack.root))
        assert r.status_code == status, r.text
        if status >= 400:
            err = api.ErrorResponse.model_validate_json(r.content).errors[0]
            assert code is None or err.code == code
        # Rejected before authentication (unparsable body or path): no audit record;
        # otherwise exactly one.
        assert len(audit) <= 1
        if r.status_code == 200 or code in ("not_found", "unsupported_operation", "invalid_key_name"):
            assert len(audit) == 1


def test_authentication_and_policy(stack: Stack) -> None:
    body = {"plaintext": PT}
    cases = [
        ({}, 401),
        (bearer("gmt." + "A" * 43), 401),
        ({"Authorization": "Basic abc"}, 401),
        (bearer(stack.limited), 200),
        ({"X-Vault-Token": stack.limited}, 200),  # Vault's header
    ]
    for headers, status in cases:
        r, audit = stack.send("POST", "/v1/encrypt/orders", json=body, headers=headers)
        assert r.status_code == status and len(audit) == 1
    r, audit = stack.send(
        "POST", "/v1/decrypt/orders", json={"ciphertext": "x"}, headers=bearer(stack.limited)
    )
    assert r.status_code == 403 and json.loads(audit[0])["result"] == "denied"


def test_revocation_takes_effect_on_the_next_request(stack: Stack) -> None:
    h = bearer(stack.limited)
    assert stack.send("POST", "/v1/encrypt/orders", json={"plaintext": PT}, headers=h)[0].status_code == 200
    r = stack.root_call("POST", "/v1/auth/tokens/revoke", json={"token": stack.limited})
    assert r.status_code == 204, r.text
    r, audit = stack.send("POST", "/v1/encrypt/orders", json={"plaintext": PT}, headers=h)
    assert r.status_code == 401
    assert len(audit) == 1 and json.loads(audit[0])["result"] == "denied"


def test_request_id_echoed_and_audited(stack: Stack) -> None:
    h = {**bearer(stack.root), "X-Request-Id": "req-123"}
    for path in ("/v1/encrypt/orders", "/v1/transit/encrypt/orders"):
        r, audit = stack.send("POST", path, json={"plaintext": PT}, headers=h)
        assert r.headers["x-request-id"] == "req-123"
        assert json.loads(audit[0])["request_id"] == "req-123"
    r, _ = stack.send("GET", "/v1/keys", headers=h)
    assert r.headers["x-request-id"] == "req-123"
    r, _ = stack.send(
        "POST", "/v1/encrypt/orders", json={"plaintext": PT}, headers={**h, "X-Request-Id": "bad id;"}
    )
    assert r.headers["x-request-id"] != "req-123" and len(r.headers["x-request-id"]) == 32


def test_body_limits(stack: Stack) -> None:
    big = json.dumps({"plaintext": base64.b64encode(b"x" * LIMIT).decode()}).encode()
    r, audit = stack.send("POST", "/v1/encrypt/orders", content=big, headers=bearer(stack.root))
    assert r.status_code == 413 and r.headers.get("connection") == "close" and audit == []

    async def chunks() -> Any:  # no Content-Length: counted while streaming
        for _ in range(4):
            yield big[: LIMIT // 2]

    for path in ("/v1/encrypt/orders", "/v1/keys/k"):
        r, audit = stack.send("POST", path, content=chunks(), headers=bearer(stack.root))
        assert r.status_code == 413 and r.json()["errors"][0]["code"] == "payload_too_large"
        assert audit == []


def test_unknown_paths_and_methods(stack: Stack) -> None:
    h = bearer(stack.root)
    for method, path, status in [
        ("GET", "/v1/encrypt/orders", 405),
        ("PATCH", "/v1/keys/k", 405),
        ("POST", "/v1/encrypt/orders/extra", 404),
        ("POST", "/v1/encrypt/", 404),
        ("GET", "/v1/no/such/path", 404),
        ("GET", "/elsewhere", 404),
    ]:
        r, audit = stack.send(method, path, headers=h)
        assert r.status_code == status and audit == []
        code = {404: "not_found", 405: "method_not_allowed"}[status]
        assert r.json()["errors"][0]["code"] == code
    r, _ = stack.send("GET", "/v1/sys/health")
    assert r.status_code == 200 and r.json()["sealed"] is False


def test_any_method_token_and_per_family_error_styles(stack: Stack) -> None:
    # What the Vault-compatible surface needs: LIST as a method, {"errors": ["..."]} bodies.
    def vault_errors(code: str, message: str) -> bytes:
        return json.dumps({"errors": [message]}).encode()

    def listing(c: Call) -> Reply:
        return Reply(200, json.dumps({"data": {"keys": c.engine.list_keys(c.who).keys}}).encode())

    extra = Route("LIST", "/transit/keys", listing, body_required=False, errors=vault_errors)
    app = Dispatcher(stack.engine, (*ROUTES, extra), LIMIT, prefix_errors=[("/v1/transit/", vault_errors)])
    r, audit = stack.send("LIST", "/v1/transit/keys", app=app, headers=bearer(stack.root))
    assert r.status_code == 200 and r.json()["data"]["keys"] == ["mac", "orders", "signing"]
    assert len(audit) == 1
    r, _ = stack.send("LIST", "/v1/transit/keys", app=app)
    assert r.status_code == 401 and r.json() == {"errors": ["missing token (Authorization: Bearer <token>)"]}
    r, _ = stack.send("GET", "/v1/transit/nothing", app=app)
    assert r.status_code == 404 and r.json() == {"errors": ["no such path"]}


# ---------------------------------------------------------------- engine behaviour behind the stack


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
    rules = [api.PolicyRule(pattern="orders", capabilities=["decrypt"])]
    b.write_policy(root_b, "p", api.PolicyRequest(rules=rules))
    with pytest.raises(ForbiddenError):
        a.encrypt(a.authenticate(token, RequestContext("a")), "orders", req)
    b.rotate_key(root_b, "orders")
    assert a.encrypt(a.authenticate(root_token, RequestContext("a")), "orders", req).key_version == 2
    b.revoke_token(root_b, api.RevokeTokenRequest(token=token))
    with pytest.raises(UnauthorizedError):
        a.authenticate(token, RequestContext("a"))


def test_tampered_record_is_authenticated_again() -> None:
    storage = MemoryStorage()
    e = Engine(storage, AuditLog(MemorySink()), Config())
    root = e.authenticate(init_unseal(e).root_token, RequestContext())
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

    app = create_app(
        Config(auto_rotate_check_interval=0), engine=Engine(Broken(), AuditLog(MemorySink()), Config())
    )

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kms") as c:
            return await c.get("/v1/sys/health")

    r = asyncio.run(go())
    assert r.status_code == 503
    assert r.json() == {"errors": [{"code": "storage_unavailable", "message": "storage unavailable"}]}


def test_read_ahead_reads_token_and_metadata_in_one_round_trip() -> None:
    storage = MemoryStorage()
    e = Engine(storage, AuditLog(MemorySink()), Config())
    root_token = init_unseal(e).root_token
    root = e.authenticate(root_token, RequestContext())
    e.create_key(root, "orders", api.CreateKeyRequest())
    ct = e.encrypt(root, "orders", api.EncryptRequest(plaintext=b"x")).ciphertext  # material cached
    before = storage.reads
    with e.read_ahead(root_token, ("orders",)):
        caller = e.authenticate(root_token, RequestContext())
        e.decrypt(caller, "orders", api.DecryptRequest(ciphertext=ct))
    assert storage.reads - before == 1
    # Used once and dropped with the block: a revocation applies to the next request.
    other = e.create_token(root, api.CreateTokenRequest(policies=["root"])).token
    with e.read_ahead(other, ("orders",)):
        pass
    e.revoke_token(root, api.RevokeTokenRequest(token=other))
    with pytest.raises(UnauthorizedError):
        e.authenticate(other, RequestContext())


@needs_postgres
def test_postgres_get_many_and_http_with_read_ahead() -> None:
    from guomi.kms.storage.postgres import PostgresStorage  # noqa: PLC0415

    storage = PostgresStorage(fresh_pg_url())
    try:
        r1 = storage.put("a/1", b"one")
        storage.put("a/2", b"two")
        got = storage.get_many(["a/2", "missing", "a/1"])
        assert [g.value if g else None for g in got] == [b"two", None, b"one"]
        assert got[2] is not None and got[2].revision == r1
        storage.commit([Delete("a/1"), Delete("a/2")])  # not barrier records: the engine would refuse them
        e = Engine(storage, AuditLog(MemorySink()), Config())
        root = e.authenticate(init_unseal(e).root_token, RequestContext())
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


# ---------------------------------------------------------------- batches

_TOKEN_RE = re.compile(r'"ciphertext":"guomi:v1:\d+:[A-Za-z0-9_-]+"')


def _masked(text: str) -> str:
    return _TOKEN_RE.sub('"ciphertext":"T"', text)


def _model_path(stack: Stack, op: str, items: list[dict[str, Any]]) -> str:
    """The engine's model path for the same batch, serialised as the stack does."""
    caller = stack.engine.authenticate(stack.root, RequestContext("model"))
    if op == "encrypt":
        res: Any = stack.engine.encrypt(
            caller, "orders", api.EncryptRequest.model_validate({"batch_input": items})
        )
    else:
        res = stack.engine.decrypt(
            caller, "orders", api.DecryptRequest.model_validate({"batch_input": items})
        )
    return '{"data":' + res.model_dump_json(exclude_none=True) + "}"


def _decrypt_all(stack: Stack, results: list[dict[str, Any]], ads: list[bytes | None]) -> list[bytes]:
    caller = stack.engine.authenticate(stack.root, RequestContext("check"))
    out = []
    for res, ad in zip(results, ads, strict=True):
        req = api.DecryptRequest(ciphertext=res["ciphertext"], associated_data=ad)
        out.append(stack.engine.decrypt(caller, "orders", req).plaintext or b"")
    return out


def test_plain_batch_encrypt_answers_as_the_model_path(stack: Stack) -> None:
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
    assert plain_batch("plaintext", True, body) is not None
    r = stack.root_call("POST", "/v1/encrypt/orders", content=body)
    assert r.status_code == 200
    assert _masked(r.text) == _masked(_model_path(stack, "encrypt", items))
    res = r.json()["data"]["batch_results"]
    assert [x.get("reference") for x in res] == [it.get("reference") for it in items]
    plain_ads = [ad if it.get("associated_data") else None for ad, it in zip(ads, items, strict=True)]
    assert _decrypt_all(stack, res, plain_ads) == pts


def test_plain_batch_decrypt_with_failing_items(stack: Stack) -> None:
    pts = [b"p%d" % i * 100 for i in range(9)]
    caller = stack.engine.authenticate(stack.root, RequestContext("setup"))
    toks = [
        stack.engine.encrypt(
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
    assert plain_batch("ciphertext", False, body) is not None
    r = stack.root_call("POST", "/v1/decrypt/orders", content=body)
    assert r.status_code == 200
    assert r.text == _model_path(stack, "decrypt", items)  # deterministic: same bytes
    res = r.json()["data"]["batch_results"]
    assert [x.get("plaintext") for x in res] == [
        None if i in (4, 5, 6) else _b64(p) for i, p in enumerate(pts)
    ]
    assert [x.get("code") for x in res][4:7] == [
        "decryption_failed",
        "decryption_failed",
        "invalid_ciphertext",
    ]
    assert [x.get("reference") for x in res] == [f"r{i}" if i != 7 else None for i in range(9)]


@pytest.mark.parametrize(
    ("op", "bad", "field"),
    [
        ("encrypt", {"plaintext": "a=b="}, "plaintext"),  # bad base64
        ("encrypt", {"plaintext": "QQ== "}, "plaintext"),  # trailing whitespace
        ("encrypt", {"plaintext": "QQ"}, "plaintext"),  # unpadded
        ("encrypt", {"plaintext": "\u00e9"}, "plaintext"),  # non-ASCII
        ("encrypt", {"plaintext": 5}, "plaintext"),  # wrong type
        ("encrypt", {"plaintext": PT, "associated_data": "QQ="}, "associated_data"),
        ("encrypt", {"plaintext": PT, "associated_data": 1}, "associated_data"),
        ("encrypt", {"plaintext": PT, "reference": 7}, "reference"),
        ("encrypt", {"plaintext": PT, "extra": 1}, "extra"),  # unknown field
        ("encrypt", {"plaintext": PT, "key_version": True}, "key_version"),
        ("decrypt", {"ciphertext": 5}, "ciphertext"),
        ("decrypt", {"plaintext": PT}, "plaintext"),  # unknown field
        ("decrypt", {"ciphertext": "x", "associated_data": "%%%="}, "associated_data"),
        ("sign", {"input": "%%"}, "input"),
        ("hmac", {"input": 1}, "input"),
    ],
)
def test_schema_invalid_batch_item_fails_alone(
    stack: Stack, op: str, bad: dict[str, Any], field: str
) -> None:
    key = {"encrypt": "orders", "decrypt": "orders", "sign": "signing", "hmac": "mac"}[op]
    good: dict[str, Any] = {
        "encrypt": {"plaintext": PT},
        "decrypt": {"ciphertext": "guomi:v1:1:AAAA"},
        "sign": {"input": PT},
        "hmac": {"input": PT},
    }[op]
    items = [good, {**bad, "reference": "bad"} if "reference" not in bad else bad, good]
    r, audit = stack.send("POST", f"/v1/{op}/{key}", json={"batch_input": items}, headers=bearer(stack.root))
    assert r.status_code == 200, r.text
    res = r.json()["data"]["batch_results"]
    assert len(res) == 3 and len(audit) == 1
    assert res[1]["code"] == "invalid_request" and f"{field}: " in res[1]["error"]
    if "reference" not in bad:
        assert res[1]["reference"] == "bad"
    if op != "decrypt":  # the good items succeed (a decrypt of "AAAA" fails on its own)
        assert "error" not in res[0] and "error" not in res[2]


def test_batch_whole_request_errors_stay_400(stack: Stack) -> None:
    for content in (
        b'{"batch_input": {"plaintext": "QQ=="}}',
        b'{"batch_input": null, "plaintext": 5}',
        b'{"batch_input": [{"plaintext": "QQ=="}], "plaintext": "QQ=="}',
        b'{"batch_input": [{"plaintext": "x"}], "key_version": "1"}',
        b'{"batch_input": [{"plaintext": "QQ=="}]',  # malformed JSON
        b'{"batch_input": []}',
    ):
        assert plain_batch("plaintext", True, content) is None or content.endswith(b"[]}")
        r = stack.root_call("POST", "/v1/encrypt/orders", content=content)
        assert r.status_code == 400, (content, r.text)


def test_batch_over_the_maximum_and_authorisation(stack: Stack) -> None:
    stack.engine.config.max_batch_items = 3
    for op, item in (("encrypt", {"plaintext": PT}), ("decrypt", {"ciphertext": "guomi:v1:1:AAAA"})):
        r = stack.root_call("POST", f"/v1/{op}/orders", json={"batch_input": [item] * 4})
        assert r.status_code == 413 and r.json()["errors"][0]["code"] == "batch_too_large"
        assert (
            stack.root_call("POST", f"/v1/{op}/orders", json={"batch_input": [item] * 3}).status_code == 200
        )
    content = json.dumps({"batch_input": [{"plaintext": PT}]}).encode()
    assert stack.send("POST", "/v1/encrypt/orders", content=content)[0].status_code == 401
    dec = json.dumps({"batch_input": [{"ciphertext": "x"}]}).encode()
    r, audit = stack.send("POST", "/v1/decrypt/orders", content=dec, headers=bearer(stack.limited))
    assert r.status_code == 403 and len(audit) == 1
    assert stack.root_call("POST", "/v1/encrypt/signing", content=content).status_code == 400
    assert stack.root_call("POST", "/v1/decrypt/signing", content=dec).status_code == 400


def test_batch_encrypt_fresh_nonce_per_item(stack: Stack) -> None:
    # The plain path draws the batch's nonces in one os.urandom call: each item still
    # gets its own (docs/spec/token.md: nonce after the 6-byte header).
    r = stack.root_call("POST", "/v1/encrypt/orders", json={"batch_input": [{"plaintext": "QQ=="}] * 64})
    toks = [x["ciphertext"] for x in r.json()["data"]["batch_results"]]
    nonces = {api.parse_text(t)[1][6:18] for t in toks}
    assert len(nonces) == len(toks) == 64
    assert _decrypt_all(stack, [{"ciphertext": t} for t in toks], [None] * 64) == [b"A"] * 64


def test_batch_result_adapters_write_what_the_models_write() -> None:
    enc: list[Any] = [
        {"ciphertext": "guomi:v1:1:AA", "key_version": 1},
        {"ciphertext": "guomi:v1:2:AB", "key_version": 2, "reference": 'r"\u00e9'},
        {"error": "m", "code": "c"},
        {"error": "m", "code": "c", "reference": "x"},
    ]
    model = api.EncryptResponse.model_validate({"batch_results": enc})
    plain = [{**d, "ciphertext": d["ciphertext"].encode()} if "ciphertext" in d else d for d in enc]
    assert (
        api.ENCRYPT_BATCH_RESULTS.dump_json(plain) == model.model_dump_json(exclude_none=True)[17:-1].encode()
    )
    dec: list[Any] = [{"plaintext": "QQ==", "key_version": 1, "reference": "y"}, {"error": "m", "code": "c"}]
    dmodel = api.DecryptResponse.model_validate({"batch_results": dec})
    dplain = [{**d, "plaintext": d["plaintext"].encode()} if "plaintext" in d else d for d in dec]
    assert (
        api.DECRYPT_BATCH_RESULTS.dump_json(dplain)
        == dmodel.model_dump_json(exclude_none=True)[17:-1].encode()
    )


def test_batch_reply_adapters_write_the_envelope_around_what_the_models_write() -> None:
    """The server's one-pass batch reply bodies are ``{"data": <the response model's JSON>}``."""
    enc: list[Any] = [
        {"ciphertext": "guomi:v1:1:AA", "key_version": 1},
        {"error": "m", "code": "c", "reference": 'r"\u00e9'},
    ]
    model = api.EncryptResponse.model_validate({"batch_results": enc})
    plain = [{**d, "ciphertext": d["ciphertext"].encode()} if "ciphertext" in d else d for d in enc]
    assert (
        api.ENCRYPT_BATCH_REPLY.dump_json({"data": {"batch_results": plain}})
        == b'{"data":' + model.model_dump_json(exclude_none=True).encode() + b"}"
    )
    dec: list[Any] = [{"plaintext": "QQ==", "key_version": 1, "reference": "y"}, {"error": "m", "code": "c"}]
    dmodel = api.DecryptResponse.model_validate({"batch_results": dec})
    dplain = [{**d, "plaintext": d["plaintext"].encode()} if "plaintext" in d else d for d in dec]
    assert (
        api.DECRYPT_BATCH_REPLY.dump_json({"data": {"batch_results": dplain}})
        == b'{"data":' + dmodel.model_dump_json(exclude_none=True).encode() + b"}"
    )
