"""The ``guomi`` command line: the custody service's server, operator, key and data commands.

Layer: ``guomi.cli`` (the top). ``main`` is the console-script entry point
(``[project.scripts] guomi = "guomi.cli:main"``); :data:`cli` is the click group and
:data:`COMMANDS` the list of its commands (``guomi/cli/_commands.py``, the one place a new
command group is registered).

The CLI needs the ``cli`` extra. Without it, ``guomi`` prints one line naming
``pip install "guomi[cli]"`` and exits with status 1, and ``from guomi.cli import cli``
raises :class:`guomi.exceptions.MissingExtraError` with the same message.
"""

from __future__ import annotations

import sys
from typing import Any

from guomi.exceptions import MissingExtraError

__all__ = ["COMMANDS", "cli", "main"]

try:
    from guomi.cli._commands import COMMANDS, cli, main
except MissingExtraError as _exc:
    _MISSING = _exc

    def main() -> None:  # the stand-in when the extra is missing
        """Console-script entry point: say which extra to install, exit 1."""
        sys.exit(f"guomi: {_MISSING}")

    def __getattr__(name: str) -> Any:
        if name in ("COMMANDS", "cli"):
            raise _MISSING
        raise AttributeError(f"module 'guomi.cli' has no attribute {name!r}")
