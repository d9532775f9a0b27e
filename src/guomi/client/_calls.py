"""Transport-free description of every custody-service call: path, body, and how to read the answer.

Layer: ``guomi.client`` (internal). Each function here returns a :class:`Call` — the HTTP
method, the path under ``/v1``, the JSON body and a parser from the decoded JSON answer to
the value the SDK returns. :class:`guomi.client.Client` and :class:`~guomi.client.AsyncClient`
both run the same calls, so the sync and async SDKs cannot drift apart.

The wire contract is ``guomi.api``: bodies are built from its request models (so the SDK
checks a request as the server will, and base64 is encoded by the models' ``B64Bytes``)
and answers are parsed into its response models, which the public methods return.  A
batch larger than the service's limits (:class:`BatchLimits`) is sent as several
requests (:class:`Batch`) whose results are joined in order.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from guomi import api
from guomi.exceptions import BadRequestError, InvalidEncodingError

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

Json = Any
"""A decoded JSON value (validated by the response models)."""


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP request and the parser for its JSON answer."""

    method: str
    path: str
    body: Json = None
    parse: Callable[[Json], T] = field(default=lambda _j: None)  # type: ignore[assignment]
    authenticated: bool = True


@dataclass(frozen=True)
class Batch(Generic[T]):
    """A ``batch_input`` operation sent as one or more requests; results join in order."""

    calls: list[Call[list[T]]]


@dataclass(frozen=True)
class BatchLimits:
    """The service's limits a batch request must stay under (``docs/spec/http-api.md`` §2);
    the defaults are the server's."""

    max_items: int = 10_000
    max_body_bytes: int = 4 * 1024 * 1024


@dataclass(frozen=True)
class BatchResult(Generic[T]):
    """One item of a ``batch_input`` answer: either ``value`` or ``error`` is set.

    Items come back in the order they were sent; an item's failure does not fail the batch.
    ``code`` is the item's :class:`guomi.api.ErrorCode` when it failed.
    """

    value: T | None
    error: str | None = None
    key_version: int | None = None
    code: str | None = None

    @property
    def ok(self) -> bool:
        """True when this item succeeded."""
        return self.error is None

    def unwrap(self) -> T:
        """The value, or raise the :class:`~guomi.exceptions.ServiceError` of the item's code."""
        if self.error is not None or self.value is None:
            cls = api.exception_class(self.code or "", 400)
            raise cls(f"batch item failed: {self.error}", status=cls.status, code=self.code)
        return self.value


@dataclass(frozen=True)
class DataKey:
    """A fresh SM4 data key from ``datakey/...``: ``plaintext`` is ``None`` on the wrapped path."""

    ciphertext: str
    plaintext: bytes | None
    key_version: int | None

    def __repr__(self) -> str:
        shown = "None" if self.plaintext is None else "<hidden>"
        return f"DataKey(ciphertext={self.ciphertext!r}, plaintext={shown}, key_version={self.key_version})"


# ---------------------------------------------------------------- helpers


def seg(name: str) -> str:
    """A key or policy name as one path segment (quoted so '/' or '..' cannot change the route)."""
    if not isinstance(name, str) or not name:
        raise ValueError("name must be a non-empty string")
    return quote(name, safe="")


def request(model: type[M], **fields: Any) -> M:
    """A request model built from the caller's values; a value the service would refuse
    raises :class:`~guomi.exceptions.BadRequestError` naming the field, before any I/O."""
    try:
        return model(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        raise BadRequestError(f"{where}: {msg}", field=where) from None


def body(model: BaseModel) -> Json:
    """The JSON body of a request model (absent fields left out)."""
    return model.model_dump(mode="json", exclude_none=True)


def data(model: type[M]) -> Callable[[Json], M]:
    """A parser of ``{"data": model}`` answers."""
    wrapper = api.DataResponse[model]  # type: ignore[valid-type]

    def parse(answer: Json) -> M:
        try:
            parsed: M = wrapper.model_validate(answer).data
        except ValidationError as exc:
            raise InvalidEncodingError(
                f"service answer does not match {model.__name__}: {_first(exc)}"
            ) from None
        return parsed

    return parse


def _first(exc: ValidationError) -> str:
    e = exc.errors(include_url=False)[0]
    return f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"


def _ascii(token: str | bytes) -> str:
    return token.decode("ascii") if isinstance(token, (bytes, bytearray)) else token


def _ads(n: int, associated_data: Sequence[bytes | None] | bytes | None) -> Sequence[bytes | None]:
    if isinstance(associated_data, (bytes, bytearray, memoryview)):
        return [bytes(associated_data)] * n
    if associated_data is None:
        return [None] * n
    if len(associated_data) != n:
        raise ValueError("associated_data must have one entry per item")
    return associated_data


def _results(answer: Json, model: type[BaseModel], value: Callable[[Any], T]) -> list[BatchResult[T]]:
    parsed = data(model)(answer)
    items = getattr(parsed, "batch_results", None)
    if items is None:
        raise InvalidEncodingError("service answer has no 'batch_results'")
    out: list[BatchResult[T]] = []
    for item in items:
        if isinstance(item, api.BatchItemError):
            out.append(BatchResult(None, item.error, None, item.code))
        else:
            out.append(BatchResult(value(item), None, getattr(item, "key_version", None)))
    return out


def split(items: Sequence[BaseModel], limits: BatchLimits) -> list[list[Json]]:
    """The items' JSON forms in chunks of at most ``limits.max_items`` items and (with room
    for the envelope) ``limits.max_body_bytes`` bytes of body."""
    budget = max(1, limits.max_body_bytes - 1024)
    chunks: list[list[Json]] = []
    current: list[Json] = []
    size = 0
    for item in items:
        d = body(item)
        n = len(to_json(d)) + 1
        if current and (len(current) >= limits.max_items or size + n > budget):
            chunks.append(current)
            current, size = [], 0
        current.append(d)
        size += n
    if current or not chunks:
        chunks.append(current)
    return chunks


def _batch(
    method_path: str,
    items: Sequence[BaseModel],
    limits: BatchLimits,
    parse: Callable[[Json], list[BatchResult[T]]],
) -> Batch[BatchResult[T]]:
    return Batch([Call("POST", method_path, {"batch_input": chunk}, parse) for chunk in split(items, limits)])


# ---------------------------------------------------------------- sys


def health() -> Call[api.HealthResponse]:
    """``GET sys/health``; the answer is returned whatever the status (200 / 501 / 503)."""

    def parse(answer: Json) -> api.HealthResponse:
        try:
            return api.HealthResponse.model_validate(answer)
        except ValidationError as exc:
            raise InvalidEncodingError(
                f"service answer does not match HealthResponse: {_first(exc)}"
            ) from None

    return Call("GET", "sys/health", parse=parse, authenticated=False)


def init(secret_shares: int, secret_threshold: int) -> Call[api.InitResponse]:
    """``POST sys/init``: the answer holds the shares and the root token, shown only once."""
    req = request(api.InitRequest, secret_shares=secret_shares, secret_threshold=secret_threshold)
    return Call("POST", "sys/init", body(req), data(api.InitResponse), authenticated=False)


def unseal(share: str | bytes | None = None, *, reset: bool = False) -> Call[api.SealStatus]:
    """``POST sys/unseal`` with one share (base64 text, or its bytes); ``sealed`` and ``progress``."""
    if reset:
        # `guomi server` accepts a reset only with a share of the installation (docs/operations.md).
        req = (
            request(api.UnsealRequest, reset=True, key=share)
            if share is not None
            else api.UnsealRequest(reset=True)
        )
    else:
        req = request(api.UnsealRequest, key=share)
    return Call("POST", "sys/unseal", body(req), data(api.SealStatus), authenticated=False)


def seal_status() -> Call[api.SealStatus]:
    """``GET sys/seal-status``."""
    return Call("GET", "sys/seal-status", parse=data(api.SealStatus), authenticated=False)


def seal() -> Call[api.SealStatus]:
    """``POST sys/seal``: drop every key from memory."""
    return Call("POST", "sys/seal", {}, data(api.SealStatus))


# ---------------------------------------------------------------- keys


def create_key(name: str, key_type: str, options: dict[str, Json]) -> Call[api.KeyInfo]:
    """``POST keys/{name}``."""
    req = request(api.CreateKeyRequest, type=key_type, **options)
    return Call("POST", f"keys/{seg(name)}", body(req), data(api.KeyInfo))


def list_keys() -> Call[list[str]]:
    """``GET keys``: names of every key the caller may list."""
    parse = data(api.KeyListResponse)
    return Call("GET", "keys", parse=lambda j: parse(j).keys)


def read_key(name: str) -> Call[api.KeyInfo]:
    """``GET keys/{name}``: metadata, versions, SM2 public keys (PEM)."""
    return Call("GET", f"keys/{seg(name)}", parse=data(api.KeyInfo))


def rotate_key(name: str) -> Call[api.KeyInfo]:
    """``POST keys/{name}/rotate``."""
    return Call("POST", f"keys/{seg(name)}/rotate", {}, data(api.KeyInfo))


def configure_key(name: str, options: dict[str, Json]) -> Call[api.KeyInfo]:
    """``POST keys/{name}/config`` (only the options given are changed)."""
    req = request(api.KeyConfigRequest, **options)
    return Call("POST", f"keys/{seg(name)}/config", body(req), data(api.KeyInfo))


def trim_key(name: str, min_available_version: int) -> Call[api.KeyInfo]:
    """``POST keys/{name}/trim``: destroys every version below ``min_available_version``."""
    req = request(api.TrimKeyRequest, min_available_version=min_available_version)
    return Call("POST", f"keys/{seg(name)}/trim", body(req), data(api.KeyInfo))


def delete_key(name: str) -> Call[None]:
    """``DELETE keys/{name}`` (the key must allow deletion)."""
    return Call("DELETE", f"keys/{seg(name)}")


def backup_key(name: str) -> Call[str]:
    """``GET keys/{name}/backup``: the key with all versions, sealed for this installation."""
    parse = data(api.BackupResponse)
    return Call("GET", f"keys/{seg(name)}/backup", parse=lambda j: parse(j).backup)


def restore_key(backup: str, name: str | None = None, force: bool = False) -> Call[api.KeyInfo]:
    """``POST keys/restore``."""
    req = request(api.RestoreRequest, backup=backup, name=name, force=force or None)
    return Call("POST", "keys/restore", body(req), data(api.KeyInfo))


# ---------------------------------------------------------------- encryption


def _ciphertext(j: Json, model: type[api.EncryptResponse] | type[api.RewrapResponse]) -> str:
    value = data(model)(j).ciphertext
    if value is None:
        raise InvalidEncodingError("service answer has no 'ciphertext'")
    return value


def encrypt(name: str, plaintext: bytes, associated_data: bytes | None, key_version: int | None) -> Call[str]:
    """``POST encrypt/{name}``: the answer's ``ciphertext`` token."""
    req = request(
        api.EncryptRequest,
        plaintext=plaintext,
        associated_data=associated_data or None,
        key_version=key_version,
    )
    return Call("POST", f"encrypt/{seg(name)}", body(req), lambda j: _ciphertext(j, api.EncryptResponse))


def encrypt_batch(
    name: str,
    plaintexts: Sequence[bytes],
    associated_data: Sequence[bytes | None] | bytes | None,
    limits: BatchLimits = BatchLimits(),
) -> Batch[BatchResult[str]]:
    """``POST encrypt/{name}`` with ``batch_input`` (split under ``limits``)."""
    ads = _ads(len(plaintexts), associated_data)
    items = [
        request(api.EncryptItem, plaintext=p, associated_data=ad or None)
        for p, ad in zip(plaintexts, ads, strict=True)
    ]
    return _batch(
        f"encrypt/{seg(name)}",
        items,
        limits,
        lambda j: _results(j, api.EncryptResponse, lambda r: str(r.ciphertext)),
    )


def decrypt(name: str, ciphertext: str | bytes, associated_data: bytes | None) -> Call[bytes]:
    """``POST decrypt/{name}``: the plaintext."""
    req = request(api.DecryptRequest, ciphertext=_ascii(ciphertext), associated_data=associated_data or None)

    def parse(j: Json) -> bytes:
        value = data(api.DecryptResponse)(j).plaintext
        if value is None:
            raise InvalidEncodingError("service answer has no 'plaintext'")
        return value

    return Call("POST", f"decrypt/{seg(name)}", body(req), parse)


def decrypt_batch(
    name: str,
    ciphertexts: Sequence[str | bytes],
    associated_data: Sequence[bytes | None] | bytes | None,
    limits: BatchLimits = BatchLimits(),
) -> Batch[BatchResult[bytes]]:
    """``POST decrypt/{name}`` with ``batch_input`` (split under ``limits``)."""
    ads = _ads(len(ciphertexts), associated_data)
    items = [
        request(api.DecryptItem, ciphertext=_ascii(c), associated_data=ad or None)
        for c, ad in zip(ciphertexts, ads, strict=True)
    ]
    return _batch(
        f"decrypt/{seg(name)}",
        items,
        limits,
        lambda j: _results(j, api.DecryptResponse, lambda r: bytes(r.plaintext)),
    )


def rewrap(
    name: str, ciphertext: str | bytes, associated_data: bytes | None, key_version: int | None
) -> Call[str]:
    """``POST rewrap/{name}``: the token re-encrypted under the newest (or given) version."""
    req = request(
        api.RewrapRequest,
        ciphertext=_ascii(ciphertext),
        associated_data=associated_data or None,
        key_version=key_version,
    )
    return Call("POST", f"rewrap/{seg(name)}", body(req), lambda j: _ciphertext(j, api.RewrapResponse))


def rewrap_batch(
    name: str,
    ciphertexts: Sequence[str | bytes],
    associated_data: Sequence[bytes | None] | bytes | None,
    limits: BatchLimits = BatchLimits(),
) -> Batch[BatchResult[str]]:
    """``POST rewrap/{name}`` with ``batch_input`` (split under ``limits``)."""
    ads = _ads(len(ciphertexts), associated_data)
    items = [
        request(api.RewrapItem, ciphertext=_ascii(c), associated_data=ad or None)
        for c, ad in zip(ciphertexts, ads, strict=True)
    ]
    return _batch(
        f"rewrap/{seg(name)}",
        items,
        limits,
        lambda j: _results(j, api.RewrapResponse, lambda r: str(r.ciphertext)),
    )


def datakey(name: str, plaintext: bool, associated_data: bytes | None, bits: int | None) -> Call[DataKey]:
    """``POST datakey/plaintext/{name}`` or ``datakey/wrapped/{name}``."""
    kind = "plaintext" if plaintext else "wrapped"
    req = request(api.DatakeyRequest, associated_data=associated_data or None, bits=bits)

    def parse(answer: Json) -> DataKey:
        d = data(api.DatakeyResponse)(answer)
        return DataKey(ciphertext=d.ciphertext, plaintext=d.plaintext, key_version=d.key_version)

    return Call("POST", f"datakey/{kind}/{seg(name)}", body(req), parse)


# ---------------------------------------------------------------- signatures, MACs, misc


def _user_id(user_id: str | bytes | None) -> str | None:
    # The API carries the SM2 distinguishing identifier as text (GB/T 35276 §5.1 default
    # "1234567812345678"); bytes are accepted for symmetry with guomi.primitives.sm2.
    return user_id.decode("utf-8") if isinstance(user_id, bytes) else user_id


def sign(name: str, message: bytes, user_id: str | bytes | None, key_version: int | None) -> Call[str]:
    """``POST sign/{name}``: a signature token ``guomi:v1:<key_version>:<data>``."""
    req = request(api.SignRequest, input=message, user_id=_user_id(user_id), key_version=key_version)

    def parse(j: Json) -> str:
        value = data(api.SignResponse)(j).signature
        if value is None:
            raise InvalidEncodingError("service answer has no 'signature'")
        return value

    return Call("POST", f"sign/{seg(name)}", body(req), parse)


def _valid(j: Json) -> bool:
    value = data(api.VerifyResponse)(j).valid
    if value is None:
        raise InvalidEncodingError("service answer has no 'valid'")
    return value


def verify(name: str, message: bytes, signature: str, user_id: str | bytes | None) -> Call[bool]:
    """``POST verify/{name}``: ``valid`` true or false (an invalid signature is not an error)."""
    req = request(api.VerifyRequest, input=message, signature=signature, user_id=_user_id(user_id))
    return Call("POST", f"verify/{seg(name)}", body(req), _valid)


def hmac(name: str, message: bytes, key_version: int | None) -> Call[str]:
    """``POST hmac/{name}``: the answer's ``hmac`` token (names the key version)."""
    req = request(api.HmacRequest, input=message, key_version=key_version)

    def parse(j: Json) -> str:
        value = data(api.HmacResponse)(j).hmac
        if value is None:
            raise InvalidEncodingError("service answer has no 'hmac'")
        return value

    return Call("POST", f"hmac/{seg(name)}", body(req), parse)


def verify_hmac(name: str, message: bytes, hmac_value: str) -> Call[bool]:
    """``POST verify/{name}`` with ``hmac`` instead of ``signature`` (as Vault does)."""
    req = request(api.VerifyRequest, input=message, hmac=hmac_value)
    return Call("POST", f"verify/{seg(name)}", body(req), _valid)


def random(n: int) -> Call[bytes]:
    """``POST random/{n}``: ``n`` bytes from the server's OS CSPRNG."""

    def parse(j: Json) -> bytes:
        text = data(api.RandomResponse)(j).random_bytes
        try:
            return binascii.a2b_base64(text, strict_mode=True)
        except ValueError as exc:
            raise InvalidEncodingError("service answer: 'random_bytes' is not valid base64") from exc

    return Call("POST", f"random/{int(n)}", {}, parse)


def hash_(message: bytes) -> Call[bytes]:
    """``POST hash``: SM3 of ``message`` (the ``sum`` field, hex)."""

    def parse(answer: Json) -> bytes:
        value = data(api.HashResponse)(answer).sum
        try:
            return bytes.fromhex(value)
        except ValueError as exc:
            raise InvalidEncodingError("service answer: 'sum' is not hex") from exc

    return Call("POST", "hash", body(request(api.HashRequest, input=message)), parse)


# ---------------------------------------------------------------- auth and policies


def create_token(policies: Sequence[str], ttl: str | None) -> Call[api.TokenResponse]:
    """``POST auth/tokens``: the answer holds the new ``token`` (shown once)."""
    req = request(api.CreateTokenRequest, policies=list(policies), ttl=ttl)
    return Call("POST", "auth/tokens", body(req), data(api.TokenResponse))


def lookup_self() -> Call[api.TokenInfo]:
    """``GET auth/tokens/self``."""
    return Call("GET", "auth/tokens/self", parse=data(api.TokenInfo))


def revoke_token(token: str | None, accessor: str | None) -> Call[None]:
    """``POST auth/tokens/revoke`` of a token (or of the caller's own when neither is given)."""
    return Call(
        "POST", "auth/tokens/revoke", body(request(api.RevokeTokenRequest, token=token, accessor=accessor))
    )


def write_policy(name: str, rules: Sequence[api.PolicyRule | dict[str, Json]]) -> Call[api.PolicyResponse]:
    """``PUT policies/{name}`` with ``{"rules": [{"pattern": ..., "capabilities": [...]}]}``."""
    req = request(api.PolicyRequest, rules=[r if isinstance(r, api.PolicyRule) else dict(r) for r in rules])
    return Call("PUT", f"policies/{seg(name)}", body(req), data(api.PolicyResponse))


def read_policy(name: str) -> Call[api.PolicyResponse]:
    """``GET policies/{name}``."""
    return Call("GET", f"policies/{seg(name)}", parse=data(api.PolicyResponse))


def list_policies() -> Call[list[str]]:
    """``GET policies``."""
    parse = data(api.PolicyListResponse)
    return Call("GET", "policies", parse=lambda j: parse(j).policies)


def delete_policy(name: str) -> Call[None]:
    """``DELETE policies/{name}``."""
    return Call("DELETE", f"policies/{seg(name)}")
