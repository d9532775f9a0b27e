"""``guomi field``: the column lifecycle of database field encryption, from the shell.

Layer: ``guomi.cli``. ``migrate`` (phases ``dual-write`` → ``encrypted`` → ``clean``),
``rekey``, ``reindex`` and ``status`` over any SQLAlchemy database URL, with a rich progress
bar (rows/s, ETA). Every step is resumable: run the same command again after an interruption.

    guomi field migrate sqlite:///bank.db --table customer --column email \\
        --index email_bidx/16 --index email_ci=casefold/16 --keyset keys.json --phase dual-write
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from guomi.exceptions import GuomiError
from guomi.fields import BlindIndex, ColumnMigration, Field, ServiceKeyring
from guomi.keys import Keyset

__all__ = ["field"]

F = TypeVar("F", bound=Callable[..., Any])

PASSPHRASE_ENV = "GUOMI_PASSPHRASE"  # noqa: S105 (the variable's name)


def _parse_index(spec: str) -> BlindIndex:
    """``NAME[=TRANSFORM][/BITS][+slow]``, e.g. ``email_ci=casefold/16``, ``card=last:4/10``."""
    slow = spec.endswith("+slow")
    spec = spec.removesuffix("+slow")
    bits = None
    if "/" in spec:
        spec, b = spec.rsplit("/", 1)
        if not b.isdigit():
            raise click.BadParameter(f"bits must be a number in {spec}/{b}")
        bits = int(b)
    name, _, transform = spec.partition("=")
    try:
        return BlindIndex(name, transform or None, bits=bits, slow=slow)
    except GuomiError as exc:
        raise click.BadParameter(str(exc)) from None


def _keyring(keyset: str | None, kms: str | None, wrapped: str | None, addr: str, token: str | None) -> Any:
    if (keyset is None) == (kms is None):
        raise click.UsageError("give exactly one of --keyset FILE or --kms NAME (with --wrapped FILE)")
    if keyset is not None:
        passphrase = os.environ.get(PASSPHRASE_ENV)
        if passphrase is None:
            passphrase = click.prompt("keyset passphrase", hide_input=True)
        return Keyset.from_encrypted_json(Path(keyset).read_text(encoding="utf-8"), passphrase=passphrase)
    if wrapped is None or kms is None:
        raise click.UsageError("--kms needs --wrapped FILE (the keyset wrapped by that service key)")
    from guomi.client import Client  # noqa: PLC0415 (only for the service-backed keyring)

    client = Client(addr, token=token)
    return ServiceKeyring(client.aead(kms), Path(wrapped).read_text(encoding="utf-8"))


def _common(f: Any) -> Any:
    options = [
        click.argument("db_url"),
        click.option("--table", required=True, help="Table name."),
        click.option("--column", required=True, help="Plaintext column (the Field's column name)."),
        click.option("--encrypted-column", default=None, help="Column of field values (default COLUMN_enc)."),
        click.option("--key", default="id", show_default=True, help="Integer primary key column."),
        click.option("--index", "indexes", multiple=True, metavar="NAME[=TRANSFORM][/BITS][+slow]"),
        click.option(
            "--suite", default="sm4-gcm", type=click.Choice(["sm4-gcm", "sm4-siv"]), show_default=True
        ),
        click.option("--keyset", type=click.Path(exists=True, dir_okay=False), help="Encrypted keyset file."),
        click.option("--kms", metavar="NAME", help="Custody-service key wrapping the keyset."),
        click.option(
            "--wrapped", type=click.Path(exists=True, dir_okay=False), help="Wrapped keyset (with --kms)."
        ),
        click.option("--addr", envvar="GUOMI_ADDR", default="http://127.0.0.1:8200", show_default=True),
        click.option("--token", envvar="GUOMI_TOKEN", default=None),
        click.option("--batch", "batch_size", default=5000, show_default=True, help="Rows per batch."),
        click.option(
            "--throttle", default=0.0, help="Seconds to sleep between batches (spare the database)."
        ),
        click.option("--context-key", is_flag=True, help="Bind each value to its row's key."),
        click.option(
            "--workers",
            type=int,
            default=None,
            help="Parallel key ranges (dual-write; not SQLite). Default: 1 on SQLite, 2 elsewhere.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _migration(kw: dict[str, Any], *, keyless: bool = False) -> ColumnMigration:
    if keyless and kw["keyset"] is None and kw["kms"] is None:
        keyring: Any = Keyset.generate()  # status reads only public headers; this key is never used
    else:
        keyring = _keyring(kw["keyset"], kw["kms"], kw["wrapped"], kw["addr"], kw["token"])
    fld = Field(
        kw["table"], kw["column"], keyring, [_parse_index(s) for s in kw["indexes"]], suite=kw["suite"]
    )
    return ColumnMigration(
        kw["db_url"],
        fld,
        encrypted_column=kw["encrypted_column"],
        key=kw["key"],
        batch_size=kw["batch_size"],
        throttle=kw["throttle"],
        context_key=kw["context_key"],
    )


def _with_progress(label: str, run: Any) -> int:
    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(label, total=None, rate="-")

        def update(done: int, total: int) -> None:
            elapsed = progress.tasks[task].elapsed or 0.0
            rate = f"{done / elapsed:,.0f}" if elapsed > 0 else "-"
            progress.update(task, completed=done, total=total, rate=rate)

        count: int = run(update)
    return count


def _is_database_error(exc: BaseException) -> bool:
    try:
        import sqlalchemy.exc  # noqa: PLC0415 (the sql extra: `guomi --help` works without it)
    except ImportError:
        return False
    return isinstance(exc, sqlalchemy.exc.SQLAlchemyError)


def _one_line(exc: BaseException) -> str:
    """The cause in one line: a database error without the SQL statement and parameters
    SQLAlchemy appends (they may hold plaintext values)."""
    if _is_database_error(exc):
        inner = getattr(exc, "orig", None) or exc
        text = str(inner).strip().splitlines()
        return f"database: {text[0] if text else type(inner).__name__}"
    return str(exc)


def _field_errors(func: F) -> F:
    """Every failure of a `guomi field` command as one escaped red line and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if not isinstance(exc, GuomiError | OSError | ValueError) and not _is_database_error(exc):
                raise
            Console(stderr=True).print(f"[bold red]error:[/] {escape(_one_line(exc))}")
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _print_status(m: ColumnMigration) -> None:
    st = m.status()
    t = Table(title=f"{st.table}.{st.column} → {st.encrypted_column}: {st.state}")
    t.add_column("what")
    t.add_column("value", justify="right")
    t.add_row("rows", str(st.rows))
    t.add_row("plaintext only", str(st.plaintext_only))
    t.add_row("field values", str(st.encrypted))
    for kid, n in sorted(st.key_versions.items()):
        t.add_row(f"  under key {kid}", str(n))
    for step, info in sorted(st.steps.items()):
        t.add_row(f"step {step}", f"{info['state']} ({info['rows_done']} rows, {info['updated_at']})")
    Console().print(t)


@click.group("field")
def field() -> None:
    """Database field encryption: column lifecycle (resumable, batched, compare-and-set)."""


@field.command("migrate")
@_common
@click.option(
    "--phase",
    type=click.Choice(["dual-write", "encrypted", "clean"]),
    required=True,
    help="dual-write: add and backfill the encrypted column; encrypted: verify and mark; "
    "clean: drop plaintext.",
)
@_field_errors
def migrate(phase: str, **kw: Any) -> None:
    """Move a plaintext column through dual-write → encrypted → clean."""
    m = _migration(kw)
    if phase == "dual-write":
        n = _with_progress(
            f"encrypt {kw['table']}.{kw['column']}",
            lambda cb: m.dual_write(progress=cb, workers=kw["workers"]),
        )
        Console().print(f"{n} rows encrypted")
    elif phase == "encrypted":
        m.encrypted()
    else:
        m.clean()
    _print_status(m)


@field.command("rekey")
@_common
@_field_errors
def rekey(**kw: Any) -> None:
    """Re-encrypt every value not under the keyset's primary version."""
    m = _migration(kw)
    n = _with_progress(f"rekey {kw['table']}.{kw['column']}", lambda cb: m.rekey(progress=cb))
    Console().print(f"{n} values re-encrypted")
    _print_status(m)


@field.command("reindex")
@_common
@click.option("--new", "new_index", required=True, help="Name of the new index (one of --index) to fill.")
@_field_errors
def reindex(new_index: str, **kw: Any) -> None:
    """Fill a new blind-index column; old and new are both answered until the old is dropped."""
    m = _migration(kw)
    n = _with_progress(f"reindex {new_index}", lambda cb: m.reindex(new_index, progress=cb))
    Console().print(f"{n} rows indexed")
    _print_status(m)


@field.command("status")
@_common
@_field_errors
def status(**kw: Any) -> None:
    """Counts, key versions and step checkpoints of a column."""
    _print_status(_migration(kw, keyless=True))
