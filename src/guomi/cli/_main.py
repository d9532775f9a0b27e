"""Commands of the ``guomi`` CLI (click), with rich output where a person reads it.

Layer: ``guomi.cli``. Every service command talks to the custody service through
:class:`guomi.client.Client` (address and token from ``--addr`` / ``--token`` or
``GUOMI_ADDR`` / ``GUOMI_TOKEN``). ``guomi server`` and ``guomi audit verify`` are the only
commands that load the server package (``guomi.kms``), and only when run.

Output rules: what a script consumes (a ciphertext token, a plaintext, a signature, JSON
with ``--json``) goes to standard output, bare; everything meant for a person (tables,
notes, warnings, errors) goes through rich, errors to standard error. Exit status 0 on
success, 1 when the service refused or an operation failed, 2 on a usage error.

``encrypt`` / ``decrypt`` select the custody service with ``-k/--key NAME``; a later issue
adds file encryption to the same commands with ``-r/--recipient`` / ``-i/--identity``, so
the key option is a mode switch rather than a required argument.
"""

from __future__ import annotations

import base64
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import httpx
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from guomi import __version__
from guomi.api import signature_der
from guomi.cli._seal_lifecycle import generate_root, rekey, rotate
from guomi.cli._server import server
from guomi.client import Client
from guomi.exceptions import GuomiError, ServiceError

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------- plumbing


class _Ctx:
    """Connection settings shared by the sub-commands."""

    def __init__(
        self,
        addr: str | None,
        token: str | None,
        output_json: bool,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.addr = addr
        self.token = token
        self.json = output_json
        self.transport = transport

    def client(self) -> Client:
        return Client(self.addr, self.token, transport=self.transport)


pass_ctx = click.make_pass_decorator(_Ctx)


def _errors(func: F) -> F:
    """Turn guomi errors into one red line on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ServiceError as exc:
            where = f" [{exc.status} {exc.code}]" if exc.status else ""
            err.print(f"[bold red]error{where}:[/] {exc}", markup=True, highlight=False)
            sys.exit(1)
        except (GuomiError, OSError, ValueError) as exc:
            err.print(f"[bold red]error:[/] {exc}", markup=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _read_input(source: str | None) -> bytes:
    """Bytes of the file ``source``, or standard input for ``-`` / ``None``."""
    if source is None or source == "-":
        return sys.stdin.buffer.read()
    return Path(source).read_bytes()


def _token_arg(value: str | None) -> str:
    """A token given literally, in a file, or on standard input (``-`` / nothing)."""
    if value is None or value == "-":
        text = sys.stdin.read()
    elif value.startswith("guomi:"):
        text = value
    else:
        path = Path(value)
        if not path.is_file():
            raise click.BadParameter(f"{value!r} is neither a guomi token nor a file", param_hint="TOKEN")
        text = path.read_text("ascii")
    token = text.strip()
    if not token:
        raise click.BadParameter("no token given", param_hint="TOKEN")
    return token


def _write_output(data: bytes, output: str | None) -> None:
    if output is None or output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        Path(output).write_bytes(data)


def _ad(value: str | None) -> bytes | None:
    return value.encode("utf-8") if value is not None else None


def _plain(answer: BaseModel) -> dict[str, Any]:
    """An SDK answer (a ``guomi.api`` model) as the JSON object the service sent."""
    return answer.model_dump(mode="json", exclude_none=True)


def _emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


def _need_key(key: str | None, command: str) -> str:
    if not key:
        raise click.UsageError(
            f"{command} needs -k/--key NAME (a key in the custody service)",
        )
    return key


# ---------------------------------------------------------------- root


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--addr",
    envvar="GUOMI_ADDR",
    metavar="URL",
    help="Service address (default http://127.0.0.1:8200; env GUOMI_ADDR).",
)
@click.option("--token", envvar="GUOMI_TOKEN", metavar="TOKEN", help="Bearer token (env GUOMI_TOKEN).")
@click.option("--json", "output_json", is_flag=True, help="Print machine-readable JSON instead of tables.")
@click.version_option(__version__, prog_name="guomi")
@click.pass_context
def cli(ctx: click.Context, addr: str | None, token: str | None, output_json: bool) -> None:
    """guomi: SM2/SM3/SM4 cryptography and a key custody service.

    \b
    Start a service:     guomi server            (guomi server --dev to try it out)
    Initialise/unseal:   guomi operator init     guomi operator unseal
    Use keys:            guomi key create orders
                         echo -n secret | guomi encrypt -k orders
                         guomi decrypt -k orders guomi:v1:1:...
    """
    # Tests pass obj=<something with .transport> to run the commands against an in-process app.
    ctx.obj = _Ctx(addr, token, output_json, getattr(ctx.obj, "transport", None))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="guomi")


# ---------------------------------------------------------------- server


# `guomi server` lives in guomi.cli._server (settings, TLS, start-up checks; server deps load
# only when it runs).
cli.add_command(server)


# ---------------------------------------------------------------- operator


@cli.group()
def operator() -> None:
    """Initialise, unseal, seal and inspect the service."""


# generate-root, rekey, rotate: guomi.cli._seal_lifecycle (the ops lane).
operator.add_command(generate_root)
operator.add_command(rekey)
operator.add_command(rotate)


@operator.command("init")
@click.option("--shares", "secret_shares", default=5, show_default=True, help="Number of key shares.")
@click.option(
    "--threshold", "secret_threshold", default=3, show_default=True, help="Shares needed to unseal."
)
@pass_ctx
@_errors
def operator_init(c: _Ctx, secret_shares: int, secret_threshold: int) -> None:
    """Create the master key, split it into shares, print the shares and the root token ONCE."""
    with c.client() as client:
        result = _plain(client.init(secret_shares, secret_threshold))
    if c.json:
        _emit_json(result)
        return
    for i, share in enumerate(result.get("keys_base64", []), 1):
        out.print(f"Unseal share {i}: {share}")
    out.print(f"\nRoot token: {result.get('root_token')}\n")
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
@_errors
def operator_unseal(c: _Ctx, share: str | None, reset: bool) -> None:
    """Give one unseal share (prompted without echo when not given)."""
    with c.client() as client:
        if reset:
            if share is None:
                share = click.prompt("Unseal share (proves you are a custodian)", hide_input=True)
            status = _plain(client.unseal_reset(share.strip()))
        else:
            if share is None:
                share = click.prompt("Unseal share", hide_input=True)
            status = _plain(client.unseal(share.strip()))
    _print_status(c, status)


@operator.command("seal")
@pass_ctx
@_errors
def operator_seal(c: _Ctx) -> None:
    """Seal the service: every key leaves memory until it is unsealed again."""
    with c.client() as client:
        client.seal()
    if not c.json:
        err.print("[bold]Sealed.[/]")


@operator.command("status")
@pass_ctx
@_errors
def operator_status(c: _Ctx) -> None:
    """Show whether the service is initialised and sealed (exit 2 when sealed)."""
    with c.client() as client:
        status = _plain(client.seal_status())
    _print_status(c, status)
    if status.get("sealed"):
        sys.exit(2)


def _print_status(c: _Ctx, status: dict[str, Any]) -> None:
    if c.json:
        _emit_json(status)
        return
    table = Table(show_header=False, box=None)
    for field in ("initialized", "sealed", "t", "n", "progress", "version"):
        if field in status:
            label = {"t": "threshold", "n": "shares", "progress": "unseal progress"}.get(field, field)
            table.add_row(label, str(status[field]))
    out.print(table)


# ---------------------------------------------------------------- key


@cli.group()
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
@_errors
def key_create(
    c: _Ctx, name: str, key_type: str, deletion_allowed: bool, auto_rotate_period: str | None
) -> None:
    """Create key NAME."""
    options: dict[str, Any] = {}
    if deletion_allowed:
        options["deletion_allowed"] = True
    if auto_rotate_period:
        options["auto_rotate_period"] = auto_rotate_period
    with c.client() as client:
        client.create_key(name, key_type, **options)
        info = _plain(client.read_key(name))
    _print_key(c, info)


@key.command("list")
@pass_ctx
@_errors
def key_list(c: _Ctx) -> None:
    """List key names."""
    with c.client() as client:
        names = client.list_keys()
    if c.json:
        _emit_json(names)
    else:
        for name in names:
            out.print(name)


@key.command("show")
@click.argument("name")
@pass_ctx
@_errors
def key_show(c: _Ctx, name: str) -> None:
    """Show key NAME: type, versions, settings, SM2 public keys."""
    with c.client() as client:
        info = _plain(client.read_key(name))
    _print_key(c, info)


def _print_key(c: _Ctx, info: dict[str, Any]) -> None:
    if c.json:
        _emit_json(info)
        return
    table = Table(title=f"key {info.get('name', '')}", show_header=False, title_justify="left")
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
            table.add_row(field, str(info[field]))
    out.print(table)
    versions = info.get("keys") or {}
    if isinstance(versions, dict) and versions:
        vt = Table("version", "created")
        pems: list[tuple[str, str]] = []
        for version in sorted(versions, key=int):
            meta = versions[version] or {}
            vt.add_row(str(version), str(meta.get("creation_time", "")))
            if meta.get("public_key"):
                pems.append((version, str(meta["public_key"]).strip()))
        out.print(vt)
        # PEM blocks go out whole (never cut to the table's width) so they can be copied.
        for version, pem in pems:
            out.print(f"public key, version {version}:")
            out.print(pem, markup=False)


@key.command("rotate")
@click.argument("name")
@pass_ctx
@_errors
def key_rotate(c: _Ctx, name: str) -> None:
    """Add a new version to key NAME; new encryptions use it."""
    with c.client() as client:
        client.rotate_key(name)
        info = _plain(client.read_key(name))
    if c.json:
        _emit_json(info)
    else:
        out.print(f"{name}: latest version {info.get('latest_version')}")


@key.command("config")
@click.argument("name")
@click.option("--min-decryption-version", type=int, help="Refuse to decrypt tokens of older versions.")
@click.option(
    "--min-encryption-version", type=int, help="Oldest version callers may encrypt with (0: latest)."
)
@click.option("--deletion-allowed/--no-deletion-allowed", default=None, help="Allow deletion.")
@click.option("--auto-rotate-period", metavar="DURATION", help='e.g. "720h"; "0" disables.')
@pass_ctx
@_errors
def key_config(
    c: _Ctx,
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
        info = _plain(client.read_key(name))
    _print_key(c, info)


@key.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
@_errors
def key_delete(c: _Ctx, name: str, yes: bool) -> None:
    """Delete key NAME and every version of it (data under it becomes unreadable)."""
    if not yes:
        click.confirm(f"Delete key {name!r} and all its versions?", abort=True, err=True)
    with c.client() as client:
        client.delete_key(name)
    if not c.json:
        err.print(f"Deleted {name}.")


@key.command("backup")
@click.argument("name")
@click.option("-o", "--output", metavar="FILE", help="Write the backup here (default: stdout).")
@pass_ctx
@_errors
def key_backup(c: _Ctx, name: str, output: str | None) -> None:
    """Export key NAME with all versions, sealed for this installation."""
    with c.client() as client:
        blob = client.backup_key(name)
    _write_output((blob + "\n").encode("ascii"), output)


@key.command("restore")
@click.argument("source", required=False, metavar="[FILE|-]")
@click.option("--name", help="Restore under this name instead of the original.")
@click.option("--force", is_flag=True, help="Replace an existing key of that name.")
@pass_ctx
@_errors
def key_restore(c: _Ctx, source: str | None, name: str | None, force: bool) -> None:
    """Restore a key from a backup (file, or standard input)."""
    blob = _read_input(source).decode("ascii").strip()
    with c.client() as client:
        result = _plain(client.restore_key(blob, name, force))
    if c.json:
        _emit_json(result)
    else:
        err.print(f"Restored {result.get('name', name or 'key')}.")


# ---------------------------------------------------------------- data operations


@cli.command()
@click.option("-k", "--key", "key_name", metavar="NAME", help="Encrypt with this key in the custody service.")
@click.option("-a", "--associated-data", metavar="TEXT", help="Bound to the token; needed again to decrypt.")
@click.option(
    "-r",
    "--recipient",
    "recipients",
    multiple=True,
    metavar="RECIPIENT",
    help="File mode: encrypt INPUT for sm2:<public key> or kms:NAME (repeatable).",
)
@click.option("-p", "--passphrase", is_flag=True, help="File mode: encrypt with a passphrase (prompted).")
@click.option("-o", "--output", metavar="FILE", help="File mode: write the encrypted file here.")
@click.argument("source", required=False, metavar="[INPUT|-]")
@pass_ctx
@_errors
def encrypt(
    c: _Ctx,
    *,
    key_name: str | None,
    associated_data: str | None,
    recipients: tuple[str, ...],
    passphrase: bool,
    output: str | None,
    source: str | None,
) -> None:
    """Encrypt INPUT (a file, or standard input).

    With -k NAME the custody service encrypts under its key NAME and a ciphertext token is
    printed (small data). With -r RECIPIENT / -p the file of any size is encrypted here, in
    the guomi-stream/v1 format (see `guomi keygen`).
    """
    if recipients or passphrase:
        if key_name or associated_data:
            raise click.UsageError("-k/-a (service token) and -r/-p (file encryption) cannot be mixed")
        from guomi.cli.files import encrypt_files  # noqa: PLC0415

        encrypt_files(c, recipients, passphrase, output, source)
        return
    if output:
        raise click.UsageError("-o is for file encryption (-r/-p); -k prints a token")
    name = _need_key(key_name, "encrypt")
    data = _read_input(source)
    with c.client() as client:
        token = client.encrypt(name, data, _ad(associated_data))
    click.echo(token)


@cli.command()
@click.option("-k", "--key", "key_name", metavar="NAME", help="Decrypt with this key in the custody service.")
@click.option("-a", "--associated-data", metavar="TEXT", help="The associated data given to encrypt.")
@click.option("-o", "--output", metavar="FILE", help="Write the plaintext here (default: stdout).")
@click.option(
    "-i",
    "--identity",
    "identities",
    multiple=True,
    metavar="IDENTITY",
    help="File mode: an identity file or kms:NAME (repeatable).",
)
@click.option("-p", "--passphrase", is_flag=True, help="File mode: the file is passphrase-encrypted.")
@click.argument("token", required=False, metavar="[TOKEN|FILE|-]")
@pass_ctx
@_errors
def decrypt(
    c: _Ctx,
    *,
    key_name: str | None,
    associated_data: str | None,
    output: str | None,
    identities: tuple[str, ...],
    passphrase: bool,
    token: str | None,
) -> None:
    """Decrypt a ciphertext token (-k) or an encrypted file (-i / -p); write the plaintext."""
    from guomi.cli.files import decrypt_files, input_is_stream_file  # noqa: PLC0415

    if identities or passphrase or (not key_name and input_is_stream_file(token)):
        if key_name or associated_data:
            raise click.UsageError("-k/-a (service token) and -i/-p (file decryption) cannot be mixed")
        decrypt_files(c, identities, passphrase, output, token)
        return
    name = _need_key(key_name, "decrypt")
    text = _token_arg(token)
    with c.client() as client:
        plaintext = client.decrypt(name, text, _ad(associated_data))
    _write_output(plaintext, output)


@cli.command()
@click.option("-k", "--key", "key_name", metavar="NAME", required=True, help="The key the token is under.")
@click.option("-a", "--associated-data", metavar="TEXT", help="The associated data given to encrypt.")
@click.argument("token", required=False, metavar="[TOKEN|FILE|-]")
@pass_ctx
@_errors
def rewrap(c: _Ctx, key_name: str, associated_data: str | None, token: str | None) -> None:
    """Re-encrypt a token under the newest key version (the plaintext never leaves the service)."""
    text = _token_arg(token)
    with c.client() as client:
        click.echo(client.rewrap(key_name, text, _ad(associated_data)))


@cli.command()
@click.option(
    "-k", "--key", "key_name", metavar="NAME", required=True, help="The key that wraps the data key."
)
@click.option("--wrapped", is_flag=True, help="Only the wrapped data key (no plaintext).")
@click.option("-a", "--associated-data", metavar="TEXT", help="Bound to the wrapped data key.")
@pass_ctx
@_errors
def datakey(c: _Ctx, key_name: str, wrapped: bool, associated_data: str | None) -> None:
    """Generate a fresh SM4 data key: its plaintext (base64) and its wrapped token."""
    with c.client() as client:
        dk = client.datakey(key_name, plaintext=not wrapped, associated_data=_ad(associated_data))
    result = {"ciphertext": dk.ciphertext, "key_version": dk.key_version}
    if dk.plaintext is not None:
        result["plaintext"] = base64.b64encode(dk.plaintext).decode("ascii")
    if c.json:
        _emit_json(result)
    else:
        if dk.plaintext is not None:
            click.echo(f"plaintext: {result['plaintext']}")
        click.echo(f"ciphertext: {dk.ciphertext}")


@cli.command()
@click.option("-k", "--key", "key_name", metavar="NAME", required=True, help="An sm2-sign key.")
@click.option("--user-id", metavar="ID", help="SM2 signer ID (default 1234567812345678).")
@click.option("--der", "der_out", metavar="FILE", help="Also write the bare DER signature here.")
@click.argument("source", required=False, metavar="[INPUT|-]")
@pass_ctx
@_errors
def sign(c: _Ctx, key_name: str, user_id: str | None, der_out: str | None, source: str | None) -> None:
    """Sign INPUT (a file, or standard input) with SM2; print the signature token."""
    data = _read_input(source)
    with c.client() as client:
        signature = client.sign(key_name, data, user_id)
    if der_out:
        Path(der_out).write_bytes(signature_der(signature))
    click.echo(signature)


@cli.command()
@click.option("-k", "--key", "key_name", metavar="NAME", required=True, help="The key that signed.")
@click.option("-s", "--signature", required=True, metavar="SIG", help="Signature token (or HMAC token).")
@click.option("--user-id", metavar="ID", help="SM2 signer ID (default 1234567812345678).")
@click.argument("source", required=False, metavar="[INPUT|-]")
@pass_ctx
@_errors
def verify(c: _Ctx, key_name: str, signature: str, user_id: str | None, source: str | None) -> None:
    """Verify a signature (or HMAC) over INPUT; exit 0 if valid, 1 if not."""
    data = _read_input(source)
    with c.client() as client:
        if signature.startswith("guomi:") and _is_hmac_token(signature):
            valid = client.verify_hmac(key_name, data, signature)
        else:
            valid = client.verify(key_name, data, signature, user_id)
    if c.json:
        _emit_json({"valid": valid})
    else:
        (out if valid else err).print("valid" if valid else "[bold red]INVALID[/]")
    sys.exit(0 if valid else 1)


def _is_hmac_token(token: str) -> bool:
    from guomi.api import parse_text  # noqa: PLC0415 (only when verifying)

    try:
        header, _ = parse_text(token)
    except GuomiError:
        return False
    return header.algorithm == "hmac-sm3"


@cli.command("hmac")
@click.option("-k", "--key", "key_name", metavar="NAME", required=True, help="An hmac-sm3 key.")
@click.argument("source", required=False, metavar="[INPUT|-]")
@pass_ctx
@_errors
def hmac_cmd(c: _Ctx, key_name: str, source: str | None) -> None:
    """HMAC-SM3 of INPUT under a service key; print the HMAC token."""
    data = _read_input(source)
    with c.client() as client:
        click.echo(client.hmac(key_name, data))


# ---------------------------------------------------------------- tokens and policies


@cli.group("token")
def token_group() -> None:
    """Create, inspect and revoke access tokens."""


@token_group.command("create")
@click.option("-p", "--policy", "policies", multiple=True, required=True, help="Policy name (repeatable).")
@click.option("--ttl", metavar="DURATION", help='Lifetime, e.g. "1h".')
@pass_ctx
@_errors
def token_create(c: _Ctx, policies: tuple[str, ...], ttl: str | None) -> None:
    """Create a token holding POLICIES; print it (shown only once)."""
    with c.client() as client:
        result = _plain(client.create_token(list(policies), ttl))
    if c.json:
        _emit_json(result)
    else:
        click.echo(result["token"])


@token_group.command("lookup")
@pass_ctx
@_errors
def token_lookup(c: _Ctx) -> None:
    """Show the caller's own token (policies, expiry)."""
    with c.client() as client:
        _emit_json(_plain(client.lookup_self()))


@token_group.command("revoke")
@click.argument("token", required=False)
@click.option("--accessor", help="Revoke by accessor instead of by token.")
@pass_ctx
@_errors
def token_revoke(c: _Ctx, token: str | None, accessor: str | None) -> None:
    """Revoke TOKEN (or, given neither, the caller's own)."""
    with c.client() as client:
        client.revoke_token(token, accessor=accessor)
    err.print("Revoked.")


@cli.group("policy")
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
@_errors
def policy_write(c: _Ctx, name: str, source: str | None, rules: tuple[str, ...]) -> None:
    """Write policy NAME from -r rules or a JSON file {"rules": [...]}."""
    parsed: list[dict[str, Any]] = []
    if rules:
        for rule in rules:
            pattern, sep, caps = rule.partition("=")
            if not sep or not pattern or not caps:
                raise click.BadParameter(f"{rule!r} is not PATTERN=CAP[,CAP...]", param_hint="--rule")
            parsed.append({"pattern": pattern, "capabilities": [x.strip() for x in caps.split(",")]})
    else:
        document = json.loads(_read_input(source))
        parsed = list(document.get("rules", []))
    with c.client() as client:
        client.write_policy(name, parsed)
    err.print(f"Wrote policy {name}.")


@policy_group.command("read")
@click.argument("name")
@pass_ctx
@_errors
def policy_read(c: _Ctx, name: str) -> None:
    """Print policy NAME as JSON."""
    with c.client() as client:
        _emit_json(_plain(client.read_policy(name)))


@policy_group.command("list")
@pass_ctx
@_errors
def policy_list(c: _Ctx) -> None:
    """List policy names."""
    with c.client() as client:
        for name in client.list_policies():
            out.print(name)


@policy_group.command("delete")
@click.argument("name")
@pass_ctx
@_errors
def policy_delete(c: _Ctx, name: str) -> None:
    """Delete policy NAME."""
    with c.client() as client:
        client.delete_policy(name)
    err.print(f"Deleted policy {name}.")


# ---------------------------------------------------------------- audit


@cli.group()
def audit() -> None:
    """Audit log tools."""


@audit.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
@_errors
def audit_verify(c: _Ctx, path: Path) -> None:
    """Check the SM3 hash chain of audit log PATH; exit 1 on any edit, deletion or insertion.

    Cutting records off the end leaves a valid chain: compare the printed last sequence
    number and hash with a copy kept elsewhere.
    """
    from guomi.kms.audit import verify_audit_log  # noqa: PLC0415 (server package only here)

    result = verify_audit_log(path)
    if c.json:
        _emit_json(
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
        out.print(f"last seq {result.last_seq}, last SM3 {result.last_hash}")
    else:
        err.print(f"[bold red]BROKEN[/] at line {result.line}: {result.error}")
        err.print(f"{result.records} records verified before it")
    sys.exit(0 if result.ok else 1)


# File encryption (guomi-stream/v1) lives in guomi.cli.files; registered here.
from guomi.cli.files import keygen  # noqa: E402

cli.add_command(keygen)
