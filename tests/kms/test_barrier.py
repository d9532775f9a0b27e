"""The barrier: records encrypted at rest, bound to their path; keyring opens only with the master key."""

from __future__ import annotations

import os

import pytest

from guomi.kms.barrier import Barrier, BarrierError, Keyring
from guomi.kms.storage import MemoryStorage, Put


def test_values_are_encrypted_at_rest_and_roundtrip() -> None:
    raw = MemoryStorage()
    b = Barrier(raw, Keyring.generate())
    secret = b"top secret key material " * 4
    b.commit([Put("keyver/a/0000000001", secret, 0)])
    stored = raw.get("keyver/a/0000000001")
    assert stored is not None and secret not in stored.value and b"top secret" not in stored.value
    rec = b.get("keyver/a/0000000001")
    assert rec is not None and rec.value == secret


def test_moved_record_fails_authentication() -> None:
    raw = MemoryStorage()
    b = Barrier(raw, Keyring.generate())
    b.commit([Put("auth/token/aaaa", b'{"policies": ["root"]}')])
    b.commit([Put("auth/token/bbbb", b'{"policies": ["reader"]}')])
    rec = raw.get("auth/token/aaaa")
    assert rec is not None
    raw.commit([Put("auth/token/bbbb", rec.value)])  # storage attacker swaps records
    with pytest.raises(BarrierError):
        b.get("auth/token/bbbb")


@pytest.mark.parametrize("position", [0, 1, 5, 8, 20, -1])
def test_tampered_or_truncated_record_fails(position: int) -> None:
    raw = MemoryStorage()
    b = Barrier(raw, Keyring.generate())
    b.commit([Put("p", b"value")])
    rec = raw.get("p")
    assert rec is not None
    blob = bytearray(rec.value)
    blob[position] ^= 0x01
    raw.commit([Put("p", bytes(blob))])
    with pytest.raises(BarrierError):
        b.get("p")
    raw.commit([Put("p", rec.value[:20])])
    with pytest.raises(BarrierError):
        b.get("p")


def test_other_keyring_cannot_read() -> None:
    raw = MemoryStorage()
    Barrier(raw, Keyring.generate()).commit([Put("p", b"v")])
    with pytest.raises(BarrierError):
        Barrier(raw, Keyring.generate()).get("p")


def test_keyring_wrap_unwrap_and_wrong_master() -> None:
    kr = Keyring.generate()
    master = os.urandom(32)
    blob = kr.wrap(master)
    back = Keyring.unwrap(master, blob)
    assert (back.barrier_key, back.audit_key, back.token_key, back.backup_key) == (
        kr.barrier_key,
        kr.audit_key,
        kr.token_key,
        kr.backup_key,
    )
    with pytest.raises(BarrierError):
        Keyring.unwrap(os.urandom(32), blob)
    with pytest.raises(BarrierError):
        Keyring.unwrap(master, blob[:-1])
    assert kr.barrier_key.hex() not in repr(kr)
