"""HMAC-SM3 (RFC 2104): vectors, verify semantics, differential tests.

Valid vectors of hmac_sm3.json must produce their (possibly truncated) tag
and verify; invalid ones must be rejected by ``verify``. hypothesis compares
against pyca/cryptography, the openssl CLI (`openssl mac -digest SM3 HMAC`)
and the standard library's ``hmac`` with ``digestmod=SM3``.
"""

from __future__ import annotations

import hmac as std_hmac
import subprocess

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as pyca_hmac
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guomi.exceptions import InvalidArgumentError, InvalidSignature
from guomi.primitives import hmac as ghmac
from guomi.primitives import sm3
from tests.helpers import vector_params

SETTINGS = settings(derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _pyca(key: bytes, msg: bytes) -> bytes:
    h = pyca_hmac.HMAC(key, hashes.SM3())
    h.update(msg)
    return h.finalize()


@pytest.mark.parametrize("v", vector_params("hmac_sm3.json", result="valid"))
def test_valid_vector(v: dict) -> None:
    key, msg, tag = (bytes.fromhex(v[f]) for f in ("key", "msg", "tag"))
    n = v["tag_len"]
    assert len(tag) == n
    assert ghmac.hmac_sm3(key, msg)[:n] == tag
    h = ghmac.HMAC(key, msg, tag_length=n)
    assert h.digest() == tag
    assert h.hexdigest() == v["tag"]
    h.verify(tag)
    if n == 32:
        ghmac.HMAC(key, msg).verify(tag)
    else:
        # A truncated tag needs an explicit tag_length.
        with pytest.raises(InvalidSignature):
            ghmac.HMAC(key, msg).verify(tag)


@pytest.mark.parametrize("v", vector_params("hmac_sm3.json", result="invalid"))
def test_invalid_vector(v: dict) -> None:
    key, msg, tag = (bytes.fromhex(v[f]) for f in ("key", "msg", "tag"))
    with pytest.raises(InvalidSignature):
        ghmac.HMAC(key, msg, tag_length=v["tag_len"]).verify(tag)
    with pytest.raises(InvalidSignature):
        ghmac.HMAC(key, msg).verify(tag)


def test_interface_and_streaming() -> None:
    h = ghmac.HMAC(b"key")
    assert (h.name, h.digest_size, h.block_size, h.tag_length) == ("hmac-sm3", 32, 64, 32)
    base = h.copy()
    h.update(b"hello ")
    mid = h.copy()
    h.update(b"world")
    assert h.digest() == ghmac.hmac_sm3(b"key", b"hello world")
    assert mid.digest() == ghmac.hmac_sm3(b"key", b"hello ")
    base.update(bytearray(b"other"))
    assert base.digest() == ghmac.hmac_sm3(b"key", b"other")
    # digest() leaves the object usable.
    h.update(memoryview(b"!"))
    assert h.digest() == ghmac.hmac_sm3(b"key", b"hello world!")
    t = ghmac.HMAC(b"key", b"m", tag_length=10)
    assert t.digest_size == 10
    assert t.digest() == ghmac.hmac_sm3(b"key", b"m")[:10]


def test_verify_rules() -> None:
    full = ghmac.hmac_sm3(b"k", b"m")
    h = ghmac.HMAC(b"k", b"m")
    h.verify(full)
    h.verify(bytearray(full))
    for bad in (full[:16], full[:31], full + b"\x00", b"", bytes(32)):
        with pytest.raises(InvalidSignature):
            h.verify(bad)
    for i in range(32):
        flipped = bytearray(full)
        flipped[i] ^= 0x01
        with pytest.raises(InvalidSignature):
            h.verify(bytes(flipped))
    t16 = ghmac.HMAC(b"k", b"m", tag_length=16)
    t16.verify(full[:16])
    for bad in (full, full[:15], full[:17]):
        with pytest.raises(InvalidSignature):
            t16.verify(bad)
    with pytest.raises(TypeError):
        h.verify("00" * 32)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [-1, 0, 4, 8, 9, 33, 64])
def test_tag_length_range(n: int) -> None:
    with pytest.raises(InvalidArgumentError):
        ghmac.HMAC(b"k", tag_length=n)


def test_bad_types_and_repr() -> None:
    with pytest.raises(TypeError):
        ghmac.HMAC("key")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ghmac.hmac_sm3(b"k", "msg")  # type: ignore[arg-type]
    key = b"SECRET-KEY-BYTES-0123"
    h = ghmac.HMAC(key)
    assert "SECRET" not in repr(h) and key.hex() not in repr(h)


@SETTINGS
@given(
    key=st.binary(max_size=150),
    data=st.binary(max_size=4000),
    cuts=st.lists(st.integers(0, 4000), max_size=6),
)
def test_differential_pyca_and_stdlib(key: bytes, data: bytes, cuts: list[int]) -> None:
    want = _pyca(key, data)
    assert ghmac.hmac_sm3(key, data) == want
    assert std_hmac.new(key, data, digestmod=sm3.SM3).digest() == want
    h = ghmac.HMAC(key)
    prev = 0
    for c in sorted(x % (len(data) + 1) for x in cuts):
        h.update(data[prev:c])
        prev = c
    h.update(data[prev:])
    assert h.digest() == want
    h.verify(want)


@pytest.mark.interop
@settings(derandomize=True, deadline=None, max_examples=20)
@given(key=st.binary(min_size=1, max_size=100), data=st.binary(max_size=3000))
def test_differential_openssl_cli(key: bytes, data: bytes) -> None:
    out = subprocess.run(
        ["openssl", "mac", "-digest", "SM3", "-macopt", f"hexkey:{key.hex()}", "HMAC"],
        input=data,
        capture_output=True,
        check=True,
    ).stdout
    assert ghmac.hmac_sm3(key, data).hex().upper() == out.decode().strip().upper()


@SETTINGS
@given(
    key=st.binary(max_size=80),
    data=st.binary(max_size=300),
    n=st.integers(10, 32),
    flip=st.integers(0, 255),
)
def test_truncated_tags(key: bytes, data: bytes, n: int, flip: int) -> None:
    tag = _pyca(key, data)[:n]
    h = ghmac.HMAC(key, data, tag_length=n)
    assert h.digest() == tag
    assert h.digest_size == n
    h.verify(tag)
    bad = bytearray(tag)
    bad[flip % n] ^= 1 << (flip % 8)
    with pytest.raises(InvalidSignature):
        h.verify(bytes(bad))
    with pytest.raises(InvalidSignature):
        h.verify(tag[:-1])
