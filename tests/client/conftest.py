"""Fixtures: the real service application in process, initialised and unsealed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from guomi.client import Client
from tests.client.asgi import SyncASGITransport, make_app, running


@pytest.fixture
def app() -> Any:
    return make_app()


@pytest.fixture
def root(app: Any) -> Iterator[Client]:
    """A client holding the root token of a fresh, unsealed service."""
    with running(app) as (client, _):
        yield client


@pytest.fixture
def transport(root: Client) -> SyncASGITransport:
    """The transport of ``root``'s service, for more clients (other tokens) on it."""
    return root._http._transport  # type: ignore[attr-defined,no-any-return]
