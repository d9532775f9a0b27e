"""SM4 known answers (GB/T 32907-2016 and draft-ribose-cfrg-sm4): every vector
of ``sm4.json``, each its own test id, on every SM4 path this CPU has, through
the public ``Cipher`` API."""

from __future__ import annotations

from typing import Any

import pytest

from guomi.primitives.sm4 import Cipher, modes
from tests.helpers import vector_params

BLOCK_VECTORS = vector_params("sm4.json", mode="block")
MODE_VECTORS = [p for m in ("ecb", "cbc", "cfb", "ofb", "ctr") for p in vector_params("sm4.json", mode=m)]


def _mode(v: dict[str, Any]) -> modes.Mode:
    name = v["mode"]
    if name == "ecb":
        return modes.ECB()
    iv = bytes.fromhex(v["iv"])
    return {"cbc": modes.CBC, "cfb": modes.CFB, "ofb": modes.OFB, "ctr": modes.CTR}[name](iv)


def test_vector_files_are_complete() -> None:
    assert len(BLOCK_VECTORS) >= 2
    assert {p.values[0]["mode"] for p in MODE_VECTORS} == {"ecb", "cbc", "cfb", "ofb", "ctr"}


@pytest.mark.parametrize("v", BLOCK_VECTORS)
def test_block_vector(v: dict[str, Any], backend: str) -> None:
    key, pt, ct = (bytes.fromhex(v[f]) for f in ("key", "plaintext", "ciphertext"))
    n = v.get("iterations", 1)
    cipher = Cipher(key, modes.ECB())
    assert cipher.backend == backend
    if n == 1:
        enc = cipher.encryptor()
        assert enc.update(pt) + enc.finalize() == ct
        dec = cipher.decryptor()
        assert dec.update(ct) + dec.finalize() == pt
        return
    # Iterated encryption E^n(P) as ONE call through the public API: CBC with
    # a zero IV over P || 0^(16(n-1)) chains C_i = E(C_{i-1} xor 0), so the
    # last ciphertext block is E^n(P). Decrypting back exercises the
    # parallel CBC decryption over the same 16 MB.
    zero_iv = modes.CBC(bytes(16))
    data = pt + bytes(16 * (n - 1))
    enc = Cipher(key, zero_iv).encryptor()
    out = enc.update(data) + enc.finalize()
    assert out[-16:] == ct
    dec = Cipher(key, zero_iv).decryptor()
    assert dec.update(out) + dec.finalize() == data


@pytest.mark.parametrize("v", MODE_VECTORS)
def test_mode_vector(v: dict[str, Any], backend: str) -> None:
    key, pt, ct = (bytes.fromhex(v[f]) for f in ("key", "plaintext", "ciphertext"))
    cipher = Cipher(key, _mode(v))
    assert cipher.backend == backend
    enc = cipher.encryptor()
    assert enc.update(pt) + enc.finalize() == ct
    dec = cipher.decryptor()
    assert dec.update(ct) + dec.finalize() == pt
    # Byte-at-a-time streaming gives the same bytes.
    enc = cipher.encryptor()
    assert b"".join(enc.update(pt[i : i + 1]) for i in range(len(pt))) + enc.finalize() == ct
    dec = cipher.decryptor()
    assert b"".join(dec.update(ct[i : i + 1]) for i in range(len(ct))) + dec.finalize() == pt
