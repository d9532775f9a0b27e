"""Every exception class guomi defines, in any module, is a ``GuomiError``.

A caller catches ``guomi.exceptions.GuomiError`` and knows it has caught every failure of
ours, whichever layer raised it (issue 9, "one error model"). The test imports every
module of the package (all extras are installed in the test environment) and checks each
exception class defined there, not only those exported by ``guomi.exceptions``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import guomi
from guomi.exceptions import GuomiError


def _all_modules() -> list[str]:
    names = ["guomi"]
    for info in pkgutil.walk_packages(guomi.__path__, "guomi."):
        if info.name.endswith("__main__"):
            continue  # running it is the CLI, not a definition
        names.append(info.name)
    return names


def test_every_exception_class_in_every_module_is_a_guomi_error() -> None:
    offenders = []
    checked = 0
    for name in _all_modules():
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ != name or not issubclass(obj, BaseException):
                continue
            checked += 1
            if not issubclass(obj, GuomiError):
                offenders.append(f"{name}.{obj.__qualname__}")
    assert checked >= 20  # the walk reached guomi.exceptions at least
    assert offenders == [], f"exception classes that are not GuomiError: {offenders}"
