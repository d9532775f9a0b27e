"""SM3 (GB/T 32905-2016): known answers, hashlib compatibility, differential tests.

Every vector of sm3.json is its own test; hypothesis compares against
pyca/cryptography's SM3 (streamed in random chunk sizes) and the openssl CLI
(`openssl dgst -sm3`); the stdlib ``hmac`` module accepts ``SM3`` as digestmod.
"""

from __future__ import annotations

import hmac as std_hmac
import subprocess
import threading
from array import array

import pytest
from cryptography.hazmat.primitives import hashes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guomi.exceptions import InvalidArgumentError
from guomi.primitives import hmac as ghmac
from guomi.primitives import sm3
from guomi.primitives.kdf import pbkdf2_hmac_sm3
from tests.helpers import vector_params

SETTINGS = settings(derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("v", vector_params("sm3.json"))
def test_sm3_vector(v: dict) -> None:
    msg = bytes.fromhex(v["msg"])
    assert len(msg) == v["msg_len"]
    want = bytes.fromhex(v["digest"])
    assert sm3.digest(msg) == want
    h = sm3.SM3(msg)
    assert h.digest() == want
    assert h.hexdigest() == v["digest"]
    # Byte-at-a-time streaming crosses every block boundary.
    s = sm3.SM3()
    for i in range(len(msg)):
        s.update(msg[i : i + 1])
    assert s.digest() == want


def test_hashlib_interface() -> None:
    h = sm3.SM3()
    assert (h.name, h.digest_size, h.block_size) == ("sm3", 32, 64)
    assert (sm3.SM3.name, sm3.SM3.digest_size, sm3.SM3.block_size) == ("sm3", 32, 64)
    assert (sm3.DIGEST_SIZE, sm3.BLOCK_SIZE) == (32, 64)
    h.update(b"ab")
    c = h.copy()
    h.update(b"c")
    assert h.digest() == sm3.digest(b"abc")
    assert c.digest() == sm3.digest(b"ab")
    # digest() does not finalise: more data may follow, like hashlib.
    h.update(b"d")
    assert h.digest() == sm3.digest(b"abcd")
    assert sm3.SM3(data=b"abc").digest() == sm3.digest(b"abc")
    assert sm3.SM3(b"abc", usedforsecurity=False).digest() == sm3.digest(b"abc")


def test_accepts_any_contiguous_buffer() -> None:
    data = bytes(range(200))
    want = sm3.digest(data)
    assert sm3.digest(bytearray(data)) == want
    assert sm3.digest(memoryview(data)) == want
    assert sm3.digest(array("B", data)) == want
    assert sm3.SM3(memoryview(data)[:100]).digest() == sm3.digest(data[:100])


def test_rejects_bad_input() -> None:
    with pytest.raises(TypeError):
        sm3.digest("abc")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sm3.SM3().update(12)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sm3.SM3(None).update(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        sm3.digest(memoryview(bytes(64))[::2])


def test_stdlib_hmac_accepts_sm3_as_digestmod() -> None:
    for key in (b"", b"k", bytes(64), bytes(range(65)), b"x" * 200):
        for msg in (b"", b"message", bytes(1000)):
            want = ghmac.hmac_sm3(key, msg)
            m = std_hmac.new(key, msg, digestmod=sm3.SM3)
            assert m.digest() == want
            assert m.copy().hexdigest() == want.hex()
            assert std_hmac.digest(key, msg, sm3.SM3) == want


def _pbkdf2_via_stdlib(password: bytes, salt: bytes, iterations: int, length: int) -> bytes:
    """PBKDF2 written against the hashlib interface, as third-party code does."""
    out = b""
    block = 1
    while len(out) < length:
        u = std_hmac.new(password, salt + block.to_bytes(4, "big"), sm3.SM3).digest()
        t = int.from_bytes(u, "big")
        for _ in range(iterations - 1):
            u = std_hmac.new(password, u, sm3.SM3).digest()
            t ^= int.from_bytes(u, "big")
        out += t.to_bytes(32, "big")
        block += 1
    return out[:length]


def test_usable_in_pbkdf2_style_code() -> None:
    assert _pbkdf2_via_stdlib(b"pw", b"salt", 5, 50) == pbkdf2_hmac_sm3(b"pw", b"salt", 5, 50)


@SETTINGS
@given(data=st.binary(max_size=5000), cuts=st.lists(st.integers(0, 5000), max_size=8))
def test_differential_pyca_streaming(data: bytes, cuts: list[int]) -> None:
    ref = hashes.Hash(hashes.SM3())
    ref.update(data)
    want = ref.finalize()
    assert sm3.digest(data) == want
    h = sm3.SM3()
    prev = 0
    for c in sorted(x % (len(data) + 1) for x in cuts):
        h.update(data[prev:c])
        prev = c
    h.update(data[prev:])
    assert h.digest() == want


@pytest.mark.interop
@settings(derandomize=True, deadline=None, max_examples=25)
@given(data=st.binary(max_size=6000))
def test_differential_openssl_cli(data: bytes) -> None:
    out = subprocess.run(
        ["openssl", "dgst", "-sm3", "-binary"], input=data, capture_output=True, check=True
    ).stdout
    assert sm3.digest(data) == out


def test_large_input_in_threads() -> None:
    # Above 4 KiB the GIL is released; concurrent hashing must stay exact.
    bufs = [bytes([i]) * (1 << 20) + bytes(i) for i in range(6)]
    ref = []
    for b in bufs:
        r = hashes.Hash(hashes.SM3())
        r.update(b)
        ref.append(r.finalize())
    results: dict[int, bytes] = {}

    def work(i: int) -> None:
        h = sm3.SM3()
        h.update(bufs[i][:12345])
        h.update(bufs[i][12345:])
        results[i] = h.digest() if sm3.digest(bufs[i]) == h.digest() else b"mismatch"

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(bufs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(len(bufs))] == ref
