"""Headless Chromium: render the report to PDF (and, for tests, screenshots and the DOM).

Layer: ``guomi.assess``. Chromium comes from Debian's ``chromium`` package
(``scripts/install-chromium.sh`` installs it when missing; ``GUOMI_CHROMIUM`` names another
binary). Without a browser no PDF is written and the manifest says why: the HTML report is
complete on its own and prints to PDF from any browser.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["find_chromium", "headless_args", "render_pdf"]

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_TIMEOUT = 120


def find_chromium() -> str | None:
    """Path of a Chromium binary (``GUOMI_CHROMIUM`` first), or ``None``."""
    env = os.environ.get("GUOMI_CHROMIUM")
    if env:
        return env if Path(env).is_file() else shutil.which(env)
    for name in _CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def headless_args(browser: str, profile: str) -> list[str]:
    """The common flags: headless, no GPU, throw-away profile, no network use beyond the file."""
    args = [
        browser,
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--hide-scrollbars",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run its sandbox as root (CI containers)
    return args


def render_pdf(html: Path, pdf: Path) -> str:
    """Prints ``html`` to ``pdf``; returns a status line for the manifest (never raises)."""
    browser = find_chromium()
    if browser is None:
        return "not rendered: no Chromium found (scripts/install-chromium.sh installs Debian's chromium)"
    with tempfile.TemporaryDirectory(prefix="guomi-chromium-") as profile:
        cmd = [
            *headless_args(browser, profile),
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            html.resolve().as_uri(),
        ]
        try:
            res = subprocess.run(cmd, capture_output=True, timeout=_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"not rendered: {type(exc).__name__}"
    if res.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        pdf.unlink(missing_ok=True)
        return f"not rendered: chromium exited with {res.returncode}"
    return f"rendered by headless Chromium ({Path(browser).name})"
