"""``guomi server``: the command and its flags; the runtime is :mod:`guomi.cli._server`.

Layer: ``guomi.cli``. The flags are parsed here, with only click loaded; the server
package (``guomi.kms``, FastAPI, uvicorn) is imported when the command runs, so the rest
of the CLI works on an installation without the ``server`` extra, and ``guomi server``
there says which ``pip install`` to run.
"""

from __future__ import annotations

from pathlib import Path

import click

from guomi._extras import require_extra
from guomi.cli._app import err, handle_errors

__all__ = ["server"]


@click.command()
@click.option(
    "--listen",
    default="127.0.0.1:8200",
    show_default=True,
    metavar="HOST:PORT",
    help="Address to listen on.",
)
@click.option(
    "--storage",
    metavar="URL",
    help="sqlite:///PATH (default: DATA_DIR/guomi.db), postgresql://..., or memory://",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".guomi-data"),
    show_default=True,
    help="Directory for the SQLite store and the audit log.",
)
@click.option("--audit-log", type=click.Path(dir_okay=False, path_type=Path), help="Audit log file.")
@click.option("--dev", is_flag=True, help="Throw-away in-memory service, one share, auto-unsealed. NOT SAFE.")
@click.option("--log-level", default="warning", show_default=True, help="uvicorn log level.")
@click.option(
    "--loop",
    type=click.Choice(["auto", "uvloop", "asyncio"]),
    default="auto",
    show_default=True,
    help="Event loop (auto: uvloop when installed).",
)
@click.option(
    "--http",
    "http_impl",
    type=click.Choice(["auto", "httptools", "h11"]),
    default="auto",
    show_default=True,
    help="HTTP parser (auto: httptools when installed).",
)
@handle_errors
def server(
    *,
    listen: str,
    storage: str | None,
    data_dir: Path,
    audit_log: Path | None,
    dev: bool,
    log_level: str,
    loop: str,
    http_impl: str,
) -> None:
    """Run the custody service (uvicorn, one process)."""
    require_extra("server")
    from guomi.cli._server import run_server  # noqa: PLC0415 (the server extra loads only here)

    run_server(
        listen=listen,
        storage=storage,
        data_dir=data_dir,
        audit_log=audit_log,
        dev=dev,
        log_level=log_level,
        console=err,
        loop=loop,
        http=http_impl,
    )
