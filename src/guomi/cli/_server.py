"""``guomi server``: build the custody service from the command line and serve it with uvicorn.

Layer: ``guomi.cli`` — the one place (with ``guomi audit verify``) where the CLI loads the
server package ``guomi.kms``. Production settings: uvloop and httptools when installed
(they are pinned dependencies), no access log (the audit log records every request, and
an access log would be a second, unchained and unprotected record), no ``Server`` header.
"""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path
from typing import Any

import uvicorn
from rich.console import Console
from rich.panel import Panel

__all__ = ["parse_listen", "run_server"]


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) into host and port; a bad value is a ValueError."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen {listen!r}: expected HOST:PORT, e.g. 127.0.0.1:8200")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def _fastest(module: str, fallback: str) -> str:
    return module if importlib.util.find_spec(module) is not None else fallback


def _http_protocol() -> Any:
    if importlib.util.find_spec("httptools") is None:
        return "h11"
    from guomi.kms.vault import VaultMethodsProtocol  # noqa: PLC0415 (server code loads only here)

    return VaultMethodsProtocol


def build_app(*, storage: str | None, data_dir: Path | None, audit_log: Path | None, dev: bool) -> Any:
    """The ASGI application for these settings (``guomi.kms.app.create_app``)."""
    from guomi.kms.app import create_app  # noqa: PLC0415 (server code loads only for `server`)
    from guomi.kms.config import Config  # noqa: PLC0415

    if dev:
        # Dev: nothing persists. Memory storage, audit records in memory, auto-unseal.
        config = Config(storage_url=storage or "memory://", data_dir=None, audit_path=audit_log, dev=True)
    else:
        if data_dir is not None:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        config = Config(storage_url=storage, data_dir=data_dir, audit_path=audit_log)
    return create_app(config)


def run_server(
    *,
    listen: str,
    storage: str | None,
    data_dir: Path | None,
    audit_log: Path | None,
    dev: bool,
    log_level: str,
    console: Console,
    loop: str = "auto",
    http: str = "auto",
) -> None:
    """Serve until interrupted."""
    host, port = parse_listen(listen)
    app = build_app(storage=storage, data_dir=data_dir, audit_log=audit_log, dev=dev)
    if dev:
        # guomi.kms prints its own DEV MODE warning with the root token on stderr.
        engine = getattr(getattr(app, "state", None), "engine", None)
        root = getattr(engine, "dev_root_token", None)
        console.print(
            Panel(
                "DEV MODE: in-memory store, ONE unseal share, unsealed automatically, nothing is kept.\n"
                "Never use it for real keys or data.",
                title="[bold red]guomi server --dev[/]",
                border_style="red",
            ),
            soft_wrap=False,  # panels wrap; the long copy-paste lines must not
        )
        if root:
            print(f"export GUOMI_ADDR=http://{host}:{port} GUOMI_TOKEN={root}", flush=True)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop=_fastest("uvloop", "asyncio") if loop == "auto" else loop,
        # httptools, handing a connection to h11 at a Vault LIST request (guomi.kms.vault).
        http=_http_protocol() if http == "auto" else http,
        log_level=log_level,
        access_log=False,
        server_header=False,
        date_header=True,
        proxy_headers=False,
        lifespan="auto",
        timeout_graceful_shutdown=5,
    )
    where = storage or ("memory://" if dev else f"sqlite:///{(data_dir or Path('.')).resolve() / 'guomi.db'}")
    console.print(f"guomi server listening on http://{host}:{port} (storage: {_redact(where)})")
    # uvicorn shuts down gracefully, then re-raises the signal it caught: not an error here.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run()


def _redact(url: str) -> str:
    """A storage URL without its password (postgresql://user:secret@host/db)."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if at and ":" in creds:
        return f"{scheme}{sep}{creds.split(':', 1)[0]}:***@{host}"
    return url
