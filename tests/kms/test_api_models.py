"""guomi.api: the contract models both sides use (strict JSON types, base64 fields, names)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from guomi import api


def test_bytes_fields_round_trip_as_base64() -> None:
    req = api.EncryptRequest(plaintext=b"\x00\xffhi", associated_data=b"ctx")
    wire = req.model_dump(mode="json", exclude_none=True)
    assert wire == {"plaintext": "AP9oaQ==", "associated_data": "Y3R4"}
    assert api.EncryptRequest.model_validate_json(json.dumps(wire)) == req
    resp = api.DecryptResponse.model_validate_json('{"plaintext": "aGk=", "future_field": 1}')
    assert resp.plaintext == b"hi"  # responses tolerate fields added by newer servers


@pytest.mark.parametrize("bad", ["aGk", "a-k=", "aGk=\n", " aGk=", "aGk==", "aG=k", "é", "aGk=aGk="])
def test_base64_is_strict(bad: str) -> None:
    with pytest.raises(ValidationError) as ei:
        api.HashRequest.model_validate_json(json.dumps({"input": bad}))
    assert ei.value.errors()[0]["loc"] == ("input",)


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (api.InitRequest, {"secret_shares": "5"}),
        (api.InitRequest, {"secret_shares": 5.0}),
        (api.InitRequest, {"secret_shares": 0}),
        (api.InitRequest, {"secret_shares": 256}),
        (api.CreateKeyRequest, {"type": "aes256-gcm96"}),
        (api.CreateKeyRequest, {"exportable": True}),
        (api.KeyConfigRequest, {"min_decryption_version": 0}),
        (api.CreateTokenRequest, {"policies": []}),
        (api.PolicyRule, {"pattern": "x", "capabilities": ["sudo"]}),
        (api.DatakeyRequest, {"bits": 256}),
    ],
)
def test_requests_are_strict(model: type[api.InitRequest], body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate_json(json.dumps(body))


def test_key_names() -> None:
    for good in ("a", "orders-2026", "A.b_c-d", "9" * 128):
        assert api.is_valid_key_name(good)
    for bad in ("", "-a", ".a", "a/b", "a b", "a" * 129, "ключ", "a\n"):
        assert not api.is_valid_key_name(bad)


def test_vault_field_names_are_used() -> None:
    fields = set(api.EncryptRequest.model_fields) | set(api.EncryptResponse.model_fields)
    assert {
        "plaintext",
        "associated_data",
        "key_version",
        "batch_input",
        "ciphertext",
        "batch_results",
    } <= fields
    assert {"input", "signature", "hmac"} <= set(api.VerifyRequest.model_fields)
    assert "valid" in api.VerifyResponse.model_fields
    assert "sum" in api.HashResponse.model_fields and "random_bytes" in api.RandomResponse.model_fields
