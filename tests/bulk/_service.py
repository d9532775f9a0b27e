"""A real custody service on a loopback socket for the bulk engines' service-call tests.

uvicorn serves the application in a thread of the test process behind a middleware that
records every request path; Spark's and Dask's worker processes reach it over HTTP, as
executors reach the service in production.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from guomi.client import Client
from tests.client.asgi import make_app


class PathLog:
    """ASGI middleware: the path of every HTTP request the service receives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)

    def unwraps(self) -> int:
        return sum("/decrypt/" in p for p in self.paths)


@pytest.fixture
def service() -> Iterator[tuple[str, str, PathLog]]:
    """``(address, root token, path log)`` of a real, unsealed service with a key ``bulk``."""
    uvicorn = pytest.importorskip("uvicorn")
    log = PathLog(make_app())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(log, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "service did not start"
            time.sleep(0.02)
        addr = f"http://127.0.0.1:{port}"
        with Client(addr) as anonymous:
            init = anonymous.init(1, 1)
            anonymous.unseal(init.keys_base64[0])
        with Client(addr, init.root_token) as root:
            root.create_key("bulk")
        yield addr, init.root_token, log
    finally:
        server.should_exit = True
        thread.join(timeout=10)
