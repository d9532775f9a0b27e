"""File encryption in the ``guomi`` CLI: ``encrypt -r/-p``, ``decrypt -i/-p``, ``keygen``.

Layer: ``guomi.cli``. The format is ``guomi-stream/v1`` (``docs/spec/stream.md``) through
:mod:`guomi.envelope`; memory stays bounded whatever the file size.

Output safety (:mod:`guomi.cli._output`): a new regular file named by ``-o FILE`` is
written to a temporary file in the same directory and renamed onto ``FILE`` only after the
last segment was written (encrypt) or verified (decrypt), so an interrupted or failed run
never leaves a file, or a half file, under the final name; an existing file is refused
unless ``--force``; devices and FIFOs are written through, never replaced. Decrypted
plaintext is created mode 0600. Without ``-o`` the output goes to standard output as it is
produced (for decrypt: verified segments only, and the exit status is 1 if a later
segment fails).

Signed files (``docs/spec/stream.md`` §6): ``encrypt --sign-key KEY`` signs the file with
an SM2 key (a PEM private key file, or ``kms:NAME``, an ``sm2-sign`` key in the custody
service); ``decrypt --verify-key KEY`` (a PEM public key file, ``sm2:...`` or ``kms:NAME``)
refuses a file that is unsigned, signed by another key, or whose signature does not verify,
and for a file input checks the signature before anything is decrypted. ``--signer-id``
sets the SM2 user ID of both (default ``1234567812345678``, GM/T 0009).

Passphrases are asked on the terminal (``/dev/tty``, twice when encrypting), or read from
the ``GUOMI_PASSPHRASE`` environment variable for scripts.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

import click
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from guomi.cli._app import Ctx, err, esc
from guomi.cli._output import open_output
from guomi.envelope.stream import (
    DEFAULT_MAX_ITERATIONS,
    MAGIC,
    Identity,
    KmsIdentity,
    KmsRecipient,
    PassphraseIdentity,
    PassphraseRecipient,
    Recipient,
    decrypt,
    encrypt,
    read_header,
)
from guomi.envelope.text import (
    SM2_RECIPIENT_PREFIX,
    format_identity_file,
    generate_identity,
    parse_identity_file,
    parse_sm2_recipient,
    sm2_recipient_string,
)
from guomi.exceptions import GuomiError, NoIdentityMatchError, StreamError
from guomi.keys import LocalSigner, Signer
from guomi.primitives.serialization import load_pem_private_key, load_pem_public_key
from guomi.primitives.sm2 import DEFAULT_USER_ID, SM2PublicKey

__all__ = [
    "DEFAULT_SIGNER_ID",
    "decrypt_files",
    "encrypt_files",
    "input_is_stream_file",
    "keygen",
    "parse_sign_key",
    "parse_verify_key",
]

DEFAULT_SIGNER_ID = DEFAULT_USER_ID.decode("ascii")
"""The SM2 user ID of ``--sign-key`` / ``--verify-key`` unless ``--signer-id`` (GM/T 0009)."""

PASSPHRASE_ENV = "GUOMI_PASSPHRASE"  # noqa: S105 (the variable's name)
PROGRESS_MIN_BYTES = 8 << 20
"""Show a progress bar for inputs at least this large (and only on a terminal)."""


# ------------------------------------------------------------------ passphrases


def _ask(prompt: str) -> str:
    try:
        # getpass reads /dev/tty, not standard input (which may be the data).
        with open("/dev/tty", "rb"):
            pass
    except OSError:
        raise click.UsageError(
            f"no terminal to ask for the passphrase: set {PASSPHRASE_ENV} for non-interactive use"
        ) from None
    return getpass.getpass(prompt, stream=sys.stderr)


def _passphrase(confirm: bool) -> str:
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env
    first = _ask("Passphrase: ")
    if not first:
        raise click.UsageError("empty passphrase")
    if confirm and _ask("Passphrase (again): ") != first:
        raise click.UsageError("the passphrases do not match")
    return first


# ------------------------------------------------------------------ recipients / identities


def parse_recipient(text: str, ctx: Ctx) -> Recipient:
    """``sm2:...`` or ``kms:NAME``."""
    if text.startswith(SM2_RECIPIENT_PREFIX):
        return parse_sm2_recipient(text)
    if text.startswith("kms:") and len(text) > 4:
        return KmsRecipient(ctx.client(), text[4:])
    raise click.BadParameter(
        f"{text[:40]!r} is not a recipient: expected sm2:<public key> or kms:NAME",
        param_hint="-r/--recipient",
    )


def parse_identity(text: str, ctx: Ctx) -> list[Identity]:
    """``kms:NAME`` or the path of an identity file."""
    if text.startswith("kms:") and len(text) > 4:
        return [KmsIdentity(ctx.client(), text[4:])]
    path = Path(text)
    if not path.is_file():
        raise click.BadParameter(
            f"{text!r} is neither kms:NAME nor an identity file", param_hint="-i/--identity"
        )
    return list(parse_identity_file(path.read_text("utf-8"), str(path)))


def _read_key_file(text: str, option: str) -> bytes:
    path = Path(text)
    if not path.is_file():
        raise click.BadParameter(f"{text!r} is neither kms:NAME nor a PEM key file", param_hint=option)
    return path.read_bytes()


def parse_sign_key(text: str, ctx: Ctx, user_id: bytes) -> Signer:
    """``--sign-key``: ``kms:NAME`` (signs in the custody service) or a PEM private key file."""
    if text.startswith("kms:") and len(text) > 4:
        return ctx.client().signer(text[4:], user_id)
    data = _read_key_file(text, "--sign-key")
    try:
        key = load_pem_private_key(data)
    except GuomiError as exc:
        raise click.BadParameter(
            f"{text!r} is not an unencrypted PEM SM2 private key ({exc})", param_hint="--sign-key"
        ) from None
    return LocalSigner(key, user_id)


def parse_verify_key(text: str, ctx: Ctx) -> SM2PublicKey:
    """``--verify-key``: ``sm2:...``, ``kms:NAME`` (its public key) or a PEM public key file."""
    if text.startswith(SM2_RECIPIENT_PREFIX):
        return parse_sm2_recipient(text).public_key
    if text.startswith("kms:") and len(text) > 4:
        return ctx.client().signer(text[4:]).public_key()
    data = _read_key_file(text, "--verify-key")
    try:
        return load_pem_public_key(data)
    except GuomiError as exc:
        raise click.BadParameter(
            f"{text!r} is not a PEM SM2 public key ({exc})", param_hint="--verify-key"
        ) from None


def _note_unverified_signature(source: str | None) -> None:
    """Tell the user a file input is signed but no --verify-key was given (nothing checked)."""
    if source is None or source == "-" or not os.path.isfile(source):
        return
    try:
        with open(source, "rb") as f:
            header = read_header(f)
    except (GuomiError, OSError):
        return  # decrypt reports it
    if header.signer is not None:
        try:
            signer = sm2_recipient_string(SM2PublicKey.from_encoded_point(header.signer))
        except GuomiError:
            return  # decrypt reports it
        err.print(
            f"[yellow]note:[/] the file is signed by {esc(signer)}; the signature was not "
            "checked (give --verify-key to require it)"
        )


# ------------------------------------------------------------------ I/O plumbing


@contextlib.contextmanager
def _input(source: str | None) -> Iterator[tuple[BinaryIO, int | None]]:
    if source is None or source == "-":
        yield sys.stdin.buffer, None
        return
    with open(source, "rb") as f:
        size: int | None = os.fstat(f.fileno()).st_size if os.path.isfile(source) else None
        yield f, size


@contextlib.contextmanager
def _progress(size: int | None, label: str) -> Iterator[Callable[[int], None] | None]:
    if size is None or size < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    columns: Any = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=size)
        yield lambda n: bar.advance(task, n)


def input_is_stream_file(source: str | None) -> bool:
    """True if ``source`` names a file that starts with the guomi-stream magic."""
    if source is None or source == "-" or not os.path.isfile(source):
        return False
    with open(source, "rb") as f:
        return f.read(len(MAGIC)) == MAGIC


# ------------------------------------------------------------------ the commands' bodies


def encrypt_files(
    ctx: Ctx,
    recipients: tuple[str, ...],
    passphrase: bool,
    output: str | None,
    source: str | None,
    *,
    force: bool = False,
    sign_key: str | None = None,
    signer_id: str = DEFAULT_SIGNER_ID,
) -> None:
    """``guomi encrypt -r ... / -p [--sign-key KEY]``: a guomi-stream file for the recipients."""
    if passphrase and recipients:
        raise click.UsageError(
            "-p (passphrase) cannot be combined with -r: a passphrase must be a file's only recipient"
        )
    chosen: list[Recipient] = (
        [PassphraseRecipient(_passphrase(confirm=True))]
        if passphrase
        else [parse_recipient(r, ctx) for r in recipients]
    )
    user_id = signer_id.encode("utf-8")
    signer = parse_sign_key(sign_key, ctx, user_id) if sign_key is not None else None
    with (
        _input(source) as (src, size),
        open_output(output, private=False, force=force, binary_to_tty_ok=False) as dst,
        _progress(size, "encrypting") as progress,
    ):
        encrypt(src, dst, chosen, progress=progress, signer=signer, signer_user_id=user_id)


def decrypt_files(
    ctx: Ctx,
    identities: tuple[str, ...],
    passphrase: bool,
    output: str | None,
    source: str | None,
    *,
    force: bool = False,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    verify_key: str | None = None,
    signer_id: str = DEFAULT_SIGNER_ID,
) -> None:
    """``guomi decrypt -i ... / -p [--verify-key KEY]``: open a guomi-stream file."""
    expected = parse_verify_key(verify_key, ctx) if verify_key is not None else None
    if expected is None:
        _note_unverified_signature(source)
    chosen: list[Identity] = []
    for text in identities:
        chosen.extend(parse_identity(text, ctx))
    if passphrase or not identities:
        # Asked only if the file turns out to have a passphrase stanza.
        chosen.append(PassphraseIdentity(lambda: _passphrase(confirm=False), max_iterations=max_iterations))
    try:
        with (
            _input(source) as (src, size),
            open_output(output, private=True, force=force) as dst,
            _progress(size, "decrypting") as progress,
        ):
            decrypt(
                src,
                dst,
                chosen,
                progress=progress,
                verify_key=expected,
                verify_user_id=signer_id.encode("utf-8"),
            )
    except NoIdentityMatchError as exc:
        if identities:
            raise
        raise NoIdentityMatchError(f"{exc}: it is not passphrase-encrypted; give -i IDENTITY") from None


# ------------------------------------------------------------------ keygen


def _write_new_file(path: Path, text: str) -> None:
    """Create ``path`` mode 0600; never replace an existing file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.UsageError(f"{path} already exists; not overwriting an identity file") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _echo_out(text: str, stream: IO[str] | None = None) -> None:
    click.echo(text, file=stream)


@click.command()
@click.option(
    "-o", "--output", metavar="FILE", help="Write the identity here (mode 0600, never overwritten)."
)
@click.option(
    "-y",
    "convert",
    metavar="FILE",
    help="Print the recipient of each identity in FILE instead of generating one.",
)
def keygen(output: str | None, convert: str | None) -> None:
    """Generate an SM2 identity for file encryption; print its recipient (last line).

    \b
    guomi keygen -o key.txt              # the secret stays in key.txt (0600)
    guomi keygen -y key.txt              # sm2:... again, from the identity file
    guomi encrypt -r sm2:... -o x.gms x  # anyone can encrypt to the recipient
    guomi decrypt -i key.txt -o x x.gms  # only key.txt decrypts
    """
    try:
        if convert is not None:
            if output is not None:
                raise click.UsageError("-y prints recipients; it takes no -o")
            text = sys.stdin.read() if convert == "-" else Path(convert).read_text("utf-8")
            for identity in parse_identity_file(text, convert):
                _echo_out(sm2_recipient_string(identity.private_key.public_key()))
            return
        key = generate_identity()
        recipient = sm2_recipient_string(key.public_key())
        body = format_identity_file(key)
        if output is None:
            if sys.stdout.isatty():
                err.print(
                    "[yellow]note:[/] the secret key is printed below; use -o FILE to keep it in a file"
                )
            sys.stdout.write(body)
        else:
            _write_new_file(Path(output), body)
            err.print(f"Identity written to {esc(output)} (keep it secret; back it up).")
        _echo_out(recipient)
    except (StreamError, OSError, UnicodeDecodeError) as exc:
        err.print(f"[bold red]error:[/] {esc(exc)}")
        sys.exit(1)
