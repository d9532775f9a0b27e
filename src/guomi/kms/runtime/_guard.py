"""ASGI middleware of a ``guomi server`` process: the init lock, unseal throttling, metrics and
the offline documentation page.

Layer: ``guomi.kms.runtime``.  Wraps the service's ASGI application (whatever its routes):

* ``POST /v1/sys/init`` needs the one-time bootstrap token (``X-Guomi-Bootstrap-Token`` or
  ``Authorization: Bearer``); 401 ``bootstrap_token_required`` otherwise, and nothing
  reaches the engine.  After the first successful init the token is forgotten.
* ``POST /v1/sys/unseal``: at most ``unseal_rate_per_minute`` submissions per client
  address and minute (429 ``too_many_requests`` with ``Retry-After``); a share that does not
  match the installation's share commitments (:mod:`guomi.kms.seal._shares`, stored here
  after ``sys/init``) is refused before it joins the progress; ``reset`` is accepted only
  with a share of the installation or of the current round (``key``), so a stranger can
  neither poison nor wipe the custodians' progress.
* ``GET /v1/sys/metrics``: Prometheus text, for a token whose policy grants the ``metrics``
  capability (or root); 401/403 otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from guomi.api import ErrorCode
from guomi.kms.runtime._bootstrap import BootstrapLock
from guomi.kms.runtime._lifecycle_routes import LIFECYCLE_PATHS
from guomi.kms.runtime._metrics import Metrics, route_family

__all__ = ["OperationsGuard"]

log = logging.getLogger("guomi.kms")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_MAX_SYS_BODY = 64 * 1024


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return str(v.decode("latin-1"))
    return None


def _bearer(scope: Scope) -> str | None:
    auth = _header(scope, b"authorization")
    if auth and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


async def _answer(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = b"application/json",
    extra: list[Any] | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


def _error(code: str, message: str) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message}]}).encode()


class _Window:
    """Timestamps of recent events per client, for a sliding one-minute limit."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, who: str, now: float) -> float:
        """0 when admitted (and counted), else seconds until the next slot."""
        with self._lock:
            q = self._events.setdefault(who, deque())
            while q and now - q[0] >= 60.0:
                q.popleft()
            if len(q) >= self.per_minute:
                return 60.0 - (now - q[0])
            q.append(now)
            if len(self._events) > 10_000:  # forget idle clients
                for k in [k for k, v in self._events.items() if not v]:
                    del self._events[k]
            return 0.0


class OperationsGuard:
    """The middleware (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        engine: Any,
        bootstrap: BootstrapLock | None,
        unseal_rate_per_minute: int = 30,
        metrics: Metrics | None = None,
        seal: Any = None,
    ) -> None:
        self.app = app
        self.seal = seal
        self.engine = engine
        self.bootstrap = bootstrap
        self.metrics = metrics or Metrics()
        self._unseal_window = _Window(unseal_rate_per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        seen: dict[str, Any] = {"status": 500, "error": None}

        async def observed_send(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                seen["status"] = int(msg["status"])
            elif msg["type"] == "http.response.body" and seen["status"] >= 400 and seen["error"] is None:
                seen["error"] = _error_code(msg.get("body", b""))
            await send(msg)

        try:
            await self._route(scope, receive, observed_send, method, path)
        finally:
            self.metrics.observe(
                method, route_family(path), seen["status"], time.perf_counter() - started, seen["error"]
            )

    async def _route(self, scope: Scope, receive: Receive, send: Send, method: str, path: str) -> None:
        if method == "POST" and path == "/v1/sys/init":
            await self._init(scope, receive, send)
        elif method == "POST" and path == "/v1/sys/unseal":
            await self._unseal(scope, receive, send)
        elif path in LIFECYCLE_PATHS and method != "GET" and path != "/v1/sys/rotate":
            await self._share_gated(scope, receive, send)
        elif method == "GET" and path == "/v1/sys/metrics":
            await self._metrics(scope, send)
        else:
            await self.app(scope, receive, send)

    # ------------------------------------------------------------ sys/init

    async def _init(self, scope: Scope, receive: Receive, send: Send) -> None:
        lock = self.bootstrap
        if lock is not None and lock.token is not None:
            presented = _header(scope, b"x-guomi-bootstrap-token") or _bearer(scope)
            if not lock.accepts(presented):
                initialized = await asyncio.to_thread(self.engine.is_initialized)
                if not initialized:
                    await _answer(
                        send,
                        401,
                        _error(
                            ErrorCode.BOOTSTRAP_TOKEN_REQUIRED,
                            "sys/init needs the one-time bootstrap token the server printed at start "
                            "(header X-Guomi-Bootstrap-Token, or Authorization: Bearer; "
                            "guomi --token TOKEN operator init)",
                        ),
                    )
                    return
        held: list[Message] = []

        async def hold(msg: Message) -> None:
            held.append(msg)

        await self.app(scope, receive, hold)
        status = next((int(m["status"]) for m in held if m["type"] == "http.response.start"), 0)
        if status == 200:
            if lock is not None:
                lock.consume()
            await self._store_share_check(held)
            if self.seal is not None:
                await self._wrap_master(held)
        for msg in held:
            await send(msg)

    async def _store_share_check(self, held: list[Message]) -> None:
        """Commitments of the fresh shares, so a bogus share is refused before the quorum."""
        from guomi.kms.seal._shares import share_check_record  # noqa: PLC0415

        body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
        try:
            shares = [base64.b64decode(s) for s in json.loads(body)["data"]["keys_base64"]]
            await asyncio.to_thread(self.engine.storage.commit, [share_check_record(shares, 0)])
        except Exception as exc:  # the answer (the only copy of the shares) goes out regardless
            log.error("share commitments not stored (%s): bogus shares are caught only at the quorum", exc)

    async def _wrap_master(self, held: list[Message]) -> None:
        """PKCS#11 seal: the new master key, rebuilt from the fresh shares, wrapped by the token.

        The answer (the shares: the only copy of them) goes out whatever happens here."""
        from guomi.kms.seal.pkcs11 import SealDeviceError, store_wrapped_master  # noqa: PLC0415

        body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
        try:
            data = json.loads(body)["data"]
            shares, threshold = list(data["keys_base64"]), int(data["secret_threshold"])
            await asyncio.to_thread(store_wrapped_master, self.engine.storage, self.seal, shares, threshold)
            await asyncio.to_thread(self._auto_unseal)
        except (SealDeviceError, ValueError, KeyError, TypeError) as exc:
            log.error("PKCS#11 seal: the master key was not wrapped by the token: %s", exc)

    def _auto_unseal(self) -> None:
        from guomi.kms.seal.pkcs11 import auto_unseal  # noqa: PLC0415

        auto_unseal(self.engine, self.seal)

    # ------------------------------------------------------------ sys/unseal

    async def _unseal(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client") or ("unknown", 0)
        wait = self._unseal_window.admit(str(client[0]), time.monotonic())
        if wait > 0:
            await _answer(
                send,
                429,
                _error(
                    ErrorCode.TOO_MANY_REQUESTS, "too many unseal submissions from this address; retry later"
                ),
                extra=[(b"retry-after", str(int(wait) + 1).encode())],
            )
            return
        body = await _read_body(receive, _MAX_SYS_BODY)
        if body is None:
            await _answer(send, 413, _error("payload_too_large", "request body too large"))
            return
        reset, share = _reset_request(body)
        known = await asyncio.to_thread(self._share_known, share) if share else None
        if not reset and known is False and self.engine.sealed:
            await _answer(
                send,
                400,
                _error(
                    ErrorCode.INVALID_REQUEST,
                    "key: not a share of this installation (nothing was added to the unseal progress)",
                ),
            )
            return
        if reset and not (known or self._share_in_progress(share)):
            await _answer(
                send,
                403,
                _error(
                    ErrorCode.RESET_DENIED,
                    "reset: give one of the shares already submitted in this round as key "
                    "(only a custodian can reset unseal progress)",
                ),
            )
            return
        await self.app(scope, _replay(body), send)

    def _share_known(self, share: bytes) -> bool | None:
        from guomi.kms.seal._shares import share_is_known  # noqa: PLC0415

        return share_is_known(self.engine.storage, share)

    def _share_in_progress(self, share: bytes | None) -> bool:
        if not share:
            return False
        engine = self.engine
        lock = getattr(engine, "_lock", None)
        pending = getattr(engine, "_unseal_shares", None)
        if lock is None or pending is None:
            return False
        with lock:
            found = False
            for s in pending:
                found |= hmac.compare_digest(s, share)
            return found

    # ------------------------------------------------------------ generate-root, rekey

    async def _share_gated(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Share submissions of generate-root and rekey count against the unseal window."""
        client = scope.get("client") or ("unknown", 0)
        wait = self._unseal_window.admit(str(client[0]), time.monotonic())
        if wait > 0:
            await _answer(
                send,
                429,
                _error(
                    ErrorCode.TOO_MANY_REQUESTS, "too many share submissions from this address; retry later"
                ),
                extra=[(b"retry-after", str(int(wait) + 1).encode())],
            )
            return
        await self.app(scope, receive, send)

    # ------------------------------------------------------------ sys/metrics

    async def _metrics(self, scope: Scope, send: Send) -> None:
        from guomi.kms.errors import KMSError  # noqa: PLC0415 - light, but only for this path
        from guomi.kms.service import RequestContext  # noqa: PLC0415

        client = scope.get("client")
        ctx = RequestContext(request_id="metrics", remote_addr=client[0] if client else None)
        engine = self.engine

        def allowed() -> bool:
            caller = engine.authenticate(_bearer(scope), ctx, "sys/metrics")
            return bool(caller.entry.is_root or "metrics" in engine.capabilities(caller, "metrics"))

        try:
            ok = await asyncio.to_thread(allowed)
        except KMSError as exc:
            await _answer(send, exc.status, _error(exc.code, exc.message))
            return
        if not ok:
            await _answer(send, 403, _error("forbidden", "the token's policies do not grant metrics"))
            return
        text = self.metrics.render(sealed=engine.sealed, initialized=engine.is_initialized())
        await _answer(send, 200, text.encode(), b"text/plain; version=0.0.4; charset=utf-8")


def _error_code(body: bytes) -> str | None:
    try:
        return str(json.loads(body)["errors"][0]["code"])[:64]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        msg = await receive()
        if msg["type"] != "http.request":
            break
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not msg.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # like a client that keeps the connection open
        return {"type": "http.disconnect"}

    return receive


def _reset_request(body: bytes) -> tuple[bool, bytes | None]:
    """(is a reset, the share given with it) — malformed bodies are left to the service."""
    try:
        doc = json.loads(body)
    except ValueError:
        return False, None
    if not isinstance(doc, dict):
        return False, None
    reset = doc.get("reset") is True
    key = doc.get("key")
    if not isinstance(key, str):
        return reset, None
    try:
        return reset, base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        return reset, None
