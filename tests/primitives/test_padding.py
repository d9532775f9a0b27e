"""PKCS #7 padding (``guomi.primitives.padding.PKCS7``): round trips, agreement
with pyca/cryptography, streaming, and rejection of every malformed padding."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import padding as pyca_padding
from hypothesis import given, settings
from hypothesis import strategies as st

from guomi.exceptions import AlreadyFinalizedError, InvalidArgumentError
from guomi.primitives import padding
from guomi.primitives.sm4 import Cipher, modes


def _pad(data: bytes, bits: int = 128) -> bytes:
    p = padding.PKCS7(bits).padder()
    return p.update(data) + p.finalize()


def _unpad(data: bytes, bits: int = 128) -> bytes:
    u = padding.PKCS7(bits).unpadder()
    return u.update(data) + u.finalize()


@pytest.mark.parametrize("n", range(0, 49))
def test_round_trip_and_pyca_agreement(n: int) -> None:
    data = os.urandom(n)
    padded = _pad(data)
    assert len(padded) % 16 == 0 and 1 <= len(padded) - n <= 16
    p = pyca_padding.PKCS7(128).padder()
    assert padded == p.update(data) + p.finalize()
    assert _unpad(padded) == data


@settings(derandomize=True, max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=300),
    bits=st.sampled_from([8, 64, 128, 256, 2040]),
    chunks=st.lists(st.integers(min_value=0, max_value=40), max_size=20),
)
def test_streaming_matches_pyca(data: bytes, bits: int, chunks: list[int]) -> None:
    pad, ref = padding.PKCS7(bits).padder(), pyca_padding.PKCS7(bits).padder()
    out, pos = [], 0
    for c in chunks:
        out.append(pad.update(data[pos : pos + c]))
        pos += c
    out.append(pad.update(data[pos:]))
    out.append(pad.finalize())
    padded = b"".join(out)
    assert padded == ref.update(data) + ref.finalize()
    unpad, out, pos = padding.PKCS7(bits).unpadder(), [], 0
    for c in chunks:
        out.append(unpad.update(padded[pos : pos + c]))
        pos += c
    out.append(unpad.update(padded[pos:]))
    out.append(unpad.finalize())
    assert b"".join(out) == data


@pytest.mark.parametrize(
    "block",
    [
        bytes(16),  # pad byte 0
        b"A" * 15 + b"\x11",  # pad longer than the block
        b"A" * 15 + b"\xff",
        b"A" * 14 + b"\x01\x02",  # second byte wrong
        b"A" * 8 + b"\x08" * 7 + b"\x09",
        b"\x10" * 15 + b"\x0f" + b"",  # wrong pad byte value at the end
        b"A" + b"\x10" * 15,  # pad 16 but first byte wrong
    ],
)
def test_bad_padding_rejected(block: bytes) -> None:
    with pytest.raises(InvalidArgumentError, match="invalid PKCS7 padding"):
        _unpad(block)
    with pytest.raises(ValueError):  # also a ValueError, like pyca's
        _unpad(os.urandom(16) + block)


@pytest.mark.parametrize("n", [0, 1, 15, 17, 31])
def test_unpadder_rejects_incomplete_data(n: int) -> None:
    with pytest.raises(InvalidArgumentError):
        _unpad(b"\x01" * n)


def test_every_single_corruption_of_the_padding_is_caught() -> None:
    for pad in range(1, 17):
        block = b"D" * (16 - pad) + bytes([pad]) * pad
        assert _unpad(block) == b"D" * (16 - pad)
        for i in range(16 - pad, 16):
            for flip in (0x01, 0x80):
                bad = bytearray(block)
                bad[i] ^= flip
                good_by_accident = bad[-1] != pad and (
                    1 <= bad[-1] <= 16 and all(b == bad[-1] for b in bad[16 - bad[-1] :])
                )
                if good_by_accident:
                    continue
                with pytest.raises(InvalidArgumentError):
                    _unpad(bytes(bad))


def test_block_size_validation_and_finalize_rules() -> None:
    for bad in (0, 7, 12, 2048, 4096):
        with pytest.raises(InvalidArgumentError):
            padding.PKCS7(bad)
    with pytest.raises(TypeError):
        padding.PKCS7("128")  # type: ignore[arg-type]
    p = padding.PKCS7(128).padder()
    p.finalize()
    with pytest.raises(AlreadyFinalizedError):
        p.update(b"x")
    with pytest.raises(AlreadyFinalizedError):
        p.finalize()
    u = padding.PKCS7(128).unpadder()
    with pytest.raises(InvalidArgumentError):
        u.finalize()
    with pytest.raises(AlreadyFinalizedError):
        u.update(b"")
    with pytest.raises(TypeError):
        padding.PKCS7(128).padder().update("text")  # type: ignore[arg-type]
    assert repr(padding.PKCS7(128)) == "PKCS7(128)"


def test_with_sm4_cbc(backend: str) -> None:
    key, iv = os.urandom(16), os.urandom(16)
    msg = os.urandom(1000)
    enc = Cipher(key, modes.CBC(iv)).encryptor()
    ct = enc.update(_pad(msg)) + enc.finalize()
    dec = Cipher(key, modes.CBC(iv)).decryptor()
    assert _unpad(dec.update(ct) + dec.finalize()) == msg
