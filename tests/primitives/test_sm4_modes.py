"""SM4 ``Cipher`` and ``modes``: streaming across arbitrary splits, buffer
types, ``update_into``, and every error case of the public API."""

from __future__ import annotations

import array
import os

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher as PycaCipher
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers import modes as pyca_modes

from guomi import _rust
from guomi.exceptions import AlreadyFinalizedError, InvalidArgumentError, InvalidKey
from guomi.primitives.sm4 import BLOCK_SIZE, Cipher, modes
from tests.helpers import available_backends

KEY = bytes(range(16))
IV = bytes(range(100, 116))
ALL_MODES = [
    modes.ECB(),
    modes.CBC(IV),
    modes.CFB(IV),
    modes.OFB(IV),
    modes.CTR(IV),
]
IDS = [m.name for m in ALL_MODES]


def _one_shot(mode: modes.Mode, data: bytes, decrypt: bool = False) -> bytes:
    c = Cipher(KEY, mode)
    ctx = c.decryptor() if decrypt else c.encryptor()
    return ctx.update(data) + ctx.finalize()


@pytest.mark.parametrize("mode", ALL_MODES, ids=IDS)
def test_round_trip_and_splits(mode: modes.Mode, backend: str) -> None:
    data = os.urandom(16 * 70)
    ct = _one_shot(mode, data)
    assert len(ct) == len(data) and ct != data
    assert _one_shot(mode, ct, decrypt=True) == data
    # Irregular chunk sizes, including empty ones and ones crossing many blocks.
    sizes = [0, 1, 15, 16, 17, 0, 31, 33, 250, 3, 512]
    for decrypt, src, want in ((False, data, ct), (True, ct, data)):
        c = Cipher(KEY, mode)
        ctx = c.decryptor() if decrypt else c.encryptor()
        out, pos, i = [], 0, 0
        while pos < len(src):
            n = sizes[i % len(sizes)]
            out.append(ctx.update(src[pos : pos + n]))
            pos += n
            i += 1
        out.append(ctx.finalize())
        assert b"".join(out) == want


STREAM_MODES = [m for m in ALL_MODES if m.name in ("CFB", "OFB", "CTR")]


@pytest.mark.parametrize("mode", STREAM_MODES, ids=[m.name for m in STREAM_MODES])
def test_stream_modes_any_length_and_immediate_output(mode: modes.Mode, backend: str) -> None:
    for n in (0, 1, 15, 17, 100, 1000):
        data = os.urandom(n)
        enc = Cipher(KEY, mode).encryptor()
        ct = enc.update(data)
        assert len(ct) == n  # one output byte per input byte, no buffering
        assert enc.finalize() == b""
        assert _one_shot(mode, ct, decrypt=True) == data


@pytest.mark.parametrize("mode", [modes.ECB(), modes.CBC(IV)], ids=["ECB", "CBC"])
def test_block_modes_buffer_partial_blocks(mode: modes.Mode) -> None:
    enc = Cipher(KEY, mode).encryptor()
    assert enc.update(b"x" * 15) == b""
    assert len(enc.update(b"x" * 2)) == 16
    assert len(enc.update(b"x" * 15)) == 16
    assert enc.finalize() == b""


@pytest.mark.parametrize("mode", [modes.ECB(), modes.CBC(IV)], ids=["ECB", "CBC"])
@pytest.mark.parametrize("decrypt", [False, True])
def test_block_modes_reject_partial_final_block(mode: modes.Mode, decrypt: bool) -> None:
    c = Cipher(KEY, mode)
    ctx = c.decryptor() if decrypt else c.encryptor()
    ctx.update(b"y" * 33)
    with pytest.raises(InvalidArgumentError, match="multiple of the block size"):
        ctx.finalize()
    # And the context is closed afterwards.
    with pytest.raises(AlreadyFinalizedError):
        ctx.update(b"")


def test_pyca_compatible_ciphertexts() -> None:
    # CTR counter carry across all 16 bytes (a 128-bit big-endian counter).
    nonce = b"\xff" * 16
    data = os.urandom(64)
    e = PycaCipher(algorithms.SM4(KEY), pyca_modes.CTR(nonce)).encryptor()
    assert _one_shot(modes.CTR(nonce), data) == e.update(data) + e.finalize()


@pytest.mark.parametrize("mode", ALL_MODES, ids=IDS)
def test_use_after_finalize(mode: modes.Mode) -> None:
    for ctx in (Cipher(KEY, mode).encryptor(), Cipher(KEY, mode).decryptor()):
        ctx.update(b"z" * 32)
        assert ctx.finalize() == b""
        with pytest.raises(AlreadyFinalizedError):
            ctx.update(b"z" * 16)
        with pytest.raises(AlreadyFinalizedError):
            ctx.finalize()
        with pytest.raises(AlreadyFinalizedError):
            ctx.update_into(b"z" * 16, bytearray(64))


@pytest.mark.parametrize("n", [0, 15, 17, 24, 32])
def test_wrong_key_length(n: int) -> None:
    with pytest.raises(InvalidKey, match="16 bytes"):
        Cipher(b"k" * n, modes.ECB())


def test_key_type_and_mode_type_errors() -> None:
    with pytest.raises(TypeError):
        Cipher("0123456789abcdef", modes.ECB())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Cipher(KEY, "CBC")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        modes.CBC("0" * 16)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ctor", "field"),
    [(modes.CBC, "iv"), (modes.CFB, "iv"), (modes.OFB, "iv"), (modes.CTR, "nonce")],
)
@pytest.mark.parametrize("n", [0, 8, 12, 15, 17, 32])
def test_wrong_iv_length(ctor: type[modes.Mode], field: str, n: int) -> None:
    with pytest.raises(InvalidArgumentError, match=rf"{field} must be 16 bytes, got {n}"):
        ctor(b"\0" * n)  # type: ignore[call-arg]


def test_rust_layer_checks_iv_too() -> None:
    # The Rust glue validates independently of the Python mode classes.
    key = _rust.Sm4Key(KEY)
    with pytest.raises(InvalidArgumentError, match="iv must be 16 bytes, got 3"):
        key.encryptor("CBC", b"abc")
    with pytest.raises(InvalidArgumentError, match="nonce"):
        key.decryptor("CTR", None)
    with pytest.raises(InvalidArgumentError, match="unknown SM4 mode"):
        key.encryptor("XTS", IV)
    with pytest.raises(InvalidArgumentError, match="no iv"):
        key.encryptor("ECB", IV)


def test_buffer_types_are_accepted() -> None:
    data = os.urandom(64)
    want = _one_shot(modes.CBC(IV), data)
    for key in (KEY, bytearray(KEY), memoryview(KEY)):
        for buf in (data, bytearray(data), memoryview(data), array.array("B", data)):
            enc = Cipher(key, modes.CBC(bytearray(IV))).encryptor()
            assert enc.update(buf) + enc.finalize() == want  # type: ignore[arg-type]
    # Non-contiguous memoryviews are refused clearly.
    with pytest.raises(InvalidArgumentError, match="contiguous"):
        Cipher(KEY, modes.CTR(IV)).encryptor().update(memoryview(data)[::2])
    with pytest.raises(TypeError):
        Cipher(KEY, modes.CTR(IV)).encryptor().update("text")  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ALL_MODES, ids=IDS)
def test_update_into(mode: modes.Mode) -> None:
    data = os.urandom(16 * 9 + 5 if mode.name not in ("ECB", "CBC") else 16 * 9)
    want = _one_shot(mode, data)
    enc = Cipher(KEY, mode).encryptor()
    buf = bytearray(len(data) + BLOCK_SIZE - 1)
    n = enc.update_into(data, buf)
    assert n == len(data)
    assert enc.finalize() == b""
    assert bytes(buf[:n]) == want
    # In place: the same bytearray as input and output.
    inplace = bytearray(data) + bytearray(BLOCK_SIZE - 1)
    dec = Cipher(KEY, mode).encryptor()
    n = dec.update_into(memoryview(inplace)[: len(data)], inplace)
    assert bytes(inplace[:n]) == want


def test_update_into_errors() -> None:
    enc = Cipher(KEY, modes.CTR(IV)).encryptor()
    with pytest.raises(InvalidArgumentError, match="at least 31 bytes"):
        enc.update_into(b"a" * 16, bytearray(30))
    with pytest.raises(InvalidArgumentError, match="writable"):
        enc.update_into(b"a" * 16, bytes(64))


def test_modes_attributes_and_repr() -> None:
    assert modes.ECB().name == "ECB"
    cbc = modes.CBC(IV)
    assert (cbc.name, cbc.initialization_vector, cbc.iv) == ("CBC", IV, IV)
    assert modes.CTR(IV).nonce == IV and modes.CTR(IV).name == "CTR"
    assert modes.CFB(IV).name == "CFB" and modes.OFB(IV).name == "OFB"
    assert modes.CBC(IV) == modes.CBC(bytearray(IV)) and modes.CBC(IV) != modes.CFB(IV)
    assert len({modes.CBC(IV), modes.CBC(IV)}) == 1


def test_no_key_material_in_repr() -> None:
    key = bytes.fromhex("a1b2c3d4e5f60718293a4b5c6d7e8f90")
    c = Cipher(key, modes.CBC(IV))
    for obj in (c, c.encryptor(), c.decryptor(), _rust.Sm4Key(key)):
        r = repr(obj)
        assert key.hex() not in r and "a1b2" not in r and str(list(key)) not in r
    assert not hasattr(c, "key") and not hasattr(c, "__dict__")


def test_backend_property_follows_forced_path(backend: str) -> None:
    assert Cipher(KEY, modes.ECB()).backend == backend


def test_large_buffer_matches_across_paths() -> None:
    # 3 MiB + odd tail through every path must give identical bytes.
    data = os.urandom(3 * 1024 * 1024 + 7)
    previous = _rust.backend()
    results = {}
    try:
        for b in available_backends():
            _rust.set_backend(b)
            results[b] = (
                _one_shot(modes.CTR(IV), data),
                _one_shot(modes.CBC(IV), data[: len(data) // 16 * 16], decrypt=True),
                _one_shot(modes.CFB(IV), data, decrypt=True),
            )
    finally:
        _rust.set_backend(previous)
    assert len(set(results.values())) == 1
