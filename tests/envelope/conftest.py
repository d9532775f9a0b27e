"""Fixtures for the envelope tests: SM2 identities and a custody service in process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from guomi.client import Client
from guomi.primitives import sm2
from tests.client.asgi import make_app, running


@pytest.fixture(scope="session")
def sm2_key() -> sm2.SM2PrivateKey:
    return sm2.generate_private_key()


@pytest.fixture(scope="session")
def other_sm2_key() -> sm2.SM2PrivateKey:
    return sm2.generate_private_key()


@pytest.fixture(scope="module")
def kms() -> Iterator[Client]:
    """A root client of a real, unsealed custody service (in process) with key ``files``."""
    with running(make_app()) as (client, _):
        client.create_key("files", "sm4-gcm")
        client.create_key("other", "sm4-gcm")
        yield client
