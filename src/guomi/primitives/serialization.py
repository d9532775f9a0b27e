"""Reading and writing SM2 keys: PKCS#8, encrypted PKCS#8, SEC1, SPKI, raw.

Named and shaped as in pyca/cryptography (``Encoding``, ``PrivateFormat``,
``PublicFormat``, ``NoEncryption``, ``BestAvailableEncryption``,
``load_pem_private_key`` ...), so code written against pyca's EC keys reads
the same. The DER/PEM work is done in Rust by the RustCrypto ``der`` /
``pkcs8`` / ``sec1`` / ``spki`` crates (see ``guomi_core::formats``); this
module adds the checks that need curve arithmetic (a public point is on the
curve; a public key stored beside a private key equals d*G) and draws salts
and IVs from the OS CSPRNG.

What loads:

* ``-----BEGIN PRIVATE KEY-----`` / DER PKCS#8, as ``openssl genpkey
  -algorithm SM2`` writes it; the algorithm may be ``id-ecPublicKey`` with the
  SM2 curve (1.2.156.10197.1.301) or the SM2 OID itself.
* ``-----BEGIN ENCRYPTED PRIVATE KEY-----`` / DER encrypted PKCS#8 with PBES2:
  PBKDF2 with HMAC-SM3 (GmSSL, Bouncy Castle, and what we write) or
  HMAC-SHA256 (``openssl pkcs8 -topk8 -v2 sm4-cbc``), cipher SM4-CBC (or
  AES-CBC).
* ``-----BEGIN EC PRIVATE KEY-----`` and ``-----BEGIN SM2 PRIVATE KEY-----``
  (SEC1; the latter is what ``openssl ec`` writes for SM2 keys).
* ``-----BEGIN PUBLIC KEY-----`` / DER SubjectPublicKeyInfo.

What is written: PKCS#8 byte-identical to GmSSL's (the inner ECPrivateKey
names the curve, as RFC 5915 §3 requires and GmSSL 3.1 insists; OpenSSL omits
it but reads it); encrypted PKCS#8 with PBES2 + PBKDF2-HMAC-SM3 (PRF OID
1.2.156.10197.1.401.2) + SM4-CBC as GmSSL and Bouncy Castle write it; SEC1
(``PrivateFormat.TraditionalOpenSSL``, unencrypted only) and SPKI
byte-identical to OpenSSL's; X9.62 points and raw bytes.

OpenSSL 3.0 cannot decrypt the encrypted form (it has no HMAC-SM3 PRF; later
OpenSSL releases name hmacWithSM3 by GM/T 0091's OID 1.2.156.10197.1.401.3.1,
which we accept on input). To hand OpenSSL an encrypted key, write plain
PKCS#8 and run ``openssl pkcs8 -topk8 -v2 sm4-cbc``.

Errors: malformed DER/PEM raise :class:`~guomi.exceptions.InvalidEncodingError`
naming the problem; another algorithm or curve raises
:class:`~guomi.exceptions.UnsupportedAlgorithmError`; a private value outside
[1, n-2] or a stored public key that does not match raises
:class:`~guomi.exceptions.InvalidKey`; a wrong password (or corrupted
ciphertext) raises :class:`~guomi.exceptions.InvalidPasswordError`; a missing
password for an encrypted key, or one given for an unencrypted key, raises
``TypeError`` as pyca does.
"""

from __future__ import annotations

import enum
import hmac
import os
from typing import TYPE_CHECKING, TypeVar

from guomi import _rust
from guomi.exceptions import InvalidArgumentError, InvalidKey
from guomi.primitives.sm2 import SM2PrivateKey, SM2PublicKey

if TYPE_CHECKING:
    from typing_extensions import Buffer

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
    "load_der_private_key",
    "load_der_public_key",
    "load_pem_private_key",
    "load_pem_public_key",
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


def _check_input_password(password: object) -> bytes | None:
    if password is None:
        return None
    if isinstance(password, (bytes, bytearray, memoryview)):
        return bytes(password)
    raise TypeError(f"password must be bytes or None, not {type(password).__name__}")


def _check_data(data: object) -> None:
    if isinstance(data, str):
        raise TypeError("key data must be bytes, not str (encode PEM text as ASCII)")


# --- loading -----------------------------------------------------------------


def _load_private(data: Buffer, password: Buffer | None, pem: bool) -> SM2PrivateKey:
    _check_data(data)
    scalar, stored_point, _container = _rust.formats_load_private_key(
        data, _check_input_password(password), pem
    )
    try:
        key = SM2PrivateKey.from_private_value(scalar)
    finally:
        # Best effort: wipe the one copy of d we own (Python may hold others).
        scalar[:] = bytes(len(scalar))
    if stored_point is not None:
        # RFC 5915 makes the public key optional; when present it must be the
        # one that belongs to d, or a signer would publish a key that does
        # not verify its signatures.
        try:
            stored = SM2PublicKey.from_encoded_point(stored_point)
        except ValueError:
            raise InvalidKey("the public key stored with the private key is not a valid SM2 point") from None
        expected = key.public_key().public_bytes_raw(compressed=False)
        if not hmac.compare_digest(stored.public_bytes_raw(compressed=False), expected):
            raise InvalidKey("the public key stored with the private key does not match the private value")
    return key


def load_pem_private_key(data: Buffer, password: Buffer | None = None) -> SM2PrivateKey:
    """Loads an SM2 private key from PEM: ``PRIVATE KEY``, ``ENCRYPTED
    PRIVATE KEY`` (needs ``password``), ``EC PRIVATE KEY`` or ``SM2 PRIVATE
    KEY``. Text around the PEM block is ignored."""
    return _load_private(data, password, True)


def load_der_private_key(data: Buffer, password: Buffer | None = None) -> SM2PrivateKey:
    """Loads an SM2 private key from DER: PKCS#8, encrypted PKCS#8 (needs
    ``password``) or SEC1, told apart by structure."""
    return _load_private(data, password, False)


def load_pem_public_key(data: Buffer) -> SM2PublicKey:
    """Loads an SM2 public key from a PEM ``PUBLIC KEY`` block (SPKI)."""
    _check_data(data)
    point = _rust.formats_load_public_key(data, True)
    return SM2PublicKey.from_encoded_point(point)


def load_der_public_key(data: Buffer) -> SM2PublicKey:
    """Loads an SM2 public key from DER SubjectPublicKeyInfo."""
    _check_data(data)
    point = _rust.formats_load_public_key(data, False)
    return SM2PublicKey.from_encoded_point(point)


# --- writing (called by SM2PrivateKey.private_bytes / SM2PublicKey.public_bytes)


def _uncompressed_point(public_key: SM2PublicKey) -> bytes:
    point = public_key.public_bytes_raw(compressed=False)
    if len(point) == 64:  # x||y without the X9.62 prefix
        point = b"\x04" + point
    return point


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


def _private_bytes(
    key: SM2PrivateKey,
    encoding: Encoding,
    format: PrivateFormat,
    encryption_algorithm: KeySerializationEncryption,
) -> bytes:
    """Implements ``SM2PrivateKey.private_bytes``."""
    encoding = _coerce(encoding, Encoding)
    format = _coerce(format, PrivateFormat)
    encryption_algorithm = _coerce_encryption(encryption_algorithm)
    scalar = key.private_value.to_bytes(32, "big")
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
    point = _uncompressed_point(key.public_key())

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


def _public_bytes(key: SM2PublicKey, encoding: Encoding, format: PublicFormat) -> bytes:
    """Implements ``SM2PublicKey.public_bytes``."""
    encoding = _coerce(encoding, Encoding)
    format = _coerce(format, PublicFormat)

    if format is PublicFormat.SubjectPublicKeyInfo:
        if encoding not in (Encoding.PEM, Encoding.DER):
            raise InvalidArgumentError("SubjectPublicKeyInfo needs Encoding.PEM or Encoding.DER")
        return _rust.formats_encode_public_key(_uncompressed_point(key), encoding is Encoding.PEM)
    if format in (PublicFormat.UncompressedPoint, PublicFormat.CompressedPoint):
        if encoding is not Encoding.X962:
            raise InvalidArgumentError(f"{format} needs Encoding.X962")
        if format is PublicFormat.UncompressedPoint:
            return _uncompressed_point(key)
        return key.public_bytes_raw(compressed=True)
    # PublicFormat.Raw
    if encoding is not Encoding.Raw:
        raise InvalidArgumentError("PublicFormat.Raw needs Encoding.Raw")
    return _uncompressed_point(key)[1:]
