"""SM2 known answers from shared/vectors/sm2.json through the public API.

Recommended curve (sm2p256v1): Z_A and e, the given signature verifies (DER and
raw, message and digest forms), the signature is reproduced from the given k
through the private test hook, the given ciphertext decrypts in all three
layouts and is reproduced from k, and the key exchange is reproduced from the
given ephemeral keys on both sides (through ``key_exchange`` and the stateful
``SM2KeyExchange``).

The annex TEST-curve examples (p = 8542d69e...) are checked with the slow,
generic affine reference in ``tests/primitives/sm2_reference.py``, kept for
tests only: guomi itself implements the recommended curve only.
"""

from __future__ import annotations

from typing import Any

import pytest

from guomi import _rust
from guomi.exceptions import DecryptionError, InvalidSignature
from guomi.primitives import sm2
from tests.helpers import load_vectors, vector_params
from tests.primitives import sm2_reference as ref

# The fixed-nonce hooks exist only in a build with the `test-hooks` cargo
# feature (`make test` builds with it; the published wheel does not).
requires_test_hooks = pytest.mark.skipif(
    not hasattr(_rust, "sm2_sign_digest_with_k_for_tests"),
    reason="guomi._rust built without the test-hooks cargo feature (make test enables it)",
)

H = bytes.fromhex


def _pair(v: dict[str, Any]) -> tuple[sm2.SM2PrivateKey, sm2.SM2PublicKey]:
    sk = sm2.SM2PrivateKey.from_private_value(H(v["private_key"]))
    pk = sm2.SM2PublicKey.from_encoded_point(H(v["public_key"]))
    assert sk.public_key() == pk
    assert sk.private_value == int(v["private_key"], 16)
    assert sm2.SM2PrivateKey.from_private_value(int(v["private_key"], 16)).public_key() == pk
    return sk, pk


@pytest.mark.parametrize("v", vector_params("sm2.json", operation="sign", curve="sm2p256v1"))
def test_sign_vector(v: dict[str, Any]) -> None:
    sk, pk = _pair(v)
    uid, msg = H(v["user_id"]), H(v["msg"])
    assert sm2.compute_za(pk, uid) == H(v["za"])
    e = _rust.sm3_digest(H(v["za"]) + msg)
    assert e == H(v["e"])
    der = H(v["signature_der"])
    raw = H(v["r"]) + H(v["s"])
    pk.verify(der, msg, user_id=uid)
    pk.verify(raw, msg, user_id=uid, encoding="raw")
    pk.verify_digest(der, e)
    pk.verify_digest(raw, e, encoding="raw")
    # Fresh (hedged) signatures differ from each other and verify.
    s1, s2 = sk.sign(msg, user_id=uid), sk.sign(msg, user_id=uid)
    assert s1 != s2
    pk.verify(s1, msg, user_id=uid)
    pk.verify(sk.sign_digest(e, encoding="raw"), msg, user_id=uid, encoding="raw")
    with pytest.raises(InvalidSignature):
        pk.verify(der, msg + b"!", user_id=uid)
    with pytest.raises(InvalidSignature):
        pk.verify(der, msg, user_id=uid + b"x")


@pytest.mark.parametrize("v", vector_params("sm2.json", operation="encrypt", curve="sm2p256v1"))
@pytest.mark.parametrize(
    ("layout", "field"),
    [("c1c3c2", "ciphertext_c1c3c2"), ("c1c2c3", "ciphertext_c1c2c3"), ("der", "ciphertext_der")],
)
def test_encrypt_vector(v: dict[str, Any], layout: str, field: str) -> None:
    sk, pk = _pair(v)
    msg, ct = H(v["msg"]), H(v[field])
    assert sk.decrypt(ct, layout=layout) == msg  # type: ignore[arg-type]
    if layout == "c1c3c2":
        assert ct == H(v["c1"]) + H(v["c3"]) + H(v["c2"])
    fresh = pk.encrypt(msg, layout=layout)  # type: ignore[arg-type]
    assert fresh != ct
    assert sk.decrypt(fresh, layout=layout) == msg  # type: ignore[arg-type]
    tampered = bytearray(ct)
    tampered[-1] ^= 1
    with pytest.raises(DecryptionError):
        sk.decrypt(bytes(tampered), layout=layout)  # type: ignore[arg-type]


@requires_test_hooks
@pytest.mark.parametrize("v", vector_params("sm2.json", operation="sign", curve="sm2p256v1"))
def test_sign_vector_with_the_vectors_k(v: dict[str, Any]) -> None:
    sk, _pk = _pair(v)
    e = H(v["e"])
    assert _rust.sm2_sign_digest_with_k_for_tests(sk._k, e, H(v["k"]), "der") == H(v["signature_der"])
    assert _rust.sm2_sign_digest_with_k_for_tests(sk._k, e, H(v["k"]), "raw") == H(v["r"]) + H(v["s"])


@requires_test_hooks
@pytest.mark.parametrize("v", vector_params("sm2.json", operation="encrypt", curve="sm2p256v1"))
@pytest.mark.parametrize(
    ("layout", "field"),
    [("c1c3c2", "ciphertext_c1c3c2"), ("c1c2c3", "ciphertext_c1c2c3"), ("der", "ciphertext_der")],
)
def test_encrypt_vector_with_the_vectors_k(v: dict[str, Any], layout: str, field: str) -> None:
    _sk, pk = _pair(v)
    assert _rust.sm2_encrypt_with_k_for_tests(pk._k, H(v["msg"]), H(v["k"]), layout) == H(v[field])


@pytest.mark.parametrize("v", vector_params("sm2.json", operation="key_exchange", curve="sm2p256v1"))
def test_key_exchange_vector(v: dict[str, Any]) -> None:
    a = sm2.SM2PrivateKey.from_private_value(H(v["a_private_key"]))
    b = sm2.SM2PrivateKey.from_private_value(H(v["b_private_key"]))
    ra = sm2.SM2PrivateKey.from_private_value(H(v["a_ephemeral_private_key"]))
    rb = sm2.SM2PrivateKey.from_private_value(H(v["b_ephemeral_private_key"]))
    assert a.public_key().public_bytes_raw() == H(v["a_public_key"])
    assert b.public_key().public_bytes_raw() == H(v["b_public_key"])
    assert ra.public_key().public_bytes_raw() == H(v["a_ephemeral_public_key"])
    assert rb.public_key().public_bytes_raw() == H(v["b_ephemeral_public_key"])
    ida, idb = H(v["a_user_id"]), H(v["b_user_id"])
    assert sm2.compute_za(a.public_key(), ida) == H(v["za"])
    assert sm2.compute_za(b.public_key(), idb) == H(v["zb"])
    klen = v["klen"]
    ka = sm2.key_exchange(
        a, ra, b.public_key(), rb.public_key(), initiator=True, length=klen, user_id=ida, peer_user_id=idb
    )
    kb = sm2.key_exchange(
        b, rb, a.public_key(), ra.public_key(), initiator=False, length=klen, user_id=idb, peer_user_id=ida
    )
    for r in (ka, kb):
        assert r.key == H(v["shared_key"])
        assert r.s_b == H(v["s_b"])
        assert r.s_a == H(v["s_a"])
    assert "key=" not in repr(ka)
    # The stateful helper with the given ephemeral keys gives the same values.
    xa = sm2.SM2KeyExchange(a, initiator=True, user_id=ida, ephemeral_private_key=ra)
    xb = sm2.SM2KeyExchange(b, initiator=False, user_id=idb, ephemeral_private_key=rb)
    rb_ = xb.compute(a.public_key(), xa.ephemeral_public_key, klen, peer_user_id=ida)
    ra_ = xa.compute(b.public_key(), xb.ephemeral_public_key, klen, peer_user_id=idb)
    assert ra_.key == rb_.key == H(v["shared_key"])
    assert xb.confirmation() == H(v["s_b"])
    assert xa.confirmation() == H(v["s_a"])
    xa.verify_confirmation(xb.confirmation())
    xb.verify_confirmation(xa.confirmation())


# --- the annex TEST curve, through the generic reference -----------------------


def _test_curve() -> ref.Curve:
    c = load_vectors("sm2.json")["curves"]["gmt0003-annex-fp256-test"]
    return ref.Curve.from_hex(c)


def test_reference_agrees_with_guomi_on_recommended_curve() -> None:
    """The reference is itself checked against the recommended-curve vectors, so
    its agreement with the test-curve vectors means something."""
    c = ref.Curve.from_hex(load_vectors("sm2.json")["curves"]["sm2p256v1"])
    for v in load_vectors("sm2.json")["vectors"]:
        if v["curve"] != "sm2p256v1" or v["operation"] != "sign":
            continue
        d = int(v["private_key"], 16)
        r, s = ref.sign(c, d, H(v["user_id"]), H(v["msg"]), int(v["k"], 16))
        assert (r, s) == (int(v["r"], 16), int(v["s"], 16))


@pytest.mark.parametrize("v", vector_params("sm2.json", curve="gmt0003-annex-fp256-test"))
def test_test_curve_vectors_with_reference(v: dict[str, Any]) -> None:
    c = _test_curve()
    op = v["operation"]
    if op == "sign":
        d = int(v["private_key"], 16)
        pub = c.mul(d, c.g)
        assert c.encode(pub) == H(v["public_key"])
        assert ref.za(c, H(v["user_id"]), pub) == H(v["za"])
        r, s = ref.sign(c, d, H(v["user_id"]), H(v["msg"]), int(v["k"], 16))
        assert (r, s) == (int(v["r"], 16), int(v["s"], 16))
        assert ref.verify(c, pub, H(v["user_id"]), H(v["msg"]), r, s)
        assert not ref.verify(c, pub, H(v["user_id"]), H(v["msg"]), r, s ^ 1)
    elif op == "encrypt":
        d = int(v["private_key"], 16)
        pub = c.mul(d, c.g)
        ct = ref.encrypt(c, pub, H(v["msg"]), int(v["k"], 16))
        assert ct == H(v["ciphertext_c1c3c2"])
        assert ref.decrypt(c, d, ct) == H(v["msg"])
    else:
        out = ref.key_exchange(c, v)
        assert out == (H(v["shared_key"]), H(v["s_b"]), H(v["s_a"]))
