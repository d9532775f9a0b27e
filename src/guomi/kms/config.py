"""Configuration of one custody-service process.

Layer: ``guomi.kms``.  Plain data.  :class:`Config` is what the engine and the ASGI app
need; :class:`ServerSettings` is every setting of a ``guomi server`` process (listening,
TLS, limits, bootstrap, seal), read from defaults, a TOML file, ``GUOMI_*`` environment
variables and the command line, in that order, and checked by :meth:`ServerSettings.check`
(``guomi server --check-config``).
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from guomi.exceptions import GuomiError

__all__ = [
    "Config",
    "ConfigError",
    "ServerSettings",
    "is_loopback",
    "load_config_file",
    "parse_listen",
    "resolve_settings",
    "settings_from_env",
]


@dataclass(slots=True)
class Config:
    """Everything a server needs to start.

    ``storage_url``: ``memory://``, ``sqlite:///PATH`` or ``postgresql://...``;
    ``None`` means ``sqlite:///<data_dir>/guomi.db``.  ``audit_path`` defaults to
    ``<data_dir>/audit.log`` (``None`` with no data directory keeps records in
    memory, for tests and ``--dev`` only).
    """

    storage_url: str | None = None
    data_dir: Path | None = None
    audit_path: Path | None = None
    #: fsync the audit log after every record (durable, slower).
    audit_fsync: bool = False
    #: Largest request body accepted (HTTP 413 above).
    max_body_bytes: int = 4 * 1024 * 1024
    #: Largest ``batch_input`` accepted (HTTP 413 above).
    max_batch_items: int = 10_000
    #: TTL of tokens created without one, and the largest TTL accepted (seconds).
    default_token_ttl: int = 32 * 86400
    max_token_ttl: int = 366 * 86400
    #: Versions listed by ``GET keys/{name}`` (newest first window; older ones are
    #: still usable, they are just not listed).
    key_info_versions: int = 100
    #: Seconds between background scans for keys whose ``auto_rotate_period``
    #: elapsed (0: only the lazy rotation on use).
    auto_rotate_check_interval: float = 300.0
    #: Dev mode: initialise with one share and unseal automatically (loud warning).
    dev: bool = False
    #: Decoded key versions kept in memory per process (versions never change once
    #: written; the metadata read on every request says which still exist).
    material_cache_size: int = 4096

    def resolved_storage_url(self) -> str:
        """The storage URL after defaults."""
        if self.storage_url:
            return self.storage_url
        if self.data_dir is not None:
            return f"sqlite:///{Path(self.data_dir).resolve() / 'guomi.db'}"
        return "memory://"

    def resolved_audit_path(self) -> Path | None:
        """The audit log file after defaults (``None``: in memory)."""
        if self.audit_path is not None:
            return Path(self.audit_path)
        if self.data_dir is not None:
            return Path(self.data_dir) / "audit.log"
        return None


# ---------------------------------------------------------------- the server process


class ConfigError(GuomiError, ValueError):
    """A server setting is missing, unknown or invalid; the message names it (never a secret)."""


_SEALS = ("shamir", "pkcs11")
_LOOPS = ("auto", "uvloop", "asyncio")
_HTTPS = ("auto", "httptools", "h11")
_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


@dataclass(slots=True)
class ServerSettings:
    """Every setting of ``guomi server``: one field per command-line flag (``--tls-cert`` is
    ``tls_cert``), the same names as keys of the TOML config file and, upper-cased with a
    ``GUOMI_`` prefix, as environment variables (``GUOMI_TLS_CERT``).

    Precedence, lowest first: these defaults, the config file (``--config`` /
    ``GUOMI_CONFIG``), the environment, the command line."""

    listen: str = "127.0.0.1:8200"
    storage: str | None = None
    data_dir: Path = Path(".guomi-data")
    audit_log: Path | None = None
    audit_fsync: bool = False
    dev: bool = False
    log_level: str = "warning"
    loop: str = "auto"
    http: str = "auto"
    #: TLS: certificate chain and private key (PEM); both or neither.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: CA certificates (PEM) that client certificates must chain to; set: a client
    #: certificate is required on every connection.
    tls_client_ca: Path | None = None
    #: Lowest TLS version accepted: "1.2" or "1.3".
    tls_min_version: str = "1.2"
    #: Serve plain HTTP on a non-loopback address (refused otherwise).
    insecure_no_tls: bool = False
    #: Seconds a client has to send a whole request (headers and body) once it starts,
    #: and to start one on a fresh connection; the connection is closed after that.
    read_timeout: float = 10.0
    #: Seconds an idle keep-alive connection stays open.
    keepalive_timeout: int = 5
    #: Open connections at most; further ones are closed at once.
    max_connections: int = 1024
    #: Requests being processed at most (HTTP 503 beyond).
    max_concurrent_requests: int = 512
    #: Largest request body and batch (HTTP 413 beyond).
    max_body_bytes: int = 4 * 1024 * 1024
    max_batch_items: int = 10_000
    #: One-time bootstrap token that ``sys/init`` requires (``None``: a fresh one is made at
    #: start and printed to the console, or read from / written to ``bootstrap_token_file``).
    bootstrap_token: str | None = field(default=None, repr=False)
    bootstrap_token_file: Path | None = None
    #: Unseal submissions accepted per client address and minute (HTTP 429 beyond).
    unseal_rate_per_minute: int = 30
    #: Root-key source: "shamir" (custodians' shares, the default) or "pkcs11" (an HSM).
    seal: str = "shamir"
    #: PKCS#11 seal: the vendor's module (.so), the token's label, the user PIN (better:
    #: ``pkcs11_pin_file`` or GUOMI_PKCS11_PIN) and the label of the wrapping key.
    pkcs11_module: Path | None = None
    pkcs11_token_label: str | None = None
    pkcs11_pin: str | None = field(default=None, repr=False)
    pkcs11_pin_file: Path | None = None
    pkcs11_key_label: str = "guomi-seal"

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The setting names (config-file keys)."""
        return tuple(f.name for f in fields(cls))

    def merged(self, values: Mapping[str, Any], *, source: str) -> ServerSettings:
        """A copy with ``values`` (already typed or strings) applied; :class:`ConfigError`
        names ``source`` and the setting when one is unknown or of the wrong type."""
        out = ServerSettings(**{f.name: getattr(self, f.name) for f in fields(self)})
        kinds = _field_kinds()
        for name, raw in values.items():
            if name not in kinds:
                raise ConfigError(f"{source}: unknown setting {name!r}")
            setattr(out, name, _coerce(name, kinds[name], raw, source))
        return out

    def pkcs11_user_pin(self) -> str | None:
        """The PIN from ``pkcs11_pin`` or the first line of ``pkcs11_pin_file``."""
        if self.pkcs11_pin:
            return self.pkcs11_pin
        if self.pkcs11_pin_file is not None:
            try:
                return self.pkcs11_pin_file.read_text("utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"pkcs11_pin_file: cannot read {self.pkcs11_pin_file}: {exc.strerror}"
                ) from None
        return None

    def uses_tls(self) -> bool:
        """A certificate is configured."""
        return self.tls_cert is not None

    def check(self) -> list[str]:  # noqa: PLR0912 - one flat list of independent checks
        """Every problem with these settings that can be found without starting (files are
        read, nothing is bound or opened); empty when they are usable."""
        problems: list[str] = []
        try:
            host, _port = parse_listen(self.listen)
        except ConfigError as exc:
            problems.append(str(exc))
            host = "127.0.0.1"
        if (self.tls_cert is None) != (self.tls_key is None):
            problems.append("tls_cert and tls_key go together: give both (PEM files) or neither")
        for name in ("tls_cert", "tls_key", "tls_client_ca", "pkcs11_module", "pkcs11_pin_file"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                problems.append(f"{name}: {path} is not a readable file")
        if self.tls_client_ca is not None and self.tls_cert is None:
            problems.append("tls_client_ca needs tls_cert and tls_key (client certificates need TLS)")
        if self.tls_min_version not in ("1.2", "1.3"):
            problems.append("tls_min_version: expected 1.2 or 1.3")
        if not self.uses_tls() and not is_loopback(host) and not self.insecure_no_tls:
            problems.append(
                f"listen {self.listen}: plain HTTP on a non-loopback address is refused; "
                "give tls_cert and tls_key (--tls-cert/--tls-key), or --insecure-no-tls"
            )
        for name, choices in (
            ("seal", _SEALS),
            ("loop", _LOOPS),
            ("http", _HTTPS),
            ("log_level", _LOG_LEVELS),
        ):
            if getattr(self, name) not in choices:
                problems.append(f"{name}: expected one of {', '.join(choices)}")
        if self.seal == "pkcs11":
            if self.dev:
                problems.append("seal pkcs11 cannot be combined with dev mode")
            if self.pkcs11_module is None or not self.pkcs11_token_label:
                problems.append("seal pkcs11 needs pkcs11_module and pkcs11_token_label")
        for name in (
            "read_timeout",
            "keepalive_timeout",
            "max_connections",
            "max_concurrent_requests",
            "max_body_bytes",
            "max_batch_items",
            "unseal_rate_per_minute",
        ):
            if getattr(self, name) <= 0:
                problems.append(f"{name}: must be positive")
        if self.bootstrap_token is not None and len(self.bootstrap_token) < 16:
            problems.append("bootstrap_token: at least 16 characters")
        return problems

    def engine_config(self) -> Config:
        """The engine's :class:`Config` for these settings."""
        if self.dev:
            return Config(
                storage_url=self.storage or "memory://",
                data_dir=None,
                audit_path=self.audit_log,
                dev=True,
                max_body_bytes=self.max_body_bytes,
                max_batch_items=self.max_batch_items,
            )
        return Config(
            storage_url=self.storage,
            data_dir=self.data_dir,
            audit_path=self.audit_log,
            audit_fsync=self.audit_fsync,
            max_body_bytes=self.max_body_bytes,
            max_batch_items=self.max_batch_items,
        )


def _field_kinds() -> dict[str, str]:
    kinds = {}
    for f in fields(ServerSettings):
        t = str(f.type)
        kinds[f.name] = (
            "bool"
            if t == "bool"
            else "int"
            if t == "int"
            else "float"
            if t == "float"
            else "path"
            if "Path" in t
            else "str"
        )
    return kinds


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _coerce(name: str, kind: str, raw: Any, source: str) -> Any:  # noqa: PLR0911
    if raw is None:
        return None
    try:
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
                return raw.strip().lower() in _TRUE
            raise ValueError
        if kind == "int":
            if isinstance(raw, bool):
                raise ValueError
            return int(raw)
        if kind == "float":
            if isinstance(raw, bool):
                raise ValueError
            return float(raw)
        if kind == "path":
            if not isinstance(raw, str | Path) or not str(raw):
                raise ValueError
            return Path(raw)
        if not isinstance(raw, str):
            raise ValueError
        return raw
    except ValueError:
        raise ConfigError(f"{source}: setting {name!r} must be a {kind}") from None


def load_config_file(path: Path) -> dict[str, Any]:
    """The settings in a TOML file (top-level keys, or a ``[server]`` table)."""
    try:
        with Path(path).open("rb") as f:
            doc = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML ({exc})") from None
    server = doc.pop("server", None)
    if isinstance(server, dict):
        doc.update(server)
    return doc


def settings_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """``GUOMI_<SETTING>`` variables (``GUOMI_TLS_CERT``, ``GUOMI_STORAGE``...)."""
    out = {}
    for name in ServerSettings.field_names():
        value = environ.get("GUOMI_" + name.upper())
        if value is not None:
            out[name] = value
    return out


def resolve_settings(
    *, config_file: Path | None, environ: Mapping[str, str], flags: Mapping[str, Any]
) -> ServerSettings:
    """Defaults, then the file, then the environment, then the command-line ``flags``."""
    settings = ServerSettings()
    if config_file is not None:
        settings = settings.merged(load_config_file(config_file), source=f"config file {config_file}")
    settings = settings.merged(settings_from_env(environ), source="environment")
    return settings.merged(flags, source="command line")


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) into host and port; :class:`ConfigError` if bad."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"listen {listen!r}: expected HOST:PORT, e.g. 127.0.0.1:8200")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
