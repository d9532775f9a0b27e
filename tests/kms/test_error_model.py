"""One error model: every service error class is a GuomiError, codes are one enumeration
with one status each, listed in docs/spec/http-api.md §2, and mapped to one class on both
sides; docs/spec/token.md §6 and the engine agree on the codes of token failures."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

from guomi import api, exceptions
from guomi.api import ErrorCode, exception_class
from guomi.exceptions import GuomiError, ServiceError
from guomi.kms.errors import KMSError
from guomi.kms.service import Caller, Engine

ROOT = Path(__file__).resolve().parents[2]


def _modules(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    names = [package]
    if hasattr(pkg, "__path__"):
        names += [m.name for m in pkgutil.walk_packages(pkg.__path__, package + ".")]
    return names


@pytest.mark.parametrize("package", ["guomi.exceptions", "guomi.api", "guomi.client", "guomi.kms"])
def test_every_exception_class_is_a_guomi_error(package: str) -> None:
    seen = 0
    for name in _modules(package):
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("guomi"):
                seen += 1
                assert issubclass(obj, GuomiError), f"{obj.__module__}.{obj.__qualname__}"
    assert seen


def test_server_errors_are_the_public_classes() -> None:
    assert KMSError is ServiceError
    public = {n for n in exceptions.__all__}
    from guomi.kms import errors  # noqa: PLC0415

    for name in errors.__all__:
        cls = getattr(errors, name)
        # Same name as a guomi.exceptions class: the same class object (no shadowing).
        if name in public:
            assert cls is getattr(exceptions, name), name


def test_every_code_maps_to_a_class_with_its_status() -> None:
    for code in ErrorCode:
        cls = exception_class(code)
        assert issubclass(cls, ServiceError)
        assert cls.status == code.status or (code.status == 405 and cls.status == 400), code
    for cls in (c for c in vars(exceptions).values() if isinstance(c, type) and issubclass(c, ServiceError)):
        assert cls.code in set(ErrorCode), cls
        assert ErrorCode(cls.code).status == cls.status, cls
    assert exception_class("from_a_newer_server", 409) is exceptions.ConflictError


def _spec_table() -> dict[str, tuple[int, str]]:
    text = (ROOT / "docs/spec/http-api.md").read_text()
    section = text[text.index("## 2. Errors") : text.index("## 3. System")]
    out: dict[str, tuple[int, str]] = {}
    for line in section.splitlines():
        m = re.match(r"\| (\d{3}) \| (.+?) \| .*? \| `(\w+)` \|$", line)
        if m:
            for code in re.findall(r"`([a-z_]+)`", m.group(2)):
                out[code] = (int(m.group(1)), m.group(3))
    return out


def test_http_api_spec_lists_every_code_with_its_status_and_class() -> None:
    table = _spec_table()
    assert set(table) == {c.value for c in ErrorCode}
    for code in ErrorCode:
        status, cls_name = table[code.value]
        assert status == code.status, code
        assert exception_class(code).__name__ == cls_name, code


def test_token_spec_and_engine_agree_on_failure_codes(engine: Engine, root: Caller) -> None:
    # docs/spec/token.md §6, one case per row of its table.
    spec = (ROOT / "docs/spec/token.md").read_text()
    rows = dict(re.findall(r"^\| (.+?) \| `(\w+)` \|$", spec, flags=re.M))
    assert set(rows.values()) == {"invalid_ciphertext", "decryption_failed", "key_version_disabled"}
    engine.create_key(root, "a", api.CreateKeyRequest())
    engine.create_key(root, "other", api.CreateKeyRequest(type="aes-256-gcm"))
    ct = engine.encrypt(root, "a", api.EncryptRequest(plaintext=b"x")).ciphertext or ""
    other = engine.encrypt(root, "other", api.EncryptRequest(plaintext=b"x")).ciphertext or ""

    def code(name: str, token: str) -> str:
        with pytest.raises(exceptions.DecryptionFailedError) as info:
            engine.decrypt(root, name, api.DecryptRequest(ciphertext=token))
        return info.value.code

    assert code("a", "guomi:v2:1:AAAA") == rows["the text or binary form does not parse (§2, §3)"]
    assert code("a", other) == rows["the header names another algorithm than the key's type"]
    version_row = rows["key version below the key's `min_decryption_version`, or above its latest version"]
    assert code("a", "guomi:v1:5:" + _with_version(ct, 5)) == version_row
    engine.rotate_key(root, "a")
    engine.configure_key(root, "a", api.KeyConfigRequest(min_decryption_version=2))
    assert code("a", ct) == version_row
    engine.configure_key(root, "a", api.KeyConfigRequest(min_decryption_version=1))
    flipped = ct[:-2] + ("A" if ct[-2] != "A" else "B") + ct[-1]
    assert (
        code("a", flipped)
        == rows["body too short, commitment mismatch, GCM tag failure (any cryptographic check)"]
    )


def _with_version(token: str, version: int) -> str:
    """The token's data with the key version in its binary header replaced (text too)."""
    header, blob = api.parse_text(token)
    new = api.TokenHeader(1, header.algorithm, version)
    return api.format_text(new, new.encode() + blob[6:]).split(":", 3)[3]
