"""``guomi operator generate-root | rekey | rotate``: the root and seal life cycle from the CLI.

Layer: ``guomi.cli``.  Talks to ``sys/generate-root/*``, ``sys/rekey/*`` and ``sys/rotate``
(docs/operations.md).  Shares are prompted without echo (or read one per line from standard
input when it is not a terminal); the generate-root one-time pad stays in this process (or
with the initiator, with ``--init`` / ``--decode``), so the new root token never crosses the
network in clear.  Registered in the ``operator`` group with one line each.
"""

from __future__ import annotations

import json
from typing import Any

import click

from guomi.cli._app import err, handle_errors, out
from guomi.client._calls import Call
from guomi.exceptions import InvalidEncodingError

__all__ = ["generate_root", "rekey", "rotate"]


def data_of(answer: Any) -> dict[str, Any]:
    """The ``data`` object of an answer."""
    inner = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(inner, dict):
        raise InvalidEncodingError("service answer has no JSON object under 'data'")
    return inner


def _call(obj: Any, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    with obj.client() as client:
        result: dict[str, Any] = client._run(Call(method, path, body, data_of, authenticated=False))
    return result


def _emit(obj: Any, data: dict[str, Any]) -> bool:
    if getattr(obj, "json", False):
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return True
    return False


def _prompt_share(what: str) -> str:
    share: str = click.prompt(what, hide_input=True)
    return share.strip()


def _decode(encoded: str, otp: str) -> str:
    from guomi.kms.seal import decode_root_token  # noqa: PLC0415 - pure function, no server deps

    return decode_root_token(encoded, otp)


# ---------------------------------------------------------------- generate-root


@click.command("generate-root")
@click.option("--init", "start_only", is_flag=True, help="Only start an attempt: print its nonce and OTP.")
@click.option("--nonce", help="Submit SHARE to the attempt with this nonce.")
@click.option("--decode", "encoded", metavar="ENCODED", help="Decode an encoded root token (needs --otp).")
@click.option("--otp", help="The attempt's one-time pad (from --init).")
@click.option("--cancel", is_flag=True, help="Cancel the attempt (needs --nonce).")
@click.option("--status", is_flag=True, help="Show the attempt's progress.")
@click.argument("share", required=False)
@click.pass_obj
@handle_errors
def generate_root(  # noqa: PLR0911, PLR0912 - one branch per mode, each a few lines
    obj: Any,
    *,
    start_only: bool,
    nonce: str | None,
    encoded: str | None,
    otp: str | None,
    cancel: bool,
    status: bool,
    share: str | None,
) -> None:
    """A new root token from a quorum of unseal shares.

    \b
    One terminal:   guomi operator generate-root            (asks for the shares)
    Several people: guomi operator generate-root --init     (initiator keeps the OTP)
                    guomi operator generate-root --nonce N   (each custodian, one share)
                    guomi operator generate-root --decode ENCODED --otp OTP
    The token travels only XORed with the one-time pad.
    """
    if encoded is not None:
        if not otp:
            raise click.UsageError("--decode needs --otp")
        click.echo(_decode(encoded, otp))
        return
    if status:
        data = _call(obj, "GET", "sys/generate-root/attempt")
        if not _emit(obj, data):
            out.print(f"started {data['started']}  progress {data['progress']}/{data['required']}")
        return
    if cancel:
        if not nonce:
            raise click.UsageError("--cancel needs --nonce")
        _call(obj, "DELETE", "sys/generate-root/attempt", {"nonce": nonce})
        err.print("generate-root attempt cancelled")
        return
    if nonce is not None:
        share = share or _prompt_share("Unseal share")
        data = _call(obj, "POST", "sys/generate-root/update", {"nonce": nonce, "key": share})
        if _emit(obj, data):
            return
        if data.get("complete"):
            out.print(f"Encoded root token: {data['encoded_token']}")
            err.print("Decode it with: guomi operator generate-root --decode ENCODED --otp OTP")
        else:
            out.print(f"progress {data['progress']}/{data['required']}")
        return
    started = _call(obj, "POST", "sys/generate-root/attempt")
    if start_only:
        if _emit(obj, started):
            return
        out.print(f"Nonce: {started['nonce']}\nOTP:   {started['otp']}")
        err.print(
            f"Keep the OTP to yourself. {started['required']} custodians each run: "
            f"guomi operator generate-root --nonce {started['nonce']}"
        )
        return
    try:
        data = started
        while not data.get("complete"):
            err.print(f"share {data['progress'] + 1} of {data['required']}")
            data = _call(
                obj,
                "POST",
                "sys/generate-root/update",
                {"nonce": started["nonce"], "key": _prompt_share("Unseal share")},
            )
    except (click.Abort, KeyboardInterrupt):
        _call(obj, "DELETE", "sys/generate-root/attempt", {"nonce": started["nonce"]})
        raise
    token = _decode(data["encoded_token"], started["otp"])
    if _emit(obj, {"root_token": token, "accessor": data.get("accessor")}):
        return
    out.print(f"Root token: {token}")
    err.print("[bold yellow]A new root token exists.[/] Revoke it once the task that needed it is done.")


# ---------------------------------------------------------------- rekey


@click.command("rekey")
@click.option(
    "--shares", "secret_shares", type=int, default=5, show_default=True, help="New number of shares."
)
@click.option(
    "--threshold", "secret_threshold", type=int, default=3, show_default=True, help="New threshold."
)
@click.option("--nonce", help="Submit SHARE to the rekey attempt (or its verification) with this nonce.")
@click.option("--verify", is_flag=True, help="With --nonce: SHARE is one of the NEW shares (verification).")
@click.option("--init", "start_only", is_flag=True, help="Only start the attempt: print its nonce.")
@click.option("--cancel", is_flag=True, help="Cancel the attempt (needs --nonce); the old shares stay valid.")
@click.option("--status", is_flag=True, help="Show the attempt's progress.")
@click.argument("share", required=False)
@click.pass_obj
@handle_errors
def rekey(
    obj: Any,
    *,
    secret_shares: int,
    secret_threshold: int,
    nonce: str | None,
    verify: bool,
    start_only: bool,
    cancel: bool,
    status: bool,
    share: str | None,
) -> None:
    """New unseal shares and threshold; a quorum of the OLD shares is required.

    The new shares count only once a quorum of them has been given back (verification):
    until then the old shares stay valid, so a crash never leaves the service without
    working shares.
    """
    if status:
        data = _call(obj, "GET", "sys/rekey/init")
        if not _emit(obj, data):
            out.print(
                f"started {data['started']}  progress {data['progress']}/{data['required']}  "
                f"verification pending {data['verification_pending']} "
                f"({data['verification_progress']}/{data['verification_required']})"
            )
        return
    if cancel:
        if not nonce:
            raise click.UsageError("--cancel needs --nonce")
        _call(obj, "DELETE", "sys/rekey/init", {"nonce": nonce})
        err.print("rekey cancelled; the old shares stay valid")
        return
    if nonce is not None:
        share = share or _prompt_share("New share" if verify else "Unseal share")
        path = "sys/rekey/verify" if verify else "sys/rekey/update"
        data = _call(obj, "POST", path, {"nonce": nonce, "key": share})
        if not _emit(obj, data):
            _print_rekey(data)
        return
    started = _call(
        obj, "POST", "sys/rekey/init", {"secret_shares": secret_shares, "secret_threshold": secret_threshold}
    )
    if start_only:
        if not _emit(obj, started):
            out.print(f"Nonce: {started['nonce']}")
        return
    data = started
    while not data.get("complete"):
        err.print(f"old share {data['progress'] + 1} of {data['required']}")
        data = _call(
            obj, "POST", "sys/rekey/update", {"nonce": started["nonce"], "key": _prompt_share("Unseal share")}
        )
    _print_rekey(data)
    verification = {"nonce": data["verification_nonce"], "progress": 0, "required": data["secret_threshold"]}
    while not verification.get("complete"):
        err.print(f"verification: new share {verification['progress'] + 1} of {verification['required']}")
        verification = _call(
            obj,
            "POST",
            "sys/rekey/verify",
            {"nonce": data["verification_nonce"], "key": _prompt_share("New share")},
        )
    err.print("[bold green]Rekeyed.[/] The old shares no longer unseal the service.")


def _print_rekey(data: dict[str, Any]) -> None:
    if "keys_base64" in data:
        for i, s in enumerate(data["keys_base64"], 1):
            out.print(f"New unseal share {i}: {s}")
        out.print(f"Verification nonce: {data['verification_nonce']}")
        err.print(
            f"[bold yellow]Not switched yet.[/] Give each share to a custodian; {data['secret_threshold']} "
            "of them must be given back (guomi operator rekey --verify --nonce NONCE) before they count."
        )
    elif data.get("complete"):
        err.print(
            f"[bold green]Rekeyed:[/] {data['secret_threshold']} of {data['secret_shares']} new shares."
        )
    else:
        out.print(f"progress {data['progress']}/{data['required']}")


# ---------------------------------------------------------------- rotate


@click.command("rotate")
@click.pass_obj
@handle_errors
def rotate(obj: Any) -> None:
    """A new barrier key (root token); records under older keys stay readable."""
    with obj.client() as client:
        data: dict[str, Any] = client._run(Call("POST", "sys/rotate", None, data_of))
    if not _emit(obj, data):
        err.print(f"barrier key rotated: term {data['term']}")
