"""Shared helpers of the HTTP routes: authentication, JSON responses, error bodies.

Layer: ``guomi.kms.http``.  Every FastAPI route goes through :func:`dispatch` (or
:func:`dispatch_unauthenticated` for ``sys/init`` / ``sys/unseal``); the hot
routes are answered first by :mod:`guomi.kms.http.fast`, which follows the
same steps with the helpers below.  The steps: read the
body whatever its Content-Type, parse it with pydantic's Rust JSON parser
(errors name the field), authenticate, call one engine method, wrap the
result.  Small crypto requests on a local store (memory, SQLite: tens of
microseconds of work) run directly on the event loop; administrative requests
(they write and fsync), batches and PostgreSQL-backed requests run in the
thread pool, so neither network waits nor milliseconds of work stall the loop.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.concurrency import run_in_threadpool

from guomi import api
from guomi.kms.service import Caller, Engine, RequestContext

__all__ = [
    "DOCUMENTED_BODIES",
    "ERROR_RESPONSES",
    "NoBody",
    "body_doc",
    "context",
    "dispatch",
    "dispatch_unauthenticated",
    "engine_of",
    "error_response",
    "ok",
    "parse_body",
    "request_id_of",
    "validation_message",
]

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

#: OpenAPI documentation of the error body on every route.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": desc, "model": api.ErrorResponse}
    for code, desc in (
        (400, "bad input (the message names the field)"),
        (401, "no token, or an unknown, expired or revoked one"),
        (403, "denied by policy"),
        (404, "unknown key"),
        (409, "conflict"),
        (413, "body or batch too large"),
        (503, "sealed, or the audit log cannot be written"),
    )
}


def engine_of(request: Request) -> Engine:
    """The engine the app was built with."""
    eng: Engine = request.app.state.engine
    return eng


def request_id_of(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's ``X-Request-Id`` if well-formed, else a fresh random one."""
    for k, v in headers:
        if k == b"x-request-id":
            rid = v.decode("latin-1")
            if _REQUEST_ID_RE.fullmatch(rid) is not None:
                return rid
            break
    return uuid.uuid4().hex


def context(request: Request) -> RequestContext:
    """Request id (set by the middleware, echoed as ``X-Request-Id``) and peer address."""
    rid = getattr(request.state, "request_id", None) or request_id_of(request.scope.get("headers", ()))
    client = request.client
    return RequestContext(request_id=rid, remote_addr=client.host if client else None)


def bearer_token(request: Request) -> str | None:
    """``Authorization: Bearer <token>``, or ``X-Vault-Token`` for Vault users' scripts."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    vault = request.headers.get("x-vault-token")
    return vault.strip() if vault else None


#: Stores whose reads are local and short (no network round trip): small
#: requests on them run on the event loop thread, which is several times faster
#: than a hop through the thread pool.  PostgreSQL (network I/O) and large
#: bodies (batches: milliseconds of parsing and crypto) go to the thread pool.
_LOCAL_STORES = frozenset({"memory", "sqlite"})
_INLINE_MAX_BODY = 16 * 1024

M = TypeVar("M", bound=BaseModel)

#: Request models documented through :func:`body_doc` (added to the OpenAPI components).
DOCUMENTED_BODIES: list[type[BaseModel]] = []


def body_doc(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` describing a JSON body that the route parses itself."""
    DOCUMENTED_BODIES.append(model)
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": ref}}}}


def parse_body(model: type[M], raw: bytes, *, optional: bool = False) -> M:
    """Validates raw JSON with pydantic's Rust parser (several times faster than
    ``json.loads`` then validation on large batches); errors become 400s naming the field."""
    if not raw.strip():
        if optional:
            return model()
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required"}])
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


async def dispatch(
    request: Request,
    path: str,
    model: type[M],
    call: Callable[[Engine, Caller, M], BaseModel | None],
    *,
    optional: bool = False,
    admin: bool = False,
) -> Response:
    """Parses the body, authenticates and runs ``call``.

    Bodies are read whatever the Content-Type (``curl -d`` sends a form type;
    Vault accepts it, so do we).  Hot requests run inline (see above);
    ``admin`` requests (they write and fsync) always run in the thread pool."""
    eng = engine_of(request)
    raw = await request.body()
    token = bearer_token(request)
    ctx = context(request)

    def work() -> Response:
        body = parse_body(model, raw, optional=optional)
        caller = eng.authenticate(token, ctx, path)
        return ok(call(eng, caller, body))

    if not admin and eng.storage.kind in _LOCAL_STORES and len(raw) <= _INLINE_MAX_BODY:
        return work()
    return await run_in_threadpool(work)


async def dispatch_unauthenticated(
    request: Request, model: type[M], call: Callable[[Engine, RequestContext, M], BaseModel | None]
) -> Response:
    """``sys/init`` and ``sys/unseal``: parse, then run in the thread pool without a token."""
    eng = engine_of(request)
    raw = await request.body()
    ctx = context(request)

    def work() -> Response:
        return ok(call(eng, ctx, parse_body(model, raw)))

    return await run_in_threadpool(work)


class NoBody(BaseModel):
    """Routes without a request body accept an empty one (or ``{}``)."""

    model_config = ConfigDict(extra="forbid")


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "path", "query")]
    return ".".join(parts) or "body"


def validation_message(exc: RequestValidationError) -> tuple[str, str]:
    """(code, message) of a 400 for a body that failed validation; the message names the fields."""
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return "invalid_json", "body: malformed JSON"
    msgs = []
    for e in errors[:5]:
        loc = tuple(e.get("loc", ()))
        if e.get("type") == "missing" and loc == ("body",):
            msgs.append("body: a JSON object is required")
            continue
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        msgs.append(f"{_field_of(loc)}: {msg}")
    return "invalid_request", "; ".join(msgs)


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def ok(model: BaseModel | None, status: int = 200) -> Response:
    """``{"data": model}`` (``None`` fields dropped), or 204 for ``None``."""
    if model is None:
        return Response(status_code=204)
    # pydantic's Rust serializer writes the JSON directly (no intermediate dicts).
    body = b'{"data":' + model.__pydantic_serializer__.to_json(model, exclude_none=True) + b"}"
    return Response(body, status_code=status, media_type="application/json")


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """``{"errors": [{"code", "message"}]}``."""
    return Response(
        _dumps({"errors": [{"code": code, "message": message}]}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )
