"""The one ASGI dispatcher: serves every route of the table.

Layer: ``guomi.kms.http``.  It owns, for every request:

1. the request id (the client's well-formed ``X-Request-Id`` or a random one),
   echoed in the response and written to the audit record;
2. the body limit: a ``Content-Length`` above it is refused (413, connection
   closed) before reading; a streamed body is counted while it arrives;
3. routing: ``(method, path)`` to a :class:`~._routes.Route` by literal
   segments first (404 ``not_found`` for no path, 405 ``method_not_allowed``
   for a known path with another method), path parameters validated;
4. parsing the body whatever its Content-Type (``curl -d`` sends a form type;
   Vault accepts it, so do we) with pydantic's Rust JSON parser (400 naming
   the field), then the bearer token (``Authorization: Bearer`` or Vault's
   ``X-Vault-Token``), authentication (401, audited), one handler call (the
   engine authorises, works and writes the audit record before it returns);
5. the single error-to-response mapping (:func:`error_of`), with the error
   body style of the route (or of the path prefix for 404 / 405).

Why a hand-written dispatcher: FastAPI's per-request machinery (regex routing,
dependency solving, ``Request`` objects, middleware, response classes) cost
about 3/4 of a 1 KiB encrypt on SQLite (cProfile).  FastAPI is kept only to
generate the OpenAPI document from the same table (:mod:`._openapi`).

Threads: small requests on local stores (memory, SQLite: tens of microseconds
of work) run on the event loop thread, which is several times faster than a
hop through the thread pool; writes (``inline=False``), bodies above 16 KiB
(batches) and everything on PostgreSQL (network round trips) run in the thread
pool.  On PostgreSQL the token record and the key's metadata are read ahead in
one round trip (:meth:`~guomi.kms.service.Engine.read_ahead`).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from guomi.api import ErrorCode
from guomi.kms.barrier import BarrierError
from guomi.kms.errors import KMSError
from guomi.kms.http._routes import GUOMI_ERRORS, Call, ErrorStyle, Reply, Route, parse_body, validation_error
from guomi.kms.service import Engine, RequestContext
from guomi.kms.storage import StorageError

__all__ = ["Dispatcher", "bearer_token", "error_of", "request_id_of"]

log = logging.getLogger("guomi.kms")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_PREFIX = "/v1"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_LOCAL_STORES = frozenset({"memory", "sqlite"})
_INLINE_MAX_BODY = 16 * 1024


def request_id_of(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's ``X-Request-Id`` if well-formed, else a fresh random one."""
    for k, v in headers:
        if k == b"x-request-id":
            rid = v.decode("latin-1")
            if _REQUEST_ID_RE.fullmatch(rid) is not None:
                return rid
            break
    return uuid.uuid4().hex


def bearer_token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """``Authorization: Bearer <token>`` (the first such header decides when present and
    non-empty), else ``X-Vault-Token`` for Vault users' scripts."""
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


def error_of(exc: BaseException) -> tuple[int, str, str]:
    """(status, code, message) for any exception: the one error-to-response mapping."""
    if isinstance(exc, KMSError):
        return exc.status, exc.code, exc.message
    if isinstance(exc, StorageError):
        log.error("storage failure: %s", type(exc).__name__)
        return 503, ErrorCode.STORAGE_UNAVAILABLE, "storage unavailable"
    if isinstance(exc, BarrierError):
        log.error("a stored record failed authentication (tampering or corruption)")
        return 500, ErrorCode.STORAGE_INTEGRITY, "a stored record failed its integrity check"
    # Log the type only: an exception message could quote request data.
    log.error("internal error handling a request: %s", type(exc).__name__)
    return 500, ErrorCode.INTERNAL, "internal error"


class _Compiled:
    __slots__ = ("adapters", "audit_template", "literal", "params", "route")

    def __init__(self, route: Route, segments: Sequence[str]) -> None:
        self.route = route
        self.literal: list[tuple[int, str]] = []
        self.params: list[tuple[int, str]] = []
        for i, seg in enumerate(segments):
            if seg.startswith("{") and seg.endswith("}"):
                self.params.append((i, seg[1:-1].split(":")[0]))
            else:
                self.literal.append((i, seg))
        #: The path the audit record names (relative to /v1, without a mount prefix).
        self.audit_template = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path.strip("/"))
        self.adapters: dict[str, TypeAdapter[Any]] = {p: TypeAdapter(t) for p, t in route.param_types.items()}

    def match(self, segs: list[str]) -> dict[str, Any] | None:
        for i, lit in self.literal:
            if segs[i] != lit:
                return None
        out: dict[str, Any] = {}
        for i, p in self.params:
            if not segs[i]:
                return None
            out[p] = segs[i]
        return out

    def typed(self, params: dict[str, Any]) -> dict[str, Any]:
        for p, ta in self.adapters.items():
            try:
                params[p] = ta.validate_python(params[p])
            except ValidationError as exc:
                raise validation_error(exc, (p,)) from None
        return params


class Dispatcher:
    """The ASGI application of the service's ``/v1`` routes."""

    def __init__(
        self,
        engine: Engine,
        routes: Iterable[Route],
        max_body_bytes: int,
        *,
        prefix_errors: Sequence[tuple[str, ErrorStyle]] = (),
        header_errors: Sequence[tuple[bytes, ErrorStyle]] = (),
    ) -> None:
        self.engine = engine
        self.max_body_bytes = max_body_bytes
        #: Error body style for unmatched paths, by path prefix (longest first).
        self.prefix_errors = sorted(prefix_errors, key=lambda pe: -len(pe[0]))
        #: Error body style chosen by a request header, whatever the path (a Vault client
        #: announces itself with ``X-Vault-Request``; it cannot parse guomi's error objects).
        self.header_errors = {name.lower(): style for name, style in header_errors}
        # (number of segments, first segment) -> candidate routes in table order.
        self._index: dict[tuple[int, str], list[_Compiled]] = {}
        for route in routes:
            for mount in ("", *route.aliases):
                segs = (mount.strip("/").split("/") if mount else []) + route.segments()
                key = (len(segs), segs[0] if not segs[0].startswith("{") else "")
                self._index.setdefault(key, []).append(_Compiled(route, segs))

    def match(self, method: str, path: str) -> tuple[_Compiled, dict[str, Any]] | int:
        """The route and raw path parameters, or 404 / 405."""
        if not path.startswith(_PREFIX + "/"):
            return 404
        segs = path[len(_PREFIX) + 1 :].split("/")
        found_path = False
        for key in ((len(segs), segs[0]), (len(segs), "")):
            for c in self._index.get(key, ()):
                params = c.match(segs)
                if params is None:
                    continue
                if c.route.method == method:
                    return c, params
                found_path = True
        return 405 if found_path else 404

    def _errors_for(self, path: str) -> ErrorStyle:
        for prefix, style in self.prefix_errors:
            if path.startswith(prefix):
                return style
        return GUOMI_ERRORS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        rid = request_id_of(headers).encode("ascii")
        path: str = scope.get("path", "")
        override = None
        if self.header_errors:
            for k, _ in headers:
                if k in self.header_errors:
                    override = self.header_errors[k]
                    break
        found = self.match(scope.get("method", ""), path)
        if isinstance(found, int):
            style = override or self._errors_for(path)
            if found == 404:
                body = style(ErrorCode.NOT_FOUND, "no such path")
            else:
                body = style(ErrorCode.METHOD_NOT_ALLOWED, "Method Not Allowed")
            await _reply(send, Reply(found, body), rid)
            return
        compiled, params = found
        route = compiled.route
        errors = override or route.errors
        raw = await self._read_body(headers, receive, send, rid, errors)
        if raw is None:
            return
        eng = self.engine
        client = scope.get("client")
        tls = scope.get("extensions", {}).get("tls") if "extensions" in scope else None
        ctx = RequestContext(
            request_id=rid.decode("ascii"),
            remote_addr=client[0] if client else None,
            client_cert_subject=tls.get("client_cert_name") if tls else None,
        )
        token = bearer_token(headers) if route.auth else None
        # PostgreSQL with its LISTEN/NOTIFY read cache connected answers reads from memory too.
        local = eng.storage.kind in _LOCAL_STORES or getattr(eng.storage, "reads_cached", False)

        def work() -> Reply:
            try:
                typed = compiled.typed(params)
                body = route.fast_parse(raw) if route.fast_parse is not None else None
                if body is None:
                    body = parse_body(route.request, raw, required=route.body_required)
                if not route.auth:
                    return _ok(route, route.handler(Call(eng, None, ctx, typed, body)))
                audit_path = compiled.audit_template.format_map(typed)
                if local:
                    caller = eng.authenticate(token, ctx, audit_path)
                    return _ok(route, route.handler(Call(eng, caller, ctx, typed, body, token)))
                name = typed.get("name")
                with eng.read_ahead(token, (name,) if isinstance(name, str) else ()):
                    caller = eng.authenticate(token, ctx, audit_path)
                    return _ok(route, route.handler(Call(eng, caller, ctx, typed, body, token)))
            except Exception as exc:
                status, code, message = error_of(exc)
                # An error style may speak another protocol's statuses (Vault: 401 -> 403).
                status_for = getattr(errors, "status_for", None)
                if status_for is not None:
                    status = status_for(status)
                return Reply(status, errors(code, message))

        if local and route.inline and len(raw) <= _INLINE_MAX_BODY:
            reply = work()
        else:
            reply = await run_in_threadpool(work)
        await _reply(send, reply, rid)

    async def _read_body(
        self, headers: list[tuple[bytes, bytes]], receive: Receive, send: Send, rid: bytes, errors: ErrorStyle
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
                    body = errors(ErrorCode.PAYLOAD_TOO_LARGE, f"request body larger than {limit} bytes")
                    await _reply(send, Reply(413, body), rid, close=True)
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
                await _reply(
                    send, Reply(413, errors(ErrorCode.PAYLOAD_TOO_LARGE, "request body too large")), rid
                )
                return None
            chunks.append(chunk)
            if not msg.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _ok(route: Route, result: BaseModel | Reply | None) -> Reply:
    if isinstance(result, Reply):
        return result
    if result is None:
        return Reply(204, b"")
    # pydantic's Rust serializer writes the JSON directly (no intermediate dicts).
    js = result.__pydantic_serializer__.to_json(result, exclude_none=True)
    return Reply(200, b'{"data":' + js + b"}" if route.wrap else js)


async def _reply(send: Send, reply: Reply, rid: bytes, *, close: bool = False) -> None:
    headers = [(b"x-request-id", rid)]
    if reply.status != 204:
        headers += [(b"content-length", b"%d" % len(reply.body)), (b"content-type", reply.content_type)]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body if reply.status != 204 else b""})
