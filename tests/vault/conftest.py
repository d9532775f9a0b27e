"""hvac (HashiCorp Vault's Python client) driven against guomi: in process and over a socket.

hvac talks through a ``requests.Session``.  In process, :class:`ASGIAdapter`
(a ``requests`` transport adapter) hands each prepared request to
Starlette's ``TestClient`` (an httpx client that calls the ASGI app directly,
any method token included, so ``LIST`` reaches the app) and turns the answer
back into a ``requests.Response``.  Over a socket, the same app runs under
uvicorn on a loopback port, with the HTTP parser ``guomi server`` uses.
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import hvac
import pytest
import requests
import uvicorn
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

with warnings.catch_warnings():
    # Starlette 1.x suggests httpx2 for its TestClient; httpx (pinned) works as before.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from guomi.kms import Config, create_app
from guomi.kms.vault import VaultMethodsProtocol

IN_PROCESS_URL = "http://guomi.test"


class ASGIAdapter(BaseAdapter):
    """A ``requests`` adapter that answers from an ASGI app instead of the network."""

    def __init__(self, client: TestClient) -> None:
        super().__init__()
        self.client = client

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:  # type: ignore[override]
        body = request.body
        if isinstance(body, str):
            body = body.encode()
        answer = self.client.request(
            str(request.method), str(request.url), content=body or b"", headers=dict(request.headers)
        )
        resp = requests.Response()
        resp.status_code = answer.status_code
        resp.headers = CaseInsensitiveDict(answer.headers)
        resp._content = answer.content
        resp.url = str(request.url)
        resp.request = request
        resp.encoding = "utf-8"
        return resp

    def close(self) -> None:
        pass


def dev_app() -> Any:
    """A dev-mode app (memory storage, unsealed) and its root token."""
    app = create_app(Config(dev=True, auto_rotate_check_interval=0))
    return app, app.state.engine.dev_root_token


@pytest.fixture
def app_and_root() -> tuple[Any, str]:
    return dev_app()


@pytest.fixture
def in_process(app_and_root: tuple[Any, str]) -> Iterator[hvac.Client]:
    """hvac.Client (root token) over the in-process app."""
    app, root = app_and_root
    with TestClient(app, base_url=IN_PROCESS_URL, raise_server_exceptions=False) as tc:
        session = requests.Session()
        session.mount(IN_PROCESS_URL, ASGIAdapter(tc))
        yield hvac.Client(url=IN_PROCESS_URL, token=root, session=session)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(app: Any, http: Any = "auto") -> tuple[uvicorn.Server, threading.Thread, str]:
    """uvicorn on a free loopback port with the HTTP protocol ``guomi server`` picks
    (httptools, switching a connection to h11 at a ``LIST``)."""
    if http == "auto":
        http = VaultMethodsProtocol if importlib.util.find_spec("httptools") else "h11"
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", http=http)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def real_server(app_and_root: tuple[Any, str]) -> Iterator[hvac.Client]:
    """hvac.Client (root token) over a real uvicorn server on loopback."""
    app, root = app_and_root
    server, thread, url = serve(app)
    try:
        yield hvac.Client(url=url, token=root)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(params=["in_process", "real_server"])
def vault(request: pytest.FixtureRequest) -> hvac.Client:
    """The same hvac tests against both transports."""
    client: hvac.Client = request.getfixturevalue(request.param)
    return client
