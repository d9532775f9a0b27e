"""Shared harness of the Python fuzz targets (atheris, libFuzzer inside CPython).

Each target module defines ``one_input(data: bytes) -> None`` that must
return normally or raise a :class:`guomi.exceptions.GuomiError` (or a
``TypeError`` for a call the API documents as a misuse); anything else, and
any accepted input that breaks the target's own invariant (an
``AssertionError``), is a finding. ``run(one_input)`` starts libFuzzer with
the command-line flags; ``replay(one_input, directory)`` feeds a corpus
through the same checks without atheris (the pytest regression test does).

Layer: tooling (fuzzing), outside the package.
"""

from __future__ import annotations

import contextlib
import pathlib
import sys
from collections.abc import Callable
from typing import Any

from guomi.exceptions import GuomiError


def instrumented(
    module_name: str, include: list[str] | None = None
) -> contextlib.AbstractContextManager[Any]:
    """Instruments the imports in its block for coverage only when the target runs as the
    fuzzer (``module_name == "__main__"`` and atheris installed). The pytest replay imports
    the target as a module and gets a no-op: instrumenting imports inside a pytest process
    that already holds pydantic crashed the interpreter (segmentation fault)."""
    if module_name != "__main__":
        return contextlib.nullcontext()
    try:
        import atheris  # noqa: PLC0415 - only the fuzz runs need it (pinned in scripts/fuzz.sh)
    except ImportError:
        return contextlib.nullcontext()
    ctx: contextlib.AbstractContextManager[Any] = atheris.instrument_imports(include=include)
    return ctx


def guarded(one_input: Callable[[bytes], None]) -> Callable[[bytes], None]:
    """Lets only typed guomi errors through."""

    def checked(data: bytes) -> None:
        with contextlib.suppress(GuomiError):
            one_input(data)

    return checked


def replay(one_input: Callable[[bytes], None], directory: pathlib.Path) -> int:
    """Runs every file of ``directory`` through the target; returns the count."""
    n = 0
    for path in sorted(directory.iterdir()):
        if path.is_file():
            guarded(one_input)(path.read_bytes())
            n += 1
    return n


def run(one_input: Callable[[bytes], None]) -> None:
    import atheris  # noqa: PLC0415 - only the fuzz runs need it (pinned in scripts/fuzz.sh)

    atheris.Setup(sys.argv, guarded(one_input))
    atheris.Fuzz()
