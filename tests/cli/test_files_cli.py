"""``guomi encrypt -r/-p``, ``guomi decrypt -i/-p``, ``guomi keygen``: shell sessions.

Most tests run the installed ``guomi`` console script in a subprocess, exactly as a person
would; the ``kms:`` tests run the CLI against the real service (in process, and once as a
``guomi server --dev`` subprocess on a local port).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

import guomi as guomi_package
from guomi.cli import cli
from tests.client.asgi import make_app, running

GUOMI = str(Path(sys.executable).with_name("guomi"))
SOURCE_ROOT = str(Path(guomi_package.__file__).resolve().parents[1])
CORPUS = Path(__file__).parents[1] / "vectors" / "stream"


def guomi(
    *args: str,
    cwd: Path,
    input: bytes | None = None,
    ok: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GUOMI_")}
    # The command runs the guomi this test imported, whatever the working directory.
    full_env["PYTHONPATH"] = os.pathsep.join([SOURCE_ROOT, *filter(None, [os.environ.get("PYTHONPATH")])])
    full_env.update(env or {})
    proc = subprocess.run(
        [GUOMI, *args], cwd=cwd, input=input, capture_output=True, env=full_env, timeout=120, check=False
    )
    if ok:
        assert proc.returncode == 0, (args, proc.stdout[-500:], proc.stderr.decode())
    return proc


def test_keygen_encrypt_decrypt_session(tmp_path: Path) -> None:
    # $ guomi keygen -o key.txt
    kg = guomi("keygen", "-o", "key.txt", cwd=tmp_path)
    recipient = kg.stdout.decode().splitlines()[-1]
    assert re.fullmatch(r"sm2:[A-Za-z0-9_-]{44}", recipient)
    key = tmp_path / "key.txt"
    assert key.stat().st_mode & 0o777 == 0o600
    text = key.read_text()
    assert f"# public: {recipient}\n" in text and "GUOMI-SM2-SECRET-KEY-1-" in text
    # $ guomi keygen -o key.txt   (again: refuses, the old key is untouched)
    again = guomi("keygen", "-o", "key.txt", cwd=tmp_path, ok=False)
    assert again.returncode != 0 and b"already exists" in again.stderr
    assert key.read_text() == text
    # $ guomi keygen -y key.txt
    assert guomi("keygen", "-y", "key.txt", cwd=tmp_path).stdout.decode().strip() == recipient
    # $ guomi encrypt -r sm2:... -o ledger.gms ledger.csv ; guomi decrypt -i key.txt -o back.csv ledger.gms
    data = os.urandom(300_000)
    (tmp_path / "ledger.csv").write_bytes(data)
    guomi("encrypt", "-r", recipient, "-o", "ledger.gms", "ledger.csv", cwd=tmp_path)
    assert (tmp_path / "ledger.gms").read_bytes()[:8] == b"\x89GMS\r\n\x1a\n"
    guomi("decrypt", "-i", "key.txt", "-o", "back.csv", "ledger.gms", cwd=tmp_path)
    assert (tmp_path / "back.csv").read_bytes() == data
    assert (tmp_path / "back.csv").stat().st_mode & 0o777 == 0o600
    # $ cat ledger.csv | guomi encrypt -r sm2:... | guomi decrypt -i key.txt
    sealed = guomi("encrypt", "-r", recipient, cwd=tmp_path, input=data).stdout
    assert guomi("decrypt", "-i", "key.txt", cwd=tmp_path, input=sealed).stdout == data
    # No temporary files are left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["back.csv", "key.txt", "ledger.csv", "ledger.gms"]


def test_keygen_to_stdout_is_a_usable_identity_file(tmp_path: Path) -> None:
    # $ guomi keygen > id.txt
    out = guomi("keygen", cwd=tmp_path).stdout.decode()
    recipient = out.splitlines()[-1]
    assert recipient.startswith("sm2:")
    (tmp_path / "id.txt").write_text(out)
    sealed = guomi("encrypt", "-r", recipient, cwd=tmp_path, input=b"hi").stdout
    assert guomi("decrypt", "-i", "id.txt", cwd=tmp_path, input=sealed).stdout == b"hi"


def test_several_recipients_and_passphrase(tmp_path: Path) -> None:
    r1 = guomi("keygen", "-o", "a.txt", cwd=tmp_path).stdout.decode().split()[-1]
    r2 = guomi("keygen", "-o", "b.txt", cwd=tmp_path).stdout.decode().split()[-1]
    guomi("keygen", "-o", "c.txt", cwd=tmp_path)
    sealed = guomi("encrypt", "-r", r1, "-r", r2, cwd=tmp_path, input=b"x" * 70000).stdout
    for ident in ("a.txt", "b.txt"):
        assert guomi("decrypt", "-i", ident, cwd=tmp_path, input=sealed).stdout == b"x" * 70000
    # $ guomi decrypt -i c.txt   (not a recipient)
    nope = guomi("decrypt", "-i", "c.txt", cwd=tmp_path, input=sealed, ok=False)
    assert nope.returncode == 1 and b"no identity matches this file" in nope.stderr
    # $ GUOMI_PASSPHRASE=... guomi encrypt -p -o p.gms ; guomi decrypt -o p.txt p.gms
    env = {"GUOMI_PASSPHRASE": "correct horse battery"}
    (tmp_path / "p.txt").write_bytes(b"secret memo")
    guomi("encrypt", "-p", "-o", "p.gms", "p.txt", cwd=tmp_path, env=env)
    guomi("decrypt", "-o", "p.out", "p.gms", cwd=tmp_path, env=env)
    assert (tmp_path / "p.out").read_bytes() == b"secret memo"
    wrong = guomi(
        "decrypt", "-p", "-o", "p2.out", "p.gms", cwd=tmp_path, env={"GUOMI_PASSPHRASE": "nope"}, ok=False
    )
    assert wrong.returncode == 1 and b"wrong passphrase" in wrong.stderr
    assert not (tmp_path / "p2.out").exists()
    # Without a terminal or GUOMI_PASSPHRASE there is no way to ask: a usage error, not a hang.
    bare = guomi("encrypt", "-p", cwd=tmp_path, input=b"x", ok=False)
    assert bare.returncode == 2 and (b"GUOMI_PASSPHRASE" in bare.stderr or b"terminal" in bare.stderr)


def test_usage_errors(tmp_path: Path) -> None:
    r = guomi("keygen", "-o", "k.txt", cwd=tmp_path).stdout.decode().split()[-1]
    mixed = guomi("encrypt", "-k", "orders", "-r", r, cwd=tmp_path, input=b"x", ok=False)
    assert mixed.returncode == 2 and b"cannot be mixed" in mixed.stderr
    mixed = guomi("decrypt", "-k", "orders", "-i", "k.txt", cwd=tmp_path, input=b"x", ok=False)
    assert mixed.returncode == 2 and b"cannot be mixed" in mixed.stderr
    pw_and_r = guomi("encrypt", "-p", "-r", r, cwd=tmp_path, input=b"x", ok=False)
    assert pw_and_r.returncode == 2 and b"only recipient" in pw_and_r.stderr
    bad = guomi("encrypt", "-r", "age1qqqq", cwd=tmp_path, input=b"x", ok=False)
    assert bad.returncode == 2 and b"not a recipient" in bad.stderr
    bad = guomi("encrypt", "-r", "sm2:AAAA", cwd=tmp_path, input=b"x", ok=False)
    assert bad.returncode == 1 and b"compressed point" in bad.stderr
    missing = guomi("decrypt", "-i", "nothere.txt", cwd=tmp_path, input=b"x", ok=False)
    assert missing.returncode == 2 and b"identity file" in missing.stderr


@pytest.mark.parametrize(
    "name",
    [
        "truncated_at_segment_boundary",
        "segments_swapped",
        "trailing_garbage",
        "header_mac_bad",
        "last_flag_missing",
    ],
)
def test_damaged_files_leave_no_output(tmp_path: Path, name: str) -> None:
    """$ guomi decrypt -i identity.txt -o out <damaged>: exit 1, a named error, no file."""
    proc = guomi(
        "decrypt",
        "-i",
        str(CORPUS / "identity.txt"),
        "-o",
        "out",
        str(CORPUS / f"{name}.gms"),
        cwd=tmp_path,
        ok=False,
    )
    assert proc.returncode == 1
    assert b"error:" in proc.stderr
    assert list(tmp_path.iterdir()) == []
    ok = guomi(
        "decrypt", "-i", str(CORPUS / "identity.txt"), "-o", "out", str(CORPUS / "valid.gms"), cwd=tmp_path
    )
    assert ok.returncode == 0 and (tmp_path / "out").stat().st_size == 3 * 4096


def test_failed_decrypt_keeps_an_existing_output_intact(tmp_path: Path) -> None:
    (tmp_path / "out").write_bytes(b"previous contents")
    guomi(
        "decrypt", "-i", str(CORPUS / "identity.txt"), "-o", "out", "--force",
        str(CORPUS / "segment_dropped.gms"), cwd=tmp_path, ok=False,
    )  # fmt: skip
    assert (tmp_path / "out").read_bytes() == b"previous contents"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


# ------------------------------------------------------------------ kms: recipients


def test_kms_recipient_in_process_service(tmp_path: Path) -> None:
    with running(make_app()) as (client, _):
        client.create_key("backups", "sm4-gcm")
        env = {"GUOMI_ADDR": "http://guomi.test", "GUOMI_TOKEN": client.token or ""}
        obj = SimpleNamespace(transport=client._http._transport)  # type: ignore[attr-defined]
        runner = CliRunner()
        r = guomi("keygen", "-o", "k.txt", cwd=tmp_path).stdout.decode().split()[-1]
        src = tmp_path / "dump.sql"
        src.write_bytes(os.urandom(200_000))
        out = tmp_path / "dump.gms"
        # $ guomi encrypt -r kms:backups -r sm2:... -o dump.gms dump.sql
        res = runner.invoke(
            cli, ["encrypt", "-r", "kms:backups", "-r", r, "-o", str(out), str(src)], env=env, obj=obj
        )
        assert res.exit_code == 0, res.output
        # $ guomi decrypt -i kms:backups -o back.sql dump.gms
        back = tmp_path / "back.sql"
        res = runner.invoke(
            cli, ["decrypt", "-i", "kms:backups", "-o", str(back), str(out)], env=env, obj=obj
        )
        assert res.exit_code == 0, res.output
        assert back.read_bytes() == src.read_bytes()
        # The SM2 identity opens it too, without the service.
        guomi("decrypt", "-i", "k.txt", "-o", "back2.sql", str(out), cwd=tmp_path)
        assert (tmp_path / "back2.sql").read_bytes() == src.read_bytes()
        # Another service key is "not mine".
        client.create_key("other", "sm4-gcm")
        res = runner.invoke(
            cli, ["decrypt", "-i", "kms:other", "-o", str(tmp_path / "x"), str(out)], env=env, obj=obj
        )
        assert res.exit_code == 1 and "no identity matches" in res.stderr


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A real `guomi server --dev` subprocess; yields GUOMI_ADDR / GUOMI_TOKEN."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUOMI_")}
    proc = subprocess.Popen(
        [GUOMI, "server", "--dev", "--listen", f"127.0.0.1:{port}"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        m = re.search(r"GUOMI_ADDR=(\S+) GUOMI_TOKEN=(\S+)", line)
        assert m, line
        settings = {"GUOMI_ADDR": m.group(1), "GUOMI_TOKEN": m.group(2)}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.1)
        yield settings
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_kms_recipient_against_guomi_server_dev(tmp_path: Path, dev_server: dict[str, str]) -> None:
    # $ guomi key create backups ; guomi encrypt -r kms:backups ... ; guomi decrypt -i kms:backups ...
    guomi("key", "create", "backups", cwd=tmp_path, env=dev_server)
    data = os.urandom(150_000)
    (tmp_path / "a.bin").write_bytes(data)
    guomi("encrypt", "-r", "kms:backups", "-o", "a.gms", "a.bin", cwd=tmp_path, env=dev_server)
    guomi("decrypt", "-i", "kms:backups", "-o", "a.out", "a.gms", cwd=tmp_path, env=dev_server)
    assert (tmp_path / "a.out").read_bytes() == data
    # Without the service's token the unwrap is refused by the service (exit 1, no output).
    denied = guomi(
        "decrypt", "-i", "kms:backups", "-o", "b.out", "a.gms",
        cwd=tmp_path, env={"GUOMI_ADDR": dev_server["GUOMI_ADDR"], "GUOMI_TOKEN": "bogus"}, ok=False,
    )  # fmt: skip
    assert denied.returncode == 1 and not (tmp_path / "b.out").exists()


def test_decrypt_without_identity_says_what_is_missing(tmp_path: Path) -> None:
    # $ guomi decrypt -o out ledger.gms     (an SM2 file, no -i, no passphrase stanza)
    r = guomi("keygen", "-o", "k.txt", cwd=tmp_path).stdout.decode().split()[-1]
    (tmp_path / "ledger").write_bytes(b"rows")
    guomi("encrypt", "-r", r, "-o", "ledger.gms", "ledger", cwd=tmp_path)
    proc = guomi("decrypt", "-o", "out", "ledger.gms", cwd=tmp_path, ok=False)
    assert proc.returncode == 1 and b"give -i IDENTITY" in proc.stderr
    assert not (tmp_path / "out").exists()
