"""Test helpers: locating and parametrising over the shared known-answer vectors.

Vectors are read from ``../shared/vectors/`` beside the project root (or
``$GUOMI_VECTORS_DIR``); they are never copied into this repository. A
missing vector directory is an error, not a skip: CI always has it.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from guomi import _rust

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VECTORS_DIR = Path(os.environ.get("GUOMI_VECTORS_DIR", PROJECT_ROOT.parent / "shared" / "vectors"))


@cache
def load_vectors(filename: str) -> dict[str, Any]:
    """The parsed JSON vector file ``filename`` from the shared vectors folder."""
    path = VECTORS_DIR / filename
    if not path.is_file():
        raise FileNotFoundError(f"known-answer vectors not found at {path}; set GUOMI_VECTORS_DIR")
    with path.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def vector_params(filename: str, **match: Any) -> list[Any]:
    """One ``pytest.param`` per vector of ``filename`` whose fields equal ``match``; test id = vector id."""
    out = []
    for v in load_vectors(filename)["vectors"]:
        if all(v.get(k) == val for k, val in match.items()):
            out.append(pytest.param(v, id=v["id"]))
    return out


def available_backends() -> list[str]:
    """Every SM4 path this CPU can run: always "portable", plus the SIMD ones it supports."""
    detected = _rust.detected_backend()
    order = ["portable", "aesni-avx2", "gfni-avx512"]
    if detected == "portable":
        return ["portable"]
    return order[: order.index(detected) + 1]
