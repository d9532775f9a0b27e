"""``guomi token`` and ``guomi policy``: access tokens and the policies they hold.

Layer: ``guomi.cli``. Talks to the custody service through :class:`guomi.client.Client`.
"""

from __future__ import annotations

import json
from typing import Any

import click

from guomi.cli._app import Ctx, emit_json, err, esc, handle_errors, out, pass_ctx, plain, read_input

__all__ = ["policy_group", "token_group"]


@click.group("token")
def token_group() -> None:
    """Create, inspect and revoke access tokens."""


@token_group.command("create")
@click.option("-p", "--policy", "policies", multiple=True, required=True, help="Policy name (repeatable).")
@click.option("--ttl", metavar="DURATION", help='Lifetime, e.g. "1h".')
@pass_ctx
@handle_errors
def token_create(c: Ctx, policies: tuple[str, ...], ttl: str | None) -> None:
    """Create a token holding POLICIES; print it (shown only once)."""
    with c.client() as client:
        result = plain(client.create_token(list(policies), ttl))
    if c.json:
        emit_json(result)
    else:
        click.echo(result["token"])


@token_group.command("lookup")
@pass_ctx
@handle_errors
def token_lookup(c: Ctx) -> None:
    """Show the caller's own token (policies, expiry)."""
    with c.client() as client:
        emit_json(plain(client.lookup_self()))


@token_group.command("revoke")
@click.argument("token", required=False)
@click.option("--accessor", help="Revoke by accessor instead of by token.")
@pass_ctx
@handle_errors
def token_revoke(c: Ctx, token: str | None, accessor: str | None) -> None:
    """Revoke TOKEN (or, given neither, the caller's own)."""
    with c.client() as client:
        client.revoke_token(token, accessor=accessor)
    err.print("Revoked.")


@click.group("policy")
def policy_group() -> None:
    """Write, read, list and delete policies."""


@policy_group.command("write")
@click.argument("name")
@click.argument("source", required=False, metavar="[FILE|-]")
@click.option(
    "-r",
    "--rule",
    "rules",
    multiple=True,
    metavar="PATTERN=CAP,CAP",
    help='e.g. -r "orders-*=encrypt,decrypt" (repeatable; instead of a JSON file).',
)
@pass_ctx
@handle_errors
def policy_write(c: Ctx, name: str, source: str | None, rules: tuple[str, ...]) -> None:
    """Write policy NAME from -r rules or a JSON file {"rules": [...]}."""
    parsed: list[dict[str, Any]] = []
    if rules:
        for rule in rules:
            pattern, sep, caps = rule.partition("=")
            if not sep or not pattern or not caps:
                raise click.BadParameter(f"{rule!r} is not PATTERN=CAP[,CAP...]", param_hint="--rule")
            parsed.append({"pattern": pattern, "capabilities": [x.strip() for x in caps.split(",")]})
    else:
        document = json.loads(read_input(source))
        parsed = list(document.get("rules", []))
    with c.client() as client:
        client.write_policy(name, parsed)
    err.print(f"Wrote policy {esc(name)}.")


@policy_group.command("read")
@click.argument("name")
@pass_ctx
@handle_errors
def policy_read(c: Ctx, name: str) -> None:
    """Print policy NAME as JSON."""
    with c.client() as client:
        emit_json(plain(client.read_policy(name)))


@policy_group.command("list")
@pass_ctx
@handle_errors
def policy_list(c: Ctx) -> None:
    """List policy names."""
    with c.client() as client:
        for name in client.list_policies():
            out.print(esc(name))


@policy_group.command("delete")
@click.argument("name")
@pass_ctx
@handle_errors
def policy_delete(c: Ctx, name: str) -> None:
    """Delete policy NAME."""
    with c.client() as client:
        client.delete_policy(name)
    err.print(f"Deleted policy {esc(name)}.")
