"""The package imports, names its backend, and its exceptions form one hierarchy."""

from __future__ import annotations

import guomi
import guomi.exceptions as exc
import guomi.primitives


def test_version_is_a_string() -> None:
    assert isinstance(guomi.__version__, str) and guomi.__version__


def test_backend_names_a_known_path() -> None:
    assert guomi.primitives.backend() in {"portable", "aesni-avx2", "gfni-avx512"}
    assert guomi.primitives.detected_backend() in {"portable", "aesni-avx2", "gfni-avx512"}


def test_every_exception_derives_from_guomi_error() -> None:
    for name in exc.__all__:
        assert issubclass(getattr(exc, name), exc.GuomiError), name


def test_argument_errors_are_value_errors() -> None:
    for cls in (exc.InvalidKey, exc.InvalidArgumentError, exc.InvalidEncodingError):
        assert issubclass(cls, ValueError)
