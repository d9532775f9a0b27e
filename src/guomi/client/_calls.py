"""Transport-free description of every custody-service call: path, body, and how to read the answer.

Layer: ``guomi.client`` (internal). Each function here returns a :class:`Call` — the HTTP
method, the path under ``/v1``, the JSON body and a parser from the decoded JSON answer to
the value the SDK returns. :class:`guomi.client.Client` and :class:`~guomi.client.AsyncClient`
both run the same calls, so the sync and async SDKs cannot drift apart.

Field names are Vault transit's (``plaintext``, ``ciphertext``, ``associated_data``,
``input``, ``signature``, ``valid``, ``batch_input`` / ``batch_results``, ``hmac``, ``sum``,
``random_bytes``, results under ``data``); binary values travel as standard base64, which
is encoded and decoded here so the user deals in ``bytes``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from guomi.exceptions import InvalidEncodingError, ServiceError

T = TypeVar("T")
U = TypeVar("U")

Json = Any
"""A decoded JSON value (the service's answers are validated field by field where read)."""


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP request and the parser for its JSON answer."""

    method: str
    path: str
    body: Json = None
    parse: Callable[[Json], T] = field(default=lambda _j: None)  # type: ignore[assignment]
    authenticated: bool = True


@dataclass(frozen=True)
class BatchResult(Generic[T]):
    """One item of a ``batch_input`` answer: either ``value`` or ``error`` is set.

    Items come back in the order they were sent; an item's failure does not fail the batch.
    """

    value: T | None
    error: str | None = None
    key_version: int | None = None

    @property
    def ok(self) -> bool:
        """True when this item succeeded."""
        return self.error is None

    def unwrap(self) -> T:
        """The value, or raise :class:`~guomi.exceptions.ServiceError` naming the item's error."""
        if self.error is not None or self.value is None:
            raise ServiceError(f"batch item failed: {self.error}", status=400, code="batch_item_error")
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


def b64(data: bytes) -> str:
    """Standard base64 (RFC 4648 §4) of ``data``, as the service expects."""
    return base64.b64encode(bytes(data)).decode("ascii")


def unb64(value: Json, what: str) -> bytes:
    """Decode a base64 field of an answer; a malformed one is the service's fault."""
    if not isinstance(value, str):
        raise InvalidEncodingError(f"service answer: {what} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidEncodingError(f"service answer: {what} is not valid base64") from exc


def data_of(answer: Json) -> dict[str, Json]:
    """The ``data`` object of an answer (Vault puts results there)."""
    if isinstance(answer, Mapping):
        inner = answer.get("data", answer)
        if isinstance(inner, Mapping):
            return dict(inner)
    raise InvalidEncodingError("service answer has no JSON object under 'data'")


def _field(answer: Json, name: str) -> Json:
    data = data_of(answer)
    if name not in data:
        raise InvalidEncodingError(f"service answer has no '{name}' field")
    return data[name]


def _str_field(answer: Json, name: str) -> str:
    value = _field(answer, name)
    if not isinstance(value, str):
        raise InvalidEncodingError(f"service answer: '{name}' is not a string")
    return value


def _opt_int(value: Json) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def seg(name: str) -> str:
    """A key or policy name as one path segment (quoted so '/' or '..' cannot change the route)."""
    if not isinstance(name, str) or not name:
        raise ValueError("name must be a non-empty string")
    return quote(name, safe="")


def _ad(body: dict[str, Json], associated_data: bytes | None) -> dict[str, Json]:
    if associated_data:
        body["associated_data"] = b64(associated_data)
    return body


def _batch(answer: Json, parse_item: Callable[[Mapping[str, Json]], T]) -> list[BatchResult[T]]:
    items = _field(answer, "batch_results")
    if not isinstance(items, list):
        raise InvalidEncodingError("service answer: 'batch_results' is not a list")
    out: list[BatchResult[T]] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise InvalidEncodingError("service answer: a batch result is not an object")
        error = item.get("error")
        if error:
            out.append(BatchResult(None, str(error), _opt_int(item.get("key_version"))))
        else:
            out.append(BatchResult(parse_item(item), None, _opt_int(item.get("key_version"))))
    return out


def _items(
    values: Sequence[bytes],
    key: str,
    associated_data: Sequence[bytes | None] | bytes | None,
    encode: Callable[[bytes], str] = b64,
) -> list[dict[str, Json]]:
    if isinstance(associated_data, (bytes, bytearray, memoryview)):
        ads: Sequence[bytes | None] = [bytes(associated_data)] * len(values)
    elif associated_data is None:
        ads = [None] * len(values)
    else:
        ads = associated_data
        if len(ads) != len(values):
            raise ValueError("associated_data must have one entry per item")
    return [_ad({key: encode(v)}, ad) for v, ad in zip(values, ads, strict=True)]


def _ascii(token: str | bytes) -> str:
    return token.decode("ascii") if isinstance(token, (bytes, bytearray)) else token


# ---------------------------------------------------------------- sys


def health() -> Call[dict[str, Json]]:
    """``GET sys/health``; the answer is returned whatever the status (200 / 501 / 503)."""
    return Call(
        "GET", "sys/health", parse=lambda j: dict(j) if isinstance(j, Mapping) else {}, authenticated=False
    )


def init(secret_shares: int, secret_threshold: int) -> Call[dict[str, Json]]:
    """``POST sys/init``: the answer holds the shares and the root token, shown only once."""
    body = {"secret_shares": secret_shares, "secret_threshold": secret_threshold}
    return Call("POST", "sys/init", body, data_of, authenticated=False)


def unseal(share: str | None = None, *, reset: bool = False) -> Call[dict[str, Json]]:
    """``POST sys/unseal`` with one share; the answer reports ``sealed`` and ``progress``."""
    body: dict[str, Json] = {"reset": True} if reset else {"key": share}
    return Call("POST", "sys/unseal", body, data_of, authenticated=False)


def seal_status() -> Call[dict[str, Json]]:
    """``GET sys/seal-status``."""
    return Call("GET", "sys/seal-status", parse=data_of, authenticated=False)


def seal() -> Call[None]:
    """``POST sys/seal``: drop every key from memory."""
    return Call("POST", "sys/seal", {})


# ---------------------------------------------------------------- keys


def create_key(name: str, key_type: str, options: Mapping[str, Json]) -> Call[dict[str, Json]]:
    """``POST keys/{name}``."""
    body = {"type": key_type, **{k: v for k, v in options.items() if v is not None}}
    return Call("POST", f"keys/{seg(name)}", body, _data_or_empty)


def _data_or_empty(answer: Json) -> dict[str, Json]:
    if answer is None or answer == {}:
        return {}
    return data_of(answer)


def list_keys() -> Call[list[str]]:
    """``GET keys``: names of every key."""

    def parse(answer: Json) -> list[str]:
        keys = _field(answer, "keys")
        if not isinstance(keys, list):
            raise InvalidEncodingError("service answer: 'keys' is not a list")
        return [str(k) for k in keys]

    return Call("GET", "keys", parse=parse)


def read_key(name: str) -> Call[dict[str, Json]]:
    """``GET keys/{name}``: metadata, versions, SM2 public keys (PEM)."""
    return Call("GET", f"keys/{seg(name)}", parse=data_of)


def rotate_key(name: str) -> Call[dict[str, Json]]:
    """``POST keys/{name}/rotate``."""
    return Call("POST", f"keys/{seg(name)}/rotate", {}, _data_or_empty)


def configure_key(name: str, options: Mapping[str, Json]) -> Call[dict[str, Json]]:
    """``POST keys/{name}/config`` (only the options given are changed)."""
    body = {k: v for k, v in options.items() if v is not None}
    return Call("POST", f"keys/{seg(name)}/config", body, _data_or_empty)


def delete_key(name: str) -> Call[None]:
    """``DELETE keys/{name}`` (the key must allow deletion)."""
    return Call("DELETE", f"keys/{seg(name)}")


def backup_key(name: str) -> Call[str]:
    """``GET keys/{name}/backup``: the key with all versions, sealed for this installation."""
    return Call("GET", f"keys/{seg(name)}/backup", parse=lambda j: _str_field(j, "backup"))


def restore_key(backup: str, name: str | None = None, force: bool = False) -> Call[dict[str, Json]]:
    """``POST keys/restore``."""
    body: dict[str, Json] = {"backup": backup}
    if name is not None:
        body["name"] = name
    if force:
        body["force"] = True
    return Call("POST", "keys/restore", body, _data_or_empty)


# ---------------------------------------------------------------- encryption


def encrypt(name: str, plaintext: bytes, associated_data: bytes | None, key_version: int | None) -> Call[str]:
    """``POST encrypt/{name}``: the answer's ``ciphertext`` token."""
    body = _ad({"plaintext": b64(plaintext)}, associated_data)
    if key_version is not None:
        body["key_version"] = key_version
    return Call("POST", f"encrypt/{seg(name)}", body, lambda j: _str_field(j, "ciphertext"))


def encrypt_batch(
    name: str, plaintexts: Sequence[bytes], associated_data: Sequence[bytes | None] | bytes | None
) -> Call[list[BatchResult[str]]]:
    """``POST encrypt/{name}`` with ``batch_input``."""
    body = {"batch_input": _items(plaintexts, "plaintext", associated_data)}
    return Call("POST", f"encrypt/{seg(name)}", body, lambda j: _batch(j, lambda i: str(i["ciphertext"])))


def decrypt(name: str, ciphertext: str | bytes, associated_data: bytes | None) -> Call[bytes]:
    """``POST decrypt/{name}``: the plaintext, base64-decoded."""
    body = _ad({"ciphertext": _ascii(ciphertext)}, associated_data)
    return Call("POST", f"decrypt/{seg(name)}", body, lambda j: unb64(_field(j, "plaintext"), "plaintext"))


def decrypt_batch(
    name: str, ciphertexts: Sequence[str | bytes], associated_data: Sequence[bytes | None] | bytes | None
) -> Call[list[BatchResult[bytes]]]:
    """``POST decrypt/{name}`` with ``batch_input``."""
    tokens = [_ascii(c).encode("ascii") for c in ciphertexts]
    body = {"batch_input": _items(tokens, "ciphertext", associated_data, encode=lambda t: t.decode("ascii"))}
    return Call(
        "POST",
        f"decrypt/{seg(name)}",
        body,
        lambda j: _batch(j, lambda i: unb64(i.get("plaintext"), "plaintext")),
    )


def rewrap(
    name: str, ciphertext: str | bytes, associated_data: bytes | None, key_version: int | None
) -> Call[str]:
    """``POST rewrap/{name}``: the token re-encrypted under the newest (or given) version."""
    body = _ad({"ciphertext": _ascii(ciphertext)}, associated_data)
    if key_version is not None:
        body["key_version"] = key_version
    return Call("POST", f"rewrap/{seg(name)}", body, lambda j: _str_field(j, "ciphertext"))


def rewrap_batch(
    name: str, ciphertexts: Sequence[str | bytes], associated_data: Sequence[bytes | None] | bytes | None
) -> Call[list[BatchResult[str]]]:
    """``POST rewrap/{name}`` with ``batch_input``."""
    tokens = [_ascii(c).encode("ascii") for c in ciphertexts]
    body = {"batch_input": _items(tokens, "ciphertext", associated_data, encode=lambda t: t.decode("ascii"))}
    return Call("POST", f"rewrap/{seg(name)}", body, lambda j: _batch(j, lambda i: str(i["ciphertext"])))


def datakey(name: str, plaintext: bool, associated_data: bytes | None, bits: int | None) -> Call[DataKey]:
    """``POST datakey/plaintext/{name}`` or ``datakey/wrapped/{name}``."""
    kind = "plaintext" if plaintext else "wrapped"
    body = _ad({}, associated_data)
    if bits is not None:
        body["bits"] = bits

    def parse(answer: Json) -> DataKey:
        data = data_of(answer)
        pt = data.get("plaintext")
        return DataKey(
            ciphertext=_str_field(answer, "ciphertext"),
            plaintext=unb64(pt, "plaintext") if pt is not None else None,
            key_version=_opt_int(data.get("key_version")),
        )

    return Call("POST", f"datakey/{kind}/{seg(name)}", body, parse)


# ---------------------------------------------------------------- signatures, MACs, misc


def _user_id(user_id: str | bytes) -> str:
    # The API carries the SM2 distinguishing identifier as text (GB/T 35276 §5.1 default
    # "1234567812345678"); bytes are accepted for symmetry with guomi.primitives.sm2.
    return user_id.decode("utf-8") if isinstance(user_id, bytes) else user_id


def sign(name: str, data: bytes, user_id: str | bytes | None, key_version: int | None) -> Call[str]:
    """``POST sign/{name}``: a signature token ``guomi:v1:<key_version>:<data>``."""
    body: dict[str, Json] = {"input": b64(data)}
    if user_id is not None:
        body["user_id"] = _user_id(user_id)
    if key_version is not None:
        body["key_version"] = key_version
    return Call("POST", f"sign/{seg(name)}", body, lambda j: _str_field(j, "signature"))


def verify(name: str, data: bytes, signature: str, user_id: str | bytes | None) -> Call[bool]:
    """``POST verify/{name}``: ``valid`` true or false (an invalid signature is not an error)."""
    body: dict[str, Json] = {"input": b64(data), "signature": signature}
    if user_id is not None:
        body["user_id"] = _user_id(user_id)

    return Call("POST", f"verify/{seg(name)}", body, _valid)


def hmac(name: str, data: bytes, key_version: int | None) -> Call[str]:
    """``POST hmac/{name}``: the answer's ``hmac`` string (names the key version)."""
    body: dict[str, Json] = {"input": b64(data)}
    if key_version is not None:
        body["key_version"] = key_version
    return Call("POST", f"hmac/{seg(name)}", body, lambda j: _str_field(j, "hmac"))


def verify_hmac(name: str, data: bytes, hmac_value: str) -> Call[bool]:
    """``POST verify/{name}`` with ``hmac`` instead of ``signature`` (as Vault does)."""
    body: dict[str, Json] = {"input": b64(data), "hmac": hmac_value}
    return Call("POST", f"verify/{seg(name)}", body, _valid)


def _valid(answer: Json) -> bool:
    valid = _field(answer, "valid")
    if not isinstance(valid, bool):
        raise InvalidEncodingError("service answer: 'valid' is not a boolean")
    return valid


def random(n: int) -> Call[bytes]:
    """``POST random/{n}``: ``n`` bytes from the server's OS CSPRNG."""
    return Call("POST", f"random/{int(n)}", {}, lambda j: unb64(_field(j, "random_bytes"), "random_bytes"))


def hash_(data: bytes) -> Call[bytes]:
    """``POST hash``: SM3 of ``data`` (the ``sum`` field, hex)."""

    def parse(answer: Json) -> bytes:
        value = _str_field(answer, "sum")
        try:
            return bytes.fromhex(value)
        except ValueError as exc:
            raise InvalidEncodingError("service answer: 'sum' is not hex") from exc

    return Call("POST", "hash", {"input": b64(data)}, parse)


# ---------------------------------------------------------------- auth and policies


def create_token(policies: Sequence[str], ttl: str | None) -> Call[dict[str, Json]]:
    """``POST auth/tokens``: the answer holds the new ``token`` (shown once)."""
    body: dict[str, Json] = {"policies": list(policies)}
    if ttl is not None:
        body["ttl"] = ttl
    return Call("POST", "auth/tokens", body, data_of)


def lookup_self() -> Call[dict[str, Json]]:
    """``GET auth/tokens/self``."""
    return Call("GET", "auth/tokens/self", parse=data_of)


def revoke_token(token: str | None, accessor: str | None) -> Call[None]:
    """``POST auth/tokens/revoke`` of a token (or of the caller's own when neither is given)."""
    body: dict[str, Json] = {}
    if token is not None:
        body["token"] = token
    if accessor is not None:
        body["accessor"] = accessor
    return Call("POST", "auth/tokens/revoke", body)


def write_policy(name: str, rules: Sequence[Mapping[str, Json]]) -> Call[None]:
    """``PUT policies/{name}`` with ``{"rules": [{"pattern": ..., "capabilities": [...]}]}``."""
    return Call("PUT", f"policies/{seg(name)}", {"rules": [dict(r) for r in rules]})


def read_policy(name: str) -> Call[dict[str, Json]]:
    """``GET policies/{name}``."""
    return Call("GET", f"policies/{seg(name)}", parse=data_of)


def list_policies() -> Call[list[str]]:
    """``GET policies``."""

    def parse(answer: Json) -> list[str]:
        names = _field(answer, "policies")
        return [str(n) for n in names] if isinstance(names, list) else []

    return Call("GET", "policies", parse=parse)


def delete_policy(name: str) -> Call[None]:
    """``DELETE policies/{name}``."""
    return Call("DELETE", f"policies/{seg(name)}")
