"""The local anchor of the storage state: the highest generation this server has seen.

Layer: ``guomi.kms.service`` (internal).  A small JSON file outside the database
(``<data_dir>/state-anchor.json`` by default) holding the generation and digest of the
storage state record (``docs/spec/storage.md``) after every commit and unseal.  At
unseal, a store whose state is older than the anchor (a restored copy of the whole
database) is refused.  It is a second copy on the same machine: someone who can roll
back both the database and this file together is not detected by it (use an external
anchor for that: ``min_state_generation``).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

__all__ = ["StateAnchor"]


class StateAnchor:
    """Reads and atomically replaces the anchor file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # Commits of several request threads save concurrently: one at a time, highest wins.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"StateAnchor({str(self.path)!r})"

    def load(self) -> tuple[int, str] | None:
        """(generation, digest hex) recorded last, or ``None`` when there is no anchor yet."""
        try:
            d = json.loads(self.path.read_text())
            return int(d["generation"]), str(d["digest"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            raise ValueError(f"the state anchor {self.path} is unreadable") from None

    def save(self, generation: int, digest_hex: str) -> None:
        """Records a generation (never lowers the recorded one); write, fsync, rename."""
        with self._lock:
            current = self.load()
            if current is not None and current[0] > generation:
                return
            fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", dir=self.path.parent)
            with os.fdopen(fd, "w") as f:
                json.dump({"generation": generation, "digest": digest_hex}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
