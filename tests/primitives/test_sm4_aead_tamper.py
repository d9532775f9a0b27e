"""Tamper resistance of SM4-GCM and SM4-CCM: EVERY single-bit flip of the
ciphertext, the tag, the nonce or the associated data makes decryption raise
InvalidTag (exhaustive over all bits of moderate-size messages), on every SM4
path, for full and truncated tags."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from guomi.exceptions import InvalidTag
from guomi.primitives.sm4 import SM4CCM, SM4GCM

KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")
AAD = bytes(range(200, 221))  # 21 bytes: a partial GHASH / CBC-MAC block
PT = bytes(range(37))  # 37 bytes: two full blocks and a partial one

Factory = Callable[[bytes], SM4GCM | SM4CCM]

CASES: list[tuple[str, Factory, bytes]] = [
    ("gcm-tag16-nonce12", SM4GCM, bytes(range(12))),
    ("gcm-tag12-nonce12", lambda k: SM4GCM(k, tag_length=12), bytes(range(12))),
    ("gcm-tag8-short", lambda k: SM4GCM(k, tag_length=8, allow_short_tags=True), bytes(range(12))),
    ("gcm-tag16-nonce16", SM4GCM, bytes(range(16))),
    ("gcm-tag16-nonce1", SM4GCM, b"\x5a"),
    ("ccm-tag16-nonce12", SM4CCM, bytes(range(12))),
    ("ccm-tag4-nonce13", lambda k: SM4CCM(k, tag_length=4), bytes(range(13))),
    ("ccm-tag10-nonce7", lambda k: SM4CCM(k, tag_length=10), bytes(range(7))),
]


def _flips(data: bytes) -> list[bytes]:
    out = []
    for i in range(len(data) * 8):
        b = bytearray(data)
        b[i // 8] ^= 1 << (i % 8)
        out.append(bytes(b))
    return out


@pytest.mark.parametrize(("name", "factory", "nonce"), CASES, ids=[c[0] for c in CASES])
def test_every_bit_flip_is_rejected(name: str, factory: Factory, nonce: bytes, backend: str) -> None:
    aead = factory(KEY)
    sealed = aead.encrypt(nonce, PT, AAD)
    assert aead.decrypt(nonce, sealed, AAD) == PT
    rejected = 0
    # Ciphertext and tag.
    for bad in _flips(sealed):
        with pytest.raises(InvalidTag):
            aead.decrypt(nonce, bad, AAD)
        rejected += 1
    # Nonce.
    for bad in _flips(nonce):
        with pytest.raises(InvalidTag):
            aead.decrypt(bad, sealed, AAD)
        rejected += 1
    # Associated data.
    for bad in _flips(AAD):
        with pytest.raises(InvalidTag):
            aead.decrypt(nonce, sealed, bad)
        rejected += 1
    assert rejected == 8 * (len(sealed) + len(nonce) + len(AAD))


@pytest.mark.parametrize(("name", "factory", "nonce"), CASES, ids=[c[0] for c in CASES])
def test_truncation_extension_and_swaps_are_rejected(name: str, factory: Factory, nonce: bytes) -> None:
    aead = factory(KEY)
    sealed = aead.encrypt(nonce, PT, AAD)
    for cut in (1, 2, 16):
        with pytest.raises(InvalidTag):
            aead.decrypt(nonce, sealed[:-cut], AAD)
    with pytest.raises(InvalidTag):
        aead.decrypt(nonce, sealed + b"\x00", AAD)
    with pytest.raises(InvalidTag):
        aead.decrypt(nonce, sealed, AAD[:-1])
    with pytest.raises(InvalidTag):
        aead.decrypt(nonce, sealed, None)
    # Moving bytes between associated data and ciphertext must not verify.
    with pytest.raises(InvalidTag):
        aead.decrypt(nonce, AAD[-1:] + sealed, AAD[:-1])
    # Another key.
    other = factory(bytes(16))
    with pytest.raises(InvalidTag):
        other.decrypt(nonce, sealed, AAD)
