"""SM2 property tests (hypothesis, derandomized): sign/verify with any user ID
(including b""), encrypt/decrypt in every layout (including empty and 1 MiB
plaintexts), key exchange agreement, point encodings, and agreement with the
slow pure-Python reference on random keys, nonces and messages.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guomi import _rust
from guomi.exceptions import DecryptionError, InvalidSignature, InvalidTag
from guomi.primitives import sm2
from tests.helpers import load_vectors
from tests.primitives import sm2_reference as ref

# The fixed-nonce hooks exist only in a build with the `test-hooks` cargo
# feature (`make test` builds with it; the published wheel does not).
requires_test_hooks = pytest.mark.skipif(
    not hasattr(_rust, "sm2_sign_digest_with_k_for_tests"),
    reason="guomi._rust built without the test-hooks cargo feature (make test enables it)",
)

N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
LAYOUTS = ["der", "c1c3c2", "c1c2c3"]
CURVE = ref.Curve.from_hex(load_vectors("sm2.json")["curves"]["sm2p256v1"])

scalars = st.integers(min_value=1, max_value=N - 2)
PROPS = settings(derandomize=True, max_examples=40, deadline=None)


@PROPS
@given(d=scalars, uid=st.binary(max_size=300), msg=st.binary(max_size=2000), raw=st.booleans())
def test_sign_verify_round_trip(d: int, uid: bytes, msg: bytes, raw: bool) -> None:
    key = sm2.SM2PrivateKey.from_private_value(d)
    pub = key.public_key()
    enc = "raw" if raw else "der"
    sig = key.sign(msg, user_id=uid, encoding=enc)
    pub.verify(sig, msg, user_id=uid, encoding=enc)
    if raw:
        assert len(sig) == 64
    else:
        assert sig[0] == 0x30 and len(sig) <= 72
    with pytest.raises(InvalidSignature):
        pub.verify(sig, msg + b"\x00", user_id=uid, encoding=enc)
    with pytest.raises(InvalidSignature):
        pub.verify(sig, msg, user_id=uid + b"\x00", encoding=enc)


@requires_test_hooks
@PROPS
@given(d=scalars, k=scalars, uid=st.binary(max_size=64), msg=st.binary(max_size=200))
def test_signature_matches_reference(d: int, k: int, uid: bytes, msg: bytes) -> None:
    key = sm2.SM2PrivateKey.from_private_value(d)
    e = _rust.sm3_digest(sm2.compute_za(key.public_key(), uid) + msg)
    try:
        raw = _rust.sm2_sign_digest_with_k_for_tests(key._k, e, k.to_bytes(32, "big"), "raw")
    except ValueError:  # r = 0 or r + k = n: astronomically unlikely
        return
    assert (int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")) == ref.sign(
        CURVE, d, uid, msg, k
    )
    pub = CURVE.mul(d, CURVE.g)
    assert key.public_key().public_bytes_raw() == CURVE.encode(pub)


@requires_test_hooks
@PROPS
@given(d=scalars, k=scalars, msg=st.binary(max_size=300))
def test_encryption_matches_reference(d: int, k: int, msg: bytes) -> None:
    key = sm2.SM2PrivateKey.from_private_value(d)
    ct = _rust.sm2_encrypt_with_k_for_tests(key.public_key()._k, msg, k.to_bytes(32, "big"), "c1c3c2")
    assert ct == ref.encrypt(CURVE, CURVE.mul(d, CURVE.g), msg, k)


@PROPS
@given(d=scalars, msg=st.binary(max_size=3000), layout=st.sampled_from(LAYOUTS))
def test_encrypt_decrypt_round_trip(d: int, msg: bytes, layout: str) -> None:
    key = sm2.SM2PrivateKey.from_private_value(d)
    ct = key.public_key().encrypt(msg, layout=layout)  # type: ignore[arg-type]
    if layout != "der":
        assert len(ct) == 97 + len(msg)
    assert key.decrypt(ct, layout=layout) == msg  # type: ignore[arg-type]
    other = sm2.generate_private_key()
    with pytest.raises(DecryptionError):
        other.decrypt(ct, layout=layout)  # type: ignore[arg-type]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("size", [0, 1, 1 << 20])
def test_encrypt_sizes(layout: str, size: int) -> None:
    key = sm2.generate_private_key()
    msg = bytes(range(256)) * (size // 256) + bytes(size % 256)
    ct = key.public_key().encrypt(bytearray(msg), layout=layout)  # type: ignore[arg-type]
    assert key.decrypt(memoryview(ct), layout=layout) == msg  # type: ignore[arg-type]


@PROPS
@given(
    a=scalars,
    b=scalars,
    ra=scalars,
    rb=scalars,
    ida=st.binary(max_size=40),
    idb=st.binary(max_size=40),
    length=st.integers(min_value=1, max_value=100),
)
def test_key_exchange_agrees(a: int, b: int, ra: int, rb: int, ida: bytes, idb: bytes, length: int) -> None:
    ka, kb = sm2.SM2PrivateKey.from_private_value(a), sm2.SM2PrivateKey.from_private_value(b)
    era, erb = sm2.SM2PrivateKey.from_private_value(ra), sm2.SM2PrivateKey.from_private_value(rb)
    x = sm2.key_exchange(
        ka,
        era,
        kb.public_key(),
        erb.public_key(),
        initiator=True,
        length=length,
        user_id=ida,
        peer_user_id=idb,
    )
    y = sm2.key_exchange(
        kb,
        erb,
        ka.public_key(),
        era.public_key(),
        initiator=False,
        length=length,
        user_id=idb,
        peer_user_id=ida,
    )
    assert x == y
    assert len(x.key) == length


def test_stateful_key_exchange_with_generated_ephemerals() -> None:
    a, b = sm2.generate_private_key(), sm2.generate_private_key()
    xa = sm2.SM2KeyExchange(a, initiator=True)
    xb = sm2.SM2KeyExchange(b, initiator=False, user_id=b"bob")
    kb = xb.compute(a.public_key(), xa.ephemeral_public_key, 32)
    ka = xa.compute(b.public_key(), xb.ephemeral_public_key, 32, peer_user_id=b"bob")
    assert ka.key == kb.key
    xa.verify_confirmation(xb.confirmation())
    xb.verify_confirmation(xa.confirmation())
    with pytest.raises(InvalidTag):
        xa.verify_confirmation(xa.confirmation())  # S_A is not S_B
    # A responder that used a different ID gives a different key and fails confirmation.
    xc = sm2.SM2KeyExchange(b, initiator=False, user_id=b"mallory")
    xc.compute(a.public_key(), xa.ephemeral_public_key, 32)
    with pytest.raises(InvalidTag):
        xa.verify_confirmation(xc.confirmation())


@PROPS
@given(d=scalars)
def test_point_encodings_round_trip(d: int) -> None:
    pub = sm2.SM2PrivateKey.from_private_value(d).public_key()
    full = pub.public_bytes_raw()
    comp = pub.public_bytes_raw(compressed=True)
    assert len(full) == 65 and full[0] == 4
    assert len(comp) == 33 and comp[0] == 2 + (full[-1] & 1)
    for enc in (full, comp, full[1:]):
        again = sm2.SM2PublicKey.from_encoded_point(enc)
        assert again == pub and hash(again) == hash(pub)


def test_private_value_forms() -> None:
    key = sm2.generate_private_key()
    d = key.private_value
    assert 1 <= d <= N - 2
    same = sm2.SM2PrivateKey.from_private_value(d.to_bytes(32, "big"))
    assert same.public_key() == key.public_key()
    assert sm2.generate_private_key().private_value != d


@requires_test_hooks
def test_repeated_use_of_one_key_stays_correct() -> None:
    """After a few uses a public key switches to its own precomputed comb table
    (guomi_core::sm2::table); results must not change across the switch."""
    d = 0x1F2E3D4C5B6A79881F2E3D4C5B6A79881F2E3D4C5B6A79881F2E3D4C5B6A7988
    key = sm2.SM2PrivateKey.from_private_value(d)
    pub = sm2.SM2PublicKey.from_encoded_point(key.public_key().public_bytes_raw())
    ref_pub = CURVE.mul(d, CURVE.g)
    for i in range(12):
        msg = bytes([i]) * (i * 7)
        k = 0x1234567 + i * 0x9E3779B97F4A7C15
        ct = _rust.sm2_encrypt_with_k_for_tests(pub._k, msg, k.to_bytes(32, "big"), "c1c3c2")
        assert ct == ref.encrypt(CURVE, ref_pub, msg, k)
        assert key.decrypt(ct, layout="c1c3c2") == msg
        sig = key.sign(msg)
        pub.verify(sig, msg)
        with pytest.raises(InvalidSignature):
            pub.verify(sig, msg + b"!")
        r, s = ref.sign(CURVE, d, sm2.DEFAULT_USER_ID, msg, k)
        pub.verify(r.to_bytes(32, "big") + s.to_bytes(32, "big"), msg, encoding="raw")


def test_keys_shared_across_threads() -> None:
    """Large inputs run with the GIL released; one key object used from several
    threads at once (including the switch to its comb table) stays correct."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    key = sm2.generate_private_key()
    pub = sm2.SM2PublicKey.from_encoded_point(key.public_key().public_bytes_raw())
    msg = bytes(range(256)) * 256  # 64 KiB: above the GIL-release threshold

    def work(i: int) -> bool:
        data = msg + bytes([i])
        pub.verify(key.sign(data), data)
        return key.decrypt(pub.encrypt(data, layout="c1c3c2"), layout="c1c3c2") == data

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(work, range(16)))
