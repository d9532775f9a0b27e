"""Ciphertext tokens (docs/spec/token.md §9): every named failure fails cleanly.

Each test id is the failure it provokes.  "Cleanly" means DecryptionFailedError
(HTTP 400) with a message that contains no plaintext or key material.
"""

from __future__ import annotations

import base64

import pytest

from guomi import api
from guomi.api import TokenHeader, format_text, parse_text
from guomi.exceptions import InvalidEncodingError
from guomi.kms.errors import DecryptionFailedError
from guomi.kms.service import Caller, Engine


def _b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64u(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


@pytest.fixture
def setup(engine: Engine, root: Caller) -> tuple[Engine, Caller, str]:
    engine.create_key(root, "a", api.CreateKeyRequest())
    engine.create_key(root, "b", api.CreateKeyRequest())
    ct = engine.encrypt(root, "a", api.EncryptRequest(plaintext=b"PLAINTEXT-42", associated_data=b"ad"))
    assert ct.ciphertext is not None
    return engine, root, ct.ciphertext


def _fails(e: Engine, c: Caller, name: str, token: str, ad: bytes | None = b"ad") -> DecryptionFailedError:
    with pytest.raises(DecryptionFailedError) as ei:
        e.decrypt(c, name, api.DecryptRequest(ciphertext=token, associated_data=ad))
    assert "PLAINTEXT" not in ei.value.message
    return ei.value


def test_token_layout(setup: tuple[Engine, Caller, str]) -> None:
    _, _, ct = setup
    prefix, fmt, version, data = ct.split(":")
    assert (prefix, fmt, version) == ("guomi", "v1", "1")
    blob = _unb64u(data)
    assert blob[0] == 1 and blob[1] == 0x01 and int.from_bytes(blob[2:6], "big") == 1
    assert len(blob) == 6 + 12 + 32 + len(b"PLAINTEXT-42") + 16
    header, blob2 = parse_text(ct)
    assert header == TokenHeader(1, "sm4-gcm", 1) and blob2 == blob


def test_token_bad_prefix(setup: tuple[Engine, Caller, str]) -> None:
    e, c, ct = setup
    assert _fails(e, c, "a", "vault" + ct[5:]).code == "invalid_ciphertext"


def test_token_bad_format_version(setup: tuple[Engine, Caller, str]) -> None:
    e, c, ct = setup
    _fails(e, c, "a", ct.replace("guomi:v1:", "guomi:v2:", 1))
    # ... and in the binary header.
    parts = ct.split(":")
    blob = bytearray(_unb64u(parts[3]))
    blob[0] = 2
    _fails(e, c, "a", ":".join([*parts[:3], _b64u(bytes(blob))]))


def test_token_version_leading_zero(setup: tuple[Engine, Caller, str]) -> None:
    e, c, ct = setup
    _fails(e, c, "a", ct.replace("guomi:v1:1:", "guomi:v1:01:", 1))


def test_token_text_binary_version_mismatch(setup: tuple[Engine, Caller, str], engine: Engine) -> None:
    e, c, ct = setup
    e.rotate_key(c, "a")
    _fails(e, c, "a", ct.replace("guomi:v1:1:", "guomi:v1:2:", 1))


def test_token_noncanonical_base64(setup: tuple[Engine, Caller, str]) -> None:
    e, c, ct = setup
    _fails(e, c, "a", ct + "=")
    _fails(e, c, "a", ct.replace("-", "+").replace("_", "/") if ("-" in ct or "_" in ct) else ct + "+")
    _fails(e, c, "a", ct + "!")


def test_token_truncated_header(setup: tuple[Engine, Caller, str]) -> None:
    e, c, _ = setup
    _fails(e, c, "a", "guomi:v1:1:" + _b64u(b"\x01\x01\x00"))


@pytest.mark.parametrize("cut", [1, 16, 17, 40])
def test_token_truncated_body(setup: tuple[Engine, Caller, str], cut: int) -> None:
    e, c, ct = setup
    parts = ct.split(":")
    blob = _unb64u(parts[3])
    _fails(e, c, "a", ":".join([*parts[:3], _b64u(blob[:-cut])]))


def test_token_flipped_bit(setup: tuple[Engine, Caller, str]) -> None:
    e, c, ct = setup
    parts = ct.split(":")
    blob = _unb64u(parts[3])
    for i in range(len(blob)):
        bad = bytearray(blob)
        bad[i] ^= 0x80
        _fails(e, c, "a", ":".join([*parts[:3], _b64u(bytes(bad))]))


def test_token_moved_to_other_key(setup: tuple[Engine, Caller, str]) -> None:
    e, c, ct = setup
    _fails(e, c, "b", ct)


def test_token_moved_to_other_version(setup: tuple[Engine, Caller, str]) -> None:
    e, c, ct = setup
    e.rotate_key(c, "a")
    parts = ct.split(":")
    blob = bytearray(_unb64u(parts[3]))
    blob[2:6] = (2).to_bytes(4, "big")
    _fails(e, c, "a", f"guomi:v1:2:{_b64u(bytes(blob))}")


def test_token_wrong_associated_data(setup: tuple[Engine, Caller, str]) -> None:
    e, c, ct = setup
    _fails(e, c, "a", ct, b"other")
    _fails(e, c, "a", ct, None)


def test_token_below_min_decryption_version(setup: tuple[Engine, Caller, str]) -> None:
    e, c, ct = setup
    e.rotate_key(c, "a")
    e.configure_key(c, "a", api.KeyConfigRequest(min_decryption_version=2))
    assert _fails(e, c, "a", ct).code == "key_version_disabled"


def test_token_unknown_algorithm(setup: tuple[Engine, Caller, str]) -> None:
    e, c, ct = setup
    parts = ct.split(":")
    blob = bytearray(_unb64u(parts[3]))
    blob[1] = 0x7F
    _fails(e, c, "a", ":".join([*parts[:3], _b64u(bytes(blob))]))


def test_token_other_algorithm_id(setup: tuple[Engine, Caller, str]) -> None:
    # A token claiming aes-256-gcm presented to an sm4-gcm key.
    e, c, ct = setup
    parts = ct.split(":")
    blob = bytearray(_unb64u(parts[3]))
    blob[1] = 0x02
    _fails(e, c, "a", ":".join([*parts[:3], _b64u(bytes(blob))]))


def test_token_future_version(setup: tuple[Engine, Caller, str]) -> None:
    e, c, ct = setup
    parts = ct.split(":")
    blob = bytearray(_unb64u(parts[3]))
    blob[2:6] = (9).to_bytes(4, "big")
    _fails(e, c, "a", f"guomi:v1:9:{_b64u(bytes(blob))}")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "guomi",
        "guomi:v1:1",
        "guomi:v1:1:",
        "guomi:v1:0:AQEAAAAA",
        "guomi:v1:x:AQ",
        "guomi:v1:99999999999:AQ",
        "guomi:v1:1:A",
        "guomi:v1:1:AQEAAAAB:extra",
    ],
)
def test_parse_text_rejects(text: str) -> None:
    with pytest.raises(InvalidEncodingError):
        parse_text(text)


def test_format_parse_roundtrip() -> None:
    h = TokenHeader(1, "hmac-sm3", 4_000_000_000)
    blob = h.encode() + b"\x00" * 32
    assert parse_text(format_text(h, blob)) == (h, blob)
