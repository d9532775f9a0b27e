"""The ``guomi`` command line: the custody service's server, operator, key and data commands.

Layer: ``guomi.cli`` (the top). ``main`` is the console-script entry point
(``[project.scripts] guomi = "guomi.cli:main"``).
"""

from guomi.cli._main import cli, main

__all__ = ["cli", "main"]
