"""guomi.scan.classify_values on real data: PII, guomi service tokens, legacy formats from the real tools."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from guomi.fields import Field, LocalKeyring
from guomi.keys import Keyset
from guomi.scan import ColumnFinding, Kind, classify_value, classify_values, is_resident_id
from tests.scan import legacy
from tests.scan.service import Service, service


def _ids(n: int) -> list[str]:
    return [legacy.resident_id("110105", f"19{50 + i % 40:02d}0{1 + i % 9}1{i % 9}", i) for i in range(n)]


def test_resident_ids_with_valid_check_character() -> None:
    assert is_resident_id("11010519491231002X")  # GB 11643-1999's own example
    assert not is_resident_id("110105194912310021")  # wrong check character
    assert not is_resident_id("110105194913310020")  # month 13
    f = classify_values([*_ids(50), None, ""])
    assert f.kind is Kind.PII_RESIDENT_ID
    assert f.pii_share == 1.0 and f.empty == 2 and f.sampled == 52
    assert f.confidence > 0.95
    # Findings never carry the values themselves.
    assert not any(i in repr(f.to_dict()) for i in _ids(50))


def test_mobile_and_card_numbers() -> None:
    mobiles = [f"1{3 + i % 7}{i:09d}" for i in range(30)]
    assert classify_values(mobiles).kind is Kind.PII_MOBILE
    cards = [legacy.luhn_complete(f"62220212{i:010d}") for i in range(30)]
    f = classify_values(cards)
    assert f.kind is Kind.PII_BANK_CARD and f.pii_share == 1.0
    # The same digits with a wrong check digit are not card numbers.
    broken = [c[:-1] + str((int(c[-1]) + 1) % 10) for c in cards]
    assert classify_values(broken).pii_share == 0.0


def test_plain_words_are_plaintext_not_ciphertext() -> None:
    words = [
        "Zhang San",
        "zhangsan@bank.cn",
        "abcdefghijklmnopqrstuvwxyzABCDEF",
        "北京市朝阳区",
        "12345",
        "ok",
    ]
    f = classify_values(words)
    assert f.kind is Kind.PLAINTEXT and f.counts == {"plaintext": len(words)}


def test_fernet_from_pyca() -> None:
    f = classify_values(legacy.fernet_tokens([os.urandom(i) for i in range(40)]))
    assert f.kind is Kind.FERNET and f.confidence > 0.95 and f.legacy_share == 1.0


def test_base64_aes_gcm_and_spark_gcm() -> None:
    key = os.urandom(32)
    f = classify_values([legacy.b64_gcm(key, f"customer {i}".encode()) for i in range(40)])
    assert f.kind is Kind.AES_GCM and f.counts == {"aes-gcm": 40}
    raw = classify_values([legacy.spark_gcm(key, os.urandom(1 + i)) for i in range(40)])
    assert raw.kind is Kind.AES_GCM


def test_mysql_ecb_is_flagged_by_repetition() -> None:
    key = os.urandom(16)
    # A column with repeated plaintexts: ECB betrays itself by repeated ciphertexts.
    values = [legacy.aes_ecb(key, f"city-{i % 7}".encode()) for i in range(60)]
    f = classify_values(values)
    assert f.kind is Kind.AES_ECB and f.confidence >= 0.9
    assert f.duplicates == 60 - 7
    # MySQL users often store HEX(AES_ENCRYPT(...)).
    hexed = classify_values([v.hex().upper() for v in values])
    assert hexed.kind is Kind.AES_ECB
    # Single-block values are ECB even without repetition (no room for an IV).
    assert classify_values([legacy.aes_ecb(key, os.urandom(8)) for _ in range(10)]).kind is Kind.AES_ECB


def test_spark_cbc_with_iv_prefix() -> None:
    key = os.urandom(16)
    f = classify_values([legacy.spark_cbc(key, f"value {i}".encode()) for i in range(40)])
    assert f.kind is Kind.AES_CBC


def test_vault_transit_tokens_with_versions() -> None:
    vals = [f"vault:v{1 + i % 2}:" + base64.b64encode(os.urandom(40)).decode() for i in range(10)]
    f = classify_values(vals)
    assert f.kind is Kind.VAULT_TRANSIT and f.key_ids == {"vault:v1": 5, "vault:v2": 5}


@pytest.mark.interop
@pytest.mark.parametrize("oaep", [True, False], ids=["oaep", "pkcs1v15"])
def test_rsa_wrapped_keys_from_openssl(tmp_path: Path, oaep: bool) -> None:
    wrapped = legacy.rsa_wrapped_keys(tmp_path, 8, oaep=oaep)
    assert classify_values(wrapped).kind is Kind.RSA_WRAPPED
    assert classify_values([base64.b64encode(w).decode() for w in wrapped]).kind is Kind.RSA_WRAPPED


@pytest.fixture
def svc() -> Any:
    with service() as s:
        yield s


def test_guomi_service_tokens_with_key_versions(svc: Service) -> None:
    svc.call("POST", "keys/pii", {})
    tokens = [svc.encrypt("pii", f"id {i}".encode()) for i in range(5)]
    svc.call("POST", "keys/pii/rotate")
    tokens += [svc.encrypt("pii", f"id {i}".encode()) for i in range(5)]
    f = classify_values(tokens)
    assert f.kind is Kind.GUOMI_TOKEN and f.guomi_share == 1.0
    assert f.key_ids == {"token:sm4-gcm:v1": 5, "token:sm4-gcm:v2": 5}
    # A damaged token is counted as such, never as valid ciphertext.
    bad = classify_value(f"guomi:v1:1:{'A' * 10}")
    assert bad.kind is Kind.GUOMI_INVALID


def test_mixed_column_counts_every_kind() -> None:
    key = os.urandom(16)
    values: list[Any] = [*_ids(10), *legacy.fernet_tokens([b"x"] * 5), None]
    f: ColumnFinding = classify_values(values)
    assert f.counts == {"pii-resident-id": 10, "fernet": 5, "empty": 1}
    assert f.kind is Kind.PII_RESIDENT_ID
    assert round(f.pii_share, 3) == round(10 / 15, 3)
    d = f.to_dict()
    assert d["kind"] == "pii-resident-id" and d["legacy_share"] == round(5 / 15, 4)
    del key


def test_static_iv_cbc_is_flagged() -> None:
    key, iv = os.urandom(16), os.urandom(16)  # sqlalchemy-utils AesEngine style: one IV per key

    def enc(data: bytes) -> bytes:
        p = padding.PKCS7(128).padder()
        e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        return iv + e.update(p.update(data) + p.finalize()) + e.finalize()

    f = classify_values([enc(f"distinct value {i}".encode()) for i in range(20)])
    assert f.kind is Kind.AES_CBC and "static-iv" in f.flags


def test_unkeyed_digests() -> None:
    phones = [f"138{i:08d}".encode() for i in range(20)]
    sha1 = classify_values([hashlib.sha1(p).hexdigest() for p in phones])
    assert sha1.kind is Kind.UNKEYED_DIGEST and "sha1" in sha1.flags
    md5 = classify_values([hashlib.md5(p).hexdigest() for p in phones], name="phone_md5")
    assert md5.kind is Kind.UNKEYED_DIGEST and "md5" in md5.flags
    # Without the name hint the same bytes are single-block ECB: flagged either way.
    assert classify_values([hashlib.md5(p).hexdigest() for p in phones]).kind is Kind.AES_ECB


def test_blind_index_width_from_integers() -> None:
    f = classify_values([(i * 7919) % (1 << 20) for i in range(200)])
    assert f.int_bits == 20


def test_guomi_field_values_with_key_ids() -> None:
    keyset = Keyset.generate()
    first = keyset.primary_key_id if hasattr(keyset, "primary_key_id") else None
    field = Field("customers", "id_no", LocalKeyring(keyset))
    values: list[Any] = [field.encrypt(f"11010519491231{i:03d}X") for i in range(10)]
    keyset.rotate()
    values += [field.encrypt(f"11010519491231{i:03d}X") for i in range(5)]
    values += [field.encrypt_binary(b"\x00\x01") for _ in range(3)]  # BLOB form
    f = classify_values(values)
    assert f.kind is Kind.GUOMI_FIELD and f.guomi_share == 1.0
    assert sorted(f.key_ids.values()) == [8, 10] and all(k.startswith("field:") for k in f.key_ids)
    if first is not None:
        assert f"field:{first:08x}" in f.key_ids
    # A damaged armour (the gm1. prefix, a body that does not parse) is counted as such.
    assert classify_value(values[0][:10] + "!" + values[0][11:]).kind is Kind.GUOMI_INVALID
