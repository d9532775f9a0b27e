"""SM4-CCM: every shared vector on every SM4 path, a differential test against
an independent CCM written here from NIST SP 800-38C over pyca/cryptography's
SM4 block cipher (pyca has no SM4-CCM), and the parameter errors."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from guomi.exceptions import InvalidArgumentError, InvalidKey, InvalidTag
from guomi.primitives.sm4 import SM4CCM
from tests.helpers import vector_params


def _ecb(key: bytes, block: bytes) -> bytes:
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=False))


def reference_ccm_encrypt(key: bytes, nonce: bytes, pt: bytes, aad: bytes, t: int) -> bytes:
    """SP 800-38C §6.1 / Appendix A, written out plainly."""
    q = 15 - len(nonce)
    flags = (64 if aad else 0) | (((t - 2) // 2) << 3) | (q - 1)
    b = bytes([flags]) + nonce + len(pt).to_bytes(q, "big")
    if aad:
        a = len(aad)
        if a < (1 << 16) - (1 << 8):
            enc_a = a.to_bytes(2, "big")
        elif a < (1 << 32):
            enc_a = b"\xff\xfe" + a.to_bytes(4, "big")
        else:
            enc_a = b"\xff\xff" + a.to_bytes(8, "big")
        blob = enc_a + aad
        b += blob + bytes(-len(blob) % 16)
    b += pt + bytes(-len(pt) % 16)
    y = bytes(16)
    for i in range(0, len(b), 16):
        y = _ecb(key, _xor(y, b[i : i + 16]))
    stream = b""
    for i in range((len(pt) + 15) // 16 + 1):
        stream += _ecb(key, bytes([q - 1]) + nonce + i.to_bytes(q, "big"))
    ct = _xor(pt, stream[16:])
    return ct + _xor(y[:t], stream[:t])


@pytest.mark.parametrize("v", vector_params("sm4_aead.json", mode="ccm"))
def test_ccm_vector(v: dict[str, Any], backend: str) -> None:
    key, iv, aad = bytes.fromhex(v["key"]), bytes.fromhex(v["iv"]), bytes.fromhex(v["aad"])
    pt, ct, tag = bytes.fromhex(v["plaintext"]), bytes.fromhex(v["ciphertext"]), bytes.fromhex(v["tag"])
    if v["result"] == "valid":
        ccm = SM4CCM(key, tag_length=v["tag_len"])
        assert ccm.encrypt(iv, pt, aad) == ct + tag
        assert ccm.decrypt(iv, ct + tag, aad) == pt
        assert ccm.decrypt(memoryview(iv), bytearray(ct + tag), memoryview(aad)) == pt
    else:
        with pytest.raises((InvalidTag, InvalidArgumentError)) as info:
            SM4CCM(key, tag_length=v["tag_len"]).decrypt(iv, ct + tag, aad)
        if "ModifiedTag" in v.get("flags", []):
            assert info.type is InvalidTag


@settings(derandomize=True, max_examples=120, deadline=None)
@given(
    key=st.binary(min_size=16, max_size=16),
    nonce=st.integers(7, 13).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    pt=st.binary(max_size=2048),
    aad=st.binary(max_size=300),
    tag_len=st.sampled_from([4, 6, 8, 10, 12, 14, 16]),
)
def test_ccm_matches_reference(key: bytes, nonce: bytes, pt: bytes, aad: bytes, tag_len: int) -> None:
    ccm = SM4CCM(key, tag_length=tag_len)
    ours = ccm.encrypt(nonce, pt, aad)
    assert ours == reference_ccm_encrypt(key, nonce, pt, aad, tag_len)
    assert ccm.decrypt(nonce, ours, aad) == pt


@pytest.mark.parametrize("aad_len", [65279, 65280, 65281])
def test_ccm_long_aad_length_encodings(aad_len: int) -> None:
    # 2-byte encoding below 2^16 - 2^8, 0xfffe + 4 bytes from there on.
    key, nonce, aad = bytes(range(16)), bytes(12), bytes(i & 0xFF for i in range(aad_len))
    assert SM4CCM(key).encrypt(nonce, b"msg", aad) == reference_ccm_encrypt(key, nonce, b"msg", aad, 16)


@pytest.mark.parametrize("length", [0, 1, 16, 17, 255, 256, 4097])
def test_ccm_lengths_on_every_backend(length: int, backend: str) -> None:
    key, nonce = bytes(range(16)), bytes(range(13))
    pt = bytes((5 * i) & 0xFF for i in range(length))
    ours = SM4CCM(key).encrypt(nonce, pt, b"hdr")
    assert ours == reference_ccm_encrypt(key, nonce, pt, b"hdr", 16)
    assert SM4CCM(key).decrypt(nonce, ours, b"hdr") == pt


def test_max_message_length_enforced() -> None:
    ccm = SM4CCM(bytes(16))
    # 13-byte nonce -> q = 2 -> at most 65535 bytes.
    assert len(ccm.encrypt(bytes(13), bytes(65535), b"")) == 65535 + 16
    with pytest.raises(InvalidArgumentError, match="too long"):
        ccm.encrypt(bytes(13), bytes(65536), b"")
    with pytest.raises(InvalidArgumentError, match="too long"):
        ccm.decrypt(bytes(13), bytes(65536 + 16), b"")
    # 12-byte nonce -> q = 3: the same message is fine.
    assert len(ccm.encrypt(bytes(12), bytes(65536), b"")) == 65536 + 16


@pytest.mark.parametrize("nonce_len", [0, 1, 6, 14, 15, 16, 64])
def test_wrong_nonce_length(nonce_len: int) -> None:
    ccm = SM4CCM(bytes(16))
    with pytest.raises(InvalidArgumentError, match="nonce"):
        ccm.encrypt(bytes(nonce_len), b"data", b"")
    with pytest.raises(InvalidArgumentError, match="nonce"):
        ccm.decrypt(bytes(nonce_len), bytes(32), b"")


@pytest.mark.parametrize("tag_len", [-2, 0, 2, 3, 5, 7, 9, 15, 17, 18])
def test_wrong_tag_length(tag_len: int) -> None:
    with pytest.raises(InvalidArgumentError, match="tag_length"):
        SM4CCM(bytes(16), tag_length=tag_len)


@pytest.mark.parametrize("key_len", [0, 15, 17, 32])
def test_wrong_key_length(key_len: int) -> None:
    with pytest.raises(InvalidKey, match=r"(?i)key"):
        SM4CCM(bytes(key_len))


def test_short_ciphertext_is_invalid_tag() -> None:
    ccm = SM4CCM(bytes(16), tag_length=8)
    for n in range(8):
        with pytest.raises(InvalidTag):
            ccm.decrypt(bytes(12), bytes(n), b"")


def test_generate_key_and_none_aad() -> None:
    key = SM4CCM.generate_key()
    assert len(key) == 16
    ccm = SM4CCM(key, tag_length=10)
    assert ccm.tag_length == 10
    ct = ccm.encrypt(bytes(7), b"x", None)
    assert ct == ccm.encrypt(bytes(7), b"x", b"") == ccm.encrypt(bytes(7), b"x")
    assert ccm.decrypt(bytes(7), ct, None) == b"x"
    assert key.hex() not in repr(ccm)
