"""Keys from the custody service: unwrapped once per process, never per row; the service key
rotates by rewrap without touching rows."""

from __future__ import annotations

import time
from typing import Any

import pytest

from guomi.fields import BlindIndex, Field, ServiceKeyring
from guomi.keys import Keyset

ROWS = 100_000


class CountingAead:
    """An Aead that counts the calls reaching the "service"."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.encrypts = 0
        self.decrypts = 0

    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> bytes:
        self.encrypts += 1
        return self.inner.encrypt(plaintext, associated_data)  # type: ignore[no-any-return]

    def decrypt(self, ciphertext: bytes, associated_data: bytes = b"") -> bytes:
        self.decrypts += 1
        return self.inner.decrypt(ciphertext, associated_data)  # type: ignore[no-any-return]


def _work(field: Field) -> list[str]:
    values = [f"user{i}@bank.cn" for i in range(ROWS)]
    tokens = []
    for start in range(0, ROWS, 10_000):  # batches, as a backfill does
        tokens += field.encrypt_many(values[start : start + 10_000])
        field.index_many("email_bidx", values[start : start + 10_000])
    for v in values[:1000]:  # and the per-value API
        field.encrypt(v)
        field.index("email_bidx", v)
    assert field.decrypt_many(tokens[:1000]) == values[:1000]
    return tokens


def test_counting_aead_one_unwrap_per_key_version() -> None:
    service = CountingAead(Keyset.generate().aead())
    keyring = ServiceKeyring.create(service)
    assert service.encrypts == 1 and service.decrypts == 0
    field = Field("customer", "email", keyring, indexes=[BlindIndex("email_bidx", bits=16)])
    tokens = _work(field)
    assert service.decrypts == 1 == keyring.unwrap_count
    # A new data-key version: at most one more unwrap for it, whatever the row count.
    keyring.rotate()
    _work(field)
    assert service.decrypts <= 2
    assert field.decrypt(tokens[0]) == "user0@bank.cn"


def test_bounded_lifetime_unwraps_again() -> None:
    service = CountingAead(Keyset.generate().aead())
    keyring = ServiceKeyring.create(service, ttl=0.05)
    field = Field("t", "c", keyring)
    field.encrypt("x")
    time.sleep(0.1)
    field.encrypt("y")
    assert service.decrypts == 2


def test_in_process_custody_service() -> None:
    """The real service through the SDK: 100,000 rows cost one unwrap; the service key rotates
    and the keyset is rewrapped without touching the rows."""
    asgi = pytest.importorskip("tests.client.asgi")
    with asgi.running(asgi.make_app()) as (client, _):
        client.create_key("field-kek")
        service = CountingAead(client.aead("field-kek"))
        keyring = ServiceKeyring.create(service)
        field = Field("customer", "email", keyring, indexes=[BlindIndex("email_bidx", bits=16)])
        tokens = _work(field)
        assert service.decrypts == 1
        index_before = field.index("email_bidx", "user5@bank.cn")
        client.rotate_key("field-kek")
        old_doc = keyring.wrapped
        new_doc = keyring.rewrap()
        assert new_doc != old_doc
        # Another process reading the rewrapped document: one unwrap, same rows readable.
        fresh = ServiceKeyring(CountingAead(client.aead("field-kek")), new_doc)
        reader = Field("customer", "email", fresh, indexes=[BlindIndex("email_bidx", bits=16)])
        assert reader.decrypt_many(tokens[:100]) == [f"user{i}@bank.cn" for i in range(100)]
        assert reader.index("email_bidx", "user5@bank.cn") == index_before
        assert fresh.unwrap_count == 1
