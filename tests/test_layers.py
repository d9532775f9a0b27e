"""The compiled core is reached through guomi.primitives only.

import-linter (``make lint``) enforces the Python layers, but it cannot see
``guomi._rust``, an extension module; this test closes that gap by reading
every module's imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import guomi

PACKAGE_DIR = Path(guomi.__file__).resolve().parent


def _imports_rust_core(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.startswith("guomi._rust") for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom):
            if node.module and node.module.startswith("guomi._rust"):
                return True
            if node.module == "guomi" and any(a.name == "_rust" for a in node.names):
                return True
    return False


def test_only_primitives_import_the_compiled_core() -> None:
    offenders = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR)
        if relative.parts[0] == "primitives":
            continue
        if _imports_rust_core(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(str(relative))
    assert offenders == [], f"import guomi._rust only from guomi.primitives: {offenders}"
