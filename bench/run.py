"""Runs every benchmark under bench/ in turn (``make bench``).

Each ``bench_*.py`` script runs guomi and its anchors in the same process run,
interleaved, and prints a markdown table of medians and ratios; this runner
only sequences them and stops on none: a missing anchor is reported by the
script itself. Figures are recorded by hand in bench/RESULTS.md together with
the command that produced them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    wanted = set(argv)
    failures = 0
    for script in sorted(HERE.glob("bench_*.py")):
        name = script.stem.removeprefix("bench_")
        if wanted and name not in wanted:
            continue
        print(f"\n## {script.name}\n", flush=True)
        rc = subprocess.call([sys.executable, str(script)])
        if rc != 0:
            print(f"(bench {script.name} exited with {rc})", flush=True)
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
