"""Writing SM2 keys: the pyca-shaped format choices and the encoders behind ``private_bytes``.

Layer: ``guomi.primitives`` (hazmat). :class:`Encoding`, :class:`PrivateFormat`,
:class:`PublicFormat` and the encryption choices are defined here, below both
:mod:`guomi.primitives.sm2` (whose ``private_bytes`` / ``public_bytes`` call
:func:`encode_private_key` / :func:`encode_public_key`) and
:mod:`guomi.primitives.serialization` (which re-exports them beside the loaders), so
neither of those two imports the other's back. The encoders work on raw key bytes (the
32-byte private value, the 65-byte ``04||x||y`` point) and call the Rust formats code
(``guomi_core::formats``) directly.
"""

from __future__ import annotations

import enum
import os
from typing import TypeVar

from guomi import _rust
from guomi.exceptions import InvalidArgumentError

__all__ = [
    "DEFAULT_KDF_ROUNDS",
    "MAX_KDF_ROUNDS",
    "BestAvailableEncryption",
    "Encoding",
    "KeySerializationEncryption",
    "KeySerializationEncryptionBuilder",
    "NoEncryption",
    "PrivateFormat",
    "PublicFormat",
    "encode_private_key",
    "encode_public_key",
]

#: PBKDF2-HMAC-SM3 iterations written by :class:`BestAvailableEncryption`.
#: OWASP's 2023 figure for PBKDF2-HMAC-SHA256 is 600,000, and HMAC-SM3 costs
#: about the same per iteration (two 64-byte compressions); GmSSL writes
#: 65,536. A key file is opened rarely (at service start), so the higher cost
#: buys brute-force resistance cheaply: about 0.3 s per load or dump here.
#: Use ``PrivateFormat.PKCS8.encryption_builder().kdf_rounds(n)`` to choose;
#: GmSSL refuses fewer than 10,000 rounds (``SM3_PBKDF2_MIN_ITER``) and more
#: than 16,777,215.
DEFAULT_KDF_ROUNDS: int = _rust.FORMATS_DEFAULT_ITERATIONS

#: Largest iteration count accepted when reading or writing (a hostile key
#: file must not make a loader spin for hours).
MAX_KDF_ROUNDS: int = _rust.FORMATS_MAX_ITERATIONS

_SALT_LEN = 16  # as GmSSL writes; RFC 8018 §4.1 asks for at least 8
_IV_LEN = 16


class Encoding(enum.Enum):
    """Outer encoding of a serialized key (pyca names and values)."""

    PEM = "PEM"
    DER = "DER"
    Raw = "Raw"
    X962 = "ANSI X9.62"


class PrivateFormat(enum.Enum):
    """Private key container (pyca names and values).

    ``PKCS8`` is PrivateKeyInfo (or encrypted PKCS#8);
    ``TraditionalOpenSSL`` is SEC1 ``ECPrivateKey`` under ``EC PRIVATE KEY``;
    ``Raw`` is the 32-byte big-endian private value.
    """

    PKCS8 = "PKCS8"
    TraditionalOpenSSL = "TraditionalOpenSSL"
    Raw = "Raw"

    def encryption_builder(self) -> KeySerializationEncryptionBuilder:
        """A builder to choose encryption parameters (PKCS8 only)."""
        if self is not PrivateFormat.PKCS8:
            raise InvalidArgumentError("encryption_builder is only available for PrivateFormat.PKCS8")
        return KeySerializationEncryptionBuilder(self)


class PublicFormat(enum.Enum):
    """Public key format (pyca names and values).

    ``SubjectPublicKeyInfo`` with PEM/DER; ``UncompressedPoint`` (65 bytes,
    ``04||x||y``) and ``CompressedPoint`` (33 bytes) with ``Encoding.X962``;
    ``Raw`` with ``Encoding.Raw`` is the 64-byte ``x||y`` that several peers
    (gmssl, GmSSL's raw API) exchange.
    """

    SubjectPublicKeyInfo = "X.509 subjectPublicKeyInfo with PKCS#1"
    UncompressedPoint = "X9.62 Uncompressed Point"
    CompressedPoint = "X9.62 Compressed Point"
    Raw = "Raw"


class KeySerializationEncryption:
    """Base class of the encryption choices for ``private_bytes``."""


class NoEncryption(KeySerializationEncryption):
    """Write the private key unencrypted."""

    def __repr__(self) -> str:
        return "NoEncryption()"


class BestAvailableEncryption(KeySerializationEncryption):
    """Encrypt with the best scheme we write: PBES2, PBKDF2-HMAC-SM3
    (:data:`DEFAULT_KDF_ROUNDS` iterations, random 16-byte salt), SM4-CBC
    (random IV, PKCS#7 padding), as GmSSL and Bouncy Castle write it.
    """

    def __init__(self, password: bytes) -> None:
        self.password = _check_output_password(password)

    def __repr__(self) -> str:
        return "BestAvailableEncryption(password=<hidden>)"


class _ChosenEncryption(KeySerializationEncryption):
    """What ``encryption_builder().build()`` returns."""

    def __init__(self, password: bytes, rounds: int) -> None:
        self.password = _check_output_password(password)
        self.kdf_rounds = rounds

    def __repr__(self) -> str:
        return f"KeySerializationEncryption(kdf_rounds={self.kdf_rounds}, password=<hidden>)"


class KeySerializationEncryptionBuilder:
    """pyca-shaped builder: ``PrivateFormat.PKCS8.encryption_builder()
    .kdf_rounds(n).build(password)``."""

    def __init__(self, format: PrivateFormat, *, _rounds: int | None = None) -> None:
        self._format = format
        self._rounds = _rounds

    def kdf_rounds(self, rounds: int) -> KeySerializationEncryptionBuilder:
        """Sets the PBKDF2 iteration count (1 .. MAX_KDF_ROUNDS)."""
        if self._rounds is not None:
            raise InvalidArgumentError("kdf_rounds already set")
        if not isinstance(rounds, int) or isinstance(rounds, bool):
            raise TypeError("kdf_rounds must be an integer")
        if not 1 <= rounds <= MAX_KDF_ROUNDS:
            raise InvalidArgumentError(f"kdf_rounds must be in [1, {MAX_KDF_ROUNDS}]")
        return KeySerializationEncryptionBuilder(self._format, _rounds=rounds)

    def build(self, password: bytes) -> KeySerializationEncryption:
        """The encryption choice to pass to ``private_bytes``."""
        rounds = DEFAULT_KDF_ROUNDS if self._rounds is None else self._rounds
        return _ChosenEncryption(password, rounds)


def _check_output_password(password: object) -> bytes:
    if not isinstance(password, bytes):
        raise TypeError("password must be bytes")
    if len(password) == 0:
        raise InvalidArgumentError("password must be 1 or more bytes")
    return password


_E = TypeVar("_E", Encoding, PrivateFormat, PublicFormat)


def _coerce(value: object, enum_cls: type[_E]) -> _E:
    """Our enum member, also from pyca/cryptography's same-named class (matched
    by member name), so pyca-written calling code works unchanged."""
    if isinstance(value, enum_cls):
        return value
    foreign = type(value)
    if foreign.__name__ == enum_cls.__name__:
        # pyca's classes are enum.Enum in older releases and native classes
        # with class attributes in newer ones: find the name either way.
        for name in dir(foreign):
            if not name.startswith("_") and getattr(foreign, name, None) is value:
                if name in enum_cls.__members__:
                    return enum_cls[name]
                raise InvalidArgumentError(f"{enum_cls.__name__}.{name} is not supported for SM2 keys")
    raise TypeError(f"expected an item of the {enum_cls.__name__} enum, got {foreign.__name__}")


def _coerce_encryption(value: object) -> KeySerializationEncryption:
    if isinstance(value, KeySerializationEncryption):
        return value
    # pyca/cryptography's classes of the same names.
    name = type(value).__name__
    if name == "NoEncryption":
        return NoEncryption()
    password = getattr(value, "password", None)
    if name == "BestAvailableEncryption" and isinstance(password, bytes):
        return BestAvailableEncryption(password)
    raise TypeError("encryption_algorithm must be NoEncryption(), BestAvailableEncryption(...) or built")


def _password_and_rounds(encryption_algorithm: KeySerializationEncryption) -> tuple[bytes, int]:
    if isinstance(encryption_algorithm, _ChosenEncryption):
        return encryption_algorithm.password, encryption_algorithm.kdf_rounds
    if isinstance(encryption_algorithm, BestAvailableEncryption):
        return encryption_algorithm.password, DEFAULT_KDF_ROUNDS
    raise TypeError("unsupported encryption_algorithm type")


def encode_private_key(
    scalar: bytes,
    point: bytes,
    encoding: Encoding,
    format: PrivateFormat,
    encryption_algorithm: KeySerializationEncryption,
) -> bytes:
    """``SM2PrivateKey.private_bytes``: the private value ``scalar`` (32 bytes, big-endian)
    and its public point ``point`` (65 bytes, ``04||x||y``) in the chosen container."""
    encoding = _coerce(encoding, Encoding)
    format = _coerce(format, PrivateFormat)
    encryption_algorithm = _coerce_encryption(encryption_algorithm)
    unencrypted = isinstance(encryption_algorithm, NoEncryption)
    if format is PrivateFormat.Raw or encoding is Encoding.Raw:
        if format is not PrivateFormat.Raw or encoding is not Encoding.Raw:
            raise InvalidArgumentError("Encoding.Raw and PrivateFormat.Raw must be used together")
        if not unencrypted:
            raise InvalidArgumentError("raw private keys cannot be encrypted")
        return scalar
    if encoding not in (Encoding.PEM, Encoding.DER):
        raise InvalidArgumentError(f"{encoding} is not a private key encoding: use PEM or DER")
    pem = encoding is Encoding.PEM

    if format is PrivateFormat.TraditionalOpenSSL:
        if not unencrypted:
            # Legacy PEM encryption derives the key with one MD5 pass.
            raise InvalidArgumentError(
                "TraditionalOpenSSL (SEC1) keys are written unencrypted only; "
                "use PrivateFormat.PKCS8 to encrypt"
            )
        return _rust.formats_encode_private_key(scalar, point, "sec1", pem)
    if unencrypted:
        return _rust.formats_encode_private_key(scalar, point, "pkcs8", pem)
    password, rounds = _password_and_rounds(encryption_algorithm)
    return _rust.formats_encrypt_private_key(
        scalar, point, password, os.urandom(_SALT_LEN), os.urandom(_IV_LEN), rounds, pem
    )


def encode_public_key(point: bytes, compressed: bytes, encoding: Encoding, format: PublicFormat) -> bytes:
    """``SM2PublicKey.public_bytes``: the point, given as ``04||x||y`` (65 bytes) and
    compressed (33 bytes), in the chosen format."""
    encoding = _coerce(encoding, Encoding)
    format = _coerce(format, PublicFormat)

    if format is PublicFormat.SubjectPublicKeyInfo:
        if encoding not in (Encoding.PEM, Encoding.DER):
            raise InvalidArgumentError("SubjectPublicKeyInfo needs Encoding.PEM or Encoding.DER")
        return _rust.formats_encode_public_key(point, encoding is Encoding.PEM)
    if format in (PublicFormat.UncompressedPoint, PublicFormat.CompressedPoint):
        if encoding is not Encoding.X962:
            raise InvalidArgumentError(f"{format} needs Encoding.X962")
        return point if format is PublicFormat.UncompressedPoint else compressed
    # PublicFormat.Raw
    if encoding is not Encoding.Raw:
        raise InvalidArgumentError("PublicFormat.Raw needs Encoding.Raw")
    return point[1:]
