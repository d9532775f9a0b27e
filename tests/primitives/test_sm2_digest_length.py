"""SM2 signatures over digests that are not 32 bytes, read as OpenSSL reads them.

OpenSSL's ``ossl_sm2_internal_sign``/``ossl_sm2_internal_verify``
(crypto/sm2/sm2_sign.c) take the whole digest as one big-endian integer
(``BN_bin2bn``) and reduce it in r = (e + x1) mod n (``BN_mod_add``); there is
no ECDSA-style truncation. OpenSSL 3.0's SM2 signature provider refuses a
digest that is not 32 bytes before reaching that code, so a small C helper
(``c/openssl_sm2_digest.c``) runs the same function bodies on libcrypto's
BN/EC primitives. It is first checked against the ``openssl`` CLI on
32-byte digests, both ways; then a SHA-512 digest is signed by it and
verified by guomi, and the other way round. Where the installed ``openssl
pkeyutl -sign`` accepts a 64-byte digest itself (newer releases), its
signature is verified by guomi too.

Layer: tests (primitives, interop).
"""

from __future__ import annotations

import hashlib
import pathlib
import shutil
import subprocess

import pytest

from guomi.exceptions import InvalidSignature
from guomi.primitives.serialization import load_pem_private_key

pytestmark = pytest.mark.interop

HELPER_SOURCE = pathlib.Path(__file__).parent / "c" / "openssl_sm2_digest.c"


@pytest.fixture(scope="module")
def helper(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    if shutil.which("gcc") is None or not pathlib.Path("/usr/include/openssl/ec.h").exists():
        pytest.fail("gcc and libssl-dev are needed: run scripts/ensure-openssl-dev.sh")
    out = tmp_path_factory.mktemp("helper") / "openssl_sm2_digest"
    subprocess.run(["gcc", "-O1", "-o", str(out), str(HELPER_SOURCE), "-lcrypto"], check=True)
    return out


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, pathlib.Path]:
    d = tmp_path_factory.mktemp("keys")
    priv, pub = d / "k.pem", d / "p.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "SM2", "-out", str(priv)], check=True)
    subprocess.run(["openssl", "pkey", "-in", str(priv), "-pubout", "-out", str(pub)], check=True)
    return priv, pub


def _write(path: pathlib.Path, data: bytes) -> pathlib.Path:
    path.write_bytes(data)
    return path


def _helper_sign(helper: pathlib.Path, key: pathlib.Path, digest: pathlib.Path) -> bytes:
    return subprocess.run(
        [str(helper), "sign", str(key), str(digest)], check=True, capture_output=True
    ).stdout


def _helper_verifies(
    helper: pathlib.Path, pub: pathlib.Path, digest: pathlib.Path, sig: pathlib.Path
) -> bool:
    rc = subprocess.run(
        [str(helper), "verify", str(pub), str(digest), str(sig)], check=False, capture_output=True
    ).returncode
    assert rc in (0, 1), "helper failed to run"
    return rc == 0


def test_helper_agrees_with_the_openssl_cli_on_32_byte_digests(
    helper: pathlib.Path, keys: tuple[pathlib.Path, pathlib.Path], tmp_path: pathlib.Path
) -> None:
    priv, pub = keys
    digest = _write(tmp_path / "d", hashlib.sha256(b"calibration").digest())
    sig = _write(tmp_path / "s", _helper_sign(helper, priv, digest))
    subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(pub),
            "-in",
            str(digest),
            "-sigfile",
            str(sig),
        ],
        check=True,
        capture_output=True,
    )
    cli_sig = tmp_path / "cli.der"
    subprocess.run(
        ["openssl", "pkeyutl", "-sign", "-inkey", str(priv), "-in", str(digest), "-out", str(cli_sig)],
        check=True,
    )
    assert _helper_verifies(helper, pub, digest, cli_sig)


def test_openssl_signature_over_sha512_digest_verifies(
    helper: pathlib.Path, keys: tuple[pathlib.Path, pathlib.Path], tmp_path: pathlib.Path
) -> None:
    priv, _pub = keys
    key = load_pem_private_key(priv.read_bytes())
    digest_bytes = hashlib.sha512(b"a payment instruction").digest()
    digest = _write(tmp_path / "d", digest_bytes)
    signatures = [_helper_sign(helper, priv, digest)]
    cli_sig = tmp_path / "cli.der"
    cli = subprocess.run(
        ["openssl", "pkeyutl", "-sign", "-inkey", str(priv), "-in", str(digest), "-out", str(cli_sig)],
        check=False,
        capture_output=True,
    )
    if cli.returncode == 0:  # an OpenSSL whose provider takes non-SM3-sized digests
        signatures.append(cli_sig.read_bytes())
    for sig in signatures:
        key.public_key().verify_digest(sig, digest_bytes)
        with pytest.raises(InvalidSignature):
            key.public_key().verify_digest(sig, digest_bytes[:-1] + bytes([digest_bytes[-1] ^ 1]))
        with pytest.raises(InvalidSignature):  # not truncated to 32 bytes, as ECDSA would
            key.public_key().verify_digest(sig, digest_bytes[:32])


def test_guomi_signature_over_sha512_digest_verifies_in_openssl(
    helper: pathlib.Path, keys: tuple[pathlib.Path, pathlib.Path], tmp_path: pathlib.Path
) -> None:
    priv, pub = keys
    key = load_pem_private_key(priv.read_bytes())
    digest_bytes = hashlib.sha512(b"a payment instruction").digest()
    digest = _write(tmp_path / "d", digest_bytes)
    sig = _write(tmp_path / "s", key.sign_digest(digest_bytes))
    assert _helper_verifies(helper, pub, digest, sig)
    other = _write(tmp_path / "o", hashlib.sha512(b"another instruction").digest())
    assert not _helper_verifies(helper, pub, other, sig)


@pytest.mark.parametrize("length", [0, 1, 20, 31, 33, 48, 64, 100, 129])
def test_every_digest_length_both_ways(
    helper: pathlib.Path, keys: tuple[pathlib.Path, pathlib.Path], tmp_path: pathlib.Path, length: int
) -> None:
    priv, pub = keys
    key = load_pem_private_key(priv.read_bytes())
    digest_bytes = hashlib.shake_256(b"%d" % length).digest(length) if length else b""
    digest = _write(tmp_path / "d", digest_bytes)
    theirs = _helper_sign(helper, priv, digest)
    key.public_key().verify_digest(theirs, digest_bytes)
    ours = _write(tmp_path / "s", key.sign_digest(digest_bytes))
    assert _helper_verifies(helper, pub, digest, ours)
