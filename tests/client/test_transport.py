"""guomi.client against a scripted transport: request shapes, base64, errors, settings.

These pin the SDK's side of the wire contract without a server; tests/client/test_service.py
runs the same SDK against the real application.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from guomi import api
from guomi.client import AsyncClient, BatchLimits, Client
from guomi.exceptions import (
    AuditUnavailableError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DecryptionFailedError,
    InvalidEncodingError,
    NotFoundError,
    NotInitializedError,
    PayloadTooLargeError,
    PermissionDeniedError,
    SealedError,
    ServiceError,
    ServiceUnavailableError,
    StorageUnavailableError,
)

Handler = Callable[[httpx.Request], httpx.Response]


def recorder(answer: Any, status: int = 200) -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=answer)

    return seen, httpx.MockTransport(handle)


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def test_encrypt_sends_vault_fields_and_bearer_token() -> None:
    seen, transport = recorder({"data": {"ciphertext": "guomi:v1:1:AAAA", "key_version": 1}})
    with Client("http://kms.example:8200", token="s.tok", transport=transport) as c:
        assert c.encrypt("orders", b"\x00\xffpt", b"row-1") == "guomi:v1:1:AAAA"
    (req,) = seen
    assert req.method == "POST"
    assert req.url == "http://kms.example:8200/v1/encrypt/orders"
    assert req.headers["authorization"] == "Bearer s.tok"
    assert body(req) == {
        "plaintext": base64.b64encode(b"\x00\xffpt").decode(),
        "associated_data": base64.b64encode(b"row-1").decode(),
    }


def test_decrypt_decodes_base64_plaintext() -> None:
    seen, transport = recorder({"data": {"plaintext": base64.b64encode(b"secret").decode()}})
    with Client("http://x", token="t", transport=transport) as c:
        assert c.decrypt("k", b"guomi:v1:1:AAAA") == b"secret"
    assert body(seen[0]) == {"ciphertext": "guomi:v1:1:AAAA"}


def test_batch_results_keep_order_and_item_errors() -> None:
    answer = {
        "data": {
            "batch_results": [
                {"ciphertext": "guomi:v1:1:AA", "key_version": 1},
                {"error": "plaintext is not valid base64", "code": "invalid_argument"},
            ]
        }
    }
    seen, transport = recorder(answer)
    with Client("http://x", token="t", transport=transport) as c:
        results = c.encrypt_batch("k", [b"a", b"b"], associated_data=[b"x", None])
    assert [r.ok for r in results] == [True, False]
    assert results[0].unwrap() == "guomi:v1:1:AA"
    assert results[0].key_version == 1
    with pytest.raises(ServiceError, match="base64"):
        results[1].unwrap()
    assert body(seen[0]) == {
        "batch_input": [{"plaintext": "YQ==", "associated_data": "eA=="}, {"plaintext": "Yg=="}]
    }


def test_batch_associated_data_length_must_match() -> None:
    _, transport = recorder({})
    with Client("http://x", token="t", transport=transport) as c, pytest.raises(ValueError):
        c.encrypt_batch("k", [b"a", b"b"], associated_data=[b"x"])


@pytest.mark.parametrize(
    ("status", "code", "exc"),
    [
        (400, "invalid_argument", BadRequestError),
        (401, "permission_denied", AuthenticationError),
        (403, "permission_denied", PermissionDeniedError),
        (404, "not_found", NotFoundError),
        (409, "conflict", ConflictError),
        (413, "too_large", PayloadTooLargeError),
        (501, "not_initialized", NotInitializedError),
        (503, "sealed", SealedError),
        (503, "audit_unavailable", AuditUnavailableError),
        (503, "storage_unavailable", StorageUnavailableError),
        (400, "decryption_failed", DecryptionFailedError),
        (400, "key_version_disabled", BadRequestError),
        (503, "a_code_from_a_newer_server", ServiceUnavailableError),
        (500, "internal", ServiceError),
    ],
)
def test_error_statuses_map_to_exceptions(status: int, code: str, exc: type[ServiceError]) -> None:
    _, transport = recorder({"errors": [{"code": code, "message": f"{code} happened"}]}, status)
    with Client("http://x", token="t", transport=transport) as c, pytest.raises(exc) as info:
        c.read_key("k")
    assert type(info.value) is exc
    assert info.value.status == status
    assert info.value.code == code
    assert f"{code} happened" in str(info.value)
    assert "t" not in info.value.errors[0].get("token", "")


def test_audit_503_is_not_reported_as_sealed() -> None:
    _, transport = recorder({"errors": [{"code": "audit_unavailable", "message": "audit log"}]}, 503)
    c = Client("http://x", token="t", transport=transport)
    with pytest.raises(ServiceUnavailableError) as info:
        c.encrypt("k", b"x")
    assert not isinstance(info.value, SealedError)


def test_health_returns_body_even_when_sealed() -> None:
    _, transport = recorder(
        {"initialized": True, "sealed": True, "version": "0.1.0", "server_time_utc": 1}, 503
    )
    with Client("http://x", transport=transport) as c:
        assert c.health().sealed is True


def test_non_json_answer_is_an_encoding_error() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=b"<html>"))
    with Client("http://x", token="t", transport=transport) as c, pytest.raises(InvalidEncodingError):
        c.encrypt("k", b"x")


def test_bad_base64_in_answer_is_an_encoding_error() -> None:
    _, transport = recorder({"data": {"plaintext": "***"}})
    with Client("http://x", token="t", transport=transport) as c, pytest.raises(InvalidEncodingError):
        c.decrypt("k", "guomi:v1:1:AA")


def test_environment_supplies_address_and_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUOMI_ADDR", "https://vault.bank.example:9443/")
    monkeypatch.setenv("GUOMI_TOKEN", "from-env")
    seen, transport = recorder({"data": {"keys": ["a", "b"]}})
    with Client(transport=transport) as c:
        assert c.list_keys() == ["a", "b"]
        assert "from-env" not in repr(c)
    assert str(seen[0].url) == "https://vault.bank.example:9443/v1/keys"
    assert seen[0].headers["authorization"] == "Bearer from-env"


def test_arguments_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUOMI_ADDR", "http://env:1")
    monkeypatch.setenv("GUOMI_TOKEN", "env")
    seen, transport = recorder({"data": {"keys": []}})
    with Client("127.0.0.1:8200", token="arg", transport=transport) as c:
        c.list_keys()
    assert str(seen[0].url) == "http://127.0.0.1:8200/v1/keys"
    assert seen[0].headers["authorization"] == "Bearer arg"


def test_names_are_one_path_segment() -> None:
    seen, transport = recorder({"data": {"name": "x"}})
    with Client("http://x", token="t", transport=transport) as c:
        c.delete_key("../sys/seal")
    assert seen[0].url.raw_path == b"/v1/keys/..%2Fsys%2Fseal"


def test_unreachable_service_raises_service_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with (
        Client("http://x", token="t", transport=httpx.MockTransport(refuse)) as c,
        pytest.raises(ServiceError) as info,
    ):
        c.list_keys()
    assert info.value.code == "unreachable"


def test_async_client_same_shapes() -> None:
    seen, transport = recorder({"data": {"ciphertext": "guomi:v1:2:AA", "key_version": 2}})

    async def go() -> str:
        async with AsyncClient("http://x", token="t", transport=transport) as c:
            return await c.rewrap("k", "guomi:v1:1:AA", key_version=2)

    assert asyncio.run(go()) == "guomi:v1:2:AA"
    assert seen[0].url.path == "/v1/rewrap/k"
    assert body(seen[0]) == {"ciphertext": "guomi:v1:1:AA", "key_version": 2}


def test_datakey_repr_hides_plaintext() -> None:
    key_b64 = base64.b64encode(bytes(range(16))).decode()
    answer = {"data": {"ciphertext": "guomi:v1:1:AA", "key_version": 1, "plaintext": key_b64}}
    seen, transport = recorder(answer)
    with Client("http://x", token="t", transport=transport) as c:
        dk = c.datakey("k")
    assert dk.plaintext == bytes(range(16))
    assert "AAECAw" not in repr(dk) and "hidden" in repr(dk)
    assert seen[0].url.path == "/v1/datakey/plaintext/k"


def test_sdk_never_imports_the_server() -> None:
    """An application using the SDK loads no server code (nor FastAPI)."""
    code = (
        "import sys, guomi.client, guomi.keys\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('guomi.kms', 'fastapi', 'uvicorn')))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_batches_split_under_the_service_limits() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        items = body(request)["batch_input"]
        results = [
            {"ciphertext": "guomi:v1:1:" + it["plaintext"].rstrip("="), "key_version": 1} for it in items
        ]
        return httpx.Response(200, json={"data": {"batch_results": results}})

    limits = BatchLimits(max_items=4, max_body_bytes=2048)
    plaintexts = [bytes([i]) * (i * 20) for i in range(20)]
    with Client("http://x", token="t", transport=httpx.MockTransport(handle), batch_limits=limits) as c:
        out = c.encrypt_batch("k", plaintexts)
    assert len(seen) > 20 // 4  # split by count, and by size where the items are large
    for req in seen:
        assert 1 <= len(body(req)["batch_input"]) <= 4 and len(req.content) <= 2048
    sent = [it["plaintext"] for req in seen for it in body(req)["batch_input"]]
    assert sent == [base64.b64encode(p).decode() for p in plaintexts]  # order kept
    assert [r.unwrap() for r in out] == ["guomi:v1:1:" + s.rstrip("=") for s in sent]


def test_answers_are_the_api_models_and_requests_are_checked_before_io() -> None:
    info = {
        "name": "k", "type": "sm2-sign", "latest_version": 2, "min_decryption_version": 1,
        "min_encryption_version": 0, "min_available_version": 1, "deletion_allowed": False,
        "auto_rotate_period": 0, "creation_time": "t", "last_rotation_time": "t",
        "supports_encryption": False, "supports_decryption": False, "supports_signing": True,
        "supports_hmac": False, "keys": {"2": {"creation_time": "t", "public_key": "PEM"}},
    }  # fmt: skip
    seen, transport = recorder({"data": info})
    with Client("http://x", token="t", transport=transport) as c:
        got = c.read_key("k")
        assert isinstance(got, api.KeyInfo) and got.keys["2"].public_key == "PEM"
        with pytest.raises(BadRequestError, match="key_version"):
            c.encrypt("k", b"x", key_version=0)
        with pytest.raises(BadRequestError, match="type"):
            c.create_key("k", "rsa-2048")
    assert len(seen) == 1


def test_batch_item_errors_carry_their_code() -> None:
    answer = {
        "data": {
            "batch_results": [
                {"error": "bad", "code": "decryption_failed"},
                {"plaintext": "QQ==", "key_version": 1},
            ]
        }
    }
    _, transport = recorder(answer)
    with Client("http://x", token="t", transport=transport) as c:
        first, second = c.decrypt_batch("k", ["guomi:v1:1:AA", "guomi:v1:1:AB"])
    assert first.code == "decryption_failed" and not first.ok and second.unwrap() == b"A"
    with pytest.raises(DecryptionFailedError):
        first.unwrap()
