"""Property tests: round trips and tamper-always-fails over random plaintexts, AD and key types."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guomi import api
from guomi.kms.errors import DecryptionFailedError
from guomi.kms.service import Caller, Engine

SETTINGS = settings(
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def keys(engine: Engine, root: Caller) -> tuple[Engine, Caller]:
    engine.create_key(root, "sm4", api.CreateKeyRequest(type="sm4-gcm"))
    engine.create_key(root, "aes", api.CreateKeyRequest(type="aes-256-gcm"))
    engine.create_key(root, "pke", api.CreateKeyRequest(type="sm2-encrypt"))
    return engine, root


@SETTINGS
@given(
    name=st.sampled_from(["sm4", "aes", "pke"]),
    pt=st.binary(max_size=300),
    ad=st.one_of(st.none(), st.binary(max_size=40)),
    flip=st.integers(min_value=0, max_value=10_000),
    bit=st.integers(min_value=0, max_value=7),
)
def test_roundtrip_and_any_flipped_bit_fails(
    keys: tuple[Engine, Caller], name: str, pt: bytes, ad: bytes | None, flip: int, bit: int
) -> None:
    import base64  # noqa: PLC0415

    e, c = keys
    ct = e.encrypt(c, name, api.EncryptRequest(plaintext=pt, associated_data=ad)).ciphertext
    assert ct is not None
    assert e.decrypt(c, name, api.DecryptRequest(ciphertext=ct, associated_data=ad)).plaintext == pt
    prefix, data = ct.rsplit(":", 1)
    blob = bytearray(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    blob[flip % len(blob)] ^= 1 << bit
    bad = prefix + ":" + base64.urlsafe_b64encode(bytes(blob)).rstrip(b"=").decode()
    with pytest.raises(DecryptionFailedError):
        e.decrypt(c, name, api.DecryptRequest(ciphertext=bad, associated_data=ad))


@SETTINGS
@given(pt=st.binary(max_size=100), ad1=st.binary(max_size=20), ad2=st.binary(max_size=20))
def test_associated_data_must_match(keys: tuple[Engine, Caller], pt: bytes, ad1: bytes, ad2: bytes) -> None:
    e, c = keys
    ct = e.encrypt(c, "sm4", api.EncryptRequest(plaintext=pt, associated_data=ad1)).ciphertext
    assert ct is not None
    if ad1 == ad2:
        assert e.decrypt(c, "sm4", api.DecryptRequest(ciphertext=ct, associated_data=ad2)).plaintext == pt
    else:
        with pytest.raises(DecryptionFailedError):
            e.decrypt(c, "sm4", api.DecryptRequest(ciphertext=ct, associated_data=ad2))


@SETTINGS
@given(rotations=st.integers(min_value=0, max_value=6), pick=st.integers(min_value=0, max_value=100))
def test_rotation_invariants(keys: tuple[Engine, Caller], rotations: int, pick: int) -> None:
    # Every version ever used still decrypts; rewrap always lands on the latest version.
    e, c = keys
    start = e.read_key(c, "sm4").latest_version
    cts = [(start, e.encrypt(c, "sm4", api.EncryptRequest(plaintext=b"p0")).ciphertext)]
    for i in range(rotations):
        v = e.rotate_key(c, "sm4").latest_version
        assert v == start + i + 1
        cts.append((v, e.encrypt(c, "sm4", api.EncryptRequest(plaintext=f"p{i + 1}".encode())).ciphertext))
    v, ct = cts[pick % len(cts)]
    assert ct is not None and ct.startswith(f"guomi:v1:{v}:")
    rw = e.rewrap(c, "sm4", api.RewrapRequest(ciphertext=ct))
    assert rw.key_version == start + rotations
