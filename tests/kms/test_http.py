"""The HTTP layer through httpx's ASGI transport: every path family, the error model, bad input.

Each bad-input case checks the status, that the JSON error names the field,
and that nothing was stored.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from guomi.kms import Config, create_app
from guomi.kms.audit import AuditLog, MemorySink
from guomi.kms.service import Engine
from guomi.kms.storage import MemoryStorage

from .conftest import fresh_pg_url, needs_postgres


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


class Api:
    """A synchronous facade over an AsyncClient on the ASGI app (one event loop per test)."""

    def __init__(self, engine: Engine, config: Config | None = None) -> None:
        self.engine = engine
        self.app = create_app(config or Config(auto_rotate_check_interval=0), engine=engine)
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://kms")
        self.token: str | None = None

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = "default",
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        h = dict(headers or {})
        tok = self.token if token == "default" else token
        if tok is not None:
            h["Authorization"] = f"Bearer {tok}"
        kw: dict[str, Any] = {"headers": h}
        if content is not None:
            kw["content"] = content
        elif body is not None:
            kw["json"] = body
        return self.loop.run_until_complete(self.client.request(method, "/v1/" + path, **kw))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()["data"] if status != 204 else None


def err(r: httpx.Response, status: int, code: str | None = None, field: str | None = None) -> dict[str, str]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"errors"} and len(body["errors"]) >= 1
    e: dict[str, str] = body["errors"][0]
    assert set(e) == {"code", "message"}
    if code is not None:
        assert e["code"] == code, e
    if field is not None:
        assert field in e["message"], e
    return e


@pytest.fixture
def fresh() -> Iterator[Api]:
    a = Api(Engine(MemoryStorage(), AuditLog(MemorySink()), Config()))
    yield a
    a.close()


@pytest.fixture
def kms(fresh: Api) -> Api:
    init = ok(fresh("POST", "sys/init", {"secret_shares": 1, "secret_threshold": 1}, token=None))
    ok(fresh("POST", "sys/unseal", {"key": init["keys_base64"][0]}, token=None))
    fresh.token = init["root_token"]
    return fresh


def test_custody_over_http(fresh: Api) -> None:
    r = fresh("GET", "sys/health", token=None)
    assert r.status_code == 501 and r.json()["initialized"] is False
    err(fresh("POST", "encrypt/k", {"plaintext": "eA=="}, token=None), 501, "not_initialized")
    err(fresh("POST", "sys/init", {"secret_shares": "3"}, token=None), 400, field="secret_shares")
    init = ok(fresh("POST", "sys/init", {"secret_shares": 3, "secret_threshold": 2}, token=None))
    assert len(init["keys_base64"]) == 3 and init["root_token"].startswith("gmt.")
    err(fresh("POST", "sys/init", {"secret_shares": 3, "secret_threshold": 2}, token=None), 409)
    r = fresh("GET", "sys/health", token=None)
    assert r.status_code == 503 and r.json()["sealed"] is True
    err(fresh("POST", "encrypt/k", {"plaintext": "eA=="}, token=init["root_token"]), 503, "sealed")
    st = ok(fresh("POST", "sys/unseal", {"key": init["keys_base64"][2]}, token=None))
    assert (st["sealed"], st["progress"], st["t"], st["n"]) == (True, 1, 2, 3)
    err(fresh("POST", "sys/unseal", {"key": "not base64!"}, token=None), 400, field="key")
    st = ok(fresh("POST", "sys/unseal", {"key": init["keys_base64"][0]}, token=None))
    assert st["sealed"] is False
    assert fresh("GET", "sys/health", token=None).status_code == 200
    assert ok(fresh("GET", "sys/seal-status", token=None))["sealed"] is False
    fresh.token = init["root_token"]
    ok(fresh("POST", "sys/seal"))
    assert fresh("GET", "sys/health", token=None).status_code == 503


def test_key_lifecycle_and_operations(kms: Api) -> None:
    info = ok(kms("POST", "keys/orders", {}))
    assert info["type"] == "sm4-gcm" and info["latest_version"] == 1 and "1" in info["keys"]
    ok(kms("POST", "keys/signer", {"type": "sm2-sign"}))
    ok(kms("POST", "keys/mac", {"type": "hmac-sm3"}))
    ok(kms("POST", "keys/legacy", {"type": "aes-256-gcm"}))
    assert ok(kms("GET", "keys"))["keys"] == ["legacy", "mac", "orders", "signer"]
    err(kms("POST", "keys/orders", {}), 409, "key_exists")

    e = ok(kms("POST", "encrypt/orders", {"plaintext": b64(b"hello"), "associated_data": b64(b"row-1")}))
    assert set(e) == {"ciphertext", "key_version"} and e["ciphertext"].startswith("guomi:v1:1:")
    d = ok(kms("POST", "decrypt/orders", {"ciphertext": e["ciphertext"], "associated_data": b64(b"row-1")}))
    assert base64.b64decode(d["plaintext"]) == b"hello"
    err(kms("POST", "decrypt/orders", {"ciphertext": e["ciphertext"]}), 400, "decryption_failed")

    assert ok(kms("POST", "keys/orders/rotate"))["latest_version"] == 2
    rw = ok(kms("POST", "rewrap/orders", {"ciphertext": e["ciphertext"], "associated_data": b64(b"row-1")}))
    assert rw["key_version"] == 2 and "plaintext" not in rw

    dk = ok(kms("POST", "datakey/plaintext/orders", {"bits": 128}))
    assert len(base64.b64decode(dk["plaintext"])) == 16 and dk["ciphertext"].startswith("guomi:v1:2:")
    dw = ok(kms("POST", "datakey/wrapped/orders"))
    assert "plaintext" not in dw
    err(kms("POST", "datakey/plaintext/orders", {"bits": 256}), 400, field="bits")
    err(kms("POST", "datakey/sideways/orders", {}), 400, field="kind")

    s = ok(kms("POST", "sign/signer", {"input": b64(b"doc")}))
    assert (
        ok(kms("POST", "verify/signer", {"input": b64(b"doc"), "signature": s["signature"]}))["valid"] is True
    )
    assert (
        ok(kms("POST", "verify/signer", {"input": b64(b"dog"), "signature": s["signature"]}))["valid"]
        is False
    )
    h = ok(kms("POST", "hmac/mac", {"input": b64(b"doc")}))
    assert ok(kms("POST", "verify/mac", {"input": b64(b"doc"), "hmac": h["hmac"]}))["valid"] is True
    assert len(base64.b64decode(ok(kms("POST", "random/24"))["random_bytes"])) == 24
    assert len(ok(kms("POST", "random/8", {"format": "hex"}))["random_bytes"]) == 16
    err(kms("POST", "random/5000"), 400, field="n")
    err(kms("POST", "random/abc"), 400, field="n")
    assert ok(kms("POST", "hash", {"input": b64(b"abc")}))["sum"].startswith("66c7f0f4")

    le = ok(kms("POST", "encrypt/legacy", {"plaintext": b64(b"old data")}))
    assert base64.b64decode(
        ok(kms("POST", "decrypt/legacy", {"ciphertext": le["ciphertext"]}))["plaintext"]
    ) == (b"old data")

    cfg = ok(
        kms(
            "POST",
            "keys/orders/config",
            {"min_decryption_version": 2, "deletion_allowed": True, "auto_rotate_period": "24h"},
        )
    )
    assert (cfg["min_decryption_version"], cfg["deletion_allowed"], cfg["auto_rotate_period"]) == (
        2,
        True,
        86400,
    )
    err(
        kms("POST", "decrypt/orders", {"ciphertext": e["ciphertext"], "associated_data": b64(b"row-1")}),
        400,
        "key_version_disabled",
    )
    backup = ok(kms("GET", "keys/orders/backup"))["backup"]
    ok(kms("DELETE", "keys/orders"), 204)
    err(kms("GET", "keys/orders"), 404, "not_found")
    assert ok(kms("POST", "keys/restore", {"backup": backup}))["latest_version"] == 2
    err(kms("DELETE", "keys/signer"), 400, "deletion_not_allowed")


def test_batch_over_http(kms: Api) -> None:
    ok(kms("POST", "keys/k", {}))
    items = [{"plaintext": b64(bytes([i])), "reference": f"r{i}"} for i in range(5)]
    items[3] = {"plaintext": b64(b"x"), "key_version": 9, "reference": "r3"}
    res = ok(kms("POST", "encrypt/k", {"batch_input": items}))["batch_results"]
    assert [r.get("reference") for r in res] == ["r0", "r1", "r2", "r3", "r4"]
    assert "error" in res[3] and res[3]["code"] == "invalid_request" and "ciphertext" not in res[3]
    dec = ok(
        kms(
            "POST",
            "decrypt/k",
            {
                "batch_input": [{"ciphertext": r["ciphertext"]} for r in res if "ciphertext" in r]
                + [{"ciphertext": "guomi:v1:1:AAAA"}]
            },
        )
    )["batch_results"]
    assert [base64.b64decode(r["plaintext"]) for r in dec[:4]] == [b"\x00", b"\x01", b"\x02", b"\x04"]
    assert dec[4]["code"] == "invalid_ciphertext"


def test_vault_token_header_and_auth_errors(kms: Api) -> None:
    ok(kms("POST", "keys/k", {}))
    r = kms(
        "POST", "encrypt/k", {"plaintext": "eA=="}, token=None, headers={"X-Vault-Token": kms.token or ""}
    )
    assert r.status_code == 200
    err(kms("POST", "encrypt/k", {"plaintext": "eA=="}, token=None), 401, "unauthorized")
    err(kms("POST", "encrypt/k", {"plaintext": "eA=="}, token="gmt." + "B" * 43), 401)
    err(
        kms("POST", "encrypt/k", {"plaintext": "eA=="}, token=None, headers={"Authorization": "Basic abc"}),
        401,
    )


def test_tokens_and_policies_over_http(kms: Api) -> None:
    ok(kms("POST", "keys/orders-eu", {}))
    ok(kms("POST", "keys/payroll", {}))
    pol = ok(
        kms(
            "PUT",
            "policies/orders-app",
            {"rules": [{"pattern": "orders-*", "capabilities": ["encrypt", "decrypt"]}]},
        )
    )
    assert pol["name"] == "orders-app"
    err(
        kms("PUT", "policies/bad", {"rules": [{"pattern": "x", "capabilities": ["fly"]}]}),
        400,
        field="capabilities",
    )
    assert ok(kms("GET", "policies"))["policies"] == ["orders-app"]
    t = ok(kms("POST", "auth/tokens", {"policies": ["orders-app"], "ttl": "1h"}))
    assert t["token"].startswith("gmt.") and 3500 < t["ttl"] <= 3600
    err(kms("POST", "auth/tokens", {"policies": ["orders-app"], "ttl": "forever"}), 400, field="ttl")
    app = t["token"]
    me = ok(kms("GET", "auth/tokens/self", token=app))
    assert me["policies"] == ["orders-app"] and "token" not in me
    ok(kms("POST", "encrypt/orders-eu", {"plaintext": "eA=="}, token=app))
    before = kms.engine.storage.get("keymeta/payroll")
    err(kms("POST", "encrypt/payroll", {"plaintext": "eA=="}, token=app), 403, "forbidden")
    err(kms("POST", "keys/payroll/rotate", token=app), 403)
    err(kms("PUT", "policies/x", {"rules": []}, token=app), 403)
    assert kms.engine.storage.get("keymeta/payroll") == before
    ok(kms("POST", "auth/tokens/revoke", {}, token=app), 204)
    err(kms("GET", "auth/tokens/self", token=app), 401)
    ok(kms("DELETE", "policies/orders-app"), 204)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("keys/k", {"type": "rsa-2048"}, "type"),
        ("keys/k", {"type": 5}, "type"),
        ("keys/k", {"deletion_allowed": "yes"}, "deletion_allowed"),
        ("keys/k", {"auto_rotate_period": "whenever"}, "auto_rotate_period"),
        ("keys/k", {"unknown_field": 1}, "unknown_field"),
        ("keys/bad%20name", {}, "name"),
        ("keys/" + "x" * 129, {}, "name"),
        ("keys/.hidden", {}, "name"),
        ("encrypt/k", {"plaintext": 12}, "plaintext"),
        ("encrypt/k", {"plaintext": "***"}, "plaintext"),
        ("encrypt/k", {"plaintext": "eA==", "associated_data": "%%"}, "associated_data"),
        ("encrypt/k", {"plaintxt": "eA=="}, "plaintxt"),
        ("encrypt/k", {"batch_input": "nope"}, "batch_input"),
        # A schema-invalid batch item alone fails alone (http-api.md §7, test_routes.py); with
        # a whole-request error too, the 400 names both.
        (
            "encrypt/k",
            {"batch_input": [{"plaintext": "eA=="}, {"plaintext": None}], "key_version": "1"},
            "batch_input.1.plaintext",
        ),
        ("encrypt/k", {"key_version": "2", "plaintext": "eA=="}, "key_version"),
        ("encrypt/k", {"key_version": 0, "plaintext": "eA=="}, "key_version"),
        ("encrypt/k", [1, 2], "body"),
        ("decrypt/k", {"ciphertext": 7}, "ciphertext"),
        ("sign/k", {"input": "eA==", "user_id": 5}, "user_id"),
        ("hash", {"input": "eA==", "algorithm": "md5"}, "algorithm"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_stores_nothing(
    kms: Api, path: str, body: Any, field: str
) -> None:
    storage = kms.engine.storage
    snapshot = {p: storage.get(p) for p in storage.list("")}
    err(kms("POST", path, body), 400, field=field)
    assert {p: storage.get(p) for p in storage.list("")} == snapshot


def test_malformed_json_is_400(kms: Api) -> None:
    e = err(
        kms("POST", "keys/k", content=b'{"type": ', headers={"content-type": "application/json"}),
        400,
        "invalid_json",
    )
    assert "JSON" in e["message"]
    assert kms.engine.storage.list("keymeta/") == []


def test_oversized_body_and_batch_are_413(fresh: Api) -> None:
    small = Api(
        Engine(MemoryStorage(), AuditLog(MemorySink()), Config(max_batch_items=10)),
        Config(max_body_bytes=2048, auto_rotate_check_interval=0),
    )
    try:
        init = ok(small("POST", "sys/init", {"secret_shares": 1, "secret_threshold": 1}, token=None))
        ok(small("POST", "sys/unseal", {"key": init["keys_base64"][0]}, token=None))
        small.token = init["root_token"]
        ok(small("POST", "keys/k", {}))
        err(small("POST", "encrypt/k", {"plaintext": b64(b"x" * 4096)}), 413, "payload_too_large")

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"plaintext": "'
            for _ in range(10):
                yield b"A" * 1000
            yield b'"}'

        r = small.loop.run_until_complete(
            small.client.post(
                "/v1/encrypt/k",
                content=chunks(),
                headers={"Authorization": f"Bearer {small.token}", "content-type": "application/json"},
            )
        )
        err(r, 413)
        err(
            small("POST", "encrypt/k", {"batch_input": [{"plaintext": "eA=="}] * 11}),
            413,
            "batch_too_large",
            field="batch_input",
        )
        assert (
            len(
                ok(small("POST", "encrypt/k", {"batch_input": [{"plaintext": "eA=="}] * 10}))["batch_results"]
            )
            == 10
        )
    finally:
        small.close()


def test_unknown_path_method_and_key(kms: Api) -> None:
    err(kms("GET", "no/such/path"), 404, "not_found")
    err(kms("PATCH", "keys/k", {}), 405, "method_not_allowed")
    err(kms("POST", "encrypt/ghost", {"plaintext": "eA=="}), 404, "not_found")


def test_audit_failure_is_503_without_result(kms: Api) -> None:
    ok(kms("POST", "keys/k", {}))

    class Broken:
        def write(self, line: bytes) -> None:
            raise OSError(28, "No space left on device")

        def last_line(self) -> bytes | None:
            return None

    kms.engine.audit.sink = Broken()
    r = kms("POST", "encrypt/k", {"plaintext": b64(b"secret")})
    e = err(r, 503, "audit_unavailable")
    assert "ciphertext" not in r.text and "guomi:v1" not in r.text and e
    err(kms("POST", "keys/k/rotate"), 503, "audit_unavailable")
    err(kms("POST", "encrypt/k", {"plaintext": "eA=="}, token="gmt." + "C" * 43), 503, "audit_unavailable")


def test_audit_records_for_http_requests(kms: Api) -> None:
    ok(kms("POST", "keys/k", {}))
    r = kms("POST", "encrypt/k", {"plaintext": "eA=="}, headers={"X-Request-Id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = kms("POST", "encrypt/k", {"plaintext": "eA=="}, headers={"X-Request-Id": "bad id\twith junk"})
    assert r.headers["x-request-id"] != "bad id\twith junk" and len(r.headers["x-request-id"]) == 32
    kms("POST", "encrypt/k", {"plaintext": "eA=="}, token="gmt." + "D" * 43)
    sink = kms.engine.audit.sink
    assert isinstance(sink, MemorySink)
    recs = [json.loads(x) for x in sink.lines]
    enc = [r for r in recs if r.get("operation") == "encrypt"]
    assert enc[-2]["request_id"] == "abc-123" and enc[-2]["remote_addr"]
    assert recs[-1]["status"] == 401 and recs[-1]["token"].startswith("hmac-sm3:")


def test_openapi_document_lists_every_path(kms: Api) -> None:
    doc = kms("GET", "openapi.json", token=None).json()
    paths = set(doc["paths"])
    expected = {
        "/v1/sys/health",
        "/v1/sys/init",
        "/v1/sys/unseal",
        "/v1/sys/seal",
        "/v1/sys/seal-status",
        "/v1/keys",
        "/v1/keys/{name}",
        "/v1/keys/{name}/rotate",
        "/v1/keys/{name}/config",
        "/v1/keys/{name}/backup",
        "/v1/keys/restore",
        "/v1/encrypt/{name}",
        "/v1/decrypt/{name}",
        "/v1/rewrap/{name}",
        "/v1/datakey/{kind}/{name}",
        "/v1/sign/{name}",
        "/v1/verify/{name}",
        "/v1/hmac/{name}",
        "/v1/random/{n}",
        "/v1/hash",
        "/v1/auth/tokens",
        "/v1/auth/tokens/self",
        "/v1/auth/tokens/revoke",
        "/v1/policies",
        "/v1/policies/{name}",
    }
    assert expected <= paths
    schemas = doc["components"]["schemas"]
    for model in (
        "EncryptRequest",
        "InitRequest",
        "UnsealRequest",
        "KeyConfigRequest",
        "PolicyRequest",
        "CreateTokenRequest",
        "SignRequest",
        "EncryptItem",
    ):
        assert model in schemas, model
    body = doc["paths"]["/v1/encrypt/{name}"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/EncryptRequest"}


def test_dev_mode_warns_and_background_scan_rotates(capsys: pytest.CaptureFixture[str]) -> None:
    from guomi.api import CreateKeyRequest  # noqa: PLC0415
    from guomi.kms.service import RequestContext  # noqa: PLC0415

    from .conftest import FakeClock  # noqa: PLC0415

    clock = FakeClock()
    config = Config(dev=True, auto_rotate_check_interval=0.02)
    e = Engine(MemoryStorage(), AuditLog(MemorySink()), config, clock=clock)
    app = create_app(config, engine=e)
    assert "DEV MODE" in capsys.readouterr().err
    root = e.authenticate(app.state.engine.dev_root_token, RequestContext())
    e.create_key(root, "k", CreateKeyRequest(auto_rotate_period="1h"))
    clock.advance(3601)

    async def run() -> int:
        async with app.lifespan_context():
            for _ in range(200):
                v = e.read_key(root, "k").latest_version
                if v > 1:
                    return v
                await asyncio.sleep(0.01)
        return 1

    assert asyncio.run(run()) == 2


def test_vault_transit_paths_and_header_carry_over(kms: Api) -> None:
    # A Vault transit script: $VAULT_ADDR/v1/transit/..., X-Vault-Token, Vault's field names.
    vt = {"X-Vault-Token": kms.token or ""}
    ok(kms("POST", "transit/keys/orders", {}, token=None, headers=vt))
    ct = ok(kms("POST", "transit/encrypt/orders", {"plaintext": b64(b"hi")}, token=None, headers=vt))[
        "ciphertext"
    ]
    pt = ok(kms("POST", "transit/decrypt/orders", {"ciphertext": ct}, token=None, headers=vt))["plaintext"]
    assert base64.b64decode(pt) == b"hi"
    doc = kms("GET", "openapi.json", token=None).json()
    assert not any(p.startswith("/v1/transit") for p in doc["paths"])


def test_large_batch_goes_through_the_thread_pool(kms: Api) -> None:
    ok(kms("POST", "keys/k", {}))
    items = [{"plaintext": b64(bytes([i % 256]) * 512)} for i in range(100)]  # ~70 KiB body
    res = ok(kms("POST", "encrypt/k", {"batch_input": items}))["batch_results"]
    back = ok(kms("POST", "decrypt/k", {"batch_input": [{"ciphertext": r["ciphertext"]} for r in res]}))
    assert [base64.b64decode(r["plaintext"]) for r in back["batch_results"]] == [
        bytes([i % 256]) * 512 for i in range(100)
    ]


@needs_postgres
def test_http_on_postgres_storage() -> None:
    from guomi.kms.storage.postgres import PostgresStorage  # noqa: PLC0415

    storage = PostgresStorage(fresh_pg_url())
    a = Api(Engine(storage, AuditLog(MemorySink()), Config()))
    try:
        init = ok(a("POST", "sys/init", {"secret_shares": 1, "secret_threshold": 1}, token=None))
        ok(a("POST", "sys/unseal", {"key": init["keys_base64"][0]}, token=None))
        a.token = init["root_token"]
        ok(a("POST", "keys/pg", {}))
        ct = ok(a("POST", "encrypt/pg", {"plaintext": b64(b"on postgres")}))["ciphertext"]
        assert (
            base64.b64decode(ok(a("POST", "decrypt/pg", {"ciphertext": ct}))["plaintext"]) == b"on postgres"
        )
        err(a("POST", "encrypt/pg", {"plaintext": "eA=="}, token="gmt." + "E" * 43), 401)
    finally:
        a.close()
        storage.close()


def test_bodies_are_read_whatever_the_content_type(kms: Api) -> None:
    # `curl -d '{...}'` sends application/x-www-form-urlencoded; Vault accepts it, so do we.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    ok(kms("POST", "keys/k", content=b'{"type": "sm4-gcm"}', headers=form))
    ok(kms("POST", "keys/k/config", content=b'{"deletion_allowed": true}', headers=form))
    ct = ok(kms("POST", "encrypt/k", content=b'{"plaintext": "aGk="}', headers=form))["ciphertext"]
    assert (
        ok(kms("POST", "decrypt/k", content=json.dumps({"ciphertext": ct}).encode()))["plaintext"] == "aGk="
    )
    ok(kms("PUT", "policies/p", content=b'{"rules": []}', headers=form))
    err(kms("GET", "keys/k", content=b'{"unexpected": 1}'), 400, field="unexpected")
