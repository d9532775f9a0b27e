"""guomi.keys: the protocols and their in-process implementations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guomi.exceptions import InvalidKey, InvalidSignature, InvalidTag
from guomi.keys import Aead, LocalAead, LocalMac, LocalSigner, LocalVerifier, Mac, Signer, Verifier
from guomi.primitives.hmac import hmac_sm3
from guomi.primitives.sm4 import SM4GCM

KEY = bytes(range(16))


def test_local_objects_satisfy_protocols() -> None:
    assert isinstance(LocalAead(KEY), Aead)
    signer = LocalSigner.generate()
    assert isinstance(signer, Signer)
    assert isinstance(signer.verifier(), Verifier)
    assert isinstance(LocalMac.generate(), Mac)
    assert not isinstance(object(), Aead)


def test_aead_layout_is_nonce_ciphertext_tag() -> None:
    aead = LocalAead(KEY)
    ct = aead.encrypt(b"hello", b"ad")
    assert len(ct) == 12 + 5 + 16
    # An independent decryption with the primitive proves the documented layout.
    assert SM4GCM(KEY).decrypt(ct[:12], ct[12:], b"ad") == b"hello"


def test_aead_nonces_are_fresh() -> None:
    aead = LocalAead(KEY)
    cts = {aead.encrypt(b"same") for _ in range(64)}
    assert len(cts) == 64
    assert len({c[:12] for c in cts}) == 64


@settings(derandomize=True, max_examples=50)
@given(pt=st.binary(max_size=300), ad=st.binary(max_size=40))
def test_aead_round_trip(pt: bytes, ad: bytes) -> None:
    aead = LocalAead(KEY)
    assert aead.decrypt(aead.encrypt(pt, ad), ad) == pt


@settings(derandomize=True, max_examples=50)
@given(pt=st.binary(min_size=0, max_size=100), data=st.data())
def test_aead_any_bit_flip_fails(pt: bytes, data: st.DataObject) -> None:
    aead = LocalAead(KEY)
    ct = bytearray(aead.encrypt(pt, b"ad"))
    i = data.draw(st.integers(0, len(ct) - 1))
    bit = data.draw(st.integers(0, 7))
    ct[i] ^= 1 << bit
    with pytest.raises(InvalidTag):
        aead.decrypt(bytes(ct), b"ad")


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda c: c[:-1], id="truncated_tag"),
        pytest.param(lambda c: c[:27], id="shorter_than_nonce_plus_tag"),
        pytest.param(lambda c: b"", id="empty"),
        pytest.param(lambda c: c + b"\x00", id="trailing_byte"),
    ],
)
def test_aead_malformed_ciphertexts_fail(mutate) -> None:  # type: ignore[no-untyped-def]
    aead = LocalAead(KEY)
    with pytest.raises(InvalidTag):
        aead.decrypt(mutate(aead.encrypt(b"payload", b"")), b"")


def test_aead_wrong_ad_or_key_fails() -> None:
    ct = LocalAead(KEY).encrypt(b"payload", b"a")
    with pytest.raises(InvalidTag):
        LocalAead(KEY).decrypt(ct, b"b")
    with pytest.raises(InvalidTag):
        LocalAead(bytes(16)).decrypt(ct, b"a")


@pytest.mark.parametrize("n", [0, 15, 17, 32])
def test_aead_rejects_bad_key_length(n: int) -> None:
    with pytest.raises(InvalidKey):
        LocalAead(bytes(n))


def test_repr_hides_key() -> None:
    key = bytes.fromhex("00112233445566778899aabbccddeeff")
    for obj in (LocalAead(key), LocalMac(key), LocalSigner.generate()):
        assert "0011" not in repr(obj)
        assert "hidden" in repr(obj)


def test_signer_round_trip_and_interop_with_public_key() -> None:
    signer = LocalSigner.generate()
    sig = signer.sign(b"message")
    signer.verifier().verify(sig, b"message")
    # The public key object from the protocol verifies with the default user ID.
    signer.public_key().verify(sig, b"message")
    with pytest.raises(InvalidSignature):
        signer.verifier().verify(sig, b"other message")


def test_signer_user_id_is_bound() -> None:
    signer = LocalSigner.generate(user_id=b"alice@bank")
    sig = signer.sign(b"m")
    LocalVerifier(signer.public_key(), b"alice@bank").verify(sig, b"m")
    with pytest.raises(InvalidSignature):
        LocalVerifier(signer.public_key()).verify(sig, b"m")


def test_mac() -> None:
    key = bytes(range(32))
    mac = LocalMac(key)
    tag = mac.compute_mac(b"data")
    assert tag == hmac_sm3(key, b"data")
    mac.verify_mac(tag, b"data")
    with pytest.raises(InvalidSignature):
        mac.verify_mac(tag, b"datA")
    with pytest.raises(InvalidSignature):
        mac.verify_mac(tag[:-1], b"data")
    with pytest.raises(InvalidKey):
        LocalMac(bytes(8))
