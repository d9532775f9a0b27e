"""``guomi table ...``: encrypt, decrypt, re-key, re-index, migrate and scan whole tables and datasets.

Layer: ``guomi.cli``. A thin shell over :class:`guomi.bulk.Job`:

    guomi table encrypt SOURCE [SINK] --column NAME[:INDEX...] ... (--keyset FILE | --kms NAME)
                        [--engine local|spark] [--workers N] [--table T] [--dry-run] [--force]

SOURCE/SINK are a ``.csv`` or ``.parquet`` file, a directory of Parquet files, or a
database URL with ``--table`` (in place when no SINK is given). ``--keyset FILE`` reads a
keyset written by ``Keyset.to_encrypted_json(passphrase=...)``; the passphrase comes from
``GUOMI_PASSPHRASE`` or a prompt. A rich progress bar shows rows/s and the ETA on standard
error; a summary (rows, bytes, columns, key versions, time) follows, or JSON with
``guomi --json``.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from guomi.exceptions import GuomiError

__all__ = ["table"]

F = TypeVar("F", bound=Callable[..., Any])

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

LEGACY_FORMATS = (
    "fernet",
    "spark-gcm",
    "spark-cbc",
    "spark-ecb",
    "mysql-ecb",
    "aes-gcm-iv12",
    "vault",
    "rsa-oaep",
    "rsa-pkcs1",
)


def _errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (GuomiError, OSError, ValueError) as exc:
            err.print(f"[bold red]error:[/] {exc}", markup=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _root(ctx: click.Context) -> Any:
    """The root group's settings (address, token, --json), when run under ``guomi``."""
    return ctx.find_root().obj


def _load_keyset(path: Path) -> Any:
    from guomi.keys import Keyset  # noqa: PLC0415

    passphrase = os.environ.get("GUOMI_PASSPHRASE")
    if passphrase is None:
        if not sys.stdin.isatty():
            raise click.UsageError("the keyset passphrase: set GUOMI_PASSPHRASE (no terminal to prompt on)")
        passphrase = click.prompt(f"Passphrase for {path}", hide_input=True, err=True)
    return Keyset.from_encrypted_json(path.read_text("utf-8"), passphrase=passphrase)


def _legacy_key_bytes(text: str) -> bytes:
    """A key given as a file (raw bytes or text), hex, or base64."""
    import base64  # noqa: PLC0415
    import binascii  # noqa: PLC0415

    path = Path(text)
    if path.is_file():
        data = path.read_bytes()
        stripped = data.strip()
        if stripped.startswith(b"-----BEGIN"):
            return data
        try:
            return _legacy_key_bytes(stripped.decode("ascii"))
        except (UnicodeDecodeError, click.BadParameter):
            return data
    value = text.strip()
    if len(value) in (32, 48, 64) and all(c in "0123456789abcdefABCDEF" for c in value):
        return bytes.fromhex(value)
    try:
        return base64.b64decode(
            value + "=" * (-len(value) % 4),
            altchars=b"-_" if ("-" in value or "_" in value) else None,
            validate=True,
        )
    except (binascii.Error, ValueError):
        raise click.BadParameter("a legacy key is a file, hex or base64", param_hint="--legacy-key") from None


def _legacy(fmt: str, keys: tuple[str, ...], encoding: str | None, aad: str | None) -> Any:
    from guomi.bulk import legacy  # noqa: PLC0415

    if not keys:
        raise click.UsageError("migrate needs --legacy-key (the old format's key)")
    if fmt == "fernet":
        return legacy.FernetDecryptor(
            [k.strip() if not Path(k).is_file() else Path(k).read_text().strip() for k in keys]
        )
    if fmt == "vault":
        versions: dict[int, bytes] = {}
        for item in keys:
            number, sep, material = item.partition("=")
            if not sep or not number.isdigit():
                raise click.BadParameter(
                    "vault keys are VERSION=KEY (the exported key, base64)", param_hint="--legacy-key"
                )
            versions[int(number)] = _legacy_key_bytes(material)
        return legacy.VaultTransitDecryptor(versions)
    key = _legacy_key_bytes(keys[0])
    kwargs: dict[str, Any] = {}
    if encoding:
        kwargs["encoding"] = encoding
    if fmt.startswith("spark-"):
        return legacy.SparkAesDecryptor(
            key, mode=fmt.split("-")[1].upper(), aad=aad.encode() if aad else None, **kwargs
        )
    if fmt == "mysql-ecb":
        return legacy.MySQLAesDecryptor(key, **kwargs)
    if fmt == "aes-gcm-iv12":
        return legacy.AesGcmIv12Decryptor(key, aad=aad.encode() if aad else None, **kwargs)
    return legacy.RsaWrappedKeyDecryptor(key, padding="oaep" if fmt == "rsa-oaep" else "pkcs1v15", **kwargs)


def _io_options(func: F) -> F:
    """SOURCE [SINK], --column, tables, engine and run options: every job command."""
    options = [
        click.argument("source"),
        click.argument("sink", required=False),
        click.option(
            "-c",
            "--column",
            "columns",
            multiple=True,
            required=True,
            metavar="NAME[:INDEX...]",
            help="A column to process, with the blind indexes kept beside it (repeat for more).",
        ),
        click.option(
            "--table",
            metavar="NAME",
            help="Database table; for files, the table name bound into each value (default: dataset).",
        ),
        click.option(
            "--sink-table", metavar="NAME", help="Table to create when SINK is a database (default: --table)."
        ),
        click.option(
            "--engine",
            type=click.Choice(["local", "spark", "dask"]),
            default="local",
            show_default=True,
            help="local: threads in this process; spark: the active SparkSession or local[N]; "
            "dask: database tables only, Dask's scheduler or N local processes.",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            help="Threads (local), local[N] (spark) or processes (dask); default: all CPUs.",
        ),
        click.option(
            "--batch-rows",
            type=click.IntRange(min=1),
            default=10_000,
            show_default=True,
            help="Rows per database batch.",
        ),
        click.option(
            "--key-column",
            metavar="NAME",
            help="Database: the unique key to paginate on (default: the primary key).",
        ),
        click.option("--dry-run", is_flag=True, help="Print the plan and stop."),
        click.option("--force", is_flag=True, help="Replace an existing output."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _key_options(func: F) -> F:
    """Where the guomi keys come from: --keyset FILE or --kms NAME --wrapped-keys FILE."""
    options = [
        click.option(
            "--keyset",
            "keyset_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Encrypted keyset file.",
        ),
        click.option(
            "--kms",
            metavar="NAME",
            help="A key in the custody service (its data keys are unwrapped once per worker).",
        ),
        click.option(
            "--wrapped-keys",
            type=click.Path(dir_okay=False, path_type=Path),
            help="With --kms: the data-key document wrapped by that key (the first encrypt creates it).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _index_option(func: F) -> F:
    return click.option(
        "--index",
        "index_options",
        multiple=True,
        metavar="INDEX:SETTING=VALUE[,...]",
        help="Blind-index settings of an INDEX named in --column (repeat per index): bits=1..63, "
        "transform=casefold|digits|lower|upper|strip|last:N|prefix:N (join with '|'), "
        "slow=true|false|ITERATIONS, key_id=N; default: BlindIndex's defaults. They must match "
        "the application's Field declaration.",
    )(func)


def _common(func: F) -> F:
    return _io_options(_index_option(_key_options(func)))


def _parse_index_options(items: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``email_bidx:bits=16,transform=casefold`` -> ``{"email_bidx": {"bits": 16, ...}}``."""
    parsed: dict[str, dict[str, Any]] = {}
    for item in items:
        name, sep, rest = item.partition(":")
        if not sep or not name or not rest:
            raise click.BadParameter(f"{item!r}: expected INDEX:SETTING=VALUE[,...]", param_hint="--index")
        if name in parsed:
            raise click.BadParameter(f"index {name!r} given twice", param_hint="--index")
        settings: dict[str, Any] = {}
        for pair in rest.split(","):
            key, eq, value = (part.strip() for part in pair.partition("="))
            if not eq or not key or not value:
                raise click.BadParameter(f"{pair!r}: expected SETTING=VALUE", param_hint="--index")
            settings[key] = _index_setting(key, value)
        parsed[name] = settings
    return parsed


def _index_setting(key: str, value: str) -> Any:
    if key in ("bits", "key_id"):
        if not value.isdigit():
            raise click.BadParameter(f"{key} must be a whole number, not {value!r}", param_hint="--index")
        return int(value)
    if key == "slow":
        lowered = value.lower()
        if lowered in ("true", "yes", "on"):
            return True
        if lowered in ("false", "no", "off"):
            return False
        if value.isdigit():
            return int(value)
        raise click.BadParameter(
            f"slow is true, false or an iteration count, not {value!r}", param_hint="--index"
        )
    return value  # transform (checked by BlindIndex); unknown names are refused by the job


def _run(ctx: click.Context, operation: str, legacy: Any = None, **kw: Any) -> None:  # noqa: PLR0912, PLR0915 (one linear CLI flow)
    from guomi.bulk import Job  # noqa: PLC0415 (pyarrow loads only for table commands)

    if operation != "rewrap" and bool(kw["keyset_path"]) == bool(kw["kms"]):
        raise click.UsageError("give exactly one of --keyset FILE or --kms NAME")
    root = _root(ctx)
    as_json = bool(getattr(root, "json", False))
    job_args: dict[str, Any] = {
        "columns": list(kw["columns"]),
        "operation": operation,
        "table": kw["table"],
        "sink_table": kw["sink_table"],
        "engine": kw["engine"],
        "workers": kw["workers"],
        "force": kw["force"],
        "batch_rows": kw["batch_rows"],
        "key_column": kw["key_column"],
        "legacy": legacy,
        "index_options": _parse_index_options(kw.get("index_options", ())),
    }
    if operation == "rewrap":
        job_args["keyring"] = None
    elif kw["kms"]:
        addr, token = getattr(root, "addr", None), getattr(root, "token", None)
        transport = getattr(root, "transport", None)
        job_args.update(kms=kw["kms"], addr=addr, token=token, transport=transport)
        wrapped_path: Path | None = kw["wrapped_keys"]
        if wrapped_path is None:
            raise click.UsageError("--kms NAME needs --wrapped-keys FILE (the data keys wrapped by that key)")
        if kw["dry_run"]:
            job_args["wrapped_keys"] = "(dry run)"
        elif wrapped_path.exists():
            job_args["wrapped_keys"] = wrapped_path.read_text("utf-8")
        elif operation == "encrypt":
            from guomi.bulk import new_wrapped_keys  # noqa: PLC0415

            document = new_wrapped_keys(kw["kms"], addr=addr, token=token, transport=transport)
            fd = os.open(wrapped_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(document)
            err.print(
                f"created {wrapped_path}: new data keys wrapped by service key {kw['kms']!r} "
                "(keep it with the data)"
            )
            job_args["wrapped_keys"] = document
        else:
            raise click.UsageError(f"{wrapped_path} does not exist (only encrypt creates it)")
    else:
        job_args["keyring"] = _PendingKeyset(kw["keyset_path"])
    if kw["dry_run"]:
        job_args["keyring"] = job_args.get("keyring") and "keyset"
        job = Job(kw["source"], kw["sink"], **job_args)
        plan = job.plan()
        if operation != "rewrap":
            plan["keys"] = (
                f"keyset {kw['keyset_path']}" if kw["keyset_path"] else f"custody service key {kw['kms']!r}"
            )
        if as_json:
            click.echo(json.dumps(plan, indent=2, ensure_ascii=False))
        else:
            grid = Table(title="plan (dry run: nothing read or written)", show_header=False)
            for name, value in plan.items():
                grid.add_row(
                    name,
                    json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else str(value),
                )
            out.print(grid)
        return
    if isinstance(job_args.get("keyring"), _PendingKeyset):
        job_args["keyring"] = _load_keyset(kw["keyset_path"])
    job = Job(kw["source"], kw["sink"], **job_args)
    total = _total_bytes(kw["source"])
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=as_json or not err.is_terminal,
    ) as bar:
        task = bar.add_task(operation, total=total, rows=0, rate="-")
        state = {"rows": 0}

        def progress(rows: int, nbytes: int) -> None:
            state["rows"] += rows
            elapsed = bar.tasks[0].elapsed or 0.0
            rate = f"{state['rows'] / elapsed:,.0f}" if elapsed > 0 else "-"
            bar.update(task, advance=nbytes if total else rows, rows=state["rows"], rate=rate)

        job.progress = progress
        summary = job.run()
    _print_summary(summary, as_json)


class _PendingKeyset:
    """Marks "a keyset file, opened only when the job really runs" (not for --dry-run)."""

    def __init__(self, path: Path) -> None:
        self.path = path


def _total_bytes(source: str) -> int | None:
    if "://" in source:
        return None
    path = Path(source)
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return None


def _print_summary(summary: Any, as_json: bool) -> None:
    data = summary.as_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    grid = Table(title=f"{summary.operation}: {summary.source} → {summary.sink}", show_header=True)
    for heading in ("column", "processed", "skipped", "nulls", "key versions"):
        grid.add_column(heading)
    for name, stats in summary.columns.items():
        grid.add_row(
            name,
            f"{stats.processed:,}",
            f"{stats.skipped:,}",
            f"{stats.nulls:,}",
            ", ".join(map(str, sorted(stats.key_versions))),
        )
    out.print(grid)
    rate = f"{data['rows_per_second']:,} rows/s" if data["rows_per_second"] else ""
    mib = summary.bytes / (1 << 20)
    out.print(
        f"rows {summary.rows:,}  bytes {summary.bytes:,} ({mib:,.1f} MiB)  "
        f"time {summary.seconds:.2f} s  {rate}  "
        f"key versions {', '.join(map(str, sorted(summary.key_versions))) or '-'}  "
        f"engine {summary.engine} x {summary.workers}"
    )
    if summary.skipped:
        out.print(f"skipped {summary.skipped:,} values (already in the target state: never processed twice)")
    if summary.conflicts:
        out.print(
            f"{summary.conflicts:,} rows changed by the application during the job: "
            "re-read and processed, none overwritten"
        )
    if summary.resumed_from:
        out.print(f"resumed: {summary.resumed_from:,} rows were done by an earlier run")


@click.group()
def table() -> None:
    """Encrypt, decrypt, re-key, re-index, migrate and scan whole tables and datasets.

    \b
    guomi table encrypt customers.csv customers.enc.csv --column email --column phone --keyset ks.json
    guomi table decrypt lake/ lake-plain/ --column card_no --kms cards --engine spark
    guomi table rekey postgresql://app@db/bank --table customer --column email --keyset ks.json
    guomi table migrate old.parquet new.parquet --column ssn --from fernet \\
        --legacy-key fernet.key --keyset ks.json
    guomi table scan customers.csv
    """


@table.command()
@_common
@click.pass_context
@_errors
def encrypt(ctx: click.Context, /, **kw: Any) -> None:
    """Encrypt the named columns (values already encrypted are skipped and counted)."""
    _run(ctx, "encrypt", **kw)


@table.command()
@_common
@click.pass_context
@_errors
def decrypt(ctx: click.Context, /, **kw: Any) -> None:
    """Decrypt the named columns (their index columns are dropped)."""
    _run(ctx, "decrypt", **kw)


@table.command()
@_common
@click.pass_context
@_errors
def rekey(ctx: click.Context, /, **kw: Any) -> None:
    """Re-encrypt values under older key versions with the keyring's primary version."""
    _run(ctx, "rekey", **kw)


@table.command()
@_common
@click.pass_context
@_errors
def reindex(ctx: click.Context, /, **kw: Any) -> None:
    """Recompute the blind-index columns named with NAME:INDEX from the encrypted values.

    Only the indexes named are recomputed (``-c email:email_bidx`` leaves other index columns
    of ``email`` alone); ``--index email_bidx:bits=16,transform=casefold`` gives their
    settings, e.g. to move an index to new bits or a new transform (write it under a new
    column name, switch the application, then drop the old column). The encrypted values are
    not changed.
    """
    _run(ctx, "reindex", **kw)


@table.command()
@_common
@click.option(
    "--from",
    "legacy_format",
    type=click.Choice(LEGACY_FORMATS),
    required=True,
    help="The legacy format of the values.",
)
@click.option(
    "--legacy-key",
    "legacy_keys",
    multiple=True,
    metavar="KEY",
    help="Its key: a file, hex or base64 (vault: VERSION=KEY; fernet: repeat for MultiFernet).",
)
@click.option(
    "--legacy-encoding",
    type=click.Choice(["raw", "base64", "hex"]),
    help="How binary legacy values are stored (default: base64 in text columns).",
)
@click.option("--legacy-aad", metavar="TEXT", help="GCM associated data the legacy values were made with.")
@click.pass_context
@_errors
def migrate(
    ctx: click.Context,
    /,
    legacy_format: str,
    legacy_keys: tuple[str, ...],
    legacy_encoding: str | None,
    legacy_aad: str | None,
    **kw: Any,
) -> None:
    """Decrypt AES/Fernet/Vault/RSA-era values and encrypt them as SM4 field values."""
    legacy = None if kw["dry_run"] else _legacy(legacy_format, legacy_keys, legacy_encoding, legacy_aad)
    if kw["dry_run"]:
        legacy = legacy_format
    _run(ctx, "migrate", legacy=legacy, **kw)


@table.command()
@click.argument("source")
@click.option("--table", metavar="NAME", help="Database: the table to scan (default: every table).")
@click.option("-c", "--column", "columns", multiple=True, metavar="NAME", help="Only these columns (repeat).")
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Rows sampled per file or table.",
)
@click.pass_context
@_errors
def scan(ctx: click.Context, source: str, table: str | None, columns: tuple[str, ...], sample: int) -> None:
    """Sample SOURCE and report what each column holds: plaintext PII, guomi ciphertext (and
    its key ids), or a legacy format (Fernet, Spark/MySQL AES, AES-GCM, Vault, RSA-wrapped keys)."""
    from guomi.bulk._scan import report, scan_source  # noqa: PLC0415

    findings = scan_source(source, table=table, columns=list(columns) or None, sample=sample)
    if getattr(_root(ctx), "json", False):
        click.echo(json.dumps(report(findings), indent=2, ensure_ascii=False))
        return
    for finding in findings:
        rows = "" if finding.rows is None else f" ({finding.rows:,} rows)"
        grid = Table(title=f"{finding.name}{rows}")
        for heading in (
            "column",
            "holds",
            "confidence",
            "sampled",
            "guomi",
            "PII",
            "legacy",
            "key ids",
            "flags",
        ):
            grid.add_column(heading)
        for name, col in finding.columns.items():
            grid.add_row(
                name,
                col.label,
                f"{col.confidence:.0%}",
                str(col.sampled),
                f"{col.guomi_share:.0%}",
                f"{col.pii_share:.0%}",
                f"{col.legacy_share:.0%}",
                ", ".join(f"{k} ({n})" for k, n in col.key_ids.items()) or "-",
                ", ".join(col.flags) or "-",
            )
        out.print(grid)
        if finding.error:
            err.print(f"[red]{finding.name}: {finding.error}[/]")


def _rewrapper(
    rsa_key: Path, sm2_key: Path, *, rsa_padding: str, oaep_hash: str, sm2_layout: str, encoding: str | None
) -> Any:
    """The RSA unwrap and SM2 wrap of ``guomi table rewrap``, from PEM files."""
    from guomi.bulk.legacy import RsaToSm2Rewrapper, RsaWrappedKeyDecryptor  # noqa: PLC0415
    from guomi.primitives import serialization  # noqa: PLC0415

    password = os.environ.get("GUOMI_RSA_KEY_PASSWORD")
    unwrap = RsaWrappedKeyDecryptor(
        rsa_key.read_bytes(),
        padding="oaep" if rsa_padding == "oaep" else "pkcs1v15",
        oaep_hash=oaep_hash,
        password=password.encode() if password is not None else None,
        encoding=encoding,  # type: ignore[arg-type]
    )
    pem = sm2_key.read_bytes()
    try:
        public = (
            serialization.load_pem_private_key(pem).public_key()
            if b"PRIVATE KEY" in pem
            else serialization.load_pem_public_key(pem)
        )
    except (GuomiError, ValueError) as exc:
        raise click.BadParameter(
            f"{sm2_key}: not an SM2 key in PEM ({exc})", param_hint="--sm2-key"
        ) from None
    return RsaToSm2Rewrapper(unwrap, public, layout=sm2_layout)


@table.command()
@_io_options
@click.option(
    "--rsa-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The RSA private key (PEM) that unwraps the old values; password from GUOMI_RSA_KEY_PASSWORD.",
)
@click.option(
    "--rsa-padding",
    type=click.Choice(["oaep", "pkcs1"]),
    default="oaep",
    show_default=True,
    help="How the keys were wrapped (openssl pkeyutl rsa_padding_mode).",
)
@click.option(
    "--oaep-hash",
    type=click.Choice(["sha1", "sha256", "sha384", "sha512"]),
    default="sha1",
    show_default=True,
    help="OAEP digest and MGF1 digest (sha1 is OpenSSL's default).",
)
@click.option(
    "--sm2-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The SM2 public key (PEM; a private key's public half is used) that wraps the new values.",
)
@click.option(
    "--sm2-layout",
    type=click.Choice(["der", "c1c3c2", "c1c2c3"]),
    default="der",
    show_default=True,
    help="SM2 ciphertext layout (der is what openssl pkeyutl reads and writes).",
)
@click.option(
    "--encoding",
    type=click.Choice(["base64", "hex", "raw"]),
    help="How wrapped keys are stored (default: base64 in text columns, raw bytes in binary ones); "
    "the new values are stored the same way.",
)
@click.pass_context
@_errors
def rewrap(
    ctx: click.Context,
    /,
    *,
    rsa_key: Path,
    rsa_padding: str,
    oaep_hash: str,
    sm2_key: Path,
    sm2_layout: str,
    encoding: str | None,
    **kw: Any,
) -> None:
    """Re-wrap RSA-wrapped data keys to SM2 (GB/T 32918.4), leaving the payload untouched.

    \b
    guomi table rewrap keys.csv keys.sm2.csv -c wrapped_key --rsa-key rsa.pem --sm2-key sm2.pub.pem
    guomi table rewrap sqlite:///bank.db --table doc -c dek --rsa-key rsa.pem --rsa-padding pkcs1 \\
        --sm2-key sm2.pub.pem

    Values that already are SM2 ciphertexts are skipped and counted (a re-run changes nothing).
    """
    if any(":" in c for c in kw["columns"]):
        raise click.UsageError("rewrap takes plain column names (no :INDEX)")
    legacy = (
        f"rsa-{rsa_padding} -> sm2 ({sm2_layout})"
        if kw["dry_run"]
        else _rewrapper(
            rsa_key,
            sm2_key,
            rsa_padding=rsa_padding,
            oaep_hash=oaep_hash,
            sm2_layout=sm2_layout,
            encoding=encoding,
        )
    )
    _run(ctx, "rewrap", legacy=legacy, **kw)
