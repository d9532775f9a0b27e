"""Print the pinned requirements of some extras of guomi, one a line, for ``pip install -r``.

Used by the Makefile: ``python scripts/extras.py server+cli`` installs only what those
extras bring (following ``guomi[...]`` references between extras), so a target installs
what it needs without building or reinstalling guomi itself. Extras are separated by ``+``
or ``,``.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def requirements(extras: list[str], table: dict[str, list[str]], seen: set[str] | None = None) -> list[str]:
    seen = set() if seen is None else seen
    found: list[str] = []
    for extra in extras:
        if extra in seen:
            continue
        seen.add(extra)
        if extra not in table:
            raise SystemExit(f"no extra {extra!r} in pyproject.toml (have: {', '.join(table)})")
        for requirement in table[extra]:
            if requirement.startswith("guomi["):
                found += requirements(requirement[len("guomi[") : -1].split(","), table, seen)
            elif requirement not in found:
                found.append(requirement)
    return found


def main() -> None:
    project = tomllib.loads(PYPROJECT.read_text("utf-8"))["project"]
    names = [n for arg in sys.argv[1:] for n in arg.replace("+", ",").split(",") if n]
    wanted = project["dependencies"] + requirements(names, project["optional-dependencies"])
    for line in dict.fromkeys(wanted):
        print(line)


if __name__ == "__main__":
    main()
