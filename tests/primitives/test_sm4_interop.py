"""SM4 ECB/CBC/CFB/OFB/CTR against two independent implementations, with
hypothesis over random keys, IVs, lengths (0 to 4 KiB) and chunkings:

- pyca/cryptography (OpenSSL 3.x inside; CFB/OFB from ``hazmat.decrepit``),
- the ``openssl enc -sm4-*`` command line, in both directions.

Every test runs on every SM4 path this CPU has."""

from __future__ import annotations

import shutil
import subprocess
import warnings
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher as PycaCipher
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers import modes as pyca_modes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guomi.primitives.sm4 import Cipher, modes

try:
    from cryptography.hazmat.decrepit.ciphers import modes as decrepit_modes
except ImportError:  # older pyca: CFB/OFB still in the main modes module
    decrepit_modes = pyca_modes  # type: ignore[assignment,unused-ignore]

MODE_NAMES = ["ECB", "CBC", "CFB", "OFB", "CTR"]
WHOLE_BLOCKS = {"ECB", "CBC"}
SETTINGS = settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def guomi_mode(name: str, iv: bytes) -> modes.Mode:
    if name == "ECB":
        return modes.ECB()
    return {"CBC": modes.CBC, "CFB": modes.CFB, "OFB": modes.OFB, "CTR": modes.CTR}[name](iv)


def pyca_mode(name: str, iv: bytes) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "ECB": pyca_modes.ECB,
            "CBC": lambda: pyca_modes.CBC(iv),
            "CTR": lambda: pyca_modes.CTR(iv),
            "CFB": lambda: decrepit_modes.CFB(iv),
            "OFB": lambda: decrepit_modes.OFB(iv),
        }[name]()


def streamed(ctx: Any, data: bytes, chunks: list[int]) -> bytes:
    """Feeds ``data`` in the given chunk sizes (cycled), then finalizes."""
    out, pos, i = [], 0, 0
    while pos < len(data):
        n = chunks[i % len(chunks)] if chunks else len(data)
        out.append(ctx.update(data[pos : pos + n]))
        pos += n
        i += 1
    out.append(ctx.finalize())
    return b"".join(out)


@st.composite
def cases(draw: Any, name: str, max_len: int = 4096) -> tuple[bytes, bytes, bytes, list[int]]:
    key = draw(st.binary(min_size=16, max_size=16))
    iv = draw(st.binary(min_size=16, max_size=16))
    n = draw(st.integers(min_value=0, max_value=max_len))
    if name in WHOLE_BLOCKS:
        n -= n % 16
    data = draw(st.binary(min_size=n, max_size=n))
    chunks = draw(st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=8))
    return key, iv, data, chunks


@pytest.mark.parametrize("name", MODE_NAMES)
def test_against_pyca(name: str, backend: str) -> None:
    @settings(SETTINGS, max_examples=40)
    @given(case=cases(name))
    def check(case: tuple[bytes, bytes, bytes, list[int]]) -> None:
        key, iv, data, chunks = case
        ref = PycaCipher(algorithms.SM4(key), pyca_mode(name, iv))
        e = ref.encryptor()
        want = e.update(data) + e.finalize()
        ours = Cipher(key, guomi_mode(name, iv))
        assert ours.backend == backend
        assert streamed(ours.encryptor(), data, chunks) == want
        # pyca ciphertext -> guomi decryption, chunked differently.
        assert streamed(ours.decryptor(), want, chunks[::-1]) == data
        # guomi ciphertext -> pyca decryption.
        d = ref.decryptor()
        assert d.update(want) + d.finalize() == data

    check()


def openssl_enc(name: str, key: bytes, iv: bytes, data: bytes, decrypt: bool) -> bytes:
    cmd = ["openssl", "enc", f"-sm4-{name.lower()}", "-nopad", "-K", key.hex()]
    if name != "ECB":
        cmd += ["-iv", iv.hex()]
    if decrypt:
        cmd.append("-d")
    res = subprocess.run(cmd, input=data, capture_output=True, check=True, timeout=30)
    return res.stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
@pytest.mark.parametrize("name", MODE_NAMES)
def test_against_openssl_cli(name: str, backend: str) -> None:
    @settings(SETTINGS, max_examples=12)
    @given(case=cases(name))
    def check(case: tuple[bytes, bytes, bytes, list[int]]) -> None:
        key, iv, data, chunks = case
        ours = Cipher(key, guomi_mode(name, iv))
        # guomi -> openssl
        ct = streamed(ours.encryptor(), data, chunks)
        assert openssl_enc(name, key, iv, ct, decrypt=True) == data
        # openssl -> guomi
        ct2 = openssl_enc(name, key, iv, data, decrypt=False)
        assert ct2 == ct
        assert streamed(ours.decryptor(), ct2, chunks) == data

    check()


def test_openssl_cli_kat_sanity() -> None:
    # Guards the harness itself: the CLI reproduces GB/T 32907 example 1.
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    k = bytes.fromhex("0123456789abcdeffedcba9876543210")
    assert openssl_enc("ECB", k, b"", k, decrypt=False).hex() == "681edf34d206965e86b3e94f536e4246"
