"""``guomi audit``: audit log tools.

Layer: ``guomi.cli``. ``audit verify`` reads the log file with :mod:`guomi.kms.audit`, the
server package, which it imports only when run (it needs the ``server`` extra).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from guomi._extras import require_extra
from guomi.cli._app import Ctx, emit_json, err, esc, handle_errors, out, pass_ctx
from guomi.cli._audit_service import ServiceAudit

__all__ = ["audit"]


@click.group()
def audit() -> None:
    """Audit log tools."""


@audit.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--offline", is_flag=True, help="Do not ask the service (GUOMI_ADDR) to check the MACs.")
@click.option(
    "--no-head",
    is_flag=True,
    help="An archived copy: check the MACs with the service but do not require its current head.",
)
@click.option(
    "--anchor",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A checkpoint exported earlier (guomi audit checkpoint): the log must contain its head.",
)
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM key that checkpoint signatures must verify with (offline check of checkpoints).",
)
@pass_ctx
@handle_errors
def audit_verify(  # noqa: PLR0917 - one parameter per click option
    c: Ctx, path: Path, offline: bool, no_head: bool, anchor: Path | None, public_key: Path | None
) -> None:
    """Check audit log PATH: SM3 chain, record MACs, signed checkpoints; exit 1 on any edit,
    deletion, insertion or re-chaining.

    The MACs are keyed with a key only the service holds: with GUOMI_ADDR and GUOMI_TOKEN
    (root, or a policy granting `audit`) the service checks them and the log must also
    contain the service's current head. Without a token only the chain and the checkpoint
    signatures (--public-key) are checked, and the output says so. Logs written before
    format 2 verify as legacy (unkeyed).
    """
    require_extra("server")
    from guomi.kms.audit import verify_audit_log  # noqa: PLC0415 (the server extra loads only here)

    anchor_doc = json.loads(anchor.read_text()) if anchor is not None else None
    pem = public_key.read_bytes() if public_key is not None else None
    if c.token and not offline:
        with ServiceAudit(c.addr or "http://127.0.0.1:8200", c.token, c.transport) as svc:
            head = svc.head()
            if anchor_doc is None and not no_head and int(head.get("head_seq", 0)) > 0:
                anchor_doc = {"head_seq": head["head_seq"], "head": head["head"]}
            result = verify_audit_log(
                path, mac_checker=svc.check, public_key=pem or head.get("public_key"), anchor=anchor_doc
            )
    else:
        result = verify_audit_log(path, public_key=pem, anchor=anchor_doc)
    if c.json:
        emit_json(
            {
                "ok": result.ok,
                "records": result.records,
                "last_seq": result.last_seq,
                "last_hash": result.last_hash,
                "error": result.error,
                "line": result.line,
                "keyed": result.keyed,
                "legacy": result.legacy,
                "macs_checked": result.macs_checked,
                "checkpoints": result.checkpoints,
                "anchored": result.anchored,
                "statement": result.statement,
            }
        )
    elif result.ok:
        out.print(f"[green]OK[/]: {esc(result.statement)}", highlight=False)
        out.print(f"last seq {esc(result.last_seq)}, last SM3 {esc(result.last_hash)}")
    else:
        err.print(f"[bold red]BROKEN[/] at line {esc(result.line)}: {esc(result.error)}")
        err.print(f"{result.records} records verified before it")
    sys.exit(0 if result.ok else 1)


@audit.command("checkpoint")
@pass_ctx
@handle_errors
def audit_checkpoint(c: Ctx) -> None:
    """Print a signed checkpoint of the service's audit log head (JSON) for an external anchor
    (a ticket, a WORM bucket, another host); `guomi audit verify --anchor FILE` checks it."""
    if not c.token:
        raise ValueError("set GUOMI_TOKEN (root, or a policy granting audit)")
    with ServiceAudit(c.addr or "http://127.0.0.1:8200", c.token, c.transport) as svc:
        print(json.dumps(svc.checkpoint(), indent=2, sort_keys=True))
