"""The assessment's configuration file (TOML): the system, the service, what to sample, the signer.

Layer: ``guomi.assess``. Read with the standard library's ``tomllib``. Unknown keys are
refused (a typo must not silently drop a check); every error names the key.

```toml
[system]
name = "核心账务 Core banking"
level = 3
owners = ["张三 <zhangsan@bank.cn>"]
rotation_period = "365d"          # keys must rotate at least this often (default 365d)

[[system.important_data]]         # what the system claims to protect
name = "customer ID numbers"
database = "sqlite:///bank.db"    # or: file = "exports/customers.csv"
table = "customers"
column = "id_no"
key = "pii"                       # custody-service key (optional): tokens' key, or the
                                  # key that wraps the column's field keyset
keyset = "customers.keyset.json"  # field keyset document (optional; guomi field values)
context_column = "id"             # row-bound field values: the column whose value is each
                                  # row's context (optional; default: tried with the
                                  # table's one-column primary key when a value does not
                                  # open without a context)
index_bits = 16                   # blind-index width (optional)

[[system.products]]               # certified products (商用密码产品认证证书)
name = "XX 服务器密码机"
certificate = "GM003312220230001"

[service]
addr = "http://127.0.0.1:8200"    # token from GUOMI_TOKEN
audit_log = "/var/lib/guomi/audit.log"
check_decrypt = false             # rewrap samples through the service (needs `rewrap`)

[[databases]]
url = "sqlite:///bank.db"
tables = ["customers"]            # optional

[[files]]
path = "/etc/app/application.properties"

[signing]
key = "assessor-sm2.pem"          # passphrase, if encrypted, from GUOMI_SIGNING_PASSPHRASE

[sampling]
rows = 1000

[scoring]                         # self-assessment weights (D/A/K style)
weight_d = 1.0
weight_a = 1.0
weight_k = 1.0
```
Relative paths are relative to the configuration file's directory. A passphrase-wrapped
field keyset is opened with ``GUOMI_KEYSET_PASSPHRASE``; a service-wrapped one through the
service (needs ``decrypt`` on the wrapping key, only with ``check_decrypt``).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guomi.exceptions import InvalidArgumentError

__all__ = [
    "AssessConfig",
    "ConfigError",
    "DatabaseSpec",
    "ImportantData",
    "Product",
    "ScoringWeights",
    "ServiceSpec",
    "SystemInfo",
    "load_config",
    "parse_duration",
]

_DURATION_RE = re.compile(r"(\d+)([smhdwy])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


class ConfigError(InvalidArgumentError):
    """The assessment configuration is missing something or has a wrong value (the message says which)."""


def parse_duration(value: str | int, where: str) -> int:
    """``"365d"``, ``"90d12h"``, ``3600`` (seconds) into seconds."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        parts = _DURATION_RE.findall(text)
        if parts and "".join(n + u for n, u in parts) == text:
            total = sum(int(n) * _UNITS[u] for n, u in parts)
            if total > 0:
                return total
    raise ConfigError(f'{where}: expected a positive duration such as "365d" or "720h", got {value!r}')


@dataclass(frozen=True, slots=True)
class ImportantData:
    """One item the system declares as important data."""

    name: str
    database: str | None = None
    table: str | None = None
    column: str | None = None
    file: str | None = None
    key: str | None = None
    suite: str | None = None
    index_bits: int | None = None
    #: the column's field keyset document (``Keyset.to_encrypted_json``), for guomi field values
    keyset: str | None = None
    #: the column holding each row's context for row-bound field values (the primary key)
    context_column: str | None = None

    @property
    def location(self) -> str:
        if self.file is not None:
            return f"file:{self.file}"
        return f"{self.database}#{self.table}.{self.column}"


@dataclass(frozen=True, slots=True)
class Product:
    """A certified cryptographic product or service in use."""

    name: str
    certificate: str | None = None
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class SystemInfo:
    name: str
    level: int
    owners: tuple[str, ...] = ()
    rotation_period: int = 365 * 86400
    important_data: tuple[ImportantData, ...] = ()
    products: tuple[Product, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    addr: str
    token: str | None = field(default=None, repr=False)
    audit_log: Path | None = None
    check_decrypt: bool = False


@dataclass(frozen=True, slots=True)
class DatabaseSpec:
    url: str
    tables: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ScoringWeights:
    weight_d: float = 1.0
    weight_a: float = 1.0
    weight_k: float = 1.0


@dataclass(frozen=True, slots=True)
class AssessConfig:
    """Everything one run needs (see the module docstring for the file format)."""

    system: SystemInfo
    service: ServiceSpec | None
    databases: tuple[DatabaseSpec, ...]
    files: tuple[Path, ...]
    signing_key: Path
    signing_passphrase: bytes | None = field(default=None, repr=False)
    keyset_passphrase: str | None = field(default=None, repr=False)
    sample_rows: int = 1000
    weights: ScoringWeights = ScoringWeights()
    source: Path | None = None


def _table(doc: dict[str, Any], name: str, allowed: set[str], required: bool = True) -> dict[str, Any]:
    value = doc.get(name)
    if value is None:
        if required:
            raise ConfigError(f"[{name}] is missing")
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    unknown = set(value) - allowed
    if unknown:
        raise ConfigError(f"[{name}]: unknown key(s) {', '.join(sorted(unknown))}")
    return value


def _str(d: dict[str, Any], key: str, where: str, required: bool = True) -> str | None:
    v = d.get(key)
    if v is None:
        if required:
            raise ConfigError(f"{where}.{key} is missing")
        return None
    if not isinstance(v, str) or not v.strip():
        raise ConfigError(f"{where}.{key} must be a non-empty string")
    return v


def _list_of_tables(doc: dict[str, Any], name: str, allowed: set[str]) -> list[dict[str, Any]]:
    items = doc.get(name, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigError(f"[[{name}]] must be an array of tables")
    for i, item in enumerate(items):
        unknown = set(item) - allowed
        if unknown:
            raise ConfigError(f"[[{name}]] #{i + 1}: unknown key(s) {', '.join(sorted(unknown))}")
    return items


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _sqlite_relative(base: Path, url: str) -> str:
    """``sqlite:///rel.db`` is relative to the config file's directory (absolute ones unchanged)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and ":memory:" not in url:
        return f"sqlite:///{(base / url.removeprefix('sqlite:///')).resolve()}"
    return url


def _important(items: list[dict[str, Any]], base: Path) -> tuple[ImportantData, ...]:
    out = []
    for i, d in enumerate(items):
        where = f"[[system.important_data]] #{i + 1}"
        name = _str(d, "name", where) or ""
        file = _str(d, "file", where, required=False)
        database = _str(d, "database", where, required=False)
        if (file is None) == (database is None):
            raise ConfigError(f"{where}: give either file = ... or database/table/column")
        table = column = None
        if database is not None:
            table = _str(d, "table", where)
            column = _str(d, "column", where)
            database = _sqlite_relative(base, database)
        bits = d.get("index_bits")
        if bits is not None and (not isinstance(bits, int) or not 1 <= bits <= 64):
            raise ConfigError(f"{where}.index_bits must be an integer 1..64")
        out.append(
            ImportantData(
                name=name,
                database=database,
                table=table,
                column=column,
                file=str(_resolve(base, file)) if file is not None else None,
                key=_str(d, "key", where, required=False),
                suite=_str(d, "suite", where, required=False),
                index_bits=bits,
                keyset=str(_resolve(base, ks)) if (ks := _str(d, "keyset", where, required=False)) else None,
                context_column=_context_column(d, where),
            )
        )
    return tuple(out)


def _context_column(d: dict[str, Any], where: str) -> str | None:
    name = _str(d, "context_column", where, required=False)
    if name is None:
        return None
    if d.get("keyset") is None:
        raise ConfigError(f"{where}.context_column needs keyset (it is for guomi field values)")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", name):
        raise ConfigError(f"{where}.context_column must be a plain column name")
    return name


def _system(doc: dict[str, Any], base: Path) -> SystemInfo:
    s = _table(
        doc,
        "system",
        {"name", "level", "owners", "rotation_period", "important_data", "products", "description"},
    )
    level = s.get("level")
    if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 5:
        raise ConfigError("system.level must be an integer 1..5 (GB/T 39786 levels)")
    owners = s.get("owners", [])
    if not isinstance(owners, list) or not all(isinstance(o, str) for o in owners):
        raise ConfigError("system.owners must be a list of strings")
    products = []
    for i, p in enumerate(_list_of_tables(s, "products", {"name", "certificate", "kind"})):
        where = f"[[system.products]] #{i + 1}"
        products.append(
            Product(
                _str(p, "name", where) or "",
                _str(p, "certificate", where, required=False),
                _str(p, "kind", where, required=False),
            )
        )
    important = _list_of_tables(
        s,
        "important_data",
        {
            "name",
            "database",
            "table",
            "column",
            "file",
            "key",
            "suite",
            "index_bits",
            "keyset",
            "context_column",
        },
    )
    return SystemInfo(
        name=_str(s, "name", "system") or "",
        level=level,
        owners=tuple(owners),
        rotation_period=parse_duration(s.get("rotation_period", "365d"), "system.rotation_period"),
        important_data=_important(important, base),
        products=tuple(products),
        description=_str(s, "description", "system", required=False) or "",
    )


def load_config(path: str | os.PathLike[str], *, environ: dict[str, str] | None = None) -> AssessConfig:
    """Reads and checks the TOML file at ``path``; the service token comes from ``GUOMI_TOKEN``."""
    env = os.environ if environ is None else environ
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the configuration ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc})") from None
    base = p.resolve().parent
    unknown = set(doc) - {"system", "service", "databases", "files", "signing", "sampling", "scoring"}
    if unknown:
        raise ConfigError(f"unknown section(s) {', '.join(sorted(unknown))}")
    system = _system(doc, base)

    service = None
    if "service" in doc:
        sv = _table(doc, "service", {"addr", "audit_log", "check_decrypt"})
        audit = _str(sv, "audit_log", "service", required=False)
        check = sv.get("check_decrypt", False)
        if not isinstance(check, bool):
            raise ConfigError("service.check_decrypt must be true or false")
        service = ServiceSpec(
            addr=(_str(sv, "addr", "service") or "").rstrip("/"),
            token=env.get("GUOMI_TOKEN") or None,
            audit_log=_resolve(base, audit) if audit is not None else None,
            check_decrypt=check,
        )

    databases = []
    for i, d in enumerate(_list_of_tables(doc, "databases", {"url", "tables"})):
        url = _str(d, "url", f"[[databases]] #{i + 1}") or ""
        tables = d.get("tables")
        if tables is not None and (
            not isinstance(tables, list) or not all(isinstance(t, str) for t in tables)
        ):
            raise ConfigError(f"[[databases]] #{i + 1}.tables must be a list of table names")
        databases.append(
            DatabaseSpec(_sqlite_relative(base, url), tuple(tables) if tables is not None else None)
        )
    files = [
        _resolve(base, _str(f, "path", f"[[files]] #{i + 1}") or "")
        for i, f in enumerate(_list_of_tables(doc, "files", {"path"}))
    ]

    sign = _table(doc, "signing", {"key"})
    passphrase = env.get("GUOMI_SIGNING_PASSPHRASE")
    sampling = _table(doc, "sampling", {"rows"}, required=False)
    rows = sampling.get("rows", 1000)
    if not isinstance(rows, int) or isinstance(rows, bool) or not 1 <= rows <= 1_000_000:
        raise ConfigError("sampling.rows must be an integer 1..1000000")
    sc = _table(doc, "scoring", {"weight_d", "weight_a", "weight_k"}, required=False)
    weights = {}
    for k in ("weight_d", "weight_a", "weight_k"):
        w = sc.get(k, 1.0)
        if not isinstance(w, int | float) or isinstance(w, bool) or w < 0:
            raise ConfigError(f"scoring.{k} must be a number >= 0")
        weights[k] = float(w)
    if sum(weights.values()) <= 0:
        raise ConfigError("scoring: at least one weight must be positive")
    return AssessConfig(
        system=system,
        service=service,
        databases=tuple(databases),
        files=tuple(files),
        signing_key=_resolve(base, _str(sign, "key", "signing") or ""),
        signing_passphrase=passphrase.encode() if passphrase else None,
        keyset_passphrase=env.get("GUOMI_KEYSET_PASSPHRASE") or None,
        sample_rows=rows,
        weights=ScoringWeights(**weights),
        source=p.resolve(),
    )
