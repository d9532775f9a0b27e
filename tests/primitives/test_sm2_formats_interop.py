"""SM2 key formats against other implementations, in both directions.

* The ``openssl`` command line (3.0): ``genpkey -algorithm SM2`` PEM/DER keys,
  ``ec`` (SEC1 under ``SM2 PRIVATE KEY``), ``pkey -pubout`` (SPKI), ``pkcs8
  -topk8 -v2 sm4-cbc|aes-256-cbc`` (PBES2 with PRF hmacWithSHA256) are loaded
  by guomi, which then signs for ``pkeyutl -verify`` and verifies ``pkeyutl
  -sign``; guomi's PKCS#8, SEC1 and SPKI are read by ``openssl pkey``/``ec``
  and print the same values.
  OpenSSL 3.0 cannot decrypt the encrypted PKCS#8 that guomi writes (PRF
  HMAC-SM3, as GmSSL and Bouncy Castle write it: OpenSSL 3.0 knows no
  hmacWithSM3 PRF); ``openssl asn1parse`` is used to check its structure and
  GmSSL to check it decrypts.
* GmSSL 3.1, through the C functions exported by the ``gmssl-pyx`` wheel
  (``sm2_private_key_info_{encrypt_to,decrypt_from,to,from}_der``): GmSSL
  decrypts our encrypted PKCS#8, we decrypt GmSSL's, and our plain PKCS#8 is
  byte-identical to GmSSL's.
* Tongsuo through ``tongsuopy`` (a pyca/cryptography fork): PKCS#8, encrypted
  PKCS#8 (its BestAvailableEncryption), SEC1 and SPKI both ways.
"""

from __future__ import annotations

import ctypes
import pathlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guomi.exceptions import InvalidPasswordError, UnsupportedAlgorithmError
from guomi.primitives import sm2
from guomi.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_der_private_key,
    load_der_public_key,
    load_pem_private_key,
    load_pem_public_key,
)

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed"),
]

N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
DISTID = "distid:1234567812345678"
GMSSL_MIN_ROUNDS = 10_000  # GmSSL refuses PBKDF2-HMAC-SM3 below this (SM3_PBKDF2_MIN_ITER)


def openssl(*args: str | pathlib.Path, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *map(str, args)], input=stdin, check=True, capture_output=True).stdout


def openssl_key_values(path: pathlib.Path, *extra: str) -> tuple[int | None, bytes]:
    """(private value or None, uncompressed public point) from ``-text -noout``."""
    text = openssl("pkey", "-in", path, *extra, "-text", "-noout").decode()

    def hexblock(name: str) -> bytes:
        m = re.search(rf"^{name}:\n((?:\s+[0-9a-f:]+\n)+)", text, re.M)
        assert m, text
        return bytes.fromhex(re.sub(r"[\s:]", "", m.group(1)))

    priv = int.from_bytes(hexblock("priv"), "big") if "priv:" in text else None
    return priv, hexblock("pub")


@pytest.fixture
def tmp(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path


@pytest.fixture(scope="module")
def openssl_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pathlib.Path]:
    d = tmp_path_factory.mktemp("ossl")
    path = d / "key.pem"
    openssl("genpkey", "-algorithm", "SM2", "-out", path)
    yield path


# --- OpenSSL -> guomi -------------------------------------------------------------


@pytest.mark.parametrize("form", ["PEM", "DER"])
def test_openssl_genpkey_loads_and_signs_for_openssl(
    openssl_key: pathlib.Path, tmp: pathlib.Path, form: str
) -> None:
    key_file = tmp / f"key.{form.lower()}"
    openssl("pkey", "-in", openssl_key, "-outform", form, "-out", key_file)
    data = key_file.read_bytes()
    key = load_pem_private_key(data) if form == "PEM" else load_der_private_key(data)
    d, q = openssl_key_values(openssl_key)
    assert key.private_value == d
    assert key.public_key().public_bytes_raw() == q

    msg = b"interop message \x00\xff" * 3
    (tmp / "msg").write_bytes(msg)
    (tmp / "sig").write_bytes(key.sign(msg))
    openssl("pkey", "-in", openssl_key, "-pubout", "-out", tmp / "pub.pem")
    out = openssl(
        "pkeyutl", "-verify", "-pubin", "-inkey", tmp / "pub.pem", "-rawin",
        "-in", tmp / "msg", "-sigfile", tmp / "sig", "-pkeyopt", DISTID,
    )  # fmt: skip
    assert b"Signature Verified Successfully" in out


def test_openssl_signature_verifies_with_loaded_public_key(
    openssl_key: pathlib.Path, tmp: pathlib.Path
) -> None:
    msg = b"signed by openssl"
    (tmp / "msg").write_bytes(msg)
    sig = openssl("pkeyutl", "-sign", "-inkey", openssl_key, "-rawin", "-in", tmp / "msg", "-pkeyopt", DISTID)
    pem = openssl("pkey", "-in", openssl_key, "-pubout")
    der = openssl("pkey", "-in", openssl_key, "-pubout", "-outform", "DER")
    for pub in (load_pem_public_key(pem), load_der_public_key(der)):
        pub.verify(sig, msg)
        assert pub.public_bytes_raw() == openssl_key_values(openssl_key)[1]


@pytest.mark.parametrize("form", ["PEM", "DER"])
def test_openssl_ec_sec1_loads(openssl_key: pathlib.Path, form: str) -> None:
    data = openssl("ec", "-in", openssl_key, "-outform", form)
    if form == "PEM":
        # OpenSSL 3.0 labels SEC1 SM2 keys "SM2 PRIVATE KEY".
        assert data.startswith(b"-----BEGIN SM2 PRIVATE KEY-----")
        key = load_pem_private_key(data)
    else:
        key = load_der_private_key(data)
    assert key.private_value == openssl_key_values(openssl_key)[0]


def test_openssl_keys_without_public_key_load(openssl_key: pathlib.Path, tmp: pathlib.Path) -> None:
    # The public key is optional in ECPrivateKey (RFC 5915); guomi recomputes it.
    sec1 = openssl("ec", "-in", openssl_key, "-no_public")
    (tmp / "nopub.pem").write_bytes(sec1)
    p8 = openssl("pkcs8", "-topk8", "-nocrypt", "-in", tmp / "nopub.pem", "-outform", "DER")
    d, q = openssl_key_values(openssl_key)
    for key in (load_pem_private_key(sec1), load_der_private_key(p8)):
        assert key.private_value == d
        assert key.public_key().public_bytes_raw() == q


def test_certificate_and_key_bundle(openssl_key: pathlib.Path, tmp: pathlib.Path) -> None:
    # A PEM bundle with the certificate first: other blocks are skipped, as
    # OpenSSL's PEM_read_bio_PrivateKey skips them.
    cert = openssl(
        "req", "-x509", "-new", "-key", openssl_key, "-subj", "/CN=guomi", "-days", "1", "-sm3",
        "-sigopt", DISTID,
    )  # fmt: skip
    bundle = cert + openssl_key.read_bytes()
    d, q = openssl_key_values(openssl_key)
    assert load_pem_private_key(bundle).private_value == d
    pub_bundle = cert + openssl("pkey", "-in", openssl_key, "-pubout")
    assert load_pem_public_key(pub_bundle).public_bytes_raw() == q
    with pytest.raises(UnsupportedAlgorithmError):
        load_pem_private_key(cert)


@pytest.mark.parametrize("cipher", ["sm4-cbc", "aes-256-cbc"])
@pytest.mark.parametrize("form", ["PEM", "DER"])
def test_openssl_encrypted_pkcs8_loads(openssl_key: pathlib.Path, cipher: str, form: str) -> None:
    data = openssl(
        "pkcs8", "-topk8", "-v2", cipher, "-passout", "pass:open sesame",
        "-in", openssl_key, "-outform", form,
    )  # fmt: skip
    load = load_pem_private_key if form == "PEM" else load_der_private_key
    assert load(data, b"open sesame").private_value == openssl_key_values(openssl_key)[0]
    with pytest.raises(InvalidPasswordError):
        load(data, b"open sesamE")
    with pytest.raises(TypeError):
        load(data, None)


# --- guomi -> OpenSSL ---------------------------------------------------------------


@settings(derandomize=True, max_examples=6, deadline=None)
@given(d=st.integers(min_value=1, max_value=N - 2))
def test_our_keys_read_by_openssl(d: int) -> None:
    key = sm2.SM2PrivateKey.from_private_value(d)
    q = key.public_key().public_bytes_raw()
    with tempfile.TemporaryDirectory() as t:
        tdir = pathlib.Path(t)
        for name, blob in [
            ("p8.pem", key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())),
            ("p8.der", key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())),
            ("sec1.pem", key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption())),
        ]:
            (tdir / name).write_bytes(blob)
            assert openssl_key_values(tdir / name) == (d, q), name
        # `openssl ec` reads our SEC1 too and re-emits it unchanged (same DER).
        sec1_der = key.private_bytes(Encoding.DER, PrivateFormat.TraditionalOpenSSL, NoEncryption())
        out = openssl("ec", "-in", tdir / "sec1.pem", "-outform", "DER")
        assert out == sec1_der
        # SPKI is byte-identical to what openssl writes for the same key.
        spki_der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        spki_pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        (tdir / "pub.pem").write_bytes(spki_pem)
        assert openssl_key_values(tdir / "pub.pem", "-pubin") == (None, q)
        assert openssl("pkey", "-in", tdir / "p8.pem", "-pubout", "-outform", "DER") == spki_der
        assert openssl("pkey", "-pubin", "-in", tdir / "pub.pem") == spki_pem


def test_our_encrypted_pkcs8_structure(tmp: pathlib.Path) -> None:
    key = sm2.generate_private_key()
    enc = PrivateFormat.PKCS8.encryption_builder().kdf_rounds(GMSSL_MIN_ROUNDS).build(b"pw")
    der = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, enc)
    (tmp / "enc.der").write_bytes(der)
    dump = openssl("asn1parse", "-inform", "DER", "-in", tmp / "enc.der").decode()
    for token in ("PBES2", "PBKDF2", "sm4-cbc", ":1.2.156.10197.1.401.2", ":2710"):
        assert token in dump, (token, dump)
    assert load_der_private_key(der, b"pw").private_value == key.private_value


# --- GmSSL 3.1 (inside gmssl-pyx) ----------------------------------------------------


@pytest.fixture(scope="module")
def gmssl() -> ctypes.CDLL:
    ext = pytest.importorskip("gmssl_pyx.gmsslext")
    lib = ctypes.CDLL(ext.__file__)
    for name in (
        "sm2_private_key_info_decrypt_from_der",
        "sm2_private_key_info_encrypt_to_der",
        "sm2_private_key_info_to_der",
        "sm2_private_key_info_from_der",
    ):
        if not hasattr(lib, name):
            pytest.skip(f"gmssl-pyx does not export {name}")
    return lib


class _GmsslKey:
    """An opaque GmSSL SM2_KEY (its layout changes between releases, so only
    GmSSL's own functions touch it)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.lib = lib
        self.buf = ctypes.create_string_buffer(1024)

    def _call_in(self, fn: str, data: bytes, *pre: object) -> None:
        src = ctypes.create_string_buffer(data, len(data))
        inp = ctypes.c_void_p(ctypes.addressof(src))
        inlen = ctypes.c_size_t(len(data))
        attrs, attrs_len = ctypes.c_void_p(), ctypes.c_size_t()
        rc = getattr(self.lib, fn)(
            self.buf,
            ctypes.byref(attrs),
            ctypes.byref(attrs_len),
            *pre,
            ctypes.byref(inp),
            ctypes.byref(inlen),
        )
        if rc != 1 or inlen.value != 0:
            raise ValueError(f"GmSSL {fn} failed ({rc})")

    def _call_out(self, fn: str, *args: object) -> bytes:
        out = ctypes.create_string_buffer(2048)
        outp = ctypes.c_void_p(ctypes.addressof(out))
        outlen = ctypes.c_size_t(0)
        rc = getattr(self.lib, fn)(self.buf, *args, ctypes.byref(outp), ctypes.byref(outlen))
        assert rc == 1, fn
        return out.raw[: outlen.value]

    def load_plain(self, der: bytes) -> None:
        self._call_in("sm2_private_key_info_from_der", der)

    def load_encrypted(self, der: bytes, password: bytes) -> None:
        self._call_in("sm2_private_key_info_decrypt_from_der", der, ctypes.c_char_p(password))

    def plain(self) -> bytes:
        return self._call_out("sm2_private_key_info_to_der")

    def encrypted(self, password: bytes) -> bytes:
        return self._call_out("sm2_private_key_info_encrypt_to_der", ctypes.c_char_p(password))


@settings(derandomize=True, max_examples=4, deadline=None)
@given(d=st.integers(min_value=1, max_value=2**255), password=st.binary(min_size=1, max_size=24))
def test_gmssl_reads_ours_and_we_read_gmssls(gmssl: ctypes.CDLL, d: int, password: bytes) -> None:
    password = password.replace(b"\x00", b"!")  # GmSSL takes a C string
    key = sm2.SM2PrivateKey.from_private_value(d)
    plain = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    enc = PrivateFormat.PKCS8.encryption_builder().kdf_rounds(GMSSL_MIN_ROUNDS).build(password)
    ours = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, enc)

    g = _GmsslKey(gmssl)
    g.load_encrypted(ours, password)  # GmSSL decrypts what we wrote ...
    assert g.plain() == plain  # ... to the key, and writes PKCS#8 exactly as we do.
    with pytest.raises(ValueError, match="GmSSL"):
        _GmsslKey(gmssl).load_encrypted(ours, password + b"?")

    g2 = _GmsslKey(gmssl)
    g2.load_plain(plain)
    theirs = g2.encrypted(password)
    assert load_der_private_key(theirs, password).private_value == d
    assert load_der_private_key(g2.plain()).private_value == d
    with pytest.raises(InvalidPasswordError):
        load_der_private_key(theirs, password + b"?")


# --- Tongsuo (tongsuopy) ----------------------------------------------------------------


def test_tongsuopy_both_directions() -> None:
    ec = pytest.importorskip("tongsuopy.crypto.asymciphers.ec")
    ts = pytest.importorskip("tongsuopy.crypto.serialization")
    for _ in range(3):
        theirs = ec.generate_private_key(ec.SM2())
        d = theirs.private_numbers().private_value
        for enc_name, fmt in [("PEM", ts.PrivateFormat.PKCS8), ("DER", ts.PrivateFormat.PKCS8),
                              ("PEM", ts.PrivateFormat.TraditionalOpenSSL)]:  # fmt: skip
            blob = theirs.private_bytes(getattr(ts.Encoding, enc_name), fmt, ts.NoEncryption())
            load = load_pem_private_key if enc_name == "PEM" else load_der_private_key
            assert load(blob).private_value == d
        blob = theirs.private_bytes(ts.Encoding.PEM, ts.PrivateFormat.PKCS8, ts.BestAvailableEncryption(b"k"))
        assert load_pem_private_key(blob, b"k").private_value == d
        spki = theirs.public_key().public_bytes(ts.Encoding.DER, ts.PublicFormat.SubjectPublicKeyInfo)
        assert load_der_public_key(spki) == sm2.SM2PrivateKey.from_private_value(d).public_key()

        ours = sm2.generate_private_key()
        for fmt_ours in (PrivateFormat.PKCS8, PrivateFormat.TraditionalOpenSSL):
            pem = ours.private_bytes(Encoding.PEM, fmt_ours, NoEncryption())
            loaded = ts.load_pem_private_key(pem, None)
            assert loaded.private_numbers().private_value == ours.private_value
        spki_ours = ours.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        back = ts.load_pem_public_key(spki_ours)
        assert back.public_bytes(ts.Encoding.PEM, ts.PublicFormat.SubjectPublicKeyInfo) == spki_ours
