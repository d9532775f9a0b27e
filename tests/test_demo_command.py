"""The command ``make run`` (``guomi.demo``) prints for the next step runs as printed."""

from __future__ import annotations

import subprocess

from guomi.demo import guomi_command


def test_the_printed_guomi_command_runs_from_a_shell_without_an_activated_venv() -> None:
    command = guomi_command()
    result = subprocess.run(
        ["/bin/sh", "-c", f"{command} --version"],
        check=False,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},  # no virtual environment on the PATH, as after `make run`
        timeout=60,
    )
    assert result.returncode == 0, (command, result.stderr)
    assert result.stdout.startswith("guomi, version")
