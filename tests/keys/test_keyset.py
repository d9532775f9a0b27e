"""Keysets (docs/spec/keyset.md): rotation without code change, statuses, encrypted storage only."""

from __future__ import annotations

import base64
import json
import re
import struct
from pathlib import Path

import pytest

from guomi.exceptions import InvalidArgumentError, InvalidEncodingError, InvalidTag
from guomi.keys import INSECURE_CLEARTEXT_KEYSET_ACCESS, Aead, Keyset, LocalAead
from guomi.primitives.sm4 import SM4GCM
from tests.client.asgi import make_app, running

FAST = 100_000  # the minimum iterations, to keep the tests quick


def test_aead_protocol_and_prefix() -> None:
    ks = Keyset.generate()
    aead = ks.aead()
    assert isinstance(aead, Aead)
    ct = aead.encrypt(b"hello", b"ad")
    assert ct[0] == 1 and struct.unpack(">I", ct[1:5])[0] == ks.primary_id
    assert len(ct) == 5 + 12 + 5 + 16
    assert aead.decrypt(ct, b"ad") == b"hello"
    with pytest.raises(InvalidTag):
        aead.decrypt(ct, b"other ad")


def test_ciphertext_layout_matches_the_spec() -> None:
    ks = Keyset.generate()
    ct = ks.aead().encrypt(b"pt", b"ad")
    material = base64.b64decode(
        json.loads(ks.export_cleartext(access=INSECURE_CLEARTEXT_KEYSET_ACCESS))["keys"][0]["material"]
    )
    # SM4-GCM(key, nonce, AD = prefix || associated_data) by hand.
    assert SM4GCM(material).decrypt(ct[5:17], ct[17:], ct[:5] + b"ad") == b"pt"


def test_rotation_needs_no_code_change() -> None:
    ks = Keyset.generate()
    aead = ks.aead()  # obtained once, like an application at start-up
    old_id = ks.primary_id
    old = aead.encrypt(b"v1 data")
    new_id = ks.rotate()
    assert new_id != old_id and ks.primary_id == new_id
    new = aead.encrypt(b"v2 data")
    assert struct.unpack(">I", new[1:5])[0] == new_id
    assert aead.decrypt(old) == b"v1 data" and aead.decrypt(new) == b"v2 data"
    # After a reload from storage, too.
    again = Keyset.from_encrypted_json(
        ks.to_encrypted_json(passphrase="pw", iterations=FAST), passphrase="pw"
    )
    assert again.aead().decrypt(old) == b"v1 data"
    assert [i.primary for i in again.info()].count(True) == 1


def test_statuses() -> None:
    ks = Keyset.generate()
    first = ks.primary_id
    aead = ks.aead()
    ct = aead.encrypt(b"x")
    ks.rotate()
    ks.disable(first)
    with pytest.raises(InvalidTag, match=f"key {first} is disabled"):
        aead.decrypt(ct)
    ks.enable(first)
    assert aead.decrypt(ct) == b"x"
    ks.destroy(first)
    with pytest.raises(InvalidTag, match=f"key {first} is destroyed"):
        aead.decrypt(ct)
    with pytest.raises(InvalidArgumentError):
        ks.enable(first)
    with pytest.raises(InvalidArgumentError, match="only an enabled key"):
        ks.set_primary(first)
    with pytest.raises(InvalidArgumentError, match="primary key cannot be disabled"):
        ks.disable(ks.primary_id)
    with pytest.raises(InvalidArgumentError, match="primary key cannot be destroyed"):
        ks.destroy(ks.primary_id)
    spare = ks.add()
    assert ks.primary_id != spare
    ks.set_primary(spare)
    assert ks.primary_id == spare
    with pytest.raises(InvalidArgumentError, match="no key with id"):
        ks.disable(12345 if 12345 not in {i.id for i in ks.info()} else 54321)
    cleartext = json.loads(ks.export_cleartext(access=INSECURE_CLEARTEXT_KEYSET_ACCESS))
    destroyed = next(k for k in cleartext["keys"] if k["id"] == first)
    assert destroyed["status"] == "destroyed" and "material" not in destroyed


def test_tampered_or_foreign_ciphertexts() -> None:
    ks = Keyset.generate()
    aead = ks.aead()
    ct = bytearray(aead.encrypt(b"data"))
    other = Keyset.generate()
    with pytest.raises(InvalidTag, match="unknown"):
        other.aead().decrypt(bytes(ct))
    for i in range(len(ct)):
        bad = bytearray(ct)
        bad[i] ^= 1
        with pytest.raises(InvalidTag):
            aead.decrypt(bytes(bad))
    with pytest.raises(InvalidTag):
        aead.decrypt(bytes(ct[:20]))


def test_cleartext_needs_the_access_token() -> None:
    ks = Keyset.generate()
    with pytest.raises(InvalidArgumentError, match="INSECURE_CLEARTEXT_KEYSET_ACCESS"):
        ks.export_cleartext(access=True)
    text = ks.export_cleartext(access=INSECURE_CLEARTEXT_KEYSET_ACCESS)
    with pytest.raises(InvalidArgumentError):
        Keyset.import_cleartext(text, access="yes")
    back = Keyset.import_cleartext(text, access=INSECURE_CLEARTEXT_KEYSET_ACCESS)
    assert back.aead().decrypt(ks.aead().encrypt(b"z")) == b"z"
    material = json.loads(text)["keys"][0]["material"]
    # Nothing else shows the material.
    assert material not in repr(ks) and material not in repr(ks.aead()) and material not in str(ks.info())
    assert material not in ks.to_encrypted_json(aead=LocalAead.generate())


def test_passphrase_storage() -> None:
    ks = Keyset.generate()
    ks.rotate()
    stored = ks.to_encrypted_json(passphrase="correct horse", iterations=FAST)
    doc = json.loads(stored)
    assert doc["format"] == "guomi-encrypted-keyset/v1"
    assert doc["wrap"]["kdf"] == "pbkdf2-hmac-sm3" and doc["wrap"]["iterations"] == FAST
    back = Keyset.from_encrypted_json(stored, passphrase="correct horse")
    assert {i.id for i in back.info()} == {i.id for i in ks.info()}
    with pytest.raises(InvalidTag):
        Keyset.from_encrypted_json(stored, passphrase="wrong")
    # The KDF parameters are authenticated: lowering the stored work factor is detected.
    doc["wrap"]["iterations"] = FAST + 1
    with pytest.raises(InvalidTag):
        Keyset.from_encrypted_json(json.dumps(doc), passphrase="correct horse")
    doc["wrap"]["iterations"] = 1000
    with pytest.raises(InvalidArgumentError, match="iterations"):
        Keyset.from_encrypted_json(json.dumps(doc), passphrase="correct horse")
    with pytest.raises(InvalidArgumentError, match="passphrase="):
        Keyset.from_encrypted_json(stored, aead=LocalAead.generate())
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        ks.to_encrypted_json()
    with pytest.raises(InvalidEncodingError):
        Keyset.from_encrypted_json("{}", passphrase="x")
    assert Keyset.generate().to_encrypted_json(passphrase="p").count("600000") == 1  # default work factor


def test_stored_under_a_custody_service_key() -> None:
    """The keyset's wrapping key lives in the custody service (client.aead(name))."""
    with running(make_app()) as (client, _):
        client.create_key("keyset-kek", "sm4-gcm")
        kek = client.aead("keyset-kek")
        ks = Keyset.generate()
        ct = ks.aead().encrypt(b"row")
        stored = ks.to_encrypted_json(aead=kek)
        assert json.loads(stored)["wrap"] == {"kind": "aead"}
        assert Keyset.from_encrypted_json(stored, aead=kek).aead().decrypt(ct) == b"row"
        client.create_key("other", "sm4-gcm")
        with pytest.raises(InvalidTag):
            Keyset.from_encrypted_json(stored, aead=client.aead("other"))


def test_bad_cleartext_documents() -> None:
    good = json.loads(Keyset.generate().export_cleartext(access=INSECURE_CLEARTEXT_KEYSET_ACCESS))
    cases = []
    for mutate in (
        lambda d: d.update(format="x"),
        lambda d: d.update(primary=7),
        lambda d: d["keys"][0].update(material="AAAA"),
        lambda d: d["keys"][0].update(id=0),
        lambda d: d["keys"][0].update(status="maybe"),
        lambda d: d["keys"].append(dict(d["keys"][0])),
        lambda d: d.update(keys=[]),
    ):
        doc = json.loads(json.dumps(good))
        mutate(doc)
        cases.append(json.dumps(doc))
    for text in [*cases, "not json"]:
        with pytest.raises((InvalidEncodingError, ValueError)):
            Keyset.import_cleartext(text, access=INSECURE_CLEARTEXT_KEYSET_ACCESS)


def test_cleartext_access_is_greppable() -> None:
    """Outside keyset.py and its tests, no source file reads cleartext keysets without the token."""
    src = Path(__file__).parents[2] / "src" / "guomi"
    for path in src.rglob("*.py"):
        text = path.read_text()
        for m in re.finditer(r"(export|import)_cleartext\(", text):
            line = text[text.rfind("\n", 0, m.start()) + 1 : text.find("\n", m.end())]
            assert "access" in line or "def " in line or path.name == "keyset.py", (path, line)
