"""``guomi encrypt --sign-key`` / ``guomi decrypt --verify-key``: SM2-signed files, as a person runs them.

Exit 0 only when the signature by the expected key holds; every refusal exits 1 with one
line on stderr and leaves no output file (``docs/spec/stream.md`` §6).
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from guomi.cli import cli
from guomi.envelope.text import sm2_recipient_string
from guomi.primitives import sm2
from guomi.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from tests.cli.test_files_cli import guomi
from tests.client.asgi import make_app, running


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    """An identity to decrypt with, two SM2 signing keys as PEM files, and the data."""
    recipient = guomi("keygen", "-o", "id.txt", cwd=tmp_path).stdout.decode().splitlines()[-1]
    names: dict[str, str] = {"recipient": recipient}
    for who in ("bank", "mallory"):
        key = sm2.generate_private_key()
        (tmp_path / f"{who}.key").write_bytes(
            key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        )
        (tmp_path / f"{who}.pub").write_bytes(
            key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        )
    (tmp_path / "data").write_bytes(b"account,amount\n" * 20_000)
    return names


def test_sign_then_verify_with_pem_and_sm2_text(tmp_path: Path, keys: dict[str, str]) -> None:
    guomi(
        "encrypt", "-r", keys["recipient"], "--sign-key", "bank.key", "-o", "data.gms", "data", cwd=tmp_path
    )
    guomi("decrypt", "-i", "id.txt", "--verify-key", "bank.pub", "-o", "out", "data.gms", cwd=tmp_path)
    assert (tmp_path / "out").read_bytes() == (tmp_path / "data").read_bytes()
    # The same through a pipe (not seekable), to standard output.
    piped = guomi(
        "decrypt",
        "-i",
        "id.txt",
        "--verify-key",
        "bank.pub",
        cwd=tmp_path,
        input=(tmp_path / "data.gms").read_bytes(),
    )
    assert piped.stdout == (tmp_path / "data").read_bytes()
    # Without --verify-key it decrypts, and says the signature was not checked.
    plain = guomi("decrypt", "-i", "id.txt", "-o", "out2", "data.gms", cwd=tmp_path)
    assert b"signed by sm2:" in plain.stderr and b"not checked" in plain.stderr


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("another signer", rb"not by the expected key"),
        ("unsigned", rb"not signed"),
        ("edited", rb"does not verify"),
        # The payload's last 73 bytes now read as a trailer: malformed, or (when their first
        # byte happens to be 72, the no-padding length) a signature that does not verify.
        ("stripped", rb"trailer is malformed|does not verify"),
    ],
)
def test_refusals_exit_1_and_write_nothing(
    tmp_path: Path, keys: dict[str, str], case: str, message: bytes
) -> None:
    sign = (
        []
        if case == "unsigned"
        else ["--sign-key", "mallory.key" if case == "another signer" else "bank.key"]
    )
    guomi("encrypt", "-r", keys["recipient"], *sign, "-o", "data.gms", "data", cwd=tmp_path)
    blob = bytearray((tmp_path / "data.gms").read_bytes())
    if case == "edited":
        blob[-100] ^= 1  # the last payload segment: seen by the signature before any decryption
    if case == "stripped":
        del blob[-73:]
    (tmp_path / "data.gms").write_bytes(bytes(blob))
    proc = guomi(
        "decrypt", "-i", "id.txt", "--verify-key", "bank.pub", "-o", "out", "data.gms", cwd=tmp_path, ok=False
    )
    assert proc.returncode == 1, proc.stderr
    assert re.search(message, proc.stderr)
    assert not (tmp_path / "out").exists()
    assert b"Traceback" not in proc.stderr


def test_sign_key_options_are_checked(tmp_path: Path, keys: dict[str, str]) -> None:
    bad = guomi("encrypt", "-r", keys["recipient"], "--sign-key", "bank.pub", "data", cwd=tmp_path, ok=False)
    assert bad.returncode == 2 and b"not an unencrypted PEM SM2 private key" in bad.stderr
    missing = guomi("decrypt", "-i", "id.txt", "--verify-key", "nope.pem", "x.gms", cwd=tmp_path, ok=False)
    assert missing.returncode == 2
    token_mode = guomi("encrypt", "-k", "k", "--sign-key", "bank.key", "data", cwd=tmp_path, ok=False)
    assert token_mode.returncode == 2


def test_signer_id_must_match(tmp_path: Path, keys: dict[str, str]) -> None:
    guomi(
        "encrypt",
        "-r",
        keys["recipient"],
        "--sign-key",
        "bank.key",
        "--signer-id",
        "ops@bank",
        "-o",
        "data.gms",
        "data",
        cwd=tmp_path,
    )
    wrong = guomi(
        "decrypt", "-i", "id.txt", "--verify-key", "bank.pub", "-o", "out", "data.gms", cwd=tmp_path, ok=False
    )
    assert wrong.returncode == 1 and not (tmp_path / "out").exists()
    guomi(
        "decrypt",
        "-i",
        "id.txt",
        "--verify-key",
        "bank.pub",
        "--signer-id",
        "ops@bank",
        "-o",
        "out",
        "data.gms",
        cwd=tmp_path,
    )
    assert (tmp_path / "out").read_bytes() == (tmp_path / "data").read_bytes()


def test_custody_service_key_signs_and_its_public_key_verifies(tmp_path: Path, keys: dict[str, str]) -> None:
    """``--sign-key kms:NAME`` (the service signs; the key never leaves) and ``--verify-key
    kms:NAME`` (its public key read from the service) or the same key as PEM/sm2: text."""
    with running(make_app()) as (client, _):
        client.create_key("extracts", "sm2-sign")
        env = {"GUOMI_ADDR": "http://guomi.test", "GUOMI_TOKEN": client.token or ""}
        obj = SimpleNamespace(transport=client._http._transport)  # type: ignore[attr-defined]
        runner = CliRunner()
        out = tmp_path / "data.gms"
        args = ["encrypt", "-r", keys["recipient"], "--sign-key", "kms:extracts", "-o", str(out)]
        res = runner.invoke(cli, [*args, str(tmp_path / "data")], env=env, obj=obj)
        assert res.exit_code == 0, res.output
        back = tmp_path / "back"
        res = runner.invoke(
            cli,
            [
                "decrypt",
                "-i",
                str(tmp_path / "id.txt"),
                "--verify-key",
                "kms:extracts",
                "-o",
                str(back),
                str(out),
            ],
            env=env,
            obj=obj,
        )
        assert res.exit_code == 0, res.output
        assert back.read_bytes() == (tmp_path / "data").read_bytes()
        # Verified offline too, with the public key the service publishes, as sm2: text.
        public = sm2_recipient_string(client.signer("extracts").public_key())
        guomi("decrypt", "-i", "id.txt", "--verify-key", public, "-o", "back2", "data.gms", cwd=tmp_path)
        # A PEM key of someone else is refused.
        res = runner.invoke(
            cli,
            [
                "decrypt",
                "-i",
                str(tmp_path / "id.txt"),
                "--verify-key",
                str(tmp_path / "bank.pub"),
                "-o",
                str(tmp_path / "x"),
                str(out),
            ],
            env=env,
            obj=obj,
        )
        assert res.exit_code == 1 and "not by the expected key" in res.stderr
        assert not (tmp_path / "x").exists()
