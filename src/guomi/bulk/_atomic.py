"""Outputs that appear under their final name only when complete.

Layer: ``guomi.bulk``. A job writes to a hidden temporary name in the destination's
directory and renames it over the final name after the last byte is flushed and synced
(POSIX rename is atomic within a filesystem). A disk-full error, an exception or a kill
therefore never leaves a half-written file under the final name; an existing output is
refused unless the caller passes ``force``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from guomi.bulk._errors import OutputExistsError

__all__ = ["TEMP_MARK", "atomic_output", "check_output"]

TEMP_MARK = ".guomi-tmp-"
"""Temporary outputs are named ``.<final name>.guomi-tmp-<random>`` (left behind only by a kill)."""


def check_output(path: Path, *, force: bool) -> None:
    """Refuse an existing output unless ``force``; never replace a device, FIFO or socket."""
    if path.exists() and not (path.is_file() or path.is_dir()):
        raise OutputExistsError(
            "output is not a regular file or directory (refusing to replace it)", file=str(path)
        )
    if path.exists() and not force:
        raise OutputExistsError("output exists (pass --force / force=True to replace it)", file=str(path))


def _sync_tree(path: Path) -> None:
    paths = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for p in paths:
        with open(p, "rb") as f:
            os.fsync(f.fileno())


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_output(path: Path, *, force: bool, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it to ``path``, else delete it."""
    check_output(path, force=force)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".{path.name}{TEMP_MARK}{secrets.token_hex(4)}"
    if directory:
        temp.mkdir()
    try:
        yield temp
        _sync_tree(temp)
        check_output(path, force=force)
        if path.is_dir() and not path.is_symlink():
            old = path.parent / f".{path.name}{TEMP_MARK}old-{secrets.token_hex(4)}"
            path.rename(old)
            temp.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temp, path)
        _sync_dir(path.parent)
    except BaseException:
        if temp.is_dir():
            shutil.rmtree(temp, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        raise
