"""Shared fixtures: the SM4 backend switch (see tests/helpers.py for the vectors)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from guomi import _rust
from tests.helpers import available_backends

# Every property test is deterministic (same examples on every run and machine) and
# untimed: a test suite must not fail on a slow or busy CI machine. Tests that set
# their own @settings inherit these defaults for anything they leave unsaid.
settings.register_profile("guomi", derandomize=True, deadline=None, database=None)
settings.load_profile("guomi")


@pytest.fixture(params=available_backends())
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs the test once per SM4 path; objects must be created inside the test."""
    previous = _rust.backend()
    in_force = _rust.set_backend(request.param)
    assert in_force == request.param
    yield in_force
    _rust.set_backend(previous)
