"""``pip install guomi`` without extras: the core works, the rest says which extra to install.

The check runs the package in a fresh virtual environment with no site packages (no
pydantic, httpx, FastAPI, click, rich, psycopg: only the standard library), which is what
an installation without extras holds, so it cannot pass by accident on a developer
machine that has everything. ``pyproject.toml`` is checked beside it: the core
dependency list is empty and each extra brings the modules ``guomi._extras`` expects.
"""

from __future__ import annotations

import re
import subprocess
import textwrap
import tomllib
import venv
from pathlib import Path

import pytest

import guomi
from guomi._extras import EXTRAS

SOURCE_ROOT = Path(guomi.__file__).resolve().parent.parent
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"

# Distribution names of what the extras bring, as their top-level modules are named.
# Distribution name -> the top-level module it installs, where the two differ.
_MODULE_OF = {
    "psycopg[binary]": "psycopg",
    "SQLAlchemy": "sqlalchemy",
    "Django": "django",
    "python-pkcs11": "pkcs11",
}

CORE_SESSION = textwrap.dedent(
    """
    import io, sys
    import guomi.primitives, guomi.keys, guomi.envelope
    from guomi.envelope import SM2Identity, SM2Recipient, PassphraseIdentity, PassphraseRecipient
    from guomi.envelope import encrypt, decrypt
    from guomi.envelope.text import sm2_recipient_string
    from guomi.keys import Keyset
    from guomi.primitives import serialization, sm2, sm3, sm4

    key = sm2.generate_private_key()
    sealed, out = io.BytesIO(), io.BytesIO()
    encrypt(io.BytesIO(b"ledger"), sealed, [SM2Recipient(key.public_key())])
    sealed.seek(0)
    decrypt(sealed, out, [SM2Identity(key)])
    assert out.getvalue() == b"ledger"
    assert sm2_recipient_string(key.public_key()).startswith("sm2:")
    ks = Keyset.generate()
    assert ks.aead().decrypt(ks.aead().encrypt(b"x", b"ad"), b"ad") == b"x"
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    assert serialization.load_pem_private_key(pem).private_value == key.private_value
    assert sm3.digest(b"abc").hex().startswith("66c7f0f4")
    third_party = sorted(
        name for name in sys.modules
        if "." not in name and name not in sys.stdlib_module_names and name != "guomi"
        and not name.startswith("_")
    )
    assert third_party == [], third_party
    print("core ok")
    """
)

EXTRA_SESSION = textwrap.dedent(
    """
    import importlib
    from guomi.exceptions import GuomiError, MissingExtraError
    for module, extra in [("guomi.kms", "server"), ("guomi.client", "client"),
                          ("guomi.api", "client"), ("guomi.cli._commands", "cli")]:
        try:
            importlib.import_module(module)
        except MissingExtraError as exc:
            assert isinstance(exc, ImportError) and isinstance(exc, GuomiError)
            assert f'pip install "guomi[{extra}]"' in str(exc), str(exc)
            print(module, "->", exc)
        else:
            raise AssertionError(f"{module} imported without its extra")
    try:
        from guomi.cli import cli
    except MissingExtraError as exc:
        assert 'pip install "guomi[cli]"' in str(exc)
    else:
        raise AssertionError("guomi.cli.cli without the cli extra")
    """
)


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with nothing installed: the standard library only."""
    root = tmp_path_factory.mktemp("bare-venv")
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(root)
    return root / "bin" / "python"


def _run(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(SOURCE_ROOT), "PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"}
    return subprocess.run(
        [str(python), *args], check=False, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_bare_environment_really_lacks_the_extras(bare_python: Path) -> None:
    result = _run(bare_python, "-c", "import pydantic")
    assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr


def test_core_works_without_any_extra(bare_python: Path) -> None:
    result = _run(bare_python, "-c", CORE_SESSION)
    assert result.returncode == 0, result.stderr
    assert "core ok" in result.stdout


def test_every_other_part_names_its_extra(bare_python: Path) -> None:
    result = _run(bare_python, "-c", EXTRA_SESSION)
    assert result.returncode == 0, result.stderr


def test_the_guomi_command_without_the_cli_extra_is_one_clear_line(bare_python: Path) -> None:
    result = _run(bare_python, "-m", "guomi.cli", "--help")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "guomi: the guomi command line needs the 'cli' extra (missing: click, rich, httpx, pydantic); "
        'install it with: pip install "guomi[cli]"'
    ]


def _requirements(extra: str, table: dict[str, list[str]]) -> set[str]:
    """Top-level module names an extra installs, following ``guomi[...]`` self-references."""
    names: set[str] = set()
    for requirement in table[extra]:
        if requirement.startswith("guomi["):
            for inner in requirement[len("guomi[") : -1].split(","):
                names |= _requirements(inner, table)
            continue
        dist = re.split(r"==|>=|<=|~=", requirement)[0]
        names.add(_MODULE_OF.get(dist, dist).replace("-", "_"))
    return names


def test_pyproject_core_is_empty_and_extras_bring_their_modules() -> None:
    project = tomllib.loads(PYPROJECT.read_text("utf-8"))["project"]
    assert project["dependencies"] == []
    table = project["optional-dependencies"]
    for extra, (_, modules) in EXTRAS.items():
        assert set(modules) <= _requirements(extra, table), extra
    runtime = {name for name in table if name not in ("test", "lint", "bench", "fuzz", "all")}
    (everything,) = table["all"]  # one line: "guomi[client,server,...]"
    assert everything.startswith("guomi[")
    assert set(everything[len("guomi[") : -1].split(",")) == runtime, "`all` must name every runtime extra"
    for requirement in (r for reqs in table.values() for r in reqs if not r.startswith("guomi[")):
        assert "==" in requirement, f"not pinned: {requirement}"
