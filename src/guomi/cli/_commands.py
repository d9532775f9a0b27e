"""Where every ``guomi`` command is registered: :data:`COMMANDS`, one line per command.

Layer: ``guomi.cli``. Each command group lives in its own module (``_operator``, ``_keys``, ``_transit``,
``_files``, ``_auth``, ``_audit``, ``_server``) on the shared plumbing of ``_app`` (the root
group, its context, the consoles, the error decorator). :data:`COMMANDS` below is the one
place where they are registered: a new group is a module ``cli/_<name>.py`` exporting a
click group, plus one import and one line in that list. A command module must import its
optional dependencies (an extra other than ``cli``) inside the command, after
:func:`guomi._extras.require_extra`, so ``guomi --help`` works on every installation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from guomi._extras import cli as _requires_cli  # noqa: F401 (MissingExtraError without guomi[cli])
from guomi.cli import _assess, _audit, _auth, _field, _files, _keys, _operator, _server, _table, _transit
from guomi.cli._app import cli

if TYPE_CHECKING:
    import click

__all__ = ["COMMANDS", "cli", "main"]

COMMANDS: tuple[click.Command, ...] = (
    _server.server,
    _operator.operator,
    _keys.key,
    _transit.encrypt,
    _transit.decrypt,
    _transit.rewrap,
    _transit.datakey,
    _transit.sign,
    _transit.verify,
    _transit.hmac_cmd,
    _auth.token_group,
    _auth.policy_group,
    _audit.audit,
    _files.keygen,
    _field.field,
    _table.table,
    _assess.assess_group,
)
"""Every top-level command of ``guomi``; ``guomi --help`` lists them by name."""

for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="guomi")
