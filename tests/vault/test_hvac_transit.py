"""hvac's ``secrets.transit`` against guomi (issue 15): every operation guomi has, both transports.

Each test drives hvac itself -- its request building, its response handling,
its exception mapping -- against the in-process app and a real uvicorn
server (the ``vault`` fixture runs each test on both).
"""

from __future__ import annotations

import base64
import hashlib

import hvac
import hvac.exceptions as hx
import pytest

from guomi.primitives.sm3 import digest as sm3


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def transit(client: hvac.Client) -> hvac.api.secrets_engines.Transit:
    return client.secrets.transit


def test_is_authenticated_and_a_wrong_token_is_forbidden(vault: hvac.Client) -> None:
    assert vault.is_authenticated()
    stranger = hvac.Client(url=vault.url, token="gmt." + "A" * 43, session=vault.session)
    assert not stranger.is_authenticated()
    with pytest.raises(hx.Forbidden):
        transit(stranger).list_keys()


def test_key_life_cycle(vault: hvac.Client) -> None:
    t = transit(vault)
    created = t.create_key("orders")
    assert created["data"]["type"] == "sm4-gcm" and created["data"]["latest_version"] == 1
    assert t.create_key("orders")["data"]["name"] == "orders"  # Vault: creating again is a no-op
    read = t.read_key("orders")["data"]
    assert read["keys"]["1"] > 1_600_000_000 and read["exportable"] is False
    assert t.list_keys()["data"]["keys"] == ["orders"]
    assert t.rotate_key("orders")["data"]["latest_version"] == 2
    t.update_key_configuration(
        "orders",
        min_decryption_version=1,
        min_encryption_version=2,
        deletion_allowed=True,
        exportable=False,
        allow_plaintext_backup=False,
        auto_rotate_period="24h",
    )
    cfg = t.read_key("orders")["data"]
    assert (
        cfg["min_encryption_version"] == 2 and cfg["deletion_allowed"] and cfg["auto_rotate_period"] == 86400
    )
    t.delete_key("orders")
    with pytest.raises(hx.InvalidPath):
        t.read_key("orders")
    with pytest.raises(hx.InvalidPath):  # Vault: an empty LIST is a 404
        t.list_keys()


def test_list_with_get_query_parameter(vault: hvac.Client) -> None:
    transit(vault).create_key("listed")
    strict = hvac.Client(url=vault.url, token=vault.token, session=vault.session, strict_http=True)
    assert transit(strict).list_keys()["data"]["keys"] == ["listed"]


def test_vault_key_types_mapped_or_refused(vault: hvac.Client) -> None:
    t = transit(vault)
    assert t.create_key("legacy-aes", key_type="aes256-gcm96")["data"]["type"] == "aes-256-gcm"
    for vault_only in ("ed25519", "rsa-2048", "chacha20-poly1305"):
        with pytest.raises(hx.InvalidRequest, match="does not offer"):
            t.create_key(f"k-{vault_only}", key_type=vault_only)
    with pytest.raises(hx.InvalidRequest, match="unsupported_operation"):
        t.create_key("exp", exportable=True)
    with pytest.raises(hx.InvalidRequest, match="unsupported_operation"):
        t.create_key("derived", derived=True)
    t.create_key("cfg")
    with pytest.raises(hx.InvalidRequest, match="exportable"):
        t.update_key_configuration("cfg", exportable=True)
    with pytest.raises(hx.InvalidRequest, match="plaintext"):
        t.update_key_configuration("cfg", allow_plaintext_backup=True)
    with pytest.raises(hx.InvalidRequest):
        t.export_key("cfg", key_type="encryption-key")


def test_encrypt_decrypt_rewrap(vault: hvac.Client) -> None:
    t = transit(vault)
    t.create_key("pay")
    ct = t.encrypt_data("pay", plaintext=b64(b"card 6222"), associated_data=b64(b"row 7"))["data"]
    assert ct["ciphertext"].startswith("guomi:v1:1:") and ct["key_version"] == 1
    pt = t.decrypt_data("pay", ciphertext=ct["ciphertext"], associated_data=b64(b"row 7"))
    assert base64.b64decode(pt["data"]["plaintext"]) == b"card 6222"
    with pytest.raises(hx.InvalidRequest, match="decryption_failed"):
        t.decrypt_data("pay", ciphertext=ct["ciphertext"], associated_data=b64(b"row 8"))
    plain_ct = t.encrypt_data("pay", plaintext=b64(b"no ad"))["data"]["ciphertext"]
    t.rotate_key("pay")
    rewrapped = t.rewrap_data("pay", ciphertext=plain_ct)["data"]  # hvac's rewrap has no associated_data
    assert rewrapped["ciphertext"].startswith("guomi:v1:2:")
    assert (
        base64.b64decode(t.decrypt_data("pay", ciphertext=rewrapped["ciphertext"])["data"]["plaintext"])
        == b"no ad"
    )


def test_batches_with_hvacs_empty_plaintext(vault: hvac.Client) -> None:
    t = transit(vault)
    t.create_key("batch")
    items = [{"plaintext": b64(b"a"), "reference": "r1"}, {"plaintext": b64(b"bb")}]
    out = t.encrypt_data("batch", plaintext="", batch_input=items)["data"]["batch_results"]
    assert [r.get("reference") for r in out] == ["r1", None]
    back = t.decrypt_data("batch", ciphertext="", batch_input=[{"ciphertext": r["ciphertext"]} for r in out])
    assert [base64.b64decode(r["plaintext"]) for r in back["data"]["batch_results"]] == [b"a", b"bb"]
    # A failed item: Vault answers 400 with the per-item errors (hvac raises InvalidRequest).
    with pytest.raises(hx.InvalidRequest):
        t.decrypt_data("batch", ciphertext="", batch_input=[{"ciphertext": "guomi:v1:1:AAAA"}])


def test_upsert_on_encrypt_creates_the_key(vault: hvac.Client) -> None:
    t = transit(vault)
    t.encrypt_data("fresh", plaintext=b64(b"x"))
    assert t.read_key("fresh")["data"]["type"] == "sm4-gcm"


def test_datakey_random_hash(vault: hvac.Client) -> None:
    t = transit(vault)
    t.create_key("dk")
    plain = t.generate_data_key("dk", key_type="plaintext")["data"]
    assert len(base64.b64decode(plain["plaintext"])) == 16 and plain["ciphertext"].startswith("guomi:v1:")
    wrapped = t.generate_data_key("dk", key_type="wrapped")["data"]
    assert "plaintext" not in wrapped
    with pytest.raises(hx.InvalidRequest, match="bits"):
        t.generate_data_key("dk", key_type="plaintext", bits=256)
    assert len(base64.b64decode(t.generate_random_bytes(n_bytes=48)["data"]["random_bytes"])) == 48
    assert len(t.generate_random_bytes(n_bytes=8, output_format="hex")["data"]["random_bytes"]) == 16
    data = b"abc"
    assert t.hash_data(b64(data))["data"]["sum"] == sm3(data).hex()  # guomi's default: SM3
    for name, algo in (("sha2-256", "sha256"), ("sha2-512", "sha512"), ("sha2-224", "sha224")):
        assert t.hash_data(b64(data), algorithm=name)["data"]["sum"] == hashlib.new(algo, data).hexdigest()
    b64sum = t.hash_data(b64(data), algorithm="sha2-384", output_format="base64")["data"]["sum"]
    assert base64.b64decode(b64sum) == hashlib.sha384(data).digest()


def test_hmac_sign_verify(vault: hvac.Client) -> None:
    t = transit(vault)
    # hvac only knows Vault's type names; SM types are created through its raw writer.
    vault.write("transit/keys/mac", type="hmac-sm3")
    vault.write("transit/keys/signer", type="sm2-sign")
    tag = t.generate_hmac("mac", hash_input=b64(b"m"))["data"]["hmac"]
    assert t.verify_signed_data("mac", hash_input=b64(b"m"), hmac=tag)["data"]["valid"]
    assert not t.verify_signed_data("mac", hash_input=b64(b"n"), hmac=tag)["data"]["valid"]
    with pytest.raises(hx.InvalidRequest, match="unsupported_operation"):
        t.generate_hmac("mac", hash_input=b64(b"m"), algorithm="sha2-256")
    sig = t.sign_data("signer", hash_input=b64(b"msg"), marshaling_algorithm="asn1")["data"]["signature"]
    assert sig.startswith("guomi:v1:1:")
    ok = t.verify_signed_data("signer", hash_input=b64(b"msg"), signature=sig, marshaling_algorithm="asn1")
    assert ok["data"]["valid"]
    assert not t.verify_signed_data("signer", hash_input=b64(b"other"), signature=sig)["data"]["valid"]
    with pytest.raises(hx.InvalidRequest, match="marshaling_algorithm"):
        t.sign_data("signer", hash_input=b64(b"msg"), marshaling_algorithm="jws")
    with pytest.raises(hx.InvalidRequest, match="hash_algorithm"):
        t.sign_data("signer", hash_input=b64(b"msg"), hash_algorithm="sha2-256")
    with pytest.raises(hx.InvalidRequest):
        t.sign_data("signer", hash_input=b64(b"msg"), signature_algorithm="pss")


def test_prehashed_sm2_signature(vault: hvac.Client) -> None:
    from guomi.primitives import serialization  # noqa: PLC0415
    from guomi.primitives.sm2 import compute_za  # noqa: PLC0415

    t = transit(vault)
    vault.write("transit/keys/pre", type="sm2-sign")
    pem = t.read_key("pre")["data"]["keys"]["1"]["public_key"]
    pub = serialization.load_pem_public_key(pem.encode())
    e = sm3(compute_za(pub) + b"message")  # e = SM3(Z_A || M), GB/T 32918.2
    sig = t.sign_data("pre", hash_input=b64(e), prehashed=True)["data"]["signature"]
    # The same signature verifies on the message itself, and prehashed on e.
    assert t.verify_signed_data("pre", hash_input=b64(b"message"), signature=sig)["data"]["valid"]
    assert t.verify_signed_data("pre", hash_input=b64(e), signature=sig, prehashed=True)["data"]["valid"]
    with pytest.raises(hx.InvalidRequest, match="32"):
        t.sign_data("pre", hash_input=b64(b"short"), prehashed=True)


def test_backup_restore_trim(vault: hvac.Client) -> None:
    t = transit(vault)
    t.create_key("bk")
    for _ in range(3):
        t.rotate_key("bk")
    old = t.encrypt_data("bk", plaintext=b64(b"v4"), key_version=1)["data"]["ciphertext"]
    backup = t.backup_key("bk")["data"]["backup"]
    t.restore_key(backup, name="bk-copy")
    assert t.read_key("bk-copy")["data"]["latest_version"] == 4
    t.update_key_configuration("bk", min_decryption_version=3, min_encryption_version=4)
    trimmed = t.trim_key("bk", min_version=3)["data"]
    assert trimmed["min_available_version"] == 3 and sorted(trimmed["keys"]) == ["3", "4"]
    with pytest.raises(hx.InvalidRequest):
        t.decrypt_data("bk", ciphertext=old)
    with pytest.raises(hx.InvalidRequest, match="min_available_version"):
        t.trim_key("bk", min_version=4 + 1)


def test_errors_reach_hvac_as_its_exceptions(vault: hvac.Client, app_and_root: tuple[object, str]) -> None:
    t = transit(vault)
    with pytest.raises(hx.InvalidPath):
        t.read_key("missing")
    with pytest.raises(hx.InvalidRequest, match="not_found"):
        t.decrypt_data("missing", ciphertext="guomi:v1:1:AAAA")
    vault.write("transit/keys/locked")
    limited_token = vault.auth.token.create(policies=["nobody"], ttl="1h")["auth"]["client_token"]
    limited = hvac.Client(url=vault.url, token=limited_token, session=vault.session)
    with pytest.raises(hx.Forbidden, match="forbidden"):
        transit(limited).encrypt_data("locked", plaintext=b64(b"x"))
    # Sealed: 503, hvac's VaultDown.
    app, _ = app_and_root
    app.state.engine.seal(app.state.engine.authenticate(vault.token, _ctx()))  # type: ignore[attr-defined]
    with pytest.raises(hx.VaultDown):
        t.read_key("locked")


def _ctx() -> object:
    from guomi.kms.service import RequestContext  # noqa: PLC0415

    return RequestContext()


def test_no_error_crashes_inside_hvac_on_any_path(vault: hvac.Client) -> None:
    # hvac announces itself with X-Vault-Request: guomi's own paths then answer errors in
    # Vault's shape too, so hvac raises its exception instead of failing to parse the body.
    assert vault.read("keys/missing") is None  # hvac's read turns InvalidPath (404) into None
    with pytest.raises(hx.InvalidPath):
        vault.adapter.get("/v1/keys/missing")
    with pytest.raises(hx.InvalidRequest):
        vault.write("keys/bad", type="bogus")
    with pytest.raises(hx.InvalidPath):
        vault.adapter.get("/v1/no/such/path")
    stranger = hvac.Client(url=vault.url, token="gmt." + "D" * 43, session=vault.session)
    with pytest.raises(hx.Forbidden):
        stranger.read("keys")
    with pytest.raises(hx.UnexpectedError):  # 405: a method the path does not have
        vault.adapter.request("PATCH", "/v1/transit/keys/x")


def test_signing_and_mac_batches(vault: hvac.Client) -> None:
    t = transit(vault)
    vault.write("transit/keys/bsig", type="sm2-sign")
    vault.write("transit/keys/bmac", type="hmac-sm3")
    items = [{"input": b64(b"one"), "reference": "a"}, {"input": b64(b"two"), "reference": "b"}]
    sigs = t.sign_data("bsig", batch_input=items)["data"]["batch_results"]
    assert [s["reference"] for s in sigs] == ["a", "b"]
    checks = [{"input": i["input"], "signature": s["signature"]} for i, s in zip(items, sigs, strict=True)]
    checks.append({"input": b64(b"three"), "signature": sigs[0]["signature"]})
    # hvac's verify_signed_data has no batch_input: its adapter posts Vault's body as is.
    valid = vault.adapter.post("/v1/transit/verify/bsig", json={"batch_input": checks})["data"][
        "batch_results"
    ]
    assert [v["valid"] for v in valid] == [True, True, False]
    macs = vault.adapter.post(
        "/v1/transit/hmac/bmac", json={"batch_input": [{"input": b64(b"")}, {"input": b64(b"x")}]}
    )["data"]
    assert len(macs["batch_results"]) == 2 and macs["batch_results"][0]["hmac"].startswith("guomi:v1:1:")
    # partial_failure_response_code: some items failed, some worked -> the caller's status.
    r = vault.adapter.post(
        "/v1/transit/decrypt/bsig-missing-key-is-fine",
        json={"batch_input": [{"ciphertext": "x"}], "partial_failure_response_code": 207},
        raise_exception=False,
    )
    assert r.status_code == 400  # the key does not exist: Vault's 400
    t.create_key("pf")
    good = t.encrypt_data("pf", plaintext=b64(b"ok"))["data"]["ciphertext"]
    r = vault.adapter.post(
        "/v1/transit/decrypt/pf",
        json={
            "batch_input": [{"ciphertext": good}, {"ciphertext": "bad"}],
            "partial_failure_response_code": 207,
        },
        raise_exception=False,
    )
    assert r.status_code == 207
    results = r.json()["data"]["batch_results"]
    assert base64.b64decode(results[0]["plaintext"]) == b"ok" and "error" in results[1]
