"""Replays the committed corpora of the Python fuzz targets (``fuzz/python``,
grown by ``make fuzz`` under atheris) through the same checks, without
atheris, so every input the fuzzers kept stays a regression test.

Layer: tests (tooling).
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
from types import ModuleType

import pytest

FUZZ = pathlib.Path(__file__).resolve().parents[2] / "fuzz"


def _load(name: str) -> ModuleType:
    sys.path.insert(0, str(FUZZ / "python"))
    try:
        spec = importlib.util.spec_from_file_location(f"guomi_fuzz_{name}", FUZZ / "python" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(FUZZ / "python"))


@pytest.mark.parametrize("target", ["tokens", "stream", "keyset", "http_bodies"])
def test_python_fuzz_corpus_replays_cleanly(target: str) -> None:
    harness = _load("_harness")
    module = _load(target)
    count = harness.replay(module.one_input, FUZZ / "corpus" / f"py_{target}")
    assert count > 0
