"""SM4-XTS (GB/T 17964-2021 and IEEE 1619): every shared vector on every SM4
path, a differential test against an independent XTS written here over
pyca/cryptography's SM4 block cipher (pyca has no SM4-XTS), and the errors."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from guomi.exceptions import InvalidArgumentError, InvalidKey
from guomi.primitives.sm4 import SM4XTS
from tests.helpers import vector_params


def _blk(key: bytes, block: bytes, encrypt: bool) -> bytes:
    c = Cipher(algorithms.SM4(key), modes.ECB())
    ctx = c.encryptor() if encrypt else c.decryptor()
    return ctx.update(block) + ctx.finalize()


def _mul_x(t: bytes, standard: str) -> bytes:
    if standard == "ieee":  # IEEE 1619 §5.2: little-endian, 0x87
        v = int.from_bytes(t, "little")
        v = ((v << 1) ^ (0x87 if v >> 127 else 0)) & ((1 << 128) - 1)
        return v.to_bytes(16, "little")
    # GB/T 17964-2021: GCM's bit-reflected order, right shift, 0xE1 on carry out of x^127.
    v = int.from_bytes(t, "big")
    v = (v >> 1) ^ ((0xE1 << 120) if v & 1 else 0)
    return v.to_bytes(16, "big")


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def reference_xts(key: bytes, tweak: bytes, data: bytes, standard: str, encrypt: bool) -> bytes:
    """IEEE 1619 §5.3/5.4 with ciphertext stealing, tweak arithmetic per standard."""
    k1, k2 = key[:16], key[16:]
    t = _blk(k2, tweak, True)
    m, r = divmod(len(data), 16)
    tweaks = []
    for _ in range(m + 1):
        tweaks.append(t)
        t = _mul_x(t, standard)
    out = bytearray()
    full = m - 1 if r else m
    for j in range(full):
        out += _xor(_blk(k1, _xor(data[16 * j : 16 * j + 16], tweaks[j]), encrypt), tweaks[j])
    if r:
        last_full = data[16 * full : 16 * full + 16]
        tail = data[16 * full + 16 :]
        first_t, second_t = (tweaks[full], tweaks[full + 1]) if encrypt else (tweaks[full + 1], tweaks[full])
        cc = _xor(_blk(k1, _xor(last_full, first_t), encrypt), first_t)
        pp = tail + cc[r:]
        out += _xor(_blk(k1, _xor(pp, second_t), encrypt), second_t) + cc[:r]
    return bytes(out)


@pytest.mark.parametrize("v", vector_params("sm4_xts.json"))
def test_xts_vector(v: dict[str, Any], backend: str) -> None:
    key, tweak = bytes.fromhex(v["key"]), bytes.fromhex(v["tweak"])
    pt, ct = bytes.fromhex(v["plaintext"]), bytes.fromhex(v["ciphertext"])
    standard = v["standard"].lower()
    # The vector agrees with the reference XTS written in this file.
    assert reference_xts(key, tweak, pt, standard, True) == ct
    assert reference_xts(key, tweak, ct, standard, False) == pt
    if key[:16] == key[16:]:
        # Published with equal halves (all-zero keys): guomi refuses such
        # keys (they void XTS's security argument), which counts as
        # rejection here. The Rust tests check these bytes through the
        # core's hidden escape hatch; Python has none.
        with pytest.raises(InvalidKey, match="halves"):
            SM4XTS(key, standard=standard)
        return
    xts = SM4XTS(key, standard=standard)
    assert xts.encrypt(tweak, pt) == ct
    assert xts.decrypt(tweak, ct) == pt


@settings(derandomize=True, max_examples=100, deadline=None)
@given(
    key=st.binary(min_size=32, max_size=32).filter(lambda k: k[:16] != k[16:]),
    tweak=st.binary(min_size=16, max_size=16),
    data=st.binary(min_size=16, max_size=4096),
    standard=st.sampled_from(["gb", "ieee"]),
)
def test_xts_matches_reference(key: bytes, tweak: bytes, data: bytes, standard: str) -> None:
    xts = SM4XTS(key, standard=standard)
    ct = xts.encrypt(tweak, data)
    assert ct == reference_xts(key, tweak, data, standard, True)
    assert xts.decrypt(tweak, ct) == data
    assert reference_xts(key, tweak, ct, standard, False) == data


@pytest.mark.parametrize("length", [16, 17, 31, 32, 33, 2047, 2048, 2049, 2063, 5000])
@pytest.mark.parametrize("standard", ["gb", "ieee"])
def test_xts_lengths_on_every_backend(length: int, standard: str, backend: str) -> None:
    key = bytes(range(32))
    tweak = bytes(range(16, 32))
    data = bytes((3 * i + 1) & 0xFF for i in range(length))
    xts = SM4XTS(key, standard=standard)
    ct = xts.encrypt(tweak, data)
    assert ct == reference_xts(key, tweak, data, standard, True)
    assert xts.decrypt(tweak, ct) == data


def test_standards_agree_on_first_block_only() -> None:
    key, tweak, data = bytes(range(32)), bytes(16), bytes(64)
    gb = SM4XTS(key, standard="gb").encrypt(tweak, data)
    ieee = SM4XTS(key, standard="ieee").encrypt(tweak, data)
    assert gb[:16] == ieee[:16]
    assert gb[16:] != ieee[16:]


def test_default_standard_is_gb() -> None:
    key = bytes(range(32))
    assert SM4XTS(key).standard == "gb"
    gb = SM4XTS(key, standard="gb").encrypt(bytes(16), bytes(48))
    assert SM4XTS(key).encrypt(bytes(16), bytes(48)) == gb


def test_equal_halves_rejected() -> None:
    with pytest.raises(InvalidKey, match="halves"):
        SM4XTS(bytes(16) * 2)
    with pytest.raises(InvalidKey, match="halves"):
        SM4XTS(bytes(range(16)) * 2, standard="ieee")


@pytest.mark.parametrize("key_len", [0, 16, 31, 33, 64])
def test_wrong_key_length(key_len: int) -> None:
    with pytest.raises(InvalidKey, match="32 bytes"):
        SM4XTS(bytes(range(key_len)))


@pytest.mark.parametrize("n", [0, 1, 15])
def test_data_shorter_than_a_block(n: int) -> None:
    xts = SM4XTS(bytes(range(32)))
    with pytest.raises(InvalidArgumentError, match="data"):
        xts.encrypt(bytes(16), bytes(n))
    with pytest.raises(InvalidArgumentError, match="data"):
        xts.decrypt(bytes(16), bytes(n))


@pytest.mark.parametrize("n", [0, 8, 15, 17, 32])
def test_wrong_tweak_length(n: int) -> None:
    with pytest.raises(InvalidArgumentError, match="tweak"):
        SM4XTS(bytes(range(32))).encrypt(bytes(n), bytes(32))


def test_data_unit_limit() -> None:
    xts = SM4XTS(bytes(range(32)))
    assert len(xts.encrypt(bytes(16), bytes(1 << 24))) == 1 << 24
    with pytest.raises(InvalidArgumentError, match=r"2\^20 blocks"):
        xts.encrypt(bytes(16), bytes((1 << 24) + 1))


def test_bad_standard() -> None:
    with pytest.raises(InvalidArgumentError, match="standard"):
        SM4XTS(bytes(range(32)), standard="ieee1619")


def test_generate_key_and_repr() -> None:
    key = SM4XTS.generate_key()
    assert len(key) == 32 and key[:16] != key[16:]
    assert key.hex()[:16] not in repr(SM4XTS(key))


def test_large_units_in_threads(backend: str) -> None:
    """Several threads at once on 1 MiB data units (GIL released); every result checked."""
    xts = SM4XTS(bytes(range(32)), standard="ieee")
    units = [bytes([i]) * (1 << 20) for i in range(4)]
    expected = [
        reference_xts(bytes(range(32)), bytes([i]) * 16, units[i][:4096], "ieee", True) for i in range(4)
    ]
    results: list[list[bool]] = [[] for _ in range(4)]

    def work(i: int) -> None:
        for _ in range(3):
            ct = xts.encrypt(bytes([i]) * 16, units[i])
            # The first 4 KiB against the reference; the whole unit round-trips.
            results[i].append(ct[:4096] == expected[i] and xts.decrypt(bytes([i]) * 16, ct) == units[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [[True] * 3] * 4
