"""ZUC-128, 128-EEA3 and 128-EIA3: every vector of zuc.json on every path, plus 3GPP edge rules.

The ``backend`` fixture runs each vector on the portable path (masked
table-scan S-boxes) and on the SIMD path (VPSHUFB S-boxes) when present.
"""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guomi.exceptions import InvalidArgumentError, InvalidKey
from guomi.primitives import zuc
from tests.helpers import vector_params

SETTINGS = settings(derandomize=True, deadline=None, max_examples=60)


def _args(v: dict) -> tuple[bytes, int, int, int]:
    return bytes.fromhex(v["key"]), int(v["count"], 16), v["bearer"], v["direction"]


@pytest.mark.parametrize("v", vector_params("zuc.json", operation="keystream"))
def test_keystream_vector(v: dict, backend: str) -> None:
    z = zuc.ZUC(bytes.fromhex(v["key"]), bytes.fromhex(v["iv"]))
    assert z.keystream(v["keystream_words"]) == bytes.fromhex(v["keystream"])


@pytest.mark.parametrize("v", vector_params("zuc.json", operation="eea3"))
def test_eea3_vector(v: dict, backend: str) -> None:
    key, count, bearer, direction = _args(v)
    pt, ct, bits = bytes.fromhex(v["plaintext"]), bytes.fromhex(v["ciphertext"]), v["length_bits"]
    assert zuc.eea3(key, count, bearer, direction, pt, bits) == ct
    assert zuc.eea3(key, count, bearer, direction, ct, bits) == pt
    # The keystream is ZUC under the IV the specification derives.
    n_words = (bits + 31) // 32
    ks = zuc.ZUC(key, bytes.fromhex(v["iv"])).keystream(n_words)
    full = bytes(a ^ b for a, b in zip(pt, ks, strict=False))
    assert full[:-1] == ct[:-1]


@pytest.mark.parametrize("v", vector_params("zuc.json", operation="eia3"))
def test_eia3_vector(v: dict, backend: str) -> None:
    key, count, bearer, direction = _args(v)
    msg, bits = bytes.fromhex(v["message"]), v["length_bits"]
    assert zuc.eia3(key, count, bearer, direction, msg, bits) == bytes.fromhex(v["mac"])
    # Bits after length_bits do not count (3GPP: the MAC covers LENGTH bits).
    noisy = bytearray(msg)
    if bits % 8:
        noisy[-1] |= 0xFF >> (bits % 8)
    noisy += b"\xff\xff"
    assert zuc.eia3(key, count, bearer, direction, bytes(noisy), bits) == bytes.fromhex(v["mac"])


def test_eea3_clears_unused_trailing_bits() -> None:
    key = bytes(range(16))
    data = b"\xff" * 10
    for bits in range(1, 80):
        out = zuc.eea3(key, 1, 2, 1, data, bits)
        assert len(out) == (bits + 7) // 8
        if bits % 8:
            assert out[-1] & (0xFF >> (bits % 8)) == 0
        # Equals the whole-byte encryption with the tail masked.
        whole = zuc.eea3(key, 1, 2, 1, data[: len(out)], len(out) * 8)
        assert out[:-1] == whole[:-1]


def test_keystream_continues(backend: str) -> None:
    key, iv = bytes(range(16)), bytes(range(16, 32))
    whole = zuc.ZUC(key, iv).keystream(300)
    z = zuc.ZUC(key, iv)
    parts = b"".join(z.keystream(n) for n in (0, 1, 63, 64, 65, 107))
    assert parts == whole
    assert z.keystream(0) == b""


@SETTINGS
@given(
    key=st.binary(min_size=16, max_size=16),
    count=st.integers(0, 2**32 - 1),
    bearer=st.integers(0, 31),
    direction=st.integers(0, 1),
    data=st.binary(max_size=700),
    cut=st.integers(0, 7),
)
def test_eea3_roundtrip_and_eia3_bit_sensitivity(
    key: bytes, count: int, bearer: int, direction: int, data: bytes, cut: int
) -> None:
    bits = max(0, len(data) * 8 - cut)
    ct = zuc.eea3(key, count, bearer, direction, data, bits)
    pt = zuc.eea3(key, count, bearer, direction, ct, bits)
    n = (bits + 7) // 8
    mask = (0xFF << ((8 - bits % 8) % 8)) & 0xFF if bits % 8 else 0xFF
    expect = data[:n]
    if n:
        expect = expect[:-1] + bytes([expect[-1] & mask])
    assert pt == expect
    mac = zuc.eia3(key, count, bearer, direction, data, bits)
    assert len(mac) == 4
    if bits:
        flipped = bytearray(data)
        flipped[0] ^= 0x80
        assert zuc.eia3(key, count, bearer, direction, bytes(flipped), bits) != mac


def test_parameter_errors() -> None:
    k = bytes(16)
    with pytest.raises(InvalidKey):
        zuc.ZUC(bytes(15), k)
    with pytest.raises(InvalidKey):
        zuc.eea3(bytes(17), 0, 0, 0, b"", 0)
    with pytest.raises(InvalidArgumentError, match="IV"):
        zuc.ZUC(k, bytes(8))
    with pytest.raises(InvalidArgumentError, match="n_words"):
        zuc.ZUC(k, k).keystream(-1)
    for fn in (zuc.eea3, zuc.eia3):
        with pytest.raises(InvalidArgumentError, match="bearer"):
            fn(k, 0, 32, 0, b"", 0)
        with pytest.raises(InvalidArgumentError, match="bearer"):
            fn(k, 0, -1, 0, b"", 0)
        with pytest.raises(InvalidArgumentError, match="direction"):
            fn(k, 0, 0, 2, b"", 0)
        with pytest.raises(InvalidArgumentError, match="count"):
            fn(k, 2**32, 0, 0, b"", 0)
        with pytest.raises(InvalidArgumentError, match="count"):
            fn(k, -1, 0, 0, b"", 0)
        with pytest.raises(InvalidArgumentError, match="length_bits"):
            fn(k, 0, 0, 0, b"", -1)
        with pytest.raises(InvalidArgumentError, match="bytes"):
            fn(k, 0, 0, 0, b"\x00", 9)
        with pytest.raises(TypeError):
            fn(k, 0, 0, 0, "data", 8)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        zuc.ZUC("k" * 16, k)  # type: ignore[arg-type]
    assert "00" * 8 not in repr(zuc.ZUC(k, k))


def test_large_inputs_in_threads(backend: str) -> None:
    # Above 4 KiB the GIL is released; concurrent calls must stay exact.
    key = bytes(range(16))
    datas = [bytes([i]) * (256 * 1024 + i) for i in range(4)]
    want = [zuc.eea3(key, i, i, i % 2, d, len(d) * 8) for i, d in enumerate(datas)]
    macs = [zuc.eia3(key, i, i, i % 2, d, len(d) * 8 - 3) for i, d in enumerate(datas)]
    got: dict[int, tuple[bytes, bytes]] = {}

    def work(i: int) -> None:
        d = datas[i]
        got[i] = (zuc.eea3(key, i, i, i % 2, d, len(d) * 8), zuc.eia3(key, i, i, i % 2, d, len(d) * 8 - 3))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(datas))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [got[i] for i in range(len(datas))] == list(zip(want, macs, strict=True))
