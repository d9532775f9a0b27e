"""Run the real custody-service application in process for the SDK and CLI tests.

``httpx.ASGITransport`` serves an ASGI app to ``httpx.AsyncClient``; the synchronous
:class:`guomi.client.Client` needs a synchronous transport, so :class:`SyncASGITransport`
drives the same ASGITransport on an event loop in a helper thread (and runs the app's
lifespan, which ASGITransport does not).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import httpx

from guomi import api
from guomi.client import Client
from guomi.kms.app import create_app
from guomi.kms.config import Config


class SyncASGITransport(httpx.BaseTransport):
    """A synchronous httpx transport over an ASGI application (one loop thread)."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._inner = httpx.ASGITransport(app=app)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._lifespan: Any = None
        router = getattr(app, "router", None)
        if router is not None and hasattr(router, "lifespan_context"):
            self._lifespan = router.lifespan_context(app)
            self._run(self._lifespan.__aenter__())

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()

        async def go() -> httpx.Response:
            inner = httpx.Request(request.method, request.url, headers=request.headers, content=content)
            response = await self._inner.handle_async_request(inner)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return self._run(go())  # type: ignore[no-any-return]

    def close(self) -> None:
        """Called by every ``httpx.Client.close()``: the app outlives its clients, so no-op."""

    def shutdown(self) -> None:
        """Stop the app's lifespan and the loop thread."""
        if self._lifespan is not None:
            with contextlib.suppress(Exception):
                self._run(self._lifespan.__aexit__(None, None, None))
            self._lifespan = None
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)


def make_app(**config: Any) -> Any:
    """A fresh application on in-memory storage (or as ``config`` says)."""
    config.setdefault("storage_url", "memory://")
    return create_app(Config(**config))


@contextlib.contextmanager
def running(app: Any, shares: int = 1, threshold: int = 1) -> Iterator[tuple[Client, api.InitResponse]]:
    """An initialised, unsealed app and a root-token client on it; yields (client, init answer)."""
    transport = SyncASGITransport(app)
    try:
        with Client("http://guomi.test", transport=transport) as anonymous:
            init = anonymous.init(shares, threshold)
            for share in init.keys_base64[:threshold]:
                anonymous.unseal(share)
        with Client("http://guomi.test", token=init.root_token, transport=transport) as client:
            yield client, init
    finally:
        transport.shutdown()
