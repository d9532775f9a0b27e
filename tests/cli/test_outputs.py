"""``-o TARGET`` never destroys what it writes over, and messages print user text as written.

Each test here failed before the output rules of ``guomi.cli._output``: the CLI wrote a
temporary file and renamed it over TARGET whatever TARGET was (a device, a FIFO, a link, an
existing file), wrote token plaintext with the default umask, and parsed file names in its
messages as rich markup.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from guomi.cli import cli
from tests.cli.test_cli import Shell
from tests.cli.test_files_cli import CORPUS, guomi
from tests.client.asgi import make_app, running

IDENTITY = str(CORPUS / "identity.txt")
VALID = str(CORPUS / "valid.gms")
PLAINTEXT_SIZE = 3 * 4096  # what valid.gms holds


def _null_device(tmp_path: Path) -> Path:
    """A character device like /dev/null that a broken CLI could not harm: run as root (as CI
    is), a private node with /dev/null's numbers; otherwise /dev/null itself, which an
    unprivileged process cannot replace."""
    if os.geteuid() != 0:
        return Path("/dev/null")
    node = tmp_path / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return node


def _stdout_link(tmp_path: Path) -> Path:
    """``/dev/stdout`` itself unless root; as root a private link of the same kind."""
    if os.geteuid() != 0:
        return Path("/dev/stdout")
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    return link


def test_a_device_such_as_dev_null_is_written_through_not_replaced(tmp_path: Path) -> None:
    device = _null_device(tmp_path)
    before = os.stat(device)
    guomi("decrypt", "-i", IDENTITY, "-o", str(device), VALID, cwd=tmp_path)
    after = os.lstat(device)
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["null"])


def test_dev_stdout_writes_to_standard_output(tmp_path: Path) -> None:
    link = _stdout_link(tmp_path)
    result = guomi("decrypt", "-i", IDENTITY, "-o", str(link), VALID, cwd=tmp_path)
    assert len(result.stdout) == PLAINTEXT_SIZE
    assert os.readlink(link) == "/proc/self/fd/1"


def test_a_fifo_is_written_through_and_stays_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = bytearray()

    def reader() -> None:
        with open(fifo, "rb") as f:
            received.extend(f.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    result = guomi("decrypt", "-i", IDENTITY, "-o", str(fifo), VALID, cwd=tmp_path, ok=False)
    if thread.is_alive():  # the CLI never opened the FIFO: unblock the reader
        with open(fifo, "wb"):
            pass
    thread.join(timeout=30)
    assert result.returncode == 0, result.stderr
    assert len(received) == PLAINTEXT_SIZE
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_symlink_to_a_regular_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "real.csv"
    target.write_bytes(b"keep me")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    result = guomi("decrypt", "-i", IDENTITY, "-o", str(link), VALID, cwd=tmp_path, ok=False)
    assert result.returncode == 2 and b"symbolic link" in result.stderr
    assert link.is_symlink() and target.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "real.csv"]


def test_an_existing_file_is_refused_unless_force(tmp_path: Path) -> None:
    out = tmp_path / "ledger.csv"
    out.write_bytes(b"yesterday")
    refused = guomi("decrypt", "-i", IDENTITY, "-o", str(out), VALID, cwd=tmp_path, ok=False)
    assert refused.returncode == 2 and b"--force" in refused.stderr
    assert out.read_bytes() == b"yesterday"
    recipient = guomi("keygen", "-y", IDENTITY, cwd=tmp_path).stdout.decode().strip()
    (tmp_path / "in").write_bytes(b"x")
    refused = guomi("encrypt", "-r", recipient, "-o", str(out), str(tmp_path / "in"), cwd=tmp_path, ok=False)
    assert refused.returncode == 2 and out.read_bytes() == b"yesterday"
    guomi("decrypt", "-i", IDENTITY, "-o", str(out), "--force", VALID, cwd=tmp_path)
    assert out.stat().st_size == PLAINTEXT_SIZE
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


@pytest.fixture
def sh() -> Iterator[Shell]:
    with running(make_app()) as (client, _):
        yield Shell(client._http._transport, client.token)  # type: ignore[attr-defined]


def test_token_plaintext_and_backups_are_created_0600(sh: Shell, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        sh("key", "create", "orders")
        token = sh("encrypt", "-k", "orders", input=b"4111").stdout.strip()
        out = tmp_path / "plain.txt"
        sh("decrypt", "-k", "orders", "-o", str(out), token)
        assert out.read_bytes() == b"4111" and stat.S_IMODE(out.stat().st_mode) == 0o600
        assert sh("decrypt", "-k", "orders", "-o", str(out), token, ok=False).exit_code == 2
        backup = tmp_path / "orders.backup"
        sh("key", "backup", "orders", "-o", str(backup))
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_markup_in_file_names_prints_as_written(tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "a[").mkdir()
    name = str(tmp_path / "a[/]b [bold]x.txt")  # directory "a[", file "]b [bold]x.txt"
    result = runner.invoke(cli, ["keygen", "-o", name])
    assert result.exit_code == 0, (result.output, result.exception)
    assert f"Identity written to {name}" in result.stderr
    missing = str(tmp_path / "a[/]such[red].gms")
    result = runner.invoke(cli, ["decrypt", "-i", name, missing], obj=SimpleNamespace(transport=None))
    assert result.exit_code == 1, (result.output, result.exception)
    assert "[/]such[red]" in result.stderr


def test_decrypt_max_iterations_flag_refuses_expensive_passphrase_files(tmp_path: Path) -> None:
    env = {"GUOMI_PASSPHRASE": "correct horse"}
    (tmp_path / "notes.txt").write_bytes(b"notes")
    guomi("encrypt", "-p", "-o", "notes.gms", "notes.txt", cwd=tmp_path, env=env)  # 600,000 rounds
    refused = guomi(
        "decrypt",
        "--max-iterations",
        "100000",
        "-o",
        "back.txt",
        "notes.gms",
        cwd=tmp_path,
        env=env,
        ok=False,
    )
    assert refused.returncode == 1 and b"more than this reader's maximum 100000" in refused.stderr
    assert not (tmp_path / "back.txt").exists()
    guomi("decrypt", "-o", "back.txt", "notes.gms", cwd=tmp_path, env=env)  # default maximum: 2,000,000
    assert (tmp_path / "back.txt").read_bytes() == b"notes"
