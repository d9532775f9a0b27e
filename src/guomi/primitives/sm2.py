"""SM2 public-key cryptography (GB/T 32918): signatures, encryption, key exchange.

pyca/cryptography-shaped keys over the recommended curve sm2p256v1
(GB/T 32918.5-2017, OID 1.2.156.10197.1.301), backed by guomi's constant-time
Rust core.

* **Signatures** (GB/T 32918.2): ``e = SM3(Z_A || M)`` with
  ``Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA)``. The user ID
  defaults to :data:`DEFAULT_USER_ID` (``b"1234567812345678"``, GM/T 0009), as
  every Python peer does. **OpenSSL 3.0 hashes with an empty ID** unless given
  ``-pkeyopt distid:1234567812345678``; pass ``user_id=b""`` to interoperate with
  its default. Nonces are hedged: HMAC-SM3 keyed with the private key over 32
  fresh OS-random bytes and the digest, so a failing RNG can never repeat a
  nonce across messages. Signatures are DER ``SEQUENCE {r, s}`` (default) or
  raw 64-byte ``r || s``.
* **Encryption** (GB/T 32918.4): layouts ``"der"`` (GM/T 0009, what ``openssl
  pkeyutl -encrypt`` writes; the default), ``"c1c3c2"`` (GB/T 32918.4-2016
  order) and ``"c1c2c3"`` (GM/T 0003.4-2012 order). No size limit for the raw
  layouts (DER lengths stop at 256 MiB, the ``der`` crate's bound). Decryption
  checks C1 is on the curve, rejects an all-zero KDF stream, compares C3 in
  constant time and raises one vague :class:`~guomi.exceptions.DecryptionError`.
* **Key exchange** (GB/T 32918.3): :func:`key_exchange` for callers holding both
  ephemeral keys, :class:`SM2KeyExchange` to generate the ephemeral key and
  check the peer's confirmation in constant time.

No key material ever appears in a ``repr`` or an exception message.
"""

from __future__ import annotations

import hmac as _hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, NoReturn

from guomi import _rust
from guomi.exceptions import InvalidArgumentError, InvalidKey, InvalidTag
from guomi.primitives._key_encoding import (
    Encoding,
    KeySerializationEncryption,
    PrivateFormat,
    PublicFormat,
    encode_private_key,
    encode_public_key,
)

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = [
    "DEFAULT_USER_ID",
    "SM2KeyExchange",
    "SM2KeyExchangeResult",
    "SM2PrivateKey",
    "SM2PublicKey",
    "compute_za",
    "generate_private_key",
    "key_exchange",
]

#: GM/T 0009 default distinguishing identifier. OpenSSL 3.0 defaults to b"" instead.
DEFAULT_USER_ID: bytes = b"1234567812345678"

SignatureEncoding = Literal["der", "raw"]
CiphertextLayout = Literal["der", "c1c3c2", "c1c2c3"]

# n, the order of the base point (GB/T 32918.5-2017).
_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123


class SM2PublicKey:
    """An SM2 public key: a validated point of sm2p256v1 other than the identity."""

    __slots__ = ("_k",)
    _k: _rust.Sm2PublicKey

    def __init__(self, _inner: _rust.Sm2PublicKey) -> None:
        # Internal: build keys with from_encoded_point() or SM2PrivateKey.public_key().
        if not isinstance(_inner, _rust.Sm2PublicKey):
            raise TypeError("use SM2PublicKey.from_encoded_point() to build an SM2 public key")
        self._k = _inner

    @classmethod
    def from_encoded_point(cls, data: Buffer) -> SM2PublicKey:
        """Parses ``04||x||y`` (65 bytes), compressed ``02|03||x`` (33 bytes) or raw
        ``x||y`` (64 bytes, as gmssl emits). Wrong length or prefix raises
        :class:`~guomi.exceptions.InvalidEncodingError`; coordinates >= p, a point
        off the curve or the point at infinity raise :class:`~guomi.exceptions.InvalidKey`.
        """
        return cls(_rust.Sm2PublicKey.from_encoded_point(data))

    def public_bytes_raw(self, compressed: bool = False) -> bytes:
        """The point as ``04||x||y`` (65 bytes) or, if ``compressed``, ``02|03||x`` (33 bytes)."""
        return self._k.encode(compressed)

    def public_bytes(self, encoding: Encoding, format: PublicFormat) -> bytes:
        """Serializes the key (SubjectPublicKeyInfo, raw ...); see :mod:`guomi.primitives.serialization`."""
        return encode_public_key(self._k.encode(False), self._k.encode(True), encoding, format)

    def verify(
        self,
        signature: Buffer,
        data: Buffer,
        user_id: Buffer = DEFAULT_USER_ID,
        encoding: SignatureEncoding = "der",
    ) -> None:
        """Verifies an SM2 signature on ``data`` for ``user_id``.

        Raises :class:`~guomi.exceptions.InvalidSignature` on any failure, including
        malformed DER (non-minimal, negative, trailing bytes), r or s outside
        [1, n-1] and (r + s) mod n = 0.
        """
        self._k.verify(signature, data, user_id, encoding)

    def verify_digest(self, signature: Buffer, digest: Buffer, encoding: SignatureEncoding = "der") -> None:
        """Verifies a signature on a precomputed ``e = SM3(Z_A || M)`` (32 bytes)."""
        self._k.verify_digest(signature, digest, encoding)

    def encrypt(self, plaintext: Buffer, layout: CiphertextLayout = "der") -> bytes:
        """SM2-encrypts ``plaintext`` (any length) with a fresh random k."""
        return self._k.encrypt(plaintext, layout)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SM2PublicKey):
            return NotImplemented
        return self._k == other._k

    def __hash__(self) -> int:
        return hash(self._k)

    def __repr__(self) -> str:
        return f"<SM2PublicKey {self._k.encode(True).hex()}>"

    def __copy__(self) -> SM2PublicKey:
        return self

    def __deepcopy__(self, memo: object) -> SM2PublicKey:
        return self


class SM2PrivateKey:
    """An SM2 private key d in [1, n-2]. Its value never appears in a repr."""

    __slots__ = ("_k",)
    _k: _rust.Sm2PrivateKey

    def __init__(self, _inner: _rust.Sm2PrivateKey) -> None:
        # Internal: use generate_private_key() or from_private_value().
        if not isinstance(_inner, _rust.Sm2PrivateKey):
            raise TypeError("use generate_private_key() or SM2PrivateKey.from_private_value()")
        self._k = _inner

    @classmethod
    def from_private_value(cls, value: int | Buffer) -> SM2PrivateKey:
        """Builds a key from the integer d or its 32-byte big-endian encoding.

        d must be in [1, n-2] (n-1 is excluded: signing needs 1 + d invertible);
        anything else raises :class:`~guomi.exceptions.InvalidKey`.
        """
        if isinstance(value, bool):
            raise TypeError("private value must be an int or 32 bytes, not bool")
        if isinstance(value, int):
            if not 1 <= value <= _N - 2:
                raise InvalidKey("SM2 private key must be an integer in [1, n - 2]")
            return cls(_rust.Sm2PrivateKey.from_bytes(value.to_bytes(32, "big")))
        return cls(_rust.Sm2PrivateKey.from_bytes(value))

    @property
    def private_value(self) -> int:
        """The private scalar d as an int."""
        return int.from_bytes(self._k.private_bytes(), "big")

    def public_key(self) -> SM2PublicKey:
        """The public key d*G."""
        return SM2PublicKey(self._k.public_key())

    def sign(
        self,
        data: Buffer,
        user_id: Buffer = DEFAULT_USER_ID,
        encoding: SignatureEncoding = "der",
    ) -> bytes:
        """Signs ``data`` for ``user_id`` (default ``b"1234567812345678"``; any ID
        up to 8191 bytes, including ``b""``, which is OpenSSL 3.0's default).
        Returns DER ``SEQUENCE {r, s}`` or, with ``encoding="raw"``, 64-byte r || s.
        """
        return self._k.sign(data, user_id, encoding)

    def sign_digest(self, digest: Buffer, encoding: SignatureEncoding = "der") -> bytes:
        """Signs a precomputed ``e = SM3(Z_A || M)`` (32 bytes)."""
        return self._k.sign_digest(digest, encoding)

    def decrypt(self, ciphertext: Buffer, layout: CiphertextLayout = "der") -> bytes:
        """Decrypts an SM2 ciphertext; any failure raises the same
        :class:`~guomi.exceptions.DecryptionError`."""
        return self._k.decrypt(ciphertext, layout)

    def private_bytes(
        self,
        encoding: Encoding,
        format: PrivateFormat,
        encryption_algorithm: KeySerializationEncryption,
    ) -> bytes:
        """Serializes the key (PKCS#8, encrypted PKCS#8, SEC1, raw); see
        :mod:`guomi.primitives.serialization`."""
        point = self.public_key().public_bytes_raw(compressed=False)
        return encode_private_key(
            self.private_value.to_bytes(32, "big"), point, encoding, format, encryption_algorithm
        )

    def __repr__(self) -> str:
        return "<SM2PrivateKey (private value hidden)>"

    def __reduce__(self) -> NoReturn:
        raise TypeError("SM2 private keys cannot be pickled; serialize them with private_bytes()")


def generate_private_key() -> SM2PrivateKey:
    """A new private key from the OS CSPRNG (rejection sampling into [1, n-2])."""
    return SM2PrivateKey(_rust.Sm2PrivateKey.generate())


def compute_za(public_key: SM2PublicKey, user_id: Buffer = DEFAULT_USER_ID) -> bytes:
    """Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GB/T 32918.2 section 5.5)."""
    return _rust.sm2_compute_za(public_key._k, user_id)


@dataclass(frozen=True)
class SM2KeyExchangeResult:
    """One side's result of an SM2 key exchange.

    ``key`` is the shared key K; ``s_b`` (S_B = S_1, prefix 0x02) is what the
    responder sends, ``s_a`` (S_A = S_2, prefix 0x03) what the initiator sends.
    Both sides of an honest exchange compute the same three values.
    """

    key: bytes = field(repr=False)
    s_b: bytes
    s_a: bytes


def key_exchange(
    private_key: SM2PrivateKey,
    ephemeral_private_key: SM2PrivateKey,
    peer_public_key: SM2PublicKey,
    peer_ephemeral_public_key: SM2PublicKey,
    *,
    initiator: bool,
    length: int,
    user_id: Buffer = DEFAULT_USER_ID,
    peer_user_id: Buffer = DEFAULT_USER_ID,
) -> SM2KeyExchangeResult:
    """One side of SM2 key exchange (GB/T 32918.3-2016 section 6.1).

    ``initiator`` is True for A (who sent R_A first), False for B. ``length`` is
    the shared key length in bytes. The ephemeral key r is an ordinary private
    key (use :func:`generate_private_key`; a fixed one only to reproduce the
    standard's example). Compare the peer's confirmation with
    :meth:`SM2KeyExchange.verify_confirmation` or ``hmac.compare_digest``.
    """
    if isinstance(length, bool) or not isinstance(length, int):
        raise TypeError("length must be an int")
    if length < 1:
        raise InvalidArgumentError("key exchange length must be at least 1 byte")
    key, s_b, s_a = _rust.sm2_key_exchange(
        private_key._k,
        ephemeral_private_key._k,
        peer_public_key._k,
        peer_ephemeral_public_key._k,
        bool(initiator),
        length,
        user_id,
        peer_user_id,
    )
    return SM2KeyExchangeResult(key=key, s_b=s_b, s_a=s_a)


class SM2KeyExchange:
    """Stateful SM2 key exchange for one party.

    Usage (A = initiator, B = responder)::

        a = SM2KeyExchange(a_key, initiator=True)
        b = SM2KeyExchange(b_key, initiator=False)
        # A sends a.ephemeral_public_key; B computes and replies with R_B and S_B:
        kb = b.compute(a_key.public_key(), a.ephemeral_public_key, 16)
        # A computes, checks S_B, replies with S_A:
        ka = a.compute(b_key.public_key(), b.ephemeral_public_key, 16)
        a.verify_confirmation(b.confirmation())
        b.verify_confirmation(a.confirmation())

    The ephemeral key is generated from the OS CSPRNG unless one is given.
    """

    __slots__ = ("_eph", "_initiator", "_key", "_result", "_user_id")

    def __init__(
        self,
        private_key: SM2PrivateKey,
        *,
        initiator: bool,
        user_id: Buffer = DEFAULT_USER_ID,
        ephemeral_private_key: SM2PrivateKey | None = None,
    ) -> None:
        self._key = private_key
        self._initiator = bool(initiator)
        self._user_id = bytes(user_id)
        self._eph = ephemeral_private_key if ephemeral_private_key is not None else generate_private_key()
        self._result: SM2KeyExchangeResult | None = None

    @property
    def ephemeral_public_key(self) -> SM2PublicKey:
        """R = r*G, to send to the peer."""
        return self._eph.public_key()

    @property
    def initiator(self) -> bool:
        """True for party A."""
        return self._initiator

    def compute(
        self,
        peer_public_key: SM2PublicKey,
        peer_ephemeral_public_key: SM2PublicKey,
        length: int,
        peer_user_id: Buffer = DEFAULT_USER_ID,
    ) -> SM2KeyExchangeResult:
        """Derives the shared key once the peer's ephemeral point is known."""
        self._result = key_exchange(
            self._key,
            self._eph,
            peer_public_key,
            peer_ephemeral_public_key,
            initiator=self._initiator,
            length=length,
            user_id=self._user_id,
            peer_user_id=peer_user_id,
        )
        return self._result

    def _done(self) -> SM2KeyExchangeResult:
        if self._result is None:
            raise InvalidArgumentError("call compute() first")
        return self._result

    def confirmation(self) -> bytes:
        """Our confirmation value to send: S_A for the initiator, S_B for the responder."""
        r = self._done()
        return r.s_a if self._initiator else r.s_b

    def verify_confirmation(self, value: Buffer) -> None:
        """Checks the peer's confirmation (S_B if we are A, S_A if we are B) in
        constant time; raises :class:`~guomi.exceptions.InvalidTag` on mismatch."""
        r = self._done()
        expected = r.s_b if self._initiator else r.s_a
        if not _hmac.compare_digest(expected, bytes(value)):
            raise InvalidTag("SM2 key confirmation failed")

    def __repr__(self) -> str:
        role = "initiator" if self._initiator else "responder"
        return f"<SM2KeyExchange {role}>"
