"""Start-up failures: one line naming the cause, a non-zero exit, and never a "listening" line
first (before: an unreachable PostgreSQL gave a 52-line traceback; a busy port was reported
after "listening on")."""

from __future__ import annotations

import socket
from pathlib import Path

from .conftest import free_port, run_cli


def _one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert "listening" not in stderr
    return lines[0]


def test_unreachable_postgres_is_one_line_with_password_redacted() -> None:
    port = free_port()  # nothing listens there
    r = run_cli(
        "server",
        "--storage",
        f"postgresql://guomi:hunter2secret@127.0.0.1:{port}/guomi",
        "--listen",
        f"127.0.0.1:{free_port()}",
    )
    assert r.returncode != 0
    line = _one_error_line(r.stderr)
    assert "unreachable" in line
    assert "guomi:***@127.0.0.1" in line
    assert "hunter2secret" not in r.stderr + r.stdout


def test_busy_port_is_reported_before_listening(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = run_cli("server", "--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp_path / "d"))
    assert r.returncode != 0
    line = _one_error_line(r.stderr)
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in line
    assert not (tmp_path / "d").exists()  # nothing created for a server that never ran


def test_bad_flag_value_is_one_line() -> None:
    r = run_cli("server", "--listen", "127.0.0.1:99999")
    assert r.returncode == 2
    assert "expected HOST:PORT" in _one_error_line(r.stderr)


def test_unknown_storage_scheme_is_one_line() -> None:
    r = run_cli("server", "--storage", "mysql://u:pw@h/db", "--listen", f"127.0.0.1:{free_port()}")
    assert r.returncode != 0
    line = _one_error_line(r.stderr)
    assert "unknown storage URL scheme" in line
    assert "pw@" not in line


def test_unwritable_data_dir_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run_cli("server", "--data-dir", str(blocker / "sub"), "--listen", f"127.0.0.1:{free_port()}")
    assert r.returncode != 0
    assert "data directory" in _one_error_line(r.stderr)
