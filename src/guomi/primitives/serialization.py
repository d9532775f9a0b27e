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

import hmac
from typing import TYPE_CHECKING

from guomi import _rust
from guomi.exceptions import InvalidKey
from guomi.primitives._key_encoding import (
    DEFAULT_KDF_ROUNDS,
    MAX_KDF_ROUNDS,
    BestAvailableEncryption,
    Encoding,
    KeySerializationEncryption,
    KeySerializationEncryptionBuilder,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
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
