"""``guomi operator``: initialise, unseal, seal and inspect the custody service.

Layer: ``guomi.cli``. Talks to the service through :class:`guomi.client.Client`.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.table import Table

from guomi.cli._app import Ctx, emit_json, err, esc, handle_errors, out, pass_ctx, plain
from guomi.cli._seal_lifecycle import generate_root, rekey, rotate

__all__ = ["operator"]


@click.group()
def operator() -> None:
    """Initialise, unseal, seal and inspect the service."""


# The root and seal life cycle (generate-root, rekey, rotate) lives in _seal_lifecycle.
operator.add_command(generate_root)
operator.add_command(rekey)
operator.add_command(rotate)


@operator.command("init")
@click.option("--shares", "secret_shares", default=5, show_default=True, help="Number of key shares.")
@click.option(
    "--threshold", "secret_threshold", default=3, show_default=True, help="Shares needed to unseal."
)
@pass_ctx
@handle_errors
def operator_init(c: Ctx, secret_shares: int, secret_threshold: int) -> None:
    """Create the master key, split it into shares, print the shares and the root token ONCE."""
    with c.client() as client:
        result = plain(client.init(secret_shares, secret_threshold))
    if c.json:
        emit_json(result)
        return
    for i, share in enumerate(result.get("keys_base64", []), 1):
        out.print(f"Unseal share {i}: {esc(share)}")
    out.print(f"\nRoot token: {esc(result.get('root_token'))}\n")
    err.print(
        f"[bold yellow]The service is initialised and sealed.[/] Give each share to a different "
        f"custodian; any {secret_threshold} of them unseal it (guomi operator unseal). "
        "These values are shown only now: store them, then clear this terminal.",
    )


@operator.command("unseal")
@click.argument("share", required=False)
@click.option(
    "--reset", is_flag=True, help="Forget the shares given so far (needs one share of the installation)."
)
@pass_ctx
@handle_errors
def operator_unseal(c: Ctx, share: str | None, reset: bool) -> None:
    """Give one unseal share (prompted without echo when not given)."""
    with c.client() as client:
        if reset:
            if share is None:
                share = click.prompt("Unseal share (proves you are a custodian)", hide_input=True)
            status = plain(client.unseal_reset(share.strip()))
        else:
            if share is None:
                share = click.prompt("Unseal share", hide_input=True)
            status = plain(client.unseal(share.strip()))
    _print_status(c, status)


@operator.command("seal")
@pass_ctx
@handle_errors
def operator_seal(c: Ctx) -> None:
    """Seal the service: every key leaves memory until it is unsealed again."""
    with c.client() as client:
        client.seal()
    if not c.json:
        err.print("[bold]Sealed.[/]")


@operator.command("status")
@pass_ctx
@handle_errors
def operator_status(c: Ctx) -> None:
    """Show whether the service is initialised and sealed (exit 2 when sealed)."""
    with c.client() as client:
        status = plain(client.seal_status())
    _print_status(c, status)
    if status.get("sealed"):
        sys.exit(2)


def _print_status(c: Ctx, status: dict[str, Any]) -> None:
    if c.json:
        emit_json(status)
        return
    table = Table(show_header=False, box=None)
    for field in ("initialized", "sealed", "t", "n", "progress", "version"):
        if field in status:
            label = {"t": "threshold", "n": "shares", "progress": "unseal progress"}.get(field, field)
            table.add_row(label, esc(status[field]))
    out.print(table)
