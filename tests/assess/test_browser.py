"""The report in real headless Chromium (Debian's package): layout, console, screenshot, PDF.

Skipped only when no Chromium is installed on a developer machine (``scripts/install-chromium.sh``
installs it; ``make test`` runs that script, so under CI — ``CI`` set — a missing browser fails).
Set ``GUOMI_DOCS_SCREENSHOT=1`` to refresh ``docs/assess-report.png``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from guomi.assess._browser import find_chromium, headless_args
from tests.assess.conftest import Assessed

BROWSER = find_chromium()
pytestmark = pytest.mark.skipif(
    BROWSER is None and not os.environ.get("CI"), reason="no Chromium (scripts/install-chromium.sh)"
)
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    if BROWSER is None:
        pytest.fail("CI is set but no Chromium is installed: scripts/install-chromium.sh must install it")
    with tempfile.TemporaryDirectory(prefix="guomi-test-chromium-") as profile:
        return subprocess.run(
            [*headless_args(BROWSER, profile), "--enable-logging=stderr", "--v=0", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.mark.parametrize("width", [1280, 820])
def test_layout_has_no_overflow_and_no_console_errors(assessed: Assessed, width: int) -> None:
    url = (assessed.pack / "report.html").resolve().as_uri()
    res = _chromium(f"--window-size={width},1200", "--virtual-time-budget=3000", "--dump-dom", url)
    assert res.returncode == 0, res.stderr[-2000:]
    # The page's own layout check ran and found no element wider than the viewport or its cell.
    assert 'data-layout="ok"' in res.stdout, re.findall(r'data-layout="[^"]*"', res.stdout)
    console = [line for line in res.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not console, console
    assert "高风险项" in res.stdout and "<svg" in res.stdout


def test_screenshot(assessed: Assessed, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    res = _chromium(
        "--window-size=1280,2400", f"--screenshot={shot}", (assessed.pack / "report.html").resolve().as_uri()
    )
    assert res.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one
    if os.environ.get("GUOMI_DOCS_SCREENSHOT"):
        shutil.copy(shot, DOCS / "assess-report.png")


def test_pdf_is_rendered(assessed: Assessed) -> None:
    pdf = assessed.pack / "report.pdf"
    assert pdf.is_file(), "guomi assess did not render report.pdf although Chromium is installed"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 2
