"""``guomi audit``: audit log tools.

Layer: ``guomi.cli``. ``audit verify`` reads the log file with :mod:`guomi.kms.audit`, the
server package, which it imports only when run (it needs the ``server`` extra).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from guomi._extras import require_extra
from guomi.cli._app import Ctx, emit_json, err, esc, handle_errors, out, pass_ctx

__all__ = ["audit"]


@click.group()
def audit() -> None:
    """Audit log tools."""


@audit.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
@handle_errors
def audit_verify(c: Ctx, path: Path) -> None:
    """Check the SM3 hash chain of audit log PATH; exit 1 on any edit, deletion or insertion.

    Cutting records off the end leaves a valid chain: compare the printed last sequence
    number and hash with a copy kept elsewhere.
    """
    require_extra("server")
    from guomi.kms.audit import verify_audit_log  # noqa: PLC0415 (the server extra loads only here)

    result = verify_audit_log(path)
    if c.json:
        emit_json(
            {
                "ok": result.ok,
                "records": result.records,
                "last_seq": result.last_seq,
                "last_hash": result.last_hash,
                "error": result.error,
                "line": result.line,
            }
        )
    elif result.ok:
        out.print(f"[green]OK[/]: {result.records} records, chain intact")
        out.print(f"last seq {esc(result.last_seq)}, last SM3 {esc(result.last_hash)}")
    else:
        err.print(f"[bold red]BROKEN[/] at line {esc(result.line)}: {esc(result.error)}")
        err.print(f"{result.records} records verified before it")
    sys.exit(0 if result.ok else 1)
