"""SM3 KDFs: the SM2 KDF (GB/T 32918.4 §5.4.3), HKDF-SM3 (RFC 5869), PBKDF2-HMAC-SM3 (RFC 8018).

The SM2 KDF is checked against the key-exchange vectors of sm2.json
(shared_key = KDF(xU || yU || Z_A || Z_B, klen)) and its definition; HKDF and
PBKDF2 against pyca/cryptography with SM3.
"""

from __future__ import annotations

import threading

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from hypothesis import given, settings
from hypothesis import strategies as st

from guomi.exceptions import InvalidArgumentError
from guomi.primitives import kdf, sm3
from tests.helpers import vector_params

SETTINGS = settings(derandomize=True, deadline=None, max_examples=60)


@pytest.mark.parametrize("v", vector_params("sm2.json", operation="key_exchange"))
def test_sm3_kdf_sm2_key_exchange_vector(v: dict) -> None:
    point = bytes.fromhex(v["shared_point"])
    assert point[0] == 4 and len(point) == 65
    z = point[1:] + bytes.fromhex(v["za"]) + bytes.fromhex(v["zb"])
    assert kdf.sm3_kdf(z, v["klen"]) == bytes.fromhex(v["shared_key"])


@SETTINGS
@given(z=st.binary(max_size=200), length=st.integers(1, 200))
def test_sm3_kdf_definition(z: bytes, length: int) -> None:
    want = b"".join(sm3.digest(z + ct.to_bytes(4, "big")) for ct in range(1, length // 32 + 2))
    assert kdf.sm3_kdf(z, length) == want[:length]
    assert kdf.sm3_kdf(bytearray(z), length) == want[:length]


@SETTINGS
@given(
    ikm=st.binary(max_size=100),
    salt=st.one_of(st.none(), st.binary(max_size=100)),
    info=st.binary(max_size=100),
    length=st.integers(1, 600),
)
def test_hkdf_vs_pyca(ikm: bytes, salt: bytes | None, info: bytes, length: int) -> None:
    want = HKDF(hashes.SM3(), length, salt, info).derive(ikm)
    if salt is None:
        assert kdf.hkdf_sm3(ikm, length, info=info) == want
        salt = b""
    assert kdf.hkdf_sm3(ikm, length, salt, info) == want
    assert kdf.hkdf_sm3(ikm, length, salt=salt, info=info) == want


def test_hkdf_length_limits() -> None:
    assert len(kdf.hkdf_sm3(b"ikm", kdf.HKDF_MAX_LENGTH)) == 255 * 32
    assert kdf.hkdf_sm3(b"ikm", 8160) == HKDF(hashes.SM3(), 8160, None, b"").derive(b"ikm")
    for bad in (0, -1, 8161, 10**6):
        with pytest.raises(InvalidArgumentError, match="length"):
            kdf.hkdf_sm3(b"ikm", bad)


@SETTINGS
@given(
    password=st.binary(max_size=100),
    salt=st.binary(max_size=40),
    iterations=st.integers(1, 300),
    length=st.integers(1, 100),
)
def test_pbkdf2_vs_pyca(password: bytes, salt: bytes, iterations: int, length: int) -> None:
    want = PBKDF2HMAC(hashes.SM3(), length, salt, iterations).derive(password)
    assert kdf.pbkdf2_hmac_sm3(password, salt, iterations, length) == want


def test_pbkdf2_many_iterations_in_threads() -> None:
    # 20,000 iterations runs with the GIL released; results must be exact.
    want = PBKDF2HMAC(hashes.SM3(), 48, b"salt", 20_000).derive(b"password")
    out: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: out.append(kdf.pbkdf2_hmac_sm3(b"password", b"salt", 20_000, 48)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [want] * 4


@pytest.mark.parametrize(("iterations", "length"), [(0, 32), (-1, 32), (2**32, 32), (1, 0), (1, -5)])
def test_pbkdf2_argument_errors(iterations: int, length: int) -> None:
    with pytest.raises(InvalidArgumentError):
        kdf.pbkdf2_hmac_sm3(b"pw", b"salt", iterations, length)


def test_kdf_errors() -> None:
    for bad in (0, -1):
        with pytest.raises(InvalidArgumentError, match="length"):
            kdf.sm3_kdf(b"z", bad)
    with pytest.raises(TypeError):
        kdf.sm3_kdf("z", 32)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        kdf.hkdf_sm3(b"ikm", 32, salt="s")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        kdf.pbkdf2_hmac_sm3("pw", b"salt", 1, 32)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        kdf.pbkdf2_hmac_sm3(b"pw", b"salt", 1.5, 32)  # type: ignore[arg-type]
