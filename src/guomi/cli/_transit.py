"""``guomi encrypt|decrypt|rewrap|datakey|sign|verify|hmac``: data operations.

Layer: ``guomi.cli``. With ``-k NAME`` the custody service does the work under its key
NAME (small data, ciphertext tokens); ``encrypt -r/-p`` and ``decrypt -i/-p`` encrypt
files of any size here, in the ``guomi-stream/v1`` format (:mod:`guomi.cli._files`).
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import click

from guomi.api import parse_text, signature_der
from guomi.cli._app import (
    Ctx,
    ad_bytes,
    emit_json,
    err,
    handle_errors,
    need_key,
    out,
    pass_ctx,
    read_input,
    token_arg,
    write_output,
)
from guomi.cli._files import DEFAULT_SIGNER_ID, decrypt_files, encrypt_files, input_is_stream_file
from guomi.cli._output import FORCE_HELP
from guomi.envelope.stream import DEFAULT_MAX_ITERATIONS, MAX_ITERATIONS, MIN_ITERATIONS
from guomi.exceptions import GuomiError

__all__ = ["datakey", "decrypt", "encrypt", "hmac_cmd", "rewrap", "sign", "verify"]


@click.command()
@click.option("-k", "--key", "key_name", metavar="NAME", help="Encrypt with this key in the custody service.")
@click.option("-a", "--associated-data", metavar="TEXT", help="Bound to the token; needed again to decrypt.")
@click.option(
    "-r",
    "--recipient",
    "recipients",
    multiple=True,
    metavar="RECIPIENT",
    help="File mode: encrypt INPUT for sm2:<public key> or kms:NAME (repeatable).",
)
@click.option("-p", "--passphrase", is_flag=True, help="File mode: encrypt with a passphrase (prompted).")
@click.option(
    "-o", "--output", metavar="FILE", help="File mode: write the encrypted file here (see OUTPUT below)."
)
@click.option("--force", is_flag=True, help=FORCE_HELP)
@click.option(
    "--sign-key",
    metavar="KEY",
    help="File mode: sign the file with SM2 (a PEM private key file, or kms:NAME in the service).",
)
@click.option(
    "--signer-id",
    default=DEFAULT_SIGNER_ID,
    show_default=True,
    metavar="ID",
    help="File mode: the SM2 user ID the --sign-key signs with.",
)
@click.argument("source", required=False, metavar="[INPUT|-]")
@pass_ctx
@handle_errors
def encrypt(
    c: Ctx,
    *,
    key_name: str | None,
    associated_data: str | None,
    recipients: tuple[str, ...],
    passphrase: bool,
    output: str | None,
    force: bool,
    sign_key: str | None,
    signer_id: str,
    source: str | None,
) -> None:
    """Encrypt INPUT (a file, or standard input).

    With -k NAME the custody service encrypts under its key NAME and a ciphertext token is
    printed (small data). With -r RECIPIENT / -p the file of any size is encrypted here, in
    the guomi-stream/v1 format (see `guomi keygen`).

    \b
    OUTPUT (-o FILE): a new file appears only when the command succeeds (temporary file,
    then rename); an existing file is refused unless --force; a device or FIFO
    (/dev/null, /dev/stdout) is written through; a symbolic link to a regular file is
    refused (give the path it points to).
    """
    if recipients or passphrase:
        if key_name or associated_data:
            raise click.UsageError("-k/-a (service token) and -r/-p (file encryption) cannot be mixed")
        encrypt_files(
            c, recipients, passphrase, output, source, force=force, sign_key=sign_key, signer_id=signer_id
        )
        return
    if sign_key:
        raise click.UsageError("--sign-key signs an encrypted file (-r/-p); use `guomi sign` for data")
    if output:
        raise click.UsageError("-o is for file encryption (-r/-p); -k prints a token")
    name = need_key(key_name, "encrypt")
    data = read_input(source)
    with c.client() as client:
        token = client.encrypt(name, data, ad_bytes(associated_data))
    click.echo(token)


@click.command()
@click.option("-k", "--key", "key_name", metavar="NAME", help="Decrypt with this key in the custody service.")
@click.option("-a", "--associated-data", metavar="TEXT", help="The associated data given to encrypt.")
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Write the plaintext here, mode 0600 (default: stdout; see OUTPUT).",
)
@click.option("--force", is_flag=True, help=FORCE_HELP)
@click.option(
    "-i",
    "--identity",
    "identities",
    multiple=True,
    metavar="IDENTITY",
    help="File mode: an identity file or kms:NAME (repeatable).",
)
@click.option("-p", "--passphrase", is_flag=True, help="File mode: the file is passphrase-encrypted.")
@click.option(
    "--max-iterations",
    type=click.IntRange(MIN_ITERATIONS, MAX_ITERATIONS),
    default=DEFAULT_MAX_ITERATIONS,
    show_default=True,
    metavar="N",
    help="File mode: refuse passphrase files that ask for more PBKDF2 iterations than N.",
)
@click.option(
    "--verify-key",
    metavar="KEY",
    help="File mode: require an SM2 signature by this key (PEM public key file, sm2:..., kms:NAME).",
)
@click.option(
    "--signer-id",
    default=DEFAULT_SIGNER_ID,
    show_default=True,
    metavar="ID",
    help="File mode: the SM2 user ID the signature was made with.",
)
@click.argument("token", required=False, metavar="[TOKEN|FILE|-]")
@pass_ctx
@handle_errors
def decrypt(
    c: Ctx,
    *,
    key_name: str | None,
    associated_data: str | None,
    output: str | None,
    force: bool,
    identities: tuple[str, ...],
    passphrase: bool,
    max_iterations: int,
    verify_key: str | None,
    signer_id: str,
    token: str | None,
) -> None:
    """Decrypt a ciphertext token (-k) or an encrypted file (-i / -p); write the plaintext.

    \b
    OUTPUT (-o FILE): created mode 0600; a new file appears only when every segment
    verified (temporary file, then rename); an existing file is refused unless --force;
    a device or FIFO (/dev/null, /dev/stdout) is written through; a symbolic link to a
    regular file is refused (give the path it points to).

    \b
    SIGNED FILES (--verify-key KEY): the file must be signed by KEY (encrypt --sign-key),
    else exit 1 with nothing written. A file input is verified whole before any byte is
    decrypted; standard input is verified at its end, before the last 4 MiB of plaintext
    (all of a smaller file) is written to standard output.
    """
    if identities or passphrase or verify_key or (not key_name and input_is_stream_file(token)):
        if key_name or associated_data:
            raise click.UsageError("-k/-a (service token) and -i/-p (file decryption) cannot be mixed")
        decrypt_files(
            c,
            identities,
            passphrase,
            output,
            token,
            force=force,
            max_iterations=max_iterations,
            verify_key=verify_key,
            signer_id=signer_id,
        )
        return
    name = need_key(key_name, "decrypt")
    text = token_arg(token)
    with c.client() as client:
        plaintext = client.decrypt(name, text, ad_bytes(associated_data))
    write_output(plaintext, output, force=force)


@click.command()
@click.option("-k", "--key", "key_name", metavar="NAME", required=True, help="The key the token is under.")
@click.option("-a", "--associated-data", metavar="TEXT", help="The associated data given to encrypt.")
@click.argument("token", required=False, metavar="[TOKEN|FILE|-]")
@pass_ctx
@handle_errors
def rewrap(c: Ctx, key_name: str, associated_data: str | None, token: str | None) -> None:
    """Re-encrypt a token under the newest key version (the plaintext never leaves the service)."""
    text = token_arg(token)
    with c.client() as client:
        click.echo(client.rewrap(key_name, text, ad_bytes(associated_data)))


@click.command()
@click.option(
    "-k", "--key", "key_name", metavar="NAME", required=True, help="The key that wraps the data key."
)
@click.option("--wrapped", is_flag=True, help="Only the wrapped data key (no plaintext).")
@click.option("-a", "--associated-data", metavar="TEXT", help="Bound to the wrapped data key.")
@pass_ctx
@handle_errors
def datakey(c: Ctx, key_name: str, wrapped: bool, associated_data: str | None) -> None:
    """Generate a fresh SM4 data key: its plaintext (base64) and its wrapped token."""
    with c.client() as client:
        dk = client.datakey(key_name, plaintext=not wrapped, associated_data=ad_bytes(associated_data))
    result = {"ciphertext": dk.ciphertext, "key_version": dk.key_version}
    if dk.plaintext is not None:
        result["plaintext"] = base64.b64encode(dk.plaintext).decode("ascii")
    if c.json:
        emit_json(result)
    else:
        if dk.plaintext is not None:
            click.echo(f"plaintext: {result['plaintext']}")
        click.echo(f"ciphertext: {dk.ciphertext}")


@click.command()
@click.option("-k", "--key", "key_name", metavar="NAME", required=True, help="An sm2-sign key.")
@click.option("--user-id", metavar="ID", help="SM2 signer ID (default 1234567812345678).")
@click.option("--der", "der_out", metavar="FILE", help="Also write the bare DER signature here.")
@click.argument("source", required=False, metavar="[INPUT|-]")
@pass_ctx
@handle_errors
def sign(c: Ctx, key_name: str, user_id: str | None, der_out: str | None, source: str | None) -> None:
    """Sign INPUT (a file, or standard input) with SM2; print the signature token."""
    data = read_input(source)
    with c.client() as client:
        signature = client.sign(key_name, data, user_id)
    if der_out:
        Path(der_out).write_bytes(signature_der(signature))
    click.echo(signature)


@click.command()
@click.option("-k", "--key", "key_name", metavar="NAME", required=True, help="The key that signed.")
@click.option("-s", "--signature", required=True, metavar="SIG", help="Signature token (or HMAC token).")
@click.option("--user-id", metavar="ID", help="SM2 signer ID (default 1234567812345678).")
@click.argument("source", required=False, metavar="[INPUT|-]")
@pass_ctx
@handle_errors
def verify(c: Ctx, key_name: str, signature: str, user_id: str | None, source: str | None) -> None:
    """Verify a signature (or HMAC) over INPUT; exit 0 if valid, 1 if not."""
    data = read_input(source)
    with c.client() as client:
        if signature.startswith("guomi:") and _is_hmac_token(signature):
            valid = client.verify_hmac(key_name, data, signature)
        else:
            valid = client.verify(key_name, data, signature, user_id)
    if c.json:
        emit_json({"valid": valid})
    else:
        (out if valid else err).print("valid" if valid else "[bold red]INVALID[/]")
    sys.exit(0 if valid else 1)


def _is_hmac_token(token: str) -> bool:
    try:
        header, _ = parse_text(token)
    except GuomiError:
        return False
    return header.algorithm == "hmac-sm3"


@click.command("hmac")
@click.option("-k", "--key", "key_name", metavar="NAME", required=True, help="An hmac-sm3 key.")
@click.argument("source", required=False, metavar="[INPUT|-]")
@pass_ctx
@handle_errors
def hmac_cmd(c: Ctx, key_name: str, source: str | None) -> None:
    """HMAC-SM3 of INPUT under a service key; print the HMAC token."""
    data = read_input(source)
    with c.client() as client:
        click.echo(client.hmac(key_name, data))
