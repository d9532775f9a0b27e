"""Key handles backed by the custody service, satisfying the :mod:`guomi.keys` protocols.

Layer: ``guomi.client``. :class:`ServiceAead` is a :class:`guomi.keys.Aead` and
:class:`ServiceSigner` a :class:`guomi.keys.Signer`; the key material never leaves the
service, so code written against the protocols works unchanged with a local key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from guomi.api import signature_der
from guomi.exceptions import BadRequestError, InvalidEncodingError, InvalidTag, ServiceError

if TYPE_CHECKING:
    from guomi.api import KeyInfo
    from guomi.client._client import Client
    from guomi.primitives.sm2 import SM2PublicKey

__all__ = ["ServiceAead", "ServiceSigner", "signature_der"]


class ServiceAead:
    """``encrypt/{name}`` and ``decrypt/{name}`` as a :class:`guomi.keys.Aead`.

    Ciphertexts are the service's text tokens, ASCII-encoded to ``bytes``. A token that the
    service refuses to decrypt (tampered, moved to another key, wrong associated data,
    below ``min_decryption_version``) raises :class:`~guomi.exceptions.InvalidTag` as the
    protocol requires; other failures (auth, sealed, unreachable) raise their
    :class:`~guomi.exceptions.ServiceError` so they are not mistaken for bad data.
    """

    __slots__ = ("_client", "name")

    def __init__(self, client: Client, name: str) -> None:
        self._client = client
        self.name = name

    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> bytes:
        """The service's ciphertext token for ``plaintext``, as ASCII bytes."""
        return self._client.encrypt(self.name, plaintext, associated_data or None).encode("ascii")

    def decrypt(self, ciphertext: bytes, associated_data: bytes = b"") -> bytes:
        """The plaintext, or :class:`~guomi.exceptions.InvalidTag` if the service rejects the token."""
        try:
            token = bytes(ciphertext).decode("ascii")
        except UnicodeDecodeError as exc:
            raise InvalidTag("not a service ciphertext token") from exc
        try:
            return self._client.decrypt(self.name, token, associated_data or None)
        except BadRequestError as exc:
            raise InvalidTag(f"the service could not decrypt the token ({exc.code or exc.status})") from exc

    def __repr__(self) -> str:
        return f"ServiceAead({self.name!r})"


class ServiceSigner:
    """``sign/{name}`` for an ``sm2-sign`` key as a :class:`guomi.keys.Signer`.

    :meth:`sign` returns the DER signature (verifiable with :meth:`public_key` and the same
    user ID, locally, with no service call). :meth:`public_key` reads the newest version's
    public key from the service each time, so after a rotation it names the key that signs.
    """

    __slots__ = ("_client", "name", "user_id")

    def __init__(self, client: Client, name: str, user_id: str | bytes | None = None) -> None:
        self._client = client
        self.name = name
        self.user_id = user_id.decode("utf-8") if isinstance(user_id, bytes) else user_id

    def sign(self, data: bytes) -> bytes:
        """DER SM2 signature over ``data`` made by the service."""
        return signature_der(self._client.sign(self.name, data, self.user_id))

    def public_key(self) -> SM2PublicKey:
        """The SM2 public key of the newest version of the key."""
        # Loaded here so an application that never touches SM2 keys imports no SM2 code.
        from guomi.primitives.serialization import load_pem_public_key  # noqa: PLC0415
        from guomi.primitives.sm2 import SM2PublicKey  # noqa: PLC0415

        info = self._client.read_key(self.name)
        pem = _latest_public_key_pem(info)
        key = load_pem_public_key(pem.encode("ascii"))
        if not isinstance(key, SM2PublicKey):
            raise ServiceError(f"key {self.name!r} has no SM2 public key", code="not_sm2")
        return key

    def __repr__(self) -> str:
        return f"ServiceSigner({self.name!r})"


def _latest_public_key_pem(info: KeyInfo) -> str:
    """The newest version's ``public_key`` PEM in a ``GET keys/{name}`` answer."""
    version = info.keys.get(str(info.latest_version))
    if version is None or version.public_key is None:
        raise InvalidEncodingError("key metadata carries no SM2 public key for its latest version")
    return version.public_key
