"""``guomi server``: build the custody service from its settings and serve it with uvicorn.

Layer: ``guomi.cli`` — the one place (with ``guomi audit verify``) where the CLI loads the
server package ``guomi.kms``, and only when the command runs (uvicorn, FastAPI and the
storage drivers are imported inside :func:`run_server`).

Settings come from defaults, a TOML file (``--config`` / ``GUOMI_CONFIG``), ``GUOMI_*``
environment variables and the flags, in that order (:class:`guomi.kms.config.ServerSettings`);
``--check-config`` validates them and exits.  Start-up is ordered so that every failure is
one line naming its cause (passwords in URLs redacted) and a non-zero exit, before anything
says "listening": settings checked, TLS context built, socket bound, storage opened, the
seal opened; only then the line "listening on ...".

Production settings: uvloop when installed, the httptools parser with a request read
deadline and a connection cap (:mod:`guomi.kms.runtime`), no access log (the audit log
records every request), no ``Server`` header.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import os
import socket
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from guomi.exceptions import GuomiError

__all__ = ["SettingsError", "StartupError", "parse_listen", "redact_url", "run_server", "server"]

EXIT_STARTUP = 1
EXIT_USAGE = 2


class StartupError(GuomiError):
    """The server cannot start; the message is the one line shown to the operator."""

    exit_status = EXIT_STARTUP


class SettingsError(StartupError):
    """The settings themselves are wrong (exit status 2, as a usage error)."""

    exit_status = EXIT_USAGE


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) into host and port; a bad value is a ValueError."""
    from guomi.kms.config import parse_listen as parse  # noqa: PLC0415

    return parse(listen)


def redact_url(url: str) -> str:
    """A URL without its password (``postgresql://user:secret@host/db`` -> ``user:***@``),
    also inside a longer message."""
    import re  # noqa: PLC0415

    url = re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1:***@", url)
    return re.sub(r"(password=)[^\s&]+", r"\1***", url, flags=re.IGNORECASE)


# ---------------------------------------------------------------- the command

#: (flag, setting, click type, help) of every setting flag; booleans are plain flags.
_FLAGS: tuple[tuple[str, str, Any, str], ...] = (
    ("--listen", "listen", str, "HOST:PORT to listen on [127.0.0.1:8200]."),
    ("--storage", "storage", str, "sqlite:///PATH (default DATA_DIR/guomi.db), postgresql://..., memory://"),
    (
        "--data-dir",
        "data_dir",
        click.Path(file_okay=False, path_type=Path),
        "SQLite store and audit log [.guomi-data].",
    ),
    ("--audit-log", "audit_log", click.Path(dir_okay=False, path_type=Path), "Audit log file."),
    ("--audit-fsync", "audit_fsync", bool, "fsync the audit log after every record."),
    ("--dev", "dev", bool, "Throw-away in-memory service, one share, auto-unsealed. NOT SAFE."),
    ("--log-level", "log_level", str, "uvicorn log level [warning]."),
    ("--loop", "loop", click.Choice(["auto", "uvloop", "asyncio"]), "Event loop [auto: uvloop]."),
    ("--http", "http", click.Choice(["auto", "httptools", "h11"]), "HTTP parser [auto: httptools]."),
    ("--tls-cert", "tls_cert", click.Path(dir_okay=False, path_type=Path), "TLS certificate chain (PEM)."),
    ("--tls-key", "tls_key", click.Path(dir_okay=False, path_type=Path), "TLS private key (PEM)."),
    (
        "--tls-client-ca",
        "tls_client_ca",
        click.Path(dir_okay=False, path_type=Path),
        "CA (PEM) that client certificates must chain to; makes them required.",
    ),
    ("--tls-min-version", "tls_min_version", click.Choice(["1.2", "1.3"]), "Lowest TLS version [1.2]."),
    ("--insecure-no-tls", "insecure_no_tls", bool, "Allow plain HTTP on a non-loopback address."),
    ("--read-timeout", "read_timeout", float, "Seconds to send a whole request [10]."),
    ("--keepalive-timeout", "keepalive_timeout", int, "Seconds an idle connection stays open [5]."),
    ("--max-connections", "max_connections", int, "Open connections at most [1024]."),
    (
        "--max-concurrent-requests",
        "max_concurrent_requests",
        int,
        "Requests in progress at most (503) [512].",
    ),
    ("--max-body-bytes", "max_body_bytes", int, "Largest request body (413) [4 MiB]."),
    ("--max-batch-items", "max_batch_items", int, "Largest batch_input (413) [10000]."),
    (
        "--bootstrap-token",
        "bootstrap_token",
        str,
        "The one-time token sys/init needs (default: made and printed).",
    ),
    (
        "--bootstrap-token-file",
        "bootstrap_token_file",
        click.Path(dir_okay=False, path_type=Path),
        "Read the bootstrap token from FILE, or write a fresh one there (0600).",
    ),
    (
        "--unseal-rate-per-minute",
        "unseal_rate_per_minute",
        int,
        "Unseal submissions per address/minute [30].",
    ),
    ("--seal", "seal", click.Choice(["shamir", "pkcs11"]), "Root-key source [shamir]."),
    ("--pkcs11-module", "pkcs11_module", click.Path(dir_okay=False, path_type=Path), "PKCS#11 module (.so)."),
    ("--pkcs11-token-label", "pkcs11_token_label", str, "Label of the PKCS#11 token."),
    (
        "--pkcs11-pin-file",
        "pkcs11_pin_file",
        click.Path(dir_okay=False, path_type=Path),
        "File holding the token's user PIN (or GUOMI_PKCS11_PIN).",
    ),
    ("--pkcs11-key-label", "pkcs11_key_label", str, "Label of the wrapping key in the token [guomi-seal]."),
)


def _with_flags(func: Any) -> Any:
    for flag, dest, kind, text in reversed(_FLAGS):
        if kind is bool:
            func = click.option(flag, dest, is_flag=True, default=None, help=text)(func)
        else:
            func = click.option(flag, dest, type=kind, default=None, help=text)(func)
    return func


@click.command("server")
@click.option(
    "--config",
    "config_file",
    envvar="GUOMI_CONFIG",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file with any of these settings (keys as the flags, with _ for -; env GUOMI_CONFIG).",
)
@click.option("--check-config", is_flag=True, help="Check the settings (files, TLS, storage URL) and exit.")
@_with_flags
def server(config_file: Path | None, check_config: bool, **flags: Any) -> None:
    """Run the custody service (uvicorn, one process).

    \b
    Every flag is also a config-file key and a GUOMI_<NAME> environment variable
    (e.g. tls_cert / GUOMI_TLS_CERT); the flags win over both.
    """
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    given = {k: v for k, v in flags.items() if v is not None}
    try:
        from guomi.kms.config import ConfigError, resolve_settings  # noqa: PLC0415

        try:
            settings = resolve_settings(config_file=config_file, environ=os.environ, flags=given)
        except ConfigError as exc:
            _fail(console, str(exc), EXIT_USAGE)
        if check_config:
            sys.exit(_check_config(settings, console))
        run_server(settings, console=console)
    except StartupError as exc:
        _fail(console, str(exc), exc.exit_status)


def _fail(console: Console, message: str, status: int) -> NoReturn:
    console.print(f"[bold red]error:[/] {escape(redact_url(message))}")
    sys.exit(status)


def _check_config(settings: Any, console: Console) -> int:
    problems = list(settings.check())
    if not problems and settings.uses_tls():
        from guomi.kms.config import ConfigError  # noqa: PLC0415
        from guomi.kms.runtime import server_ssl_context  # noqa: PLC0415

        try:
            server_ssl_context(settings)
        except ConfigError as exc:
            problems.append(str(exc))
    if not problems:
        try:
            _storage_url_ok(settings)
        except StartupError as exc:
            problems.append(str(exc))
    for p in problems:
        console.print(f"[bold red]error:[/] {escape(redact_url(p))}")
    if problems:
        return EXIT_USAGE
    scheme = "https" if settings.uses_tls() else "http"
    console.print(
        f"configuration OK: {scheme}://{escape(settings.listen)}, "
        f"storage {escape(redact_url(_storage_of(settings)))}, seal {settings.seal}"
        + (", client certificates required" if settings.tls_client_ca else "")
    )
    return 0


def _storage_of(settings: Any) -> str:
    return str(settings.engine_config().resolved_storage_url())


def _storage_url_ok(settings: Any) -> None:
    url = _storage_of(settings)
    if not url.startswith(("memory://", "memory", "sqlite://", "postgresql://", "postgres://")):
        raise StartupError(
            f"storage {url}: unknown scheme (use memory://, sqlite:///PATH or postgresql://...)"
        )
    if url.startswith("sqlite://") and not url[len("sqlite://") :]:
        raise StartupError("storage: sqlite URL needs a path, e.g. sqlite:///var/lib/guomi/guomi.db")


# ---------------------------------------------------------------- start-up


def _fastest(module: str, fallback: str) -> str:
    return module if importlib.util.find_spec(module) is not None else fallback


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise StartupError(f"cannot listen on {host}:{port}: {reason}") from None
    sock.set_inheritable(True)
    return sock


def _storage_cause(exc: BaseException) -> str:
    """The underlying reason of a storage failure (the driver's message, first line)."""
    inner = exc.__cause__ or exc.__context__
    text = str(inner or exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def build_service(settings: Any) -> tuple[Any, Any]:
    """(ASGI app, engine) for these settings; :class:`StartupError` on any failure."""
    from guomi.kms import build_engine  # noqa: PLC0415 (server code loads only for `server`)
    from guomi.kms.app import create_app  # noqa: PLC0415
    from guomi.kms.storage import StorageError  # noqa: PLC0415

    config = settings.engine_config()
    where = redact_url(config.resolved_storage_url())
    if not settings.dev and settings.data_dir is not None:
        try:
            settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StartupError(f"data directory {settings.data_dir}: {exc.strerror}") from None
    try:
        engine = build_engine(config)
        initialized = engine.is_initialized()  # the first read: fails now if storage is unusable
        del initialized
        app = create_app(config, engine=engine)
    except StorageError as exc:
        raise StartupError(f"storage {where} unreachable: {redact_url(_storage_cause(exc))}") from None
    except ValueError as exc:
        raise StartupError(f"storage {where}: {exc}") from None
    except OSError as exc:
        raise StartupError(f"cannot open {exc.filename or where}: {exc.strerror or exc}") from None
    return app, engine


def run_server(settings: Any, *, console: Console) -> None:
    """Check, bind, open, then serve until interrupted (see the module docstring)."""
    problems = settings.check()
    if problems:
        raise SettingsError(problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    from guomi.kms.config import ConfigError  # noqa: PLC0415
    from guomi.kms.runtime import BootstrapLock, OperationsGuard, server_ssl_context  # noqa: PLC0415

    ssl_context = None
    if settings.uses_tls():
        try:
            ssl_context = server_ssl_context(settings)
        except ConfigError as exc:
            raise SettingsError(str(exc)) from None
    host, port = parse_listen(settings.listen)
    sock = _bind(host, port)
    try:
        app, engine = build_service(settings)
        seal = _open_seal(settings, engine, console)
        app = _with_lifecycle_routes(app, engine, seal)
        bootstrap = None
        if not engine.is_initialized():
            bootstrap, show = BootstrapLock.from_settings(
                settings.bootstrap_token, settings.bootstrap_token_file
            )
            _announce_bootstrap(console, bootstrap, show, settings.bootstrap_token_file)
        guarded = OperationsGuard(
            app,
            engine=engine,
            bootstrap=bootstrap,
            unseal_rate_per_minute=settings.unseal_rate_per_minute,
            seal=seal,
        )
        scheme = "https" if ssl_context is not None else "http"
        if settings.dev:
            _announce_dev(console, engine, scheme, host, port)
        _serve(
            settings,
            app=guarded,
            sock=sock,
            ssl_context=ssl_context,
            console=console,
            scheme=scheme,
            host=host,
            port=port,
        )
    finally:
        with contextlib.suppress(OSError):
            sock.close()


def _open_seal(settings: Any, engine: Any, console: Console) -> Any:
    """The PKCS#11 seal when configured; unseals the service with it when possible."""
    if settings.seal != "pkcs11":
        return None
    from guomi.kms.seal.pkcs11 import Pkcs11Seal, SealDeviceError, auto_unseal  # noqa: PLC0415

    seal = Pkcs11Seal(
        module=settings.pkcs11_module,
        token_label=settings.pkcs11_token_label,
        pin=settings.pkcs11_user_pin(),
        key_label=settings.pkcs11_key_label,
    )
    try:
        if auto_unseal(engine, seal):
            console.print("[green]unsealed[/] with the PKCS#11 seal")
    except SealDeviceError as exc:
        # Keep serving sealed: custodians can still unseal with the recovery shares.
        console.print(f"[bold red]error:[/] PKCS#11 seal: {escape(str(exc))}; the service stays sealed")
    return seal


def _with_lifecycle_routes(app: Any, engine: Any, seal: Any) -> Any:
    """The service with the generate-root / rekey / rotate routes added to its table; with the
    PKCS#11 seal a rekey also re-wraps the new master key in the token (same commit)."""
    from guomi.kms.app import ServiceApp  # noqa: PLC0415
    from guomi.kms.http import ROUTES  # noqa: PLC0415
    from guomi.kms.runtime import lifecycle_routes  # noqa: PLC0415
    from guomi.kms.seal import SealLifecycle  # noqa: PLC0415
    from guomi.kms.vault import with_vault  # noqa: PLC0415

    if seal is None:
        life = SealLifecycle(engine)
    else:
        from guomi.kms.seal.pkcs11 import WRAPPED_MASTER_PATH  # noqa: PLC0415
        from guomi.kms.storage import Put  # noqa: PLC0415

        life = SealLifecycle(engine, master_hook=lambda master: [Put(WRAPPED_MASTER_PATH, seal.wrap(master))])
    # The same table create_app serves (guomi's routes and the Vault-compatible surface),
    # plus the life-cycle routes.
    return ServiceApp(engine, app.state.config, with_vault((*ROUTES, *lifecycle_routes(life))))


def _announce_bootstrap(console: Console, lock: Any, show: bool, file: Path | None) -> None:
    if show:
        console.print(
            "[bold yellow]Not initialised.[/] sys/init needs this one-time bootstrap token "
            "(guomi --token TOKEN operator init):"
        )
        print(f"bootstrap token: {lock.token}", file=sys.stderr, flush=True)
    elif file is not None:
        console.print(
            f"[bold yellow]Not initialised.[/] The bootstrap token for sys/init is in {escape(str(file))}"
        )
    else:
        console.print("[bold yellow]Not initialised.[/] sys/init needs the bootstrap token given at start.")


def _announce_dev(console: Console, engine: Any, scheme: str, host: str, port: int) -> None:
    from rich.panel import Panel  # noqa: PLC0415

    console.print(
        Panel(
            "DEV MODE: in-memory store, ONE unseal share, unsealed automatically, nothing is kept.\n"
            "Never use it for real keys or data.",
            title="[bold red]guomi server --dev[/]",
            border_style="red",
        ),
        soft_wrap=False,  # panels wrap; the long copy-paste lines must not
    )
    root = getattr(engine, "dev_root_token", None)
    if root:
        print(f"export GUOMI_ADDR={scheme}://{host}:{port} GUOMI_TOKEN={root}", flush=True)


def _serve(
    settings: Any,
    *,
    app: Any,
    sock: socket.socket,
    ssl_context: Any,
    console: Console,
    scheme: str,
    host: str,
    port: int,
) -> None:
    import uvicorn  # noqa: PLC0415

    from guomi.kms.runtime import guarded_http_protocol  # noqa: PLC0415

    use_httptools = (
        settings.http in ("auto", "httptools") and importlib.util.find_spec("httptools") is not None
    )
    http: Any = (
        guarded_http_protocol(read_timeout=settings.read_timeout, max_connections=settings.max_connections)
        if use_httptools
        else "h11"
    )
    config = uvicorn.Config(
        app,
        loop=_fastest("uvloop", "asyncio") if settings.loop == "auto" else settings.loop,
        http=http,
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
        date_header=True,
        proxy_headers=False,
        lifespan="auto",
        timeout_graceful_shutdown=5,
        timeout_keep_alive=settings.keepalive_timeout,
        limit_concurrency=settings.max_concurrent_requests,
        ssl_certfile=str(settings.tls_cert) if ssl_context is not None else None,
        ssl_context_factory=(lambda _cfg, _default: ssl_context) if ssl_context is not None else None,
    )
    where = redact_url(settings.engine_config().resolved_storage_url())
    extra = ", client certificates required" if settings.tls_client_ca else ""
    console.print(
        f"guomi server listening on {scheme}://{escape(f'{host}:{port}')} (storage: {escape(where)}{extra})"
    )
    # uvicorn shuts down gracefully, then re-raises the signal it caught: not an error here.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[sock])
