"""``Client`` and ``AsyncClient``: the Python SDK of the guomi custody service.

Layer: ``guomi.client`` — imports ``guomi.api`` (the wire contract it shares with the
server), ``guomi.primitives`` (to load SM2 public keys, only when asked) and
``guomi.exceptions``; never ``guomi.kms``, so an application can use the SDK without the
server's code or dependencies.  Its key handles satisfy the ``guomi.keys`` protocols
structurally, without importing them.

Every method maps to one path of the HTTP API (see ``docs/spec/http-api.md``); arguments
and results are ``bytes`` where the API carries base64, ciphertext tokens are ``str``, and
structured answers are the ``guomi.api`` response models (:class:`~guomi.api.KeyInfo`,
:class:`~guomi.api.SealStatus`, :class:`~guomi.api.TokenResponse`, ...).  Errors raise the
:class:`guomi.exceptions.ServiceError` subclass of the answer's error code
(:class:`~guomi.exceptions.AuthenticationError`, :class:`~guomi.exceptions.PermissionDeniedError`,
:class:`~guomi.exceptions.DecryptionFailedError`, :class:`~guomi.exceptions.SealedError`, ...;
the status decides for a code this SDK does not know).

The address and token come from the arguments or from ``GUOMI_ADDR`` / ``GUOMI_TOKEN``.
Pass ``transport=httpx.ASGITransport(app)`` (or ``httpx.MockTransport``) to talk to an
application in process, as the tests do.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from guomi import api
from guomi.client import _calls
from guomi.client._calls import Batch, BatchLimits, BatchResult, Call, DataKey
from guomi.client._errors import error_for
from guomi.client._keys import ServiceAead, ServiceSigner
from guomi.exceptions import InvalidEncodingError, ServiceError

__all__ = ["DEFAULT_ADDR", "AsyncClient", "Client"]

T = TypeVar("T")

DEFAULT_ADDR = "http://127.0.0.1:8200"
"""Where ``guomi server`` listens by default (Vault's port, so muscle memory carries over)."""

_DEFAULT_TIMEOUT = 30.0


def _settings(addr: str | None, token: str | None) -> tuple[str, str | None]:
    base = (addr or os.environ.get("GUOMI_ADDR") or DEFAULT_ADDR).rstrip("/")
    if "://" not in base:
        base = "http://" + base
    return base + "/v1/", token if token is not None else os.environ.get("GUOMI_TOKEN")


def _decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _finish(call: Call[T], response: httpx.Response) -> T:
    body = _decode(response)
    # sys/health answers 501/503 by design: its status is data, not an error.
    if response.status_code >= 400 and not (call.path == "sys/health" and response.status_code in (501, 503)):
        raise error_for(response.status_code, body, call.method, call.path)
    if body is None and response.status_code != 204 and response.content:
        raise InvalidEncodingError(f"{call.method} /v1/{call.path}: the answer is not JSON")
    return call.parse(body)


class _Base:
    """What the sync and async clients share: settings and request construction."""

    def __init__(self, addr: str | None, token: str | None, batch_limits: BatchLimits | None) -> None:
        self._base_url, self.token = _settings(addr, token)
        #: Batches above these limits are sent as several requests (results joined in order).
        self.batch_limits = batch_limits or BatchLimits()

    @property
    def address(self) -> str:
        """The service's base address (without ``/v1``)."""
        return self._base_url[: -len("/v1/")]

    def _headers(self, call: Call[Any]) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        # The token goes on every request when known (sys/unseal and sys/health ignore it),
        # so the audit log can attribute even unauthenticated paths.
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _kwargs(self, call: Call[Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"headers": self._headers(call)}
        if call.body is not None:
            kwargs["content"] = json.dumps(call.body, separators=(",", ":")).encode()
            kwargs["headers"]["Content-Type"] = "application/json"
        return kwargs

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address!r}, token={'<set>' if self.token else None})"


class Client(_Base):
    """Synchronous SDK. Use as a context manager, or call :meth:`close`.

    >>> with Client("http://127.0.0.1:8200", token="...") as c:     # doctest: +SKIP
    ...     token = c.encrypt("orders", b"4111 1111 1111 1111")
    ...     c.decrypt("orders", token)
    """

    def __init__(
        self,
        addr: str | None = None,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = _DEFAULT_TIMEOUT,
        verify: bool | str = True,
        batch_limits: BatchLimits | None = None,
    ) -> None:
        super().__init__(addr, token, batch_limits)
        self._http = httpx.Client(
            base_url=self._base_url, transport=transport, timeout=timeout, verify=verify
        )

    def _run(self, call: Call[T]) -> T:
        try:
            response = self._http.request(call.method, call.path, **self._kwargs(call))
        except httpx.TransportError as exc:
            raise ServiceError(
                f"cannot reach the service at {self.address}: {exc}", code="unreachable"
            ) from exc
        return _finish(call, response)

    def _run_batch(self, batch: Batch[T]) -> list[T]:
        return [result for call in batch.calls for result in self._run(call)]

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- key handles satisfying guomi.keys protocols
    def aead(self, name: str) -> ServiceAead:
        """A :class:`guomi.keys.Aead` whose key stays in the service (``encrypt/{name}``)."""
        return ServiceAead(self, name)

    def signer(self, name: str, user_id: str | bytes | None = None) -> ServiceSigner:
        """A :class:`guomi.keys.Signer` over the SM2 key ``name`` held by the service."""
        return ServiceSigner(self, name, user_id)

    # -- sys
    def health(self) -> api.HealthResponse:
        """``GET sys/health`` (initialized, sealed, version), whatever its status."""
        return self._run(_calls.health())

    def init(self, secret_shares: int = 5, secret_threshold: int = 3) -> api.InitResponse:
        """``POST sys/init``: returns the shares and the root token (shown only once)."""
        return self._run(_calls.init(secret_shares, secret_threshold))

    def unseal(self, share: str) -> api.SealStatus:
        """``POST sys/unseal`` with one share; returns ``sealed`` and ``progress``."""
        return self._run(_calls.unseal(share))

    def unseal_reset(self, share: str | None = None) -> api.SealStatus:
        """Forget the shares given so far (``guomi server`` wants one share of the
        installation with it, so only a custodian can reset)."""
        return self._run(_calls.unseal(share, reset=True))

    def seal_status(self) -> api.SealStatus:
        """``GET sys/seal-status``."""
        return self._run(_calls.seal_status())

    def seal(self) -> None:
        """``POST sys/seal``."""
        self._run(_calls.seal())

    # -- keys
    def create_key(self, name: str, key_type: str = "sm4-gcm", **options: Any) -> api.KeyInfo:
        """``POST keys/{name}`` (options: ``deletion_allowed``, ``auto_rotate_period``, ...)."""
        return self._run(_calls.create_key(name, key_type, options))

    def list_keys(self) -> list[str]:
        """``GET keys``."""
        return self._run(_calls.list_keys())

    def read_key(self, name: str) -> api.KeyInfo:
        """``GET keys/{name}``."""
        return self._run(_calls.read_key(name))

    def rotate_key(self, name: str) -> api.KeyInfo:
        """``POST keys/{name}/rotate``."""
        return self._run(_calls.rotate_key(name))

    def configure_key(self, name: str, **options: Any) -> api.KeyInfo:
        """``POST keys/{name}/config`` (``min_decryption_version``, ``deletion_allowed``, ...)."""
        return self._run(_calls.configure_key(name, options))

    def trim_key(self, name: str, min_available_version: int) -> api.KeyInfo:
        """``POST keys/{name}/trim``: destroy every version below ``min_available_version``
        (irreversible; at most the key's ``min_decryption_version``)."""
        return self._run(_calls.trim_key(name, min_available_version))

    def delete_key(self, name: str) -> None:
        """``DELETE keys/{name}``."""
        self._run(_calls.delete_key(name))

    def backup_key(self, name: str) -> str:
        """``GET keys/{name}/backup``."""
        return self._run(_calls.backup_key(name))

    def restore_key(self, backup: str, name: str | None = None, force: bool = False) -> api.KeyInfo:
        """``POST keys/restore``."""
        return self._run(_calls.restore_key(backup, name, force))

    # -- encryption
    def encrypt(
        self,
        name: str,
        plaintext: bytes,
        associated_data: bytes | None = None,
        key_version: int | None = None,
    ) -> str:
        """``POST encrypt/{name}``: a ciphertext token."""
        return self._run(_calls.encrypt(name, plaintext, associated_data, key_version))

    def encrypt_batch(
        self,
        name: str,
        plaintexts: Sequence[bytes],
        associated_data: Sequence[bytes | None] | bytes | None = None,
    ) -> list[BatchResult[str]]:
        """``batch_input`` encryption: one result per item, in order."""
        return self._run_batch(_calls.encrypt_batch(name, plaintexts, associated_data, self.batch_limits))

    def decrypt(self, name: str, ciphertext: str | bytes, associated_data: bytes | None = None) -> bytes:
        """``POST decrypt/{name}``: the plaintext."""
        return self._run(_calls.decrypt(name, ciphertext, associated_data))

    def decrypt_batch(
        self,
        name: str,
        ciphertexts: Sequence[str | bytes],
        associated_data: Sequence[bytes | None] | bytes | None = None,
    ) -> list[BatchResult[bytes]]:
        """``batch_input`` decryption: one result per item, in order."""
        return self._run_batch(_calls.decrypt_batch(name, ciphertexts, associated_data, self.batch_limits))

    def rewrap(
        self,
        name: str,
        ciphertext: str | bytes,
        associated_data: bytes | None = None,
        key_version: int | None = None,
    ) -> str:
        """``POST rewrap/{name}``: the token under the newest version; never returns plaintext."""
        return self._run(_calls.rewrap(name, ciphertext, associated_data, key_version))

    def rewrap_batch(
        self,
        name: str,
        ciphertexts: Sequence[str | bytes],
        associated_data: Sequence[bytes | None] | bytes | None = None,
    ) -> list[BatchResult[str]]:
        """``batch_input`` rewrap."""
        return self._run_batch(_calls.rewrap_batch(name, ciphertexts, associated_data, self.batch_limits))

    def datakey(
        self,
        name: str,
        *,
        plaintext: bool = True,
        associated_data: bytes | None = None,
        bits: int | None = None,
    ) -> DataKey:
        """``POST datakey/plaintext/{name}`` (or ``wrapped`` when ``plaintext=False``)."""
        return self._run(_calls.datakey(name, plaintext, associated_data, bits))

    # -- signatures, MACs, misc
    def sign(
        self, name: str, data: bytes, user_id: str | bytes | None = None, key_version: int | None = None
    ) -> str:
        """``POST sign/{name}``: the service's signature string (names the key version)."""
        return self._run(_calls.sign(name, data, user_id, key_version))

    def verify(self, name: str, data: bytes, signature: str, user_id: str | bytes | None = None) -> bool:
        """``POST verify/{name}``: ``True`` if valid, ``False`` if not."""
        return self._run(_calls.verify(name, data, signature, user_id))

    def hmac(self, name: str, data: bytes, key_version: int | None = None) -> str:
        """``POST hmac/{name}``: the HMAC-SM3 string (names the key version)."""
        return self._run(_calls.hmac(name, data, key_version))

    def verify_hmac(self, name: str, data: bytes, hmac: str) -> bool:
        """``POST verify/{name}`` with an ``hmac``."""
        return self._run(_calls.verify_hmac(name, data, hmac))

    def random(self, n: int = 32) -> bytes:
        """``POST random/{n}``: ``n`` random bytes from the server."""
        return self._run(_calls.random(n))

    def hash(self, data: bytes) -> bytes:
        """``POST hash``: the SM3 digest of ``data``."""
        return self._run(_calls.hash_(data))

    # -- auth and policies
    def create_token(self, policies: Sequence[str], ttl: str | None = None) -> api.TokenResponse:
        """``POST auth/tokens``: the answer's ``token`` is shown once."""
        return self._run(_calls.create_token(policies, ttl))

    def lookup_self(self) -> api.TokenInfo:
        """``GET auth/tokens/self``."""
        return self._run(_calls.lookup_self())

    def revoke_token(self, token: str | None = None, *, accessor: str | None = None) -> None:
        """``POST auth/tokens/revoke``."""
        self._run(_calls.revoke_token(token, accessor))

    def write_policy(self, name: str, rules: Sequence[api.PolicyRule | dict[str, Any]]) -> api.PolicyResponse:
        """``PUT policies/{name}``."""
        return self._run(_calls.write_policy(name, rules))

    def read_policy(self, name: str) -> api.PolicyResponse:
        """``GET policies/{name}``."""
        return self._run(_calls.read_policy(name))

    def list_policies(self) -> list[str]:
        """``GET policies``."""
        return self._run(_calls.list_policies())

    def delete_policy(self, name: str) -> None:
        """``DELETE policies/{name}``."""
        self._run(_calls.delete_policy(name))


class AsyncClient(_Base):
    """Asynchronous SDK with the same methods as :class:`Client`, each a coroutine."""

    def __init__(
        self,
        addr: str | None = None,
        token: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = _DEFAULT_TIMEOUT,
        verify: bool | str = True,
        limits: httpx.Limits | None = None,
        batch_limits: BatchLimits | None = None,
    ) -> None:
        super().__init__(addr, token, batch_limits)
        self._http = httpx.AsyncClient(
            base_url=self._base_url,
            transport=transport,
            timeout=timeout,
            verify=verify,
            limits=limits or httpx.Limits(max_connections=100, max_keepalive_connections=100),
        )

    async def _run(self, call: Call[T]) -> T:
        try:
            response = await self._http.request(call.method, call.path, **self._kwargs(call))
        except httpx.TransportError as exc:
            raise ServiceError(
                f"cannot reach the service at {self.address}: {exc}", code="unreachable"
            ) from exc
        return _finish(call, response)

    async def _run_batch(self, batch: Batch[T]) -> list[T]:
        return [result for call in batch.calls for result in await self._run(call)]

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def health(self) -> api.HealthResponse:
        """See :meth:`Client.health`."""
        return await self._run(_calls.health())

    async def init(self, secret_shares: int = 5, secret_threshold: int = 3) -> api.InitResponse:
        """See :meth:`Client.init`."""
        return await self._run(_calls.init(secret_shares, secret_threshold))

    async def unseal(self, share: str) -> api.SealStatus:
        """See :meth:`Client.unseal`."""
        return await self._run(_calls.unseal(share))

    async def unseal_reset(self, share: str | None = None) -> api.SealStatus:
        """See :meth:`Client.unseal_reset`."""
        return await self._run(_calls.unseal(share, reset=True))

    async def seal_status(self) -> api.SealStatus:
        """See :meth:`Client.seal_status`."""
        return await self._run(_calls.seal_status())

    async def seal(self) -> None:
        """See :meth:`Client.seal`."""
        await self._run(_calls.seal())

    async def create_key(self, name: str, key_type: str = "sm4-gcm", **options: Any) -> api.KeyInfo:
        """See :meth:`Client.create_key`."""
        return await self._run(_calls.create_key(name, key_type, options))

    async def list_keys(self) -> list[str]:
        """See :meth:`Client.list_keys`."""
        return await self._run(_calls.list_keys())

    async def read_key(self, name: str) -> api.KeyInfo:
        """See :meth:`Client.read_key`."""
        return await self._run(_calls.read_key(name))

    async def rotate_key(self, name: str) -> api.KeyInfo:
        """See :meth:`Client.rotate_key`."""
        return await self._run(_calls.rotate_key(name))

    async def configure_key(self, name: str, **options: Any) -> api.KeyInfo:
        """See :meth:`Client.configure_key`."""
        return await self._run(_calls.configure_key(name, options))

    async def trim_key(self, name: str, min_available_version: int) -> api.KeyInfo:
        """See :meth:`Client.trim_key`."""
        return await self._run(_calls.trim_key(name, min_available_version))

    async def delete_key(self, name: str) -> None:
        """See :meth:`Client.delete_key`."""
        await self._run(_calls.delete_key(name))

    async def backup_key(self, name: str) -> str:
        """See :meth:`Client.backup_key`."""
        return await self._run(_calls.backup_key(name))

    async def restore_key(self, backup: str, name: str | None = None, force: bool = False) -> api.KeyInfo:
        """See :meth:`Client.restore_key`."""
        return await self._run(_calls.restore_key(backup, name, force))

    async def encrypt(
        self,
        name: str,
        plaintext: bytes,
        associated_data: bytes | None = None,
        key_version: int | None = None,
    ) -> str:
        """See :meth:`Client.encrypt`."""
        return await self._run(_calls.encrypt(name, plaintext, associated_data, key_version))

    async def encrypt_batch(
        self,
        name: str,
        plaintexts: Sequence[bytes],
        associated_data: Sequence[bytes | None] | bytes | None = None,
    ) -> list[BatchResult[str]]:
        """See :meth:`Client.encrypt_batch`."""
        return await self._run_batch(
            _calls.encrypt_batch(name, plaintexts, associated_data, self.batch_limits)
        )

    async def decrypt(
        self, name: str, ciphertext: str | bytes, associated_data: bytes | None = None
    ) -> bytes:
        """See :meth:`Client.decrypt`."""
        return await self._run(_calls.decrypt(name, ciphertext, associated_data))

    async def decrypt_batch(
        self,
        name: str,
        ciphertexts: Sequence[str | bytes],
        associated_data: Sequence[bytes | None] | bytes | None = None,
    ) -> list[BatchResult[bytes]]:
        """See :meth:`Client.decrypt_batch`."""
        return await self._run_batch(
            _calls.decrypt_batch(name, ciphertexts, associated_data, self.batch_limits)
        )

    async def rewrap(
        self,
        name: str,
        ciphertext: str | bytes,
        associated_data: bytes | None = None,
        key_version: int | None = None,
    ) -> str:
        """See :meth:`Client.rewrap`."""
        return await self._run(_calls.rewrap(name, ciphertext, associated_data, key_version))

    async def rewrap_batch(
        self,
        name: str,
        ciphertexts: Sequence[str | bytes],
        associated_data: Sequence[bytes | None] | bytes | None = None,
    ) -> list[BatchResult[str]]:
        """See :meth:`Client.rewrap_batch`."""
        return await self._run_batch(
            _calls.rewrap_batch(name, ciphertexts, associated_data, self.batch_limits)
        )

    async def datakey(
        self,
        name: str,
        *,
        plaintext: bool = True,
        associated_data: bytes | None = None,
        bits: int | None = None,
    ) -> DataKey:
        """See :meth:`Client.datakey`."""
        return await self._run(_calls.datakey(name, plaintext, associated_data, bits))

    async def sign(
        self, name: str, data: bytes, user_id: str | bytes | None = None, key_version: int | None = None
    ) -> str:
        """See :meth:`Client.sign`."""
        return await self._run(_calls.sign(name, data, user_id, key_version))

    async def verify(
        self, name: str, data: bytes, signature: str, user_id: str | bytes | None = None
    ) -> bool:
        """See :meth:`Client.verify`."""
        return await self._run(_calls.verify(name, data, signature, user_id))

    async def hmac(self, name: str, data: bytes, key_version: int | None = None) -> str:
        """See :meth:`Client.hmac`."""
        return await self._run(_calls.hmac(name, data, key_version))

    async def verify_hmac(self, name: str, data: bytes, hmac: str) -> bool:
        """See :meth:`Client.verify_hmac`."""
        return await self._run(_calls.verify_hmac(name, data, hmac))

    async def random(self, n: int = 32) -> bytes:
        """See :meth:`Client.random`."""
        return await self._run(_calls.random(n))

    async def hash(self, data: bytes) -> bytes:
        """See :meth:`Client.hash`."""
        return await self._run(_calls.hash_(data))

    async def create_token(self, policies: Sequence[str], ttl: str | None = None) -> api.TokenResponse:
        """See :meth:`Client.create_token`."""
        return await self._run(_calls.create_token(policies, ttl))

    async def lookup_self(self) -> api.TokenInfo:
        """See :meth:`Client.lookup_self`."""
        return await self._run(_calls.lookup_self())

    async def revoke_token(self, token: str | None = None, *, accessor: str | None = None) -> None:
        """See :meth:`Client.revoke_token`."""
        await self._run(_calls.revoke_token(token, accessor))

    async def write_policy(
        self, name: str, rules: Sequence[api.PolicyRule | dict[str, Any]]
    ) -> api.PolicyResponse:
        """See :meth:`Client.write_policy`."""
        return await self._run(_calls.write_policy(name, rules))

    async def read_policy(self, name: str) -> api.PolicyResponse:
        """See :meth:`Client.read_policy`."""
        return await self._run(_calls.read_policy(name))

    async def list_policies(self) -> list[str]:
        """See :meth:`Client.list_policies`."""
        return await self._run(_calls.list_policies())

    async def delete_policy(self, name: str) -> None:
        """See :meth:`Client.delete_policy`."""
        await self._run(_calls.delete_policy(name))
