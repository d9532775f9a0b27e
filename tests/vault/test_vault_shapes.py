"""guomi's Vault surface answers in the shapes of recorded Vault responses; guomi's own API
keeps its richer error objects (both error styles tested, docs/spec/http-api.md §10)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from .conftest import IN_PROCESS_URL

RECORDED: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "vault_responses.json").read_text()
)
# Fields of Vault's samples that guomi does not have (identity entities, use counts in
# lookups are present; these are the ones with no meaning here).
_ABSENT_HERE = {"identity_policies", "metadata"}
_NULLABLE = {"warnings", "wrap_info", "auth", "data", "meta"}


def assert_shape(ours: Any, recorded: Any, where: str = "$") -> None:
    """Every field of the recorded Vault answer is in ours, with the same JSON type."""
    if recorded is None:
        return
    if ours is None and where.rsplit(".", 1)[-1] in _NULLABLE:
        return  # Vault itself answers null there when it has nothing to say
    if isinstance(recorded, dict):
        assert isinstance(ours, dict), f"{where}: expected an object, got {ours!r}"
        for k, v in recorded.items():
            if k in _ABSENT_HERE:
                continue
            assert k in ours, f"{where}.{k}: missing"
            if k in ("keys",) and isinstance(v, dict):
                continue  # version -> time (symmetric) or object (asymmetric): checked elsewhere
            assert_shape(ours[k], v, f"{where}.{k}")
    elif isinstance(recorded, list):
        assert isinstance(ours, list), f"{where}: expected a list"
        if recorded and ours:
            kinds = {type(x) for x in recorded}
            if len(kinds) == 1 and dict not in kinds:
                assert all(isinstance(x, type(recorded[0])) for x in ours), where
    elif isinstance(recorded, bool):
        assert isinstance(ours, bool), f"{where}: expected a boolean, got {ours!r}"
    elif isinstance(recorded, int):
        assert isinstance(ours, int) and not isinstance(ours, bool), f"{where}: expected an integer"
    elif isinstance(recorded, str):
        assert isinstance(ours, str) or ours is None, f"{where}: expected a string, got {ours!r}"


@pytest.fixture
def raw(app_and_root: tuple[Any, str]) -> Any:
    app, root = app_and_root
    with TestClient(app, base_url=IN_PROCESS_URL, headers={"X-Vault-Token": root}) as tc:
        yield tc


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_transit_answers_have_vaults_shapes(raw: Any) -> None:
    r = raw.post("/v1/transit/keys/foo", json={})
    assert r.status_code == 200
    envelope = raw.get("/v1/transit/keys/foo").json()
    assert_shape(envelope, RECORDED["transit_read_key"])
    assert set(envelope) == {
        "request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info", "warnings", "auth",
    }  # fmt: skip
    assert isinstance(envelope["data"]["keys"]["1"], int)
    assert_shape(raw.request("LIST", "/v1/transit/keys").json(), RECORDED["transit_list_keys"])
    enc = raw.post("/v1/transit/encrypt/foo", json={"plaintext": b64(b"x")}).json()
    assert_shape(enc, RECORDED["transit_encrypt"])
    dec = raw.post("/v1/transit/decrypt/foo", json={"ciphertext": enc["data"]["ciphertext"]}).json()
    assert_shape(dec, RECORDED["transit_decrypt"])
    assert_shape(
        raw.post("/v1/transit/datakey/plaintext/foo", json={}).json(), RECORDED["transit_datakey_plaintext"]
    )
    assert_shape(raw.post("/v1/transit/random/16", json={}).json(), RECORDED["transit_random"])
    assert_shape(
        raw.post("/v1/transit/hash/sha2-256", json={"input": b64(b"x")}).json(), RECORDED["transit_hash"]
    )
    raw.post("/v1/transit/keys/mac", json={"type": "hmac-sm3"})
    batch = raw.post(
        "/v1/transit/hmac/mac",
        json={"batch_input": [{"input": b64(b"a")}, {"input": b64(b"a")}, {}, {"input": ""}]},
    )
    # One item lacks its input: Vault answers 400 with the per-item error in batch_results.
    assert batch.status_code == 400
    results = batch.json()["data"]["batch_results"]
    assert "error" in results[2] and results[0]["hmac"] == results[1]["hmac"]
    raw.post("/v1/transit/keys/sig", json={"type": "sm2-sign"})
    sig = raw.post("/v1/transit/sign/sig", json={"input": b64(b"m")}).json()
    assert_shape(sig, RECORDED["transit_sign"])
    ver = raw.post("/v1/transit/verify/sig", json={"input": b64(b"m"), "signature": sig["data"]["signature"]})
    assert_shape(ver.json(), RECORDED["transit_verify"])


def test_token_answers_have_vaults_shapes(raw: Any) -> None:
    created = raw.post("/v1/auth/token/create", json={"policies": ["web"], "ttl": "1h"}).json()
    assert_shape(created, RECORDED["token_create"])
    assert_shape(raw.request("LIST", "/v1/auth/token/accessors").json(), RECORDED["token_list_accessors"])
    assert_shape(raw.get("/v1/auth/token/lookup-self").json(), RECORDED["token_lookup_self"])
    child = {"X-Vault-Token": created["auth"]["client_token"]}
    assert_shape(
        raw.post("/v1/auth/token/renew-self", json={}, headers=child).json(), RECORDED["token_renew_self"]
    )


def test_vault_errors_are_lists_of_strings_with_guomis_code(raw: Any) -> None:
    r = raw.get("/v1/transit/keys/nope")
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert_shape(body, RECORDED["error"])
    assert all(isinstance(e, str) for e in body["errors"]) and body["errors"][0].startswith("not_found: ")
    assert body["guomi_errors"][0]["code"] == "not_found"
    # A bad token is Vault's 403 on the Vault paths ...
    bad = raw.get("/v1/auth/token/lookup-self", headers={"X-Vault-Token": "gmt." + "B" * 43})
    assert bad.status_code == 403 and bad.json()["errors"][0].startswith("unauthorized: ")
    # ... an empty list Vault's 404 {"errors": []} ...
    empty = raw.request("LIST", "/v1/transit/keys")
    assert empty.status_code == 404 and empty.json() == RECORDED["empty_list_404"]
    # ... and unknown paths under the Vault mounts answer in Vault's style too.
    assert isinstance(raw.get("/v1/transit/nowhere").json()["errors"][0], str)


def test_guomis_own_api_keeps_its_error_objects(raw: Any) -> None:
    r = raw.get("/v1/keys/nope")
    assert r.status_code == 404
    assert r.json()["errors"] == [{"code": "not_found", "message": r.json()["errors"][0]["message"]}]
    bad = raw.get("/v1/auth/tokens/self", headers={"X-Vault-Token": "gmt." + "B" * 43})
    assert bad.status_code == 401 and bad.json()["errors"][0]["code"] == "unauthorized"
    # GET ?list=true also lists on guomi's own paths.
    raw.post("/v1/keys/own", json={})
    assert raw.get("/v1/keys", params={"list": "true"}).json()["data"]["keys"] == ["own"]
