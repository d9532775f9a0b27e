"""SM4-GCM and GMAC: every shared vector on every SM4 path, a differential test
against pyca/cryptography, and the parameter errors of the public API."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from guomi import _rust
from guomi.exceptions import GuomiError, InvalidArgumentError, InvalidKey, InvalidTag
from guomi.primitives.sm4 import SM4GCM
from tests.helpers import vector_params

GCM_VECTORS = vector_params("sm4_aead.json", mode="gcm") + vector_params("sm4_aead.json", mode="gmac")


def _gcm_for(v: dict[str, Any]) -> SM4GCM:
    tag_len = v["tag_len"]
    return SM4GCM(bytes.fromhex(v["key"]), tag_length=tag_len, allow_short_tags=tag_len in (4, 8))


@pytest.mark.parametrize("v", GCM_VECTORS)
def test_gcm_vector(v: dict[str, Any], backend: str) -> None:
    key, iv, aad = bytes.fromhex(v["key"]), bytes.fromhex(v["iv"]), bytes.fromhex(v["aad"])
    pt, ct, tag = bytes.fromhex(v["plaintext"]), bytes.fromhex(v["ciphertext"]), bytes.fromhex(v["tag"])
    assert len(key) == 16
    if v["result"] == "valid":
        gcm = _gcm_for(v)
        assert gcm.encrypt(iv, pt, aad) == ct + tag
        assert gcm.decrypt(iv, ct + tag, aad) == pt
        # The same through bytearray / memoryview inputs (zero-copy path).
        assert gcm.decrypt(bytearray(iv), memoryview(ct + tag), bytearray(aad)) == pt
    else:
        # Rejected at construction (parameters) or at decryption: both count.
        with pytest.raises((InvalidTag, InvalidArgumentError)) as info:
            _gcm_for(v).decrypt(iv, ct + tag, aad)
        if "ModifiedTag" in v.get("flags", []):
            assert info.type is InvalidTag


def _pyca_encrypt(key: bytes, nonce: bytes, pt: bytes, aad: bytes, tag_len: int) -> bytes:
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce, min_tag_length=tag_len)).encryptor()
    enc.authenticate_additional_data(aad)
    out = enc.update(pt) + enc.finalize()
    return out + enc.tag[:tag_len]


def _pyca_decrypt(key: bytes, nonce: bytes, ct: bytes, tag: bytes, aad: bytes) -> bytes:
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag, min_tag_length=len(tag))).decryptor()
    dec.authenticate_additional_data(aad)
    return dec.update(ct) + dec.finalize()


@settings(derandomize=True, max_examples=150, deadline=None)
@given(
    key=st.binary(min_size=16, max_size=16),
    # pyca accepts 8..128-byte GCM nonces; shorter ones are covered by Wycheproof.
    nonce=st.one_of(st.binary(min_size=12, max_size=12), st.binary(min_size=8, max_size=128)),
    pt=st.binary(max_size=4096),
    aad=st.binary(max_size=300),
    tag_len=st.sampled_from([12, 13, 14, 15, 16]),
)
def test_gcm_matches_pyca(key: bytes, nonce: bytes, pt: bytes, aad: bytes, tag_len: int) -> None:
    gcm = SM4GCM(key, tag_length=tag_len)
    ours = gcm.encrypt(nonce, pt, aad)
    assert ours == _pyca_encrypt(key, nonce, pt, aad, tag_len)
    assert gcm.decrypt(nonce, ours, aad) == pt
    assert _pyca_decrypt(key, nonce, ours[: len(pt)], ours[len(pt) :], aad) == pt


@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 127, 128, 129, 2047, 2048, 2049, 4095, 4096, 70000])
def test_gcm_lengths_match_pyca_on_every_backend(length: int, backend: str) -> None:
    key = bytes(range(16))
    nonce = bytes(range(100, 112))
    pt = bytes((7 * i + 3) & 0xFF for i in range(length))
    aad = bytes(length % 97)
    ours = SM4GCM(key).encrypt(nonce, pt, aad)
    assert ours == _pyca_encrypt(key, nonce, pt, aad, 16)
    assert SM4GCM(key).decrypt(nonce, ours, aad) == pt


def test_gmac_is_gcm_with_empty_data() -> None:
    key = SM4GCM.generate_key()
    aad = b"authenticate me"
    tag = SM4GCM(key).encrypt(b"\x01" * 12, b"", aad)
    assert len(tag) == 16
    assert SM4GCM(key).decrypt(b"\x01" * 12, tag, aad) == b""
    with pytest.raises(InvalidTag):
        SM4GCM(key).decrypt(b"\x01" * 12, tag, aad + b"!")


def test_associated_data_none_equals_empty() -> None:
    gcm = SM4GCM(bytes(16))
    assert gcm.encrypt(bytes(12), b"x", None) == gcm.encrypt(bytes(12), b"x", b"")
    assert gcm.encrypt(bytes(12), b"x") == gcm.encrypt(bytes(12), b"x", b"")
    ct = gcm.encrypt(bytes(12), b"x", None)
    assert gcm.decrypt(bytes(12), ct, None) == b"x"
    assert gcm.decrypt(nonce=bytes(12), data=ct, associated_data=None) == b"x"


def test_generate_key() -> None:
    k1, k2 = SM4GCM.generate_key(), SM4GCM.generate_key()
    assert len(k1) == 16 and isinstance(k1, bytes) and k1 != k2
    # pyca-style call with the bit length.
    assert len(SM4GCM.generate_key(128)) == 16
    with pytest.raises(InvalidArgumentError, match="bit_length"):
        SM4GCM.generate_key(256)


@pytest.mark.parametrize("key_len", [0, 1, 15, 17, 24, 32])
def test_wrong_key_length(key_len: int) -> None:
    with pytest.raises(InvalidKey, match=r"(?i)key"):
        SM4GCM(bytes(key_len))


@pytest.mark.parametrize("tag_len", [-1, 0, 1, 3, 5, 6, 7, 9, 10, 11, 17, 32])
def test_wrong_tag_length(tag_len: int) -> None:
    with pytest.raises(InvalidArgumentError, match="tag_length"):
        SM4GCM(bytes(16), tag_length=tag_len)
    with pytest.raises(InvalidArgumentError, match="tag_length"):
        SM4GCM(bytes(16), tag_length=tag_len, allow_short_tags=True)


@pytest.mark.parametrize("bad", [2**64, -(2**70)])
def test_huge_tag_length_is_an_argument_error(bad: int) -> None:
    with pytest.raises(InvalidArgumentError, match="tag_length"):
        SM4GCM(bytes(16), tag_length=bad)


def test_tag_length_must_be_an_int() -> None:
    with pytest.raises(TypeError):
        SM4GCM(bytes(16), tag_length="16")  # type: ignore[arg-type]


@pytest.mark.parametrize("tag_len", [4, 8])
def test_short_tags_need_the_flag(tag_len: int) -> None:
    with pytest.raises(InvalidArgumentError, match="allow_short_tags"):
        SM4GCM(bytes(16), tag_length=tag_len)
    gcm = SM4GCM(bytes(16), tag_length=tag_len, allow_short_tags=True)
    assert gcm.tag_length == tag_len
    ct = gcm.encrypt(bytes(12), b"hello", b"")
    assert len(ct) == 5 + tag_len
    assert ct == _pyca_encrypt(bytes(16), bytes(12), b"hello", b"", 16)[: 5 + tag_len]
    assert gcm.decrypt(bytes(12), ct, b"") == b"hello"


def test_empty_nonce_rejected() -> None:
    gcm = SM4GCM(bytes(16))
    with pytest.raises(InvalidArgumentError, match="nonce"):
        gcm.encrypt(b"", b"data", b"")
    with pytest.raises(InvalidArgumentError, match="nonce"):
        gcm.decrypt(b"", bytes(32), b"")


def test_short_ciphertext_is_invalid_tag() -> None:
    gcm = SM4GCM(bytes(16))
    for n in range(16):
        with pytest.raises(InvalidTag):
            gcm.decrypt(bytes(12), bytes(n), b"")


def test_non_buffer_inputs_are_type_errors() -> None:
    gcm = SM4GCM(bytes(16))
    with pytest.raises(TypeError):
        SM4GCM("0123456789abcdef")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        gcm.encrypt("nonce-string", b"", b"")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        gcm.encrypt(bytes(12), 123, b"")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        gcm.encrypt(bytes(12), b"", "aad")  # type: ignore[arg-type]


def test_errors_are_guomi_errors_and_repr_has_no_key() -> None:
    key = bytes.fromhex("00112233445566778899aabbccddeeff")
    gcm = SM4GCM(key)
    assert key.hex() not in repr(gcm)
    assert "00112233" not in repr(gcm)
    with pytest.raises(GuomiError):
        gcm.decrypt(bytes(12), bytes(20), b"")


def test_large_buffers_in_threads(backend: str) -> None:
    """Several threads at once on 1 MiB inputs (GIL released); every result checked."""
    key = bytes(range(16))
    gcm = SM4GCM(key)
    inputs = [bytes([i]) * (1 << 20) + bytes(i) for i in range(4)]
    expected = [_pyca_encrypt(key, bytes([i]) * 12, inputs[i], b"aad", 16) for i in range(4)]
    results: list[list[bool]] = [[] for _ in range(4)]

    def work(i: int) -> None:
        for _ in range(3):
            ct = gcm.encrypt(bytes([i]) * 12, inputs[i], b"aad")
            results[i].append(ct == expected[i] and gcm.decrypt(bytes([i]) * 12, ct, b"aad") == inputs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [[True] * 3] * 4


def test_subclass_calls_rust_directly() -> None:
    # The public class is the Rust type itself (no Python frame per call).
    assert issubclass(SM4GCM, _rust.Sm4Gcm)
    assert SM4GCM.encrypt is _rust.Sm4Gcm.encrypt
