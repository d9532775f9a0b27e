"""Fixtures: the bank (tests/assess/bank.py) assessed once per module through the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from guomi.cli import cli
from tests.assess.bank import Bank, build_bank


class _Obj:
    """The CLI's context object, carrying the in-process transport (as the other CLI tests do)."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport


def run_cli(args: list[str], transport: Any = None, token: str | None = None) -> Result:
    env = {"GUOMI_TOKEN": token} if token is not None else {"GUOMI_TOKEN": ""}
    return CliRunner().invoke(cli, args, obj=_Obj(transport), env=env, catch_exceptions=False)


@dataclass
class Assessed:
    bank: Bank
    pack: Path
    result: Result


@pytest.fixture(scope="module")
def assessed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assessed]:
    root = tmp_path_factory.mktemp("bank")
    with build_bank(root) as bank:
        pack = root / "pack"
        result = run_cli(
            ["assess", "--config", str(bank.config), "--out", str(pack)], bank.service.transport, bank.token
        )
        yield Assessed(bank, pack, result)
