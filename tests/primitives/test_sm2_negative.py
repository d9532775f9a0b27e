"""SM2 negative corpus: every failure kind of issue 4, one parametrised case per
failure, each rejected with its exception type (never a panic, never garbage).

Each case starts from a VALID object (the recommended-curve vector key, a real
signature, a real ciphertext) and changes one thing, so the rejection is due to
that defect alone.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable

import pytest

from guomi.exceptions import (
    DecryptionError,
    InvalidArgumentError,
    InvalidEncodingError,
    InvalidKey,
    InvalidSignature,
)
from guomi.primitives import sm2
from tests.helpers import load_vectors

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
MSG = b"message digest"


def _vec(op: str) -> dict[str, str]:
    return next(
        v for v in load_vectors("sm2.json")["vectors"] if v["operation"] == op and v["curve"] == "sm2p256v1"
    )


SIGN = _vec("sign")
ENC = _vec("encrypt")
KEY = sm2.SM2PrivateKey.from_private_value(bytes.fromhex(SIGN["private_key"]))
PUB = KEY.public_key()
PUB65 = PUB.public_bytes_raw()
X, Y = PUB65[1:33], PUB65[33:]
R = int(SIGN["r"], 16)
S = int(SIGN["s"], 16)


def b32(v: int) -> bytes:
    return v.to_bytes(32, "big")


# --- DER helpers (hand-built on purpose: we need malformed encodings) --------


def der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def der_int(v: int) -> bytes:
    body = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big")
    return b"\x02" + der_len(len(body)) + body


def der_seq(*parts: bytes) -> bytes:
    body = b"".join(parts)
    return b"\x30" + der_len(len(body)) + body


def der_sig(r: int, s: int) -> bytes:
    return der_seq(der_int(r), der_int(s))


def test_helpers_build_the_vector_signature() -> None:
    assert der_sig(R, S) == bytes.fromhex(SIGN["signature_der"])
    PUB.verify(der_sig(R, S), MSG)


# --- public keys ----------------------------------------------------------------

PUBLIC_KEY_CASES: dict[str, tuple[bytes, type[Exception]]] = {
    "off_curve_uncompressed": (b"\x04" + X + b32((int.from_bytes(Y, "big") + 1) % P), InvalidKey),
    "off_curve_raw64": (X + b32((int.from_bytes(Y, "big") + 1) % P), InvalidKey),
    "x_not_below_p": (b"\x04" + b32(P) + Y, InvalidKey),
    "y_not_below_p": (b"\x04" + X + b32(P), InvalidKey),
    "all_zero_point": (b"\x04" + bytes(64), InvalidKey),
    "compressed_x_not_on_curve": (b"\x02" + b32(3), InvalidKey),  # x^3 - 3x + b is not a square for x = 3
    "infinity_sec1_single_zero": (b"\x00", InvalidKey),
    "wrong_length_empty": (b"", InvalidEncodingError),
    "wrong_length_63": (PUB65[1:64], InvalidEncodingError),
    "wrong_length_66": (PUB65 + b"\x00", InvalidEncodingError),
    "wrong_length_32": (X, InvalidEncodingError),
    "wrong_prefix_65_byte_05": (b"\x05" + PUB65[1:], InvalidEncodingError),
    "wrong_prefix_65_byte_02": (b"\x02" + PUB65[1:], InvalidEncodingError),
    "wrong_prefix_33_byte_04": (b"\x04" + X, InvalidEncodingError),
    "hybrid_prefix_06": (b"\x06" + PUB65[1:], InvalidEncodingError),
}


def test_compressed_3_really_is_off_curve() -> None:
    rhs = (27 - 9 + 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93) % P
    assert pow(rhs, (P - 1) // 2, P) != 1


@pytest.mark.parametrize("case", sorted(PUBLIC_KEY_CASES))
def test_public_key_rejected(case: str) -> None:
    data, exc = PUBLIC_KEY_CASES[case]
    with pytest.raises(exc):
        sm2.SM2PublicKey.from_encoded_point(data)


# --- private values -----------------------------------------------------------

PRIVATE_CASES: dict[str, int | bytes] = {
    "zero_int": 0,
    "zero_bytes": bytes(32),
    "n_minus_1": N - 1,
    "n_minus_1_bytes": b32(N - 1),
    "n": N,
    "n_bytes": b32(N),
    "above_n": N + 5,
    "max_256_bit_bytes": b"\xff" * 32,
    "negative": -1,
    "too_big_int": 2**256,
    "short_31_bytes": b"\x01" * 31,
    "long_33_bytes": b"\x00" + b"\x01" * 32,
}


@pytest.mark.parametrize("case", sorted(PRIVATE_CASES))
def test_private_value_rejected(case: str) -> None:
    with pytest.raises(InvalidKey):
        sm2.SM2PrivateKey.from_private_value(PRIVATE_CASES[case])


def test_private_value_bounds_accepted() -> None:
    assert sm2.SM2PrivateKey.from_private_value(1).private_value == 1
    assert sm2.SM2PrivateKey.from_private_value(N - 2).private_value == N - 2


# --- signatures (all: InvalidSignature) -------------------------------------

SIG_INT = der_int(R)
SIGNATURE_CASES: dict[str, tuple[bytes, str]] = {
    "r_zero": (der_sig(0, S), "der"),
    "s_zero": (der_sig(R, 0), "der"),
    "r_equals_n": (der_sig(N, S), "der"),
    "s_equals_n": (der_sig(R, N), "der"),
    "r_above_n": (der_sig(N + 1, S), "der"),
    "s_above_n": (der_sig(R, 2**256 - 1), "der"),
    "r_plus_s_is_n": (der_sig(R, N - R), "der"),
    "r_plus_s_is_n_raw": (b32(R) + b32(N - R), "raw"),
    "raw_r_zero": (bytes(32) + b32(S), "raw"),
    "raw_s_equals_n": (b32(R) + b32(N), "raw"),
    "der_non_minimal_leading_zero": (der_seq(b"\x02\x21\x00\x00" + b32(R)[1:], der_int(S)), "der"),
    "der_non_minimal_padded_small_r": (der_seq(b"\x02\x02\x00\x01", der_int(S)), "der"),
    "der_negative_r": (
        der_seq(b"\x02\x20" + b32(R), der_int(S)),
        "der",
    ),  # R's top bit is set: negative without 00
    "der_negative_s_minus_one": (der_seq(der_int(R), b"\x02\x01\xff"), "der"),
    "der_trailing_byte": (der_sig(R, S) + b"\x00", "der"),
    "der_trailing_garbage_inside_seq": (der_seq(der_int(R), der_int(S), b"\x05\x00"), "der"),
    "der_outer_length_too_long": (b"\x30" + bytes([len(der_sig(R, S)) - 1]) + der_sig(R, S)[2:], "der"),
    "der_outer_length_too_short": (b"\x30" + bytes([len(der_sig(R, S)) - 3]) + der_sig(R, S)[2:], "der"),
    "der_int_length_overruns": (der_seq(b"\x02\x30" + der_int(R)[2:], der_int(S)), "der"),
    "der_non_minimal_length_form": (b"\x30\x81" + der_sig(R, S)[1:], "der"),
    "der_integer_33_bytes_of_value": (der_seq(b"\x02\x21\x01" + b32(R), der_int(S)), "der"),
    "der_wrong_tag": (b"\x31" + der_sig(R, S)[1:], "der"),
    "der_empty": (b"", "der"),
    "der_truncated": (der_sig(R, S)[:-1], "der"),
    "raw_63_bytes": ((b32(R) + b32(S))[:63], "raw"),
    "raw_65_bytes": (b32(R) + b32(S) + b"\x00", "raw"),
    "raw_given_der": (der_sig(R, S), "raw"),
}


@pytest.mark.parametrize("case", sorted(SIGNATURE_CASES))
def test_signature_rejected(case: str) -> None:
    sig, enc = SIGNATURE_CASES[case]
    with pytest.raises(InvalidSignature):
        PUB.verify(sig, MSG, encoding=enc)  # type: ignore[arg-type]


def test_valid_signature_forms_accepted() -> None:
    PUB.verify(der_sig(R, S), MSG)
    PUB.verify(b32(R) + b32(S), MSG, encoding="raw")


# --- ciphertexts (all: DecryptionError) -------------------------------------

EKEY = sm2.SM2PrivateKey.from_private_value(bytes.fromhex(ENC["private_key"]))
C1 = bytes.fromhex(ENC["c1"])
C2 = bytes.fromhex(ENC["c2"])
C3 = bytes.fromhex(ENC["c3"])
CX = int.from_bytes(C1[1:33], "big")
CY = int.from_bytes(C1[33:], "big")
OFF = b"\x04" + C1[1:33] + b32((CY + 1) % P)


def der_ct(x: int, y: int, c3: bytes, c2: bytes) -> bytes:
    return der_seq(der_int(x), der_int(y), b"\x04" + der_len(len(c3)) + c3, b"\x04" + der_len(len(c2)) + c2)


CIPHERTEXT_CASES: dict[str, tuple[bytes, str]] = {
    "c1c3c2_empty": (b"", "c1c3c2"),
    "c1c3c2_too_short_96": ((C1 + C3)[:96], "c1c3c2"),
    "c1c2c3_too_short_96": ((C1 + C3)[:96], "c1c2c3"),
    "c1c3c2_c1_off_curve": (OFF + C3 + C2, "c1c3c2"),
    "c1c2c3_c1_off_curve": (OFF + C2 + C3, "c1c2c3"),
    "c1c3c2_c1_wrong_prefix": (b"\x05" + C1[1:] + C3 + C2, "c1c3c2"),
    "c1c3c2_c1_x_not_below_p": (b"\x04" + b32(P) + C1[33:] + C3 + C2, "c1c3c2"),
    "c1c3c2_c1_zero": (b"\x04" + bytes(64) + C3 + C2, "c1c3c2"),
    "c1c3c2_wrong_c3": (C1 + bytes([C3[0] ^ 1]) + C3[1:] + C2, "c1c3c2"),
    "c1c2c3_wrong_c3": (C1 + C2 + C3[:-1] + bytes([C3[-1] ^ 0x80]), "c1c2c3"),
    "c1c3c2_wrong_c2": (C1 + C3 + bytes([C2[0] ^ 1]) + C2[1:], "c1c3c2"),
    "c1c3c2_truncated_c2": (C1 + C3 + C2[:-1], "c1c3c2"),
    "c1c3c2_given_c1c2c3": (C1 + C2 + C3, "c1c3c2"),
    "der_given_raw": (C1 + C3 + C2, "der"),
    "der_wrong_c3": (der_ct(CX, CY, bytes(32), C2), "der"),
    "der_c3_31_bytes": (der_ct(CX, CY, C3[:31], C2), "der"),
    "der_c3_33_bytes": (der_ct(CX, CY, C3 + b"\x00", C2), "der"),
    "der_c1_off_curve": (der_ct(CX, (CY + 1) % P, C3, C2), "der"),
    "der_x_not_below_p": (der_ct(P, CY, C3, C2), "der"),
    "der_trailing_byte": (der_ct(CX, CY, C3, C2) + b"\x00", "der"),
    "der_non_minimal_x": (
        der_seq(
            b"\x02" + der_len(34) + b"\x00\x00" + b32(CX),
            der_int(CY),
            b"\x04\x20" + C3,
            b"\x04" + der_len(len(C2)) + C2,
        ),
        "der",
    ),
    "der_negative_y": (
        der_seq(der_int(CX), b"\x02\x20" + b32(CY), b"\x04\x20" + C3, b"\x04" + der_len(len(C2)) + C2),
        "der",
    ),
    "der_missing_c2": (der_seq(der_int(CX), der_int(CY), b"\x04\x20" + C3), "der"),
    "der_truncated": (der_ct(CX, CY, C3, C2)[:-1], "der"),
    "der_empty": (b"", "der"),
}


def test_ciphertext_helpers_rebuild_vector() -> None:
    assert der_ct(CX, CY, C3, C2) == bytes.fromhex(ENC["ciphertext_der"])
    assert EKEY.decrypt(der_ct(CX, CY, C3, C2)) == bytes.fromhex(ENC["msg"])
    assert EKEY.decrypt(C1 + C3 + C2, layout="c1c3c2") == bytes.fromhex(ENC["msg"])


@pytest.mark.parametrize("case", sorted(CIPHERTEXT_CASES))
def test_ciphertext_rejected(case: str) -> None:
    ct, layout = CIPHERTEXT_CASES[case]
    with pytest.raises(DecryptionError) as info:
        EKEY.decrypt(ct, layout=layout)  # type: ignore[arg-type]
    assert str(info.value) == "SM2 decryption failed"  # one vague message for every failure


# --- arguments ------------------------------------------------------------------

ARGUMENT_CASES: dict[str, Callable[[], object]] = {
    "user_id_8192_bytes_sign": lambda: KEY.sign(MSG, user_id=b"a" * 8192),
    "user_id_8192_bytes_verify": lambda: PUB.verify(der_sig(R, S), MSG, user_id=b"a" * 8192),
    "user_id_8192_bytes_za": lambda: sm2.compute_za(PUB, b"a" * 8192),
    "unknown_signature_encoding": lambda: KEY.sign(MSG, encoding="pem"),  # type: ignore[arg-type]
    "unknown_layout_encrypt": lambda: PUB.encrypt(MSG, layout="c2c1c3"),  # type: ignore[arg-type]
    "unknown_layout_decrypt": lambda: KEY.decrypt(MSG, layout="raw"),  # type: ignore[arg-type]
    # Digests of any length are accepted as OpenSSL accepts them (issue 11):
    # see test_sm2_digest_length.py, which replaced digest_31_bytes_sign and
    # digest_33_bytes_verify here.
    "key_exchange_length_zero": lambda: sm2.key_exchange(KEY, KEY, PUB, PUB, initiator=True, length=0),
}


@pytest.mark.parametrize("case", sorted(ARGUMENT_CASES))
def test_bad_argument_rejected(case: str) -> None:
    with pytest.raises(InvalidArgumentError):
        ARGUMENT_CASES[case]()


def test_user_id_8191_bytes_is_the_limit() -> None:
    uid = b"a" * 8191
    PUB.verify(KEY.sign(MSG, user_id=uid), MSG, user_id=uid)


def test_no_secret_in_repr() -> None:
    assert SIGN["private_key"] not in repr(KEY)
    assert str(KEY.private_value) not in repr(KEY)
    with pytest.raises(TypeError):
        pickle.dumps(KEY)
