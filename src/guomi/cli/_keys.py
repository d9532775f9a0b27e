"""``guomi key``: create, list, show, rotate, configure, delete, back up and restore keys.

Layer: ``guomi.cli``. Talks to the custody service through :class:`guomi.client.Client`.
"""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from guomi.cli._app import (
    Ctx,
    emit_json,
    err,
    esc,
    handle_errors,
    out,
    pass_ctx,
    plain,
    read_input,
    write_output,
)
from guomi.cli._output import FORCE_HELP

__all__ = ["key"]


@click.group()
def key() -> None:
    """Create, list, show, rotate, configure, delete, back up and restore keys."""


@key.command("create")
@click.argument("name")
@click.option(
    "-t",
    "--type",
    "key_type",
    default="sm4-gcm",
    show_default=True,
    type=click.Choice(["sm4-gcm", "sm2-sign", "sm2-encrypt", "hmac-sm3", "aes-256-gcm"]),
)
@click.option("--deletion-allowed", is_flag=True, help="Allow `guomi key delete` on this key.")
@click.option("--auto-rotate-period", metavar="DURATION", help='e.g. "720h", "30d"; unset: never.')
@pass_ctx
@handle_errors
def key_create(
    c: Ctx, name: str, key_type: str, deletion_allowed: bool, auto_rotate_period: str | None
) -> None:
    """Create key NAME."""
    options: dict[str, Any] = {}
    if deletion_allowed:
        options["deletion_allowed"] = True
    if auto_rotate_period:
        options["auto_rotate_period"] = auto_rotate_period
    with c.client() as client:
        client.create_key(name, key_type, **options)
        info = plain(client.read_key(name))
    _print_key(c, info)


@key.command("list")
@pass_ctx
@handle_errors
def key_list(c: Ctx) -> None:
    """List key names."""
    with c.client() as client:
        names = client.list_keys()
    if c.json:
        emit_json(names)
    else:
        for name in names:
            out.print(esc(name))


@key.command("show")
@click.argument("name")
@pass_ctx
@handle_errors
def key_show(c: Ctx, name: str) -> None:
    """Show key NAME: type, versions, settings, SM2 public keys."""
    with c.client() as client:
        info = plain(client.read_key(name))
    _print_key(c, info)


def _print_key(c: Ctx, info: dict[str, Any]) -> None:
    if c.json:
        emit_json(info)
        return
    table = Table(title=f"key {esc(info.get('name', ''))}", show_header=False, title_justify="left")
    for field in (
        "type",
        "latest_version",
        "min_decryption_version",
        "min_encryption_version",
        "deletion_allowed",
        "auto_rotate_period",
        "creation_time",
        "last_rotation_time",
    ):
        if field in info:
            table.add_row(field, esc(info[field]))
    out.print(table)
    versions = info.get("keys") or {}
    if isinstance(versions, dict) and versions:
        vt = Table("version", "created")
        pems: list[tuple[str, str]] = []
        for version in sorted(versions, key=int):
            meta = versions[version] or {}
            vt.add_row(esc(version), esc(meta.get("creation_time", "")))
            if meta.get("public_key"):
                pems.append((version, str(meta["public_key"]).strip()))
        out.print(vt)
        # PEM blocks go out whole (never cut to the table's width) so they can be copied.
        for version, pem in pems:
            out.print(f"public key, version {esc(version)}:")
            out.print(pem, markup=False)


@key.command("rotate")
@click.argument("name")
@pass_ctx
@handle_errors
def key_rotate(c: Ctx, name: str) -> None:
    """Add a new version to key NAME; new encryptions use it."""
    with c.client() as client:
        client.rotate_key(name)
        info = plain(client.read_key(name))
    if c.json:
        emit_json(info)
    else:
        out.print(f"{esc(name)}: latest version {esc(info.get('latest_version'))}")


@key.command("trim")
@click.argument("name")
@click.option(
    "--min-available-version",
    type=int,
    required=True,
    help="Destroy every version below this one (at most the key's min decryption version).",
)
@pass_ctx
@handle_errors
def key_trim(c: Ctx, name: str, min_available_version: int) -> None:
    """Destroy the old versions of key NAME for good (tokens under them never decrypt again)."""
    with c.client() as client:
        info = plain(client.trim_key(name, min_available_version))
    if c.json:
        emit_json(info)
    else:
        kept = ", ".join(str(v) for v in sorted(int(v) for v in info.get("keys", {})))
        out.print(f"{esc(name)}: versions kept {esc(kept)}")


@key.command("config")
@click.argument("name")
@click.option("--min-decryption-version", type=int, help="Refuse to decrypt tokens of older versions.")
@click.option(
    "--min-encryption-version", type=int, help="Oldest version callers may encrypt with (0: latest)."
)
@click.option("--deletion-allowed/--no-deletion-allowed", default=None, help="Allow deletion.")
@click.option("--auto-rotate-period", metavar="DURATION", help='e.g. "720h"; "0" disables.')
@pass_ctx
@handle_errors
def key_config(
    c: Ctx,
    *,
    name: str,
    min_decryption_version: int | None,
    min_encryption_version: int | None,
    deletion_allowed: bool | None,
    auto_rotate_period: str | None,
) -> None:
    """Change the settings of key NAME (only those given)."""
    options: dict[str, Any] = {
        "min_decryption_version": min_decryption_version,
        "min_encryption_version": min_encryption_version,
        "deletion_allowed": deletion_allowed,
        "auto_rotate_period": auto_rotate_period,
    }
    if all(v is None for v in options.values()):
        raise click.UsageError("give at least one setting to change")
    with c.client() as client:
        client.configure_key(name, **options)
        info = plain(client.read_key(name))
    _print_key(c, info)


@key.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
@handle_errors
def key_delete(c: Ctx, name: str, yes: bool) -> None:
    """Delete key NAME and every version of it (data under it becomes unreadable)."""
    if not yes:
        click.confirm(f"Delete key {name!r} and all its versions?", abort=True, err=True)
    with c.client() as client:
        client.delete_key(name)
    if not c.json:
        err.print(f"Deleted {esc(name)}.")


@key.command("backup")
@click.argument("name")
@click.option("-o", "--output", metavar="FILE", help="Write the backup here, mode 0600 (default: stdout).")
@click.option("--force", is_flag=True, help=FORCE_HELP)
@pass_ctx
@handle_errors
def key_backup(c: Ctx, name: str, output: str | None, force: bool) -> None:
    """Export key NAME with all versions, sealed for this installation."""
    with c.client() as client:
        blob = client.backup_key(name)
    write_output((blob + "\n").encode("ascii"), output, force=force)


@key.command("restore")
@click.argument("source", required=False, metavar="[FILE|-]")
@click.option("--name", help="Restore under this name instead of the original.")
@click.option("--force", is_flag=True, help="Replace an existing key of that name.")
@pass_ctx
@handle_errors
def key_restore(c: Ctx, source: str | None, name: str | None, force: bool) -> None:
    """Restore a key from a backup (file, or standard input)."""
    blob = read_input(source).decode("ascii").strip()
    with c.client() as client:
        result = plain(client.restore_key(blob, name, force))
    if c.json:
        emit_json(result)
    else:
        err.print(f"Restored {esc(result.get('name', name or 'key'))}.")
