"""Fast dispatch of the hot routes: encrypt, decrypt, rewrap, sign, verify, hmac, health.

Layer: ``guomi.kms.http``.  FastAPI's per-request machinery (routing through
every route's regex, dependency solving, ``Request`` objects, the middleware
stack, response classes) costs several times what the engine does for a
1 KiB encrypt on SQLite (measured with cProfile: about 3/4 of the time of a
request through the ASGI app).  These routes are therefore answered by a
plain ASGI handler that the application calls *before* FastAPI, while the
FastAPI routes with the same paths stay registered, so the OpenAPI document
still describes them exactly (same request and response models).

The handler does precisely what :func:`~guomi.kms.http._common.dispatch` and
:class:`~guomi.kms.app.BodyLimitMiddleware` do, in the same order, with the
same error bodies:

1. request id (the client's well-formed ``X-Request-Id`` or a random one),
   echoed in the response;
2. body limit: a ``Content-Length`` above the limit is refused (413, connection
   closed) before reading; a streamed body is counted while it arrives;
3. parse and validate the body with pydantic's Rust JSON parser (400 naming
   the field), then authenticate the bearer token (401, audited), then one
   engine call, which authorises, works and writes the audit record before it
   returns (so nothing reaches the client that is not audited);
4. ``{"data": ...}`` serialised by pydantic's Rust serializer.

Nothing about authentication, authorisation or audit is different from the
FastAPI path: the engine is the same and is called the same way.
"""

from __future__ import annotations

import binascii
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from pydantic_core import from_json
from starlette.concurrency import run_in_threadpool

from guomi import api
from guomi.kms.barrier import BarrierError
from guomi.kms.errors import KMSError
from guomi.kms.http._common import parse_body, request_id_of, validation_message
from guomi.kms.service import Caller, Engine, RequestContext
from guomi.kms.storage import StorageError

__all__ = ["FastRoutes"]

log = logging.getLogger("guomi.kms")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_Call = Callable[[Engine, Caller, str, Any], BaseModel]

#: operation -> (request model, engine call).  Paths ``/v1/<op>/<name>`` and the Vault
#: alias ``/v1/transit/<op>/<name>``, POST only (anything else goes to FastAPI).
_OPS: dict[str, tuple[type[BaseModel], _Call]] = {
    "encrypt": (api.EncryptRequest, lambda e, c, n, b: e.encrypt(c, n, b)),
    "decrypt": (api.DecryptRequest, lambda e, c, n, b: e.decrypt(c, n, b)),
    "rewrap": (api.RewrapRequest, lambda e, c, n, b: e.rewrap(c, n, b)),
    "sign": (api.SignRequest, lambda e, c, n, b: e.sign(c, n, b)),
    "verify": (api.VerifyRequest, lambda e, c, n, b: e.verify(c, n, b)),
    "hmac": (api.HmacRequest, lambda e, c, n, b: e.hmac(c, n, b)),
}

#: As in ``_common``: local stores answer small requests on the event loop thread
#: (tens of microseconds of work; a thread-pool hop costs more than that), while
#: PostgreSQL (network round trips) and big bodies (batches) go to the thread pool.
_LOCAL_STORES = frozenset({"memory", "sqlite"})
_INLINE_MAX_BODY = 16 * 1024

_HEALTH = "/v1/sys/health"
_JSON = (b"content-type", b"application/json")


def _error_body(code: str, message: str) -> bytes:
    # Same bytes as _common.error_response.
    return json.dumps(
        {"errors": [{"code": code, "message": message}]}, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def _error_of(exc: Exception) -> tuple[int, bytes]:
    """Status and body for an exception, as the FastAPI exception handlers in ``app.py``."""
    if isinstance(exc, RequestValidationError):
        code, message = validation_message(exc)
        return 400, _error_body(code, message)
    if isinstance(exc, KMSError):
        return exc.status, _error_body(exc.code, exc.message)
    if isinstance(exc, StorageError):
        log.error("storage failure: %s", type(exc).__name__)
        return 503, _error_body("storage_unavailable", "storage unavailable")
    if isinstance(exc, BarrierError):
        log.error("a stored record failed authentication (tampering or corruption)")
        return 500, _error_body("storage_integrity", "a stored record failed its integrity check")
    # Log the type only: an exception message could quote request data.
    log.error("internal error handling a request: %s", type(exc).__name__)
    return 500, _error_body("internal", "internal error")


def _bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    """As ``_common.bearer_token``: the first ``Authorization`` header decides when present
    and non-empty; otherwise ``X-Vault-Token``."""
    authz: bytes | None = None
    vault: bytes | None = None
    for k, v in headers:
        if k == b"authorization":
            if authz is None:
                authz = v
        elif k == b"x-vault-token" and vault is None:
            vault = v
    if authz:
        scheme, _, value = authz.decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    if vault:
        return vault.decode("latin-1").strip() or None
    return None


#: Batch items the plain path takes (anything else, e.g. ``key_version``, takes the model path).
_PLAIN_ITEM_KEYS = {
    "encrypt": frozenset({"plaintext", "associated_data", "reference"}),
    "decrypt": frozenset({"ciphertext", "associated_data", "reference"}),
}
_a2b = binascii.a2b_base64

PlainItems = list[tuple[Any, bytes | None, str | None]]


def _plain_batch(op: str, raw: bytes) -> PlainItems | None:
    """The items of a well-formed ``{"batch_input": [...]}`` encrypt or decrypt body as plain
    ``(plaintext bytes | ciphertext str, associated_data, reference)`` tuples, or ``None``.

    ``None`` means "not certainly valid": the request then takes the model path
    (:func:`parse_body` and the engine's model methods), which produces every error body
    exactly as before.  So this only has to accept precisely what the strict request
    models accept, never to describe what is wrong: one JSON parse (pydantic-core),
    ``type() is`` checks, and base64 decoding with the same strict rules as ``B64Bytes``
    (standard alphabet, padded, no whitespace; a non-ASCII str raises ValueError)."""
    allowed = _PLAIN_ITEM_KEYS[op]
    main = "plaintext" if op == "encrypt" else "ciphertext"
    decode_main = op == "encrypt"
    out: PlainItems = []
    append = out.append
    # Every "not plain" case raises ValueError (as binascii.Error and from_json do).
    try:
        doc = from_json(raw)
        items = doc.get("batch_input") if type(doc) is dict and len(doc) == 1 else None
        if type(items) is not list:
            raise ValueError
        for it in items:
            if type(it) is not dict:
                raise ValueError
            value = it.get(main)
            if type(value) is not str:
                raise ValueError
            ad = ref = None
            if len(it) > 1:
                if not it.keys() <= allowed:
                    raise ValueError
                ad = it.get("associated_data")
                if ad is not None:
                    if type(ad) is not str:
                        raise ValueError
                    ad = _a2b(ad, strict_mode=True)
                ref = it.get("reference")
                if ref is not None and type(ref) is not str:
                    raise ValueError
            append((_a2b(value, strict_mode=True) if decode_main else value, ad, ref))
    except ValueError:
        return None
    return out


class FastRoutes:
    """The hot routes as a plain ASGI handler; :meth:`match` says whether a request is one."""

    def __init__(self, engine: Engine, max_body_bytes: int) -> None:
        self.engine = engine
        self.max_body_bytes = max_body_bytes

    async def _read_body(
        self, headers: list[tuple[bytes, bytes]], receive: Receive, send: Send, rid: bytes
    ) -> bytes | None:
        """The whole body, or ``None`` after answering 413 (or on a disconnect)."""
        limit = self.max_body_bytes
        for k, v in headers:
            if k == b"content-length":
                try:
                    too_big = int(v) > limit
                except ValueError:
                    too_big = False
                if too_big:
                    body = _error_body("payload_too_large", f"request body larger than {limit} bytes")
                    await _reply(send, 413, body, rid, close=True)
                    return None
        chunks: list[bytes] = []
        received = 0
        while True:
            msg = await receive()
            if msg["type"] != "http.request":  # http.disconnect: nobody to answer
                return None
            chunk = msg.get("body", b"")
            received += len(chunk)
            if received > limit:
                await _reply(send, 413, _error_body("payload_too_large", "request body too large"), rid)
                return None
            chunks.append(chunk)
            if not msg.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _health(self, send: Send, rid: bytes) -> None:
        try:
            if self.engine.storage.kind in _LOCAL_STORES:
                status, health = self.engine.health()
            else:  # may read the store (network) until initialised
                status, health = await run_in_threadpool(self.engine.health)
        except Exception as exc:  # e.g. storage unreachable: 503, as the FastAPI route
            status, body = _error_of(exc)
            await _reply(send, status, body, rid)
            return
        await _reply(send, status, json.dumps(health.model_dump(mode="json")).encode(), rid)

    def match(self, scope: Scope) -> tuple[str, str] | None:
        """``(operation, key name)`` for a hot route, else ``None`` (FastAPI handles it)."""
        method = scope.get("method")
        path: str = scope.get("path", "")
        if method == "GET":
            return ("health", "") if path == _HEALTH else None
        if method != "POST":
            return None
        if path.startswith("/v1/transit/"):
            rest = path[12:]
        elif path.startswith("/v1/"):
            rest = path[4:]
        else:
            return None
        op, sep, name = rest.partition("/")
        # Starlette's {name} matches one non-empty segment; anything else is FastAPI's to answer.
        if not sep or not name or "/" in name or op not in _OPS:
            return None
        return op, name

    async def __call__(self, scope: Scope, receive: Receive, send: Send, route: tuple[str, str]) -> None:
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        rid = request_id_of(headers).encode("ascii")
        op, name = route
        if op == "health":
            await self._health(send, rid)
            return
        raw = await self._read_body(headers, receive, send, rid)
        if raw is None:
            return
        eng = self.engine
        model, call = _OPS[op]
        token = _bearer(headers)
        client = scope.get("client")
        ctx = RequestContext(request_id=rid.decode("ascii"), remote_addr=client[0] if client else None)
        path = f"{op}/{name}"

        def work(prefetch: bool) -> tuple[int, bytes]:
            try:
                plain = _plain_batch(op, raw) if op in _PLAIN_ITEM_KEYS and b"batch_input" in raw else None
                if plain is None:
                    body = parse_body(model, raw)
                if prefetch:
                    # Networked store: token record and key metadata in one round trip.
                    eng.prefetch(token, (name,))
                caller = eng.authenticate(token, ctx, path)
                if plain is not None:
                    # Batches: plain values in, the JSON of batch_results out (no per-item
                    # pydantic objects); same checks, errors and audit record as the model path.
                    batch_call = eng.encrypt_batch_json if op == "encrypt" else eng.decrypt_batch_json
                    return 200, b'{"data":{"batch_results":' + batch_call(caller, name, plain) + b"}}"
                result = call(eng, caller, name, body)
            except Exception as exc:
                return _error_of(exc)
            finally:
                if prefetch:
                    eng.end_request()
            # pydantic's Rust serializer writes the JSON directly (no intermediate dicts).
            return 200, b'{"data":' + result.__pydantic_serializer__.to_json(result, exclude_none=True) + b"}"

        local = eng.storage.kind in _LOCAL_STORES
        if local and len(raw) <= _INLINE_MAX_BODY:
            status, body = work(False)
        else:
            status, body = await run_in_threadpool(work, not local)
        await _reply(send, status, body, rid)


async def _reply(send: Send, status: int, body: bytes, rid: bytes, *, close: bool = False) -> None:
    headers = [(b"content-length", str(len(body)).encode("ascii")), _JSON, (b"x-request-id", rid)]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
