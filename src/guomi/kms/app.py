"""The ASGI application: ``create_app(config)`` -> FastAPI app serving ``/v1``.

Layer: ``guomi.kms``.  Wires the engine (``service.Engine``) to the routes
(``http/``), turns every error into ``{"errors": [{"code", "message"}]}``
with the status SERVICE.md gives, limits body sizes (413), serves the
OpenAPI document at ``/v1/openapi.json`` (``/v1/docs`` for people), and runs
the background auto-rotation scan.  The hot routes (encrypt, decrypt, rewrap,
sign, verify, hmac, health) are answered before FastAPI by
:class:`~guomi.kms.http.fast.FastRoutes` (see there why and what it keeps
identical).  Run it with any ASGI server, e.g.
``uvicorn --factory guomi.kms.app:app_from_env`` or ``guomi server``.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from guomi import __version__
from guomi.kms._build import build_engine
from guomi.kms.barrier import BarrierError
from guomi.kms.config import Config
from guomi.kms.errors import KMSError
from guomi.kms.http import include_routes
from guomi.kms.http._common import DOCUMENTED_BODIES, error_response, request_id_of, validation_message
from guomi.kms.http.fast import FastRoutes
from guomi.kms.service import Engine
from guomi.kms.storage import StorageError

__all__ = ["BodyLimitMiddleware", "ServiceApp", "app_from_env", "create_app"]

log = logging.getLogger("guomi.kms")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEV_WARNING = """
==============================================================================
 WARNING: guomi custody service running in DEV MODE.
 Storage is {storage}; the master key has ONE share and the service unsealed
 itself. Nothing here is protected. Never use dev mode for real keys.
 Root token: {token}
==============================================================================
"""


class _BodyTooLarge(StarletteHTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=413, detail="request body too large")


class BodyLimitMiddleware:
    """Refuses bodies above ``max_bytes`` (413) by Content-Length or while streaming, and
    gives every request an id (the client's ``X-Request-Id`` if well-formed), echoed in the
    response header and written to the audit record."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope.get("headers", ()))
        scope.setdefault("state", {})["request_id"] = rid
        rid_header = (b"x-request-id", rid.encode("ascii"))

        async def send_with_id(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                msg["headers"] = [*msg.get("headers", ()), rid_header]
            await send(msg)

        for k, v in scope.get("headers", ()):
            if k == b"content-length":
                try:
                    too_big = int(v) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._reject(send_with_id)
                    return
        received = 0

        async def limited() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge()
            return msg

        await self.app(scope, limited, send_with_id)

    async def _reject(self, send: Send) -> None:
        resp = error_response(413, "payload_too_large", f"request body larger than {self.max_bytes} bytes")
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": resp.body})


class ServiceApp(FastAPI):
    """FastAPI, with the hot routes answered first by :class:`~guomi.kms.http.fast.FastRoutes`.

    Their FastAPI routes stay registered (and documented in OpenAPI); they are
    reached only if ``fast`` is unset."""

    fast: FastRoutes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = self.fast
        if fast is not None and scope["type"] == "http":
            route = fast.match(scope)
            if route is not None:
                await fast(scope, receive, send, route)
                return
        await super().__call__(scope, receive, send)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(KMSError)
    async def kms_error(_: Request, exc: KMSError) -> Response:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(StorageError)
    async def storage_error(_: Request, exc: StorageError) -> Response:
        log.error("storage failure: %s", type(exc).__name__)
        return error_response(503, "storage_unavailable", "storage unavailable")

    @app.exception_handler(BarrierError)
    async def barrier_error(_: Request, exc: BarrierError) -> Response:
        log.error("a stored record failed authentication (tampering or corruption)")
        return error_response(500, "storage_integrity", "a stored record failed its integrity check")

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        code, message = validation_message(exc)
        return error_response(400, code, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        code = codes.get(exc.status_code, "invalid_request" if exc.status_code < 500 else "internal")
        message = str(exc.detail) if exc.status_code != 404 else "no such path"
        return error_response(exc.status_code, code, message)

    @app.exception_handler(Exception)
    async def internal_error(_: Request, exc: Exception) -> Response:
        # Log the type only: an exception message could quote request data.
        log.error("internal error handling a request: %s", type(exc).__name__)
        return error_response(500, "internal", "internal error")


def _auto_rotate_loop(engine: Engine, interval: float, stop: threading.Event) -> None:
    while not stop.wait(interval):
        try:
            engine.rotate_due_keys()
        except Exception as exc:
            log.warning("auto-rotation scan failed: %s", type(exc).__name__)


def _document_bodies(app: FastAPI) -> None:
    """Adds the request models that routes parse themselves to the OpenAPI components."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in DOCUMENTED_BODIES:
            js = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in js.pop("$defs", {}).items():
                comps.setdefault(name, sub)
            comps.setdefault(model.__name__, js)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(config: Config | None = None, *, engine: Engine | None = None) -> ServiceApp:
    """The ASGI application over ``engine`` (or one built from ``config``)."""
    config = config or (engine.config if engine is not None else Config())
    if engine is None:
        engine = build_engine(config)
    if config.dev and not engine.is_initialized():
        token = engine.dev_init()
        sys.stderr.write(DEV_WARNING.format(storage=engine.storage.kind, token=token))
        engine.dev_root_token = token  # type: ignore[attr-defined]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Everything loaded so far (modules, the app, the engine) lives as long as the
        # server: move it out of the garbage collector's generations, so the full
        # collections that large batches trigger do not traverse it again and again
        # (measured: a few ms per 1,000-item batch).
        gc.freeze()
        stop = threading.Event()
        thread = None
        if config.auto_rotate_check_interval > 0:
            thread = threading.Thread(
                target=_auto_rotate_loop,
                args=(engine, config.auto_rotate_check_interval, stop),
                name="guomi-auto-rotate",
                daemon=True,
            )
            thread.start()
        try:
            yield
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=5)

    app = ServiceApp(
        title="guomi custody service",
        version=__version__,
        description="Key custody and encryption as a service with the Chinese national algorithms "
        "(SM2, SM3, SM4). Vault transit's field names; see docs/spec/http-api.md.",
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    _document_bodies(app)
    app.state.engine = engine
    app.state.config = config
    _install_handlers(app)
    include_routes(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_body_bytes)
    app.fast = FastRoutes(engine, config.max_body_bytes)
    return app


def app_from_env() -> ServiceApp:
    """Factory for ``uvicorn --factory``: ``GUOMI_STORAGE``, ``GUOMI_DATA_DIR``, ``GUOMI_DEV``."""
    data_dir = os.environ.get("GUOMI_DATA_DIR")
    return create_app(
        Config(
            storage_url=os.environ.get("GUOMI_STORAGE") or None,
            data_dir=Path(data_dir) if data_dir else None,
            dev=os.environ.get("GUOMI_DEV", "") not in ("", "0", "false"),
        )
    )
