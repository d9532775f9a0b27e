"""guomi.primitives.serialization with SM2 keys: round trips for every
encoding/format/encryption combination (hypothesis), the pyca-shaped API, and
the negative corpus in tests/vectors/keys (one file per failure kind, with the
exception each must raise listed in manifest.json)."""

from __future__ import annotations

import json
import pathlib
import threading

import pytest
from cryptography.hazmat.primitives import serialization as pyca
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import guomi.exceptions as gex
from guomi import _rust
from guomi.exceptions import (
    InvalidArgumentError,
    InvalidEncodingError,
    InvalidKey,
    InvalidPasswordError,
    UnsupportedAlgorithmError,
)
from guomi.primitives import sm2
from guomi.primitives.serialization import (
    DEFAULT_KDF_ROUNDS,
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_der_private_key,
    load_der_public_key,
    load_pem_private_key,
    load_pem_public_key,
)

N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
KEYS = pathlib.Path(__file__).resolve().parent.parent / "vectors" / "keys"
MANIFEST = json.loads((KEYS / "manifest.json").read_text())

# Few rounds keep the property tests fast; the default count is tested once.
FAST_ROUNDS = 1000
SETTINGS = settings(
    derandomize=True, max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

private_values = st.one_of(
    st.integers(min_value=1, max_value=N - 2),
    st.sampled_from([1, 2, N - 2, N - 3, 2**255, 2**128 + 1, 0xFF]),
)
passwords = st.binary(min_size=1, max_size=80)


def key_of(d: int) -> sm2.SM2PrivateKey:
    return sm2.SM2PrivateKey.from_private_value(d)


def fast(password: bytes) -> object:
    return PrivateFormat.PKCS8.encryption_builder().kdf_rounds(FAST_ROUNDS).build(password)


# --- round trips --------------------------------------------------------------


@SETTINGS
@given(d=private_values)
def test_raw_private_round_trip(d: int) -> None:
    raw = key_of(d).private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    assert raw == d.to_bytes(32, "big")
    assert sm2.SM2PrivateKey.from_private_value(raw).private_value == d


@SETTINGS
@given(
    d=private_values,
    encoding=st.sampled_from([Encoding.PEM, Encoding.DER]),
    fmt=st.sampled_from([PrivateFormat.PKCS8, PrivateFormat.TraditionalOpenSSL]),
)
def test_unencrypted_private_round_trip(d: int, encoding: Encoding, fmt: PrivateFormat) -> None:
    key = key_of(d)
    blob = key.private_bytes(encoding, fmt, NoEncryption())
    if encoding is Encoding.PEM:
        label = b"PRIVATE KEY" if fmt is PrivateFormat.PKCS8 else b"EC PRIVATE KEY"
        assert blob.startswith(b"-----BEGIN " + label + b"-----\n")
        assert blob.endswith(b"-----END " + label + b"-----\n")
        loaded = load_pem_private_key(blob, None)
    else:
        assert blob[0] == 0x30
        loaded = load_der_private_key(blob, None)
    assert loaded.private_value == d
    assert loaded.public_key() == key.public_key()


@SETTINGS
@given(d=private_values, password=passwords, encoding=st.sampled_from([Encoding.PEM, Encoding.DER]))
def test_encrypted_private_round_trip(d: int, password: bytes, encoding: Encoding) -> None:
    key = key_of(d)
    blob = key.private_bytes(encoding, PrivateFormat.PKCS8, fast(password))  # type: ignore[arg-type]
    load = load_pem_private_key if encoding is Encoding.PEM else load_der_private_key
    if encoding is Encoding.PEM:
        assert blob.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert load(blob, password).private_value == d
    # (Not password + b"\0": HMAC zero-pads short keys, so PBKDF2 cannot tell
    # passwords apart that differ only by trailing zero bytes; RFC 2104 §2.)
    with pytest.raises(InvalidPasswordError):
        load(blob, password + b"x")
    with pytest.raises(InvalidPasswordError):
        load(blob, password[:-1] + bytes([password[-1] ^ 1]))
    with pytest.raises(TypeError):
        load(blob, None)


@SETTINGS
@given(d=private_values)
def test_public_round_trips(d: int) -> None:
    pub = key_of(d).public_key()
    point = pub.public_bytes_raw()
    pem = pub.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    der = pub.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")
    assert len(der) == 91 and der.endswith(point)
    assert load_pem_public_key(pem) == pub
    assert load_der_public_key(der) == pub
    unc = pub.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    comp = pub.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    raw = pub.public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert unc == point and len(unc) == 65 and unc[0] == 4
    assert len(comp) == 33 and comp[0] in (2, 3) and comp[1:] == point[1:33]
    assert raw == point[1:]
    for blob in (unc, comp, raw):
        assert sm2.SM2PublicKey.from_encoded_point(blob) == pub


def test_written_pkcs8_embeds_the_curve_and_public_key() -> None:
    # RFC 5915 §3: the inner ECPrivateKey carries [0] curve and [1] public key
    # (GmSSL 3.1 refuses keys without the curve there).
    key = sm2.generate_private_key()
    der = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    assert len(der) == 150
    assert bytes.fromhex("a00a06082a811ccf5501822d") in der
    assert key.public_key().public_bytes_raw() in der


def test_encrypted_output_parameters() -> None:
    key = sm2.generate_private_key()
    a = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, fast(b"pw"))  # type: ignore[arg-type]
    b = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, fast(b"pw"))  # type: ignore[arg-type]
    prf, cipher, rounds, salt, key_len, iv = _rust.formats_pbes2_parameters(a)
    got = (prf, cipher, rounds, len(salt), key_len, len(iv))
    assert got == ("hmac-sm3", "sm4-cbc", FAST_ROUNDS, 16, 16, 16)
    # Fresh salt and IV every time.
    _, _, _, salt_b, _, iv_b = _rust.formats_pbes2_parameters(b)
    assert salt != salt_b and iv != iv_b and a != b
    # PRF OID 1.2.156.10197.1.401.2 without parameters, as GmSSL and Bouncy Castle write it.
    assert bytes.fromhex("300b06092a811ccf5501831102") in a


def test_best_available_encryption_uses_the_default_rounds() -> None:
    key = sm2.generate_private_key()
    blob = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, BestAvailableEncryption(b"hunter2"))
    assert _rust.formats_pbes2_parameters(blob)[2] == DEFAULT_KDF_ROUNDS == 600_000
    assert load_der_private_key(blob, b"hunter2").private_value == key.private_value


def test_inputs_accept_any_bytes_like() -> None:
    key = sm2.generate_private_key()
    blob = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, fast(b"pw"))  # type: ignore[arg-type]
    assert load_pem_private_key(bytearray(blob), memoryview(b"pw")).private_value == key.private_value
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert load_der_public_key(memoryview(der)) == key.public_key()


def test_pem_with_surrounding_text_and_crlf() -> None:
    key = sm2.generate_private_key()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    wrapped = b"Bag Attributes\n  localKeyID: 01\n" + pem + b"trailer\n"
    assert load_pem_private_key(wrapped).private_value == key.private_value
    assert load_pem_private_key(pem.replace(b"\n", b"\r\n")).private_value == key.private_value


def test_sm2_private_key_label_loads() -> None:
    key = sm2.generate_private_key()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption())
    relabelled = pem.replace(b"EC PRIVATE KEY", b"SM2 PRIVATE KEY")
    assert load_pem_private_key(relabelled).private_value == key.private_value


_FUZZ_KEY = sm2.SM2PrivateKey.from_private_value(0x1234567890ABCDEF << 100)
_FUZZ_INPUTS = [
    (load_der_private_key, _FUZZ_KEY.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())),
    (
        load_der_private_key,
        _FUZZ_KEY.private_bytes(Encoding.DER, PrivateFormat.TraditionalOpenSSL, NoEncryption()),
    ),
    (load_der_private_key, _FUZZ_KEY.private_bytes(Encoding.DER, PrivateFormat.PKCS8, fast(b"pw"))),  # type: ignore[arg-type]
    (load_pem_private_key, _FUZZ_KEY.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())),
    (
        load_der_public_key,
        _FUZZ_KEY.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo),
    ),
    (
        load_pem_public_key,
        _FUZZ_KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
    ),
]


@settings(derandomize=True, max_examples=400, deadline=None)
@given(
    which=st.integers(min_value=0, max_value=len(_FUZZ_INPUTS) - 1),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["flip", "cut", "insert", "delete"]), st.integers(0, 10_000), st.integers(0, 255)
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_mutated_inputs_raise_only_typed_errors(which: int, edits: list[tuple[str, int, int]]) -> None:
    # No panic, no untyped exception: any damage is a GuomiError (or TypeError
    # for password mismatches), or still a valid key.
    loader, original = _FUZZ_INPUTS[which]
    data = bytearray(original)
    for op, pos, val in edits:
        i = pos % (len(data) + 1)
        if op == "flip" and data:
            data[i % len(data)] ^= 1 << (val % 8)
        elif op == "cut":
            del data[i:]
        elif op == "insert":
            data[i:i] = bytes([val])
        elif op == "delete" and data:
            del data[i % len(data)]
    password = b"pw" if which == 2 else None
    try:
        if loader in (load_der_public_key, load_pem_public_key):
            loader(bytes(data))  # type: ignore[operator]
        else:
            loader(bytes(data), password)  # type: ignore[operator]
    except (gex.GuomiError, TypeError):
        pass


# --- API shape and argument errors ----------------------------------------------


def test_enum_values_match_pyca() -> None:
    assert Encoding.PEM.value == "PEM" and Encoding.DER.value == "DER" and Encoding.X962.value == "ANSI X9.62"
    assert PrivateFormat.PKCS8.value == "PKCS8"
    assert PrivateFormat.TraditionalOpenSSL.value == "TraditionalOpenSSL"
    assert PublicFormat.SubjectPublicKeyInfo.value == "X.509 subjectPublicKeyInfo with PKCS#1"
    assert PublicFormat.UncompressedPoint.value == "X9.62 Uncompressed Point"


@pytest.mark.parametrize(
    ("encoding", "fmt", "enc"),
    [
        (Encoding.X962, PrivateFormat.PKCS8, NoEncryption()),
        (Encoding.Raw, PrivateFormat.PKCS8, NoEncryption()),
        (Encoding.PEM, PrivateFormat.Raw, NoEncryption()),
        (Encoding.Raw, PrivateFormat.Raw, BestAvailableEncryption(b"pw")),
        (Encoding.PEM, PrivateFormat.TraditionalOpenSSL, BestAvailableEncryption(b"pw")),
    ],
)
def test_bad_private_combinations(encoding: Encoding, fmt: PrivateFormat, enc: object) -> None:
    with pytest.raises(InvalidArgumentError):
        sm2.generate_private_key().private_bytes(encoding, fmt, enc)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("encoding", "fmt"),
    [
        (Encoding.Raw, PublicFormat.SubjectPublicKeyInfo),
        (Encoding.X962, PublicFormat.SubjectPublicKeyInfo),
        (Encoding.PEM, PublicFormat.UncompressedPoint),
        (Encoding.Raw, PublicFormat.CompressedPoint),
        (Encoding.DER, PublicFormat.Raw),
    ],
)
def test_bad_public_combinations(encoding: Encoding, fmt: PublicFormat) -> None:
    with pytest.raises(InvalidArgumentError):
        sm2.generate_private_key().public_key().public_bytes(encoding, fmt)


def test_argument_types() -> None:
    key = sm2.generate_private_key()
    with pytest.raises(TypeError):
        key.private_bytes("PEM", PrivateFormat.PKCS8, NoEncryption())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        key.private_bytes(Encoding.PEM, "PKCS8", NoEncryption())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, b"pw")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        key.public_key().public_bytes(Encoding.PEM, "SubjectPublicKeyInfo")  # type: ignore[arg-type]
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    with pytest.raises(TypeError):
        load_pem_private_key(pem.decode())  # type: ignore[arg-type]
    enc = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, fast(b"pw"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        load_pem_private_key(enc, "pw")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        BestAvailableEncryption("pw")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        BestAvailableEncryption(b"")
    assert "pw" not in repr(BestAvailableEncryption(b"pw"))
    builder = PrivateFormat.PKCS8.encryption_builder()
    for bad in (0, -1, 10_000_001):
        with pytest.raises(InvalidArgumentError):
            builder.kdf_rounds(bad)
    with pytest.raises(TypeError):
        builder.kdf_rounds(1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        builder.kdf_rounds(10).kdf_rounds(10)
    with pytest.raises(InvalidArgumentError):
        PrivateFormat.Raw.encryption_builder()


def test_pyca_enums_and_encryption_classes_are_accepted() -> None:
    # Code written against pyca/cryptography passes its own enum members.
    key = sm2.generate_private_key()
    ours = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    assert key.private_bytes(pyca.Encoding.PEM, pyca.PrivateFormat.PKCS8, pyca.NoEncryption()) == ours  # type: ignore[arg-type]
    pub = key.public_key()
    assert pub.public_bytes(pyca.Encoding.X962, pyca.PublicFormat.CompressedPoint) == pub.public_bytes(  # type: ignore[arg-type]
        Encoding.X962, PublicFormat.CompressedPoint
    )
    enc = key.private_bytes(pyca.Encoding.DER, pyca.PrivateFormat.PKCS8, pyca.BestAvailableEncryption(b"pw"))  # type: ignore[arg-type]
    assert load_der_private_key(enc, b"pw").private_value == key.private_value
    with pytest.raises(InvalidArgumentError):
        key.private_bytes(pyca.Encoding.OpenSSH, pyca.PrivateFormat.OpenSSH, pyca.NoEncryption())  # type: ignore[arg-type]


def test_errors_and_reprs_never_show_secrets() -> None:
    key = sm2.generate_private_key()
    secret_hex = f"{key.private_value:064x}"
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, fast(b"s3cret-pw"))  # type: ignore[arg-type]
    for attempt in (b"wrong", b"s3cret-pX"):
        with pytest.raises(InvalidPasswordError) as info:
            load_pem_private_key(pem, attempt)
        assert "s3cret" not in str(info.value) and secret_hex[:12] not in str(info.value)
    der = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    with pytest.raises(InvalidEncodingError) as info2:
        load_der_private_key(der[:-3])
    assert secret_hex[:12] not in str(info2.value).lower()


def test_concurrent_encrypted_loads() -> None:
    # PBKDF2 runs with the GIL released; concurrent loads must not interfere.

    key = sm2.generate_private_key()
    blob = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, fast(b"pw"))  # type: ignore[arg-type]
    results: list[int] = []

    def work() -> None:
        results.append(load_der_private_key(blob, b"pw").private_value)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [key.private_value] * 4


# --- negative corpus ---------------------------------------------------------------


LOADERS = {
    "pem_private": load_pem_private_key,
    "der_private": load_der_private_key,
    "pem_public": lambda data, pw: load_pem_public_key(data),
    "der_public": lambda data, pw: load_der_public_key(data),
}


def _exception(name: str) -> type[BaseException]:
    if hasattr(gex, name):
        return getattr(gex, name)  # type: ignore[no-any-return]
    return {"TypeError": TypeError, "ValueError": ValueError}[name]


@pytest.mark.parametrize("name", sorted(MANIFEST), ids=sorted(MANIFEST))
def test_negative_corpus(name: str) -> None:
    entry = MANIFEST[name]
    data = (KEYS / name).read_bytes()
    password = entry["password"].encode() if entry["password"] is not None else None
    expected = _exception(entry["error"])
    with pytest.raises(expected) as info:
        LOADERS[entry["loader"]](data, password)
    # Exactly that class (or a subclass), and a message naming the problem.
    assert str(info.value), name


def test_corpus_covers_every_failure_kind() -> None:
    kinds = {e["error"] for e in MANIFEST.values()}
    assert {
        "InvalidEncodingError",
        "UnsupportedAlgorithmError",
        "InvalidKey",
        "InvalidPasswordError",
        "TypeError",
    } <= kinds
    assert len(MANIFEST) == len([p for p in KEYS.iterdir() if p.suffix in (".pem", ".der")])


def test_unsupported_is_not_an_encoding_error() -> None:
    # Callers may want to tell "not SM2" from "broken": the classes are distinct.
    assert not issubclass(UnsupportedAlgorithmError, InvalidEncodingError)
    assert issubclass(InvalidKey, ValueError) and issubclass(InvalidPasswordError, ValueError)
