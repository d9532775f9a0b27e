"""The ``guomi`` command group and what every command shares: context, consoles, errors.

Layer: ``guomi.cli``. The root group :func:`cli` carries the connection settings
(``--addr`` / ``--token`` or ``GUOMI_ADDR`` / ``GUOMI_TOKEN``, ``--json``) in a :class:`Ctx`;
each command module (``_operator``, ``_keys``, ``_transit``, ...) defines its commands and
``guomi.cli`` registers them on this group in one list.

Output rules: what a script consumes (a ciphertext token, a plaintext, a signature, JSON
with ``--json``) goes to standard output, bare; everything meant for a person (tables,
notes, warnings, errors) goes through rich, errors to standard error. Text that came from
the user or the service (file and key names, error messages) is escaped before rich sees
it (:func:`esc`), so a name such as ``a[/]b`` prints as written instead of breaking the
markup. Exit status 0 on success, 1 when the service refused or an operation failed, 2 on
a usage error.
"""

from __future__ import annotations

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
from rich.markup import escape

from guomi import __version__
from guomi.cli._output import open_output
from guomi.client import Client
from guomi.exceptions import GuomiError, ServiceError

__all__ = [
    "Ctx",
    "ad_bytes",
    "cli",
    "emit_json",
    "err",
    "esc",
    "handle_errors",
    "need_key",
    "out",
    "pass_ctx",
    "plain",
    "read_input",
    "token_arg",
    "write_output",
]

F = TypeVar("F", bound=Callable[..., Any])

out = Console(highlight=False, soft_wrap=True)
"""Standard output, for what a person reads (tables, listings)."""
err = Console(stderr=True, highlight=False, soft_wrap=True)
"""Standard error: notes, warnings, errors, progress bars."""


def esc(value: object) -> str:
    """``value`` as text that rich prints literally (user or service text in a message)."""
    return escape(str(value))


class Ctx:
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


pass_ctx = click.make_pass_decorator(Ctx)


def handle_errors(func: F) -> F:
    """Turn guomi errors into one red line on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ServiceError as exc:
            where = f" [{exc.status} {exc.code}]" if exc.status else ""
            err.print(f"[bold red]error{esc(where)}:[/] {esc(exc)}")
            sys.exit(1)
        except (GuomiError, OSError, ValueError) as exc:
            err.print(f"[bold red]error:[/] {esc(exc)}")
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def read_input(source: str | None) -> bytes:
    """Bytes of the file ``source``, or standard input for ``-`` / ``None``."""
    if source is None or source == "-":
        return sys.stdin.buffer.read()
    return Path(source).read_bytes()


def token_arg(value: str | None) -> str:
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


def write_output(data: bytes, output: str | None, *, force: bool = False) -> None:
    """Small secret outputs (a token's plaintext, a key backup): standard output, or ``-o``
    ``output`` under the rules of :mod:`guomi.cli._output` (created 0600, atomically)."""
    with open_output(output, private=True, force=force) as f:
        f.write(data)


def ad_bytes(value: str | None) -> bytes | None:
    """``-a/--associated-data TEXT`` as UTF-8 bytes."""
    return value.encode("utf-8") if value is not None else None


def plain(answer: BaseModel) -> dict[str, Any]:
    """An SDK answer (a ``guomi.api`` model) as the JSON object the service sent."""
    return answer.model_dump(mode="json", exclude_none=True)


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


def need_key(key: str | None, command: str) -> str:
    if not key:
        raise click.UsageError(
            f"{command} needs -k/--key NAME (a key in the custody service)",
        )
    return key


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
    Encrypt files:       guomi keygen -o key.txt; guomi encrypt -r sm2:... -o x.gms x
    """
    # Tests pass obj=<something with .transport> to run the commands against an in-process app.
    ctx.obj = Ctx(addr, token, output_json, getattr(ctx.obj, "transport", None))
