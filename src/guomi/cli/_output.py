"""Where ``-o FILE`` writes: never destroying what it writes over.

Layer: ``guomi.cli``. The rules, the same for every command with ``-o`` (``encrypt``,
``decrypt``, ``key backup``):

- ``-`` or no ``-o``: standard output.
- An existing file that is not a regular file (a device such as ``/dev/null``, a FIFO,
  ``/dev/stdout``, a socket) is written *through*: opened and written, never replaced.
  What reaches it before a failure stays there, as on standard output.
- A symbolic link is followed only to such a non-regular file. A link to a regular file
  (or a dangling link) is refused: the file behind it is not replaced through the link;
  give the path it points to, or leave out ``-o`` to write to standard output.
- An existing regular file is refused unless ``--force``.
- A new (or, with ``--force``, replaced) regular file is written to a temporary file in
  the same directory and renamed onto the name only on success, so an interrupted or
  failed run leaves nothing, or the old file, under that name. Without ``--force`` the
  final step is a hard link, which fails if something appeared under the name meanwhile.
  Plaintext and other secrets (``private=True``) are created mode 0600.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import click

__all__ = ["FORCE_HELP", "open_output"]

FORCE_HELP = "Replace FILE if it exists (a regular file; devices and FIFOs are written through)."


def _kind(path: Path) -> str:
    """``missing``, ``regular``, ``special`` (device, FIFO, socket), ``directory`` or ``link-to-file``."""
    try:
        link = os.lstat(path)
    except FileNotFoundError:
        return "missing"
    try:
        target = os.stat(path)
    except FileNotFoundError:
        return "link-to-file"  # dangling: would create a file wherever it points
    if stat.S_ISDIR(target.st_mode):
        return "directory"
    if not stat.S_ISREG(target.st_mode):
        return "special"
    return "link-to-file" if stat.S_ISLNK(link.st_mode) else "regular"


@contextlib.contextmanager
def open_output(
    output: str | None, *, private: bool, force: bool = False, binary_to_tty_ok: bool = True
) -> Iterator[BinaryIO]:
    """A binary stream for ``-o output``, following the rules of this module."""
    if output is None or output == "-":
        if not binary_to_tty_ok and sys.stdout.isatty():
            raise click.UsageError(
                "refusing to write binary ciphertext to a terminal: use -o FILE or redirect"
            )
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    path = Path(output)
    kind = _kind(path)
    if kind == "directory":
        raise click.UsageError(f"-o {output!r} is a directory")
    if kind == "link-to-file":
        raise click.UsageError(
            f"-o {output!r} is a symbolic link to a regular file: give the path it points to "
            "(files are not replaced through links), or leave out -o for standard output"
        )
    if kind == "special":
        with open(os.open(path, os.O_WRONLY), "wb") as f:  # no O_CREAT, no rename
            yield f
            f.flush()
        return
    if kind == "regular" and not force:
        raise click.UsageError(f"{output!r} already exists; use --force to replace it")
    with _replace_atomically(path, private=private, replace=force) as f:
        yield f


@contextlib.contextmanager
def _replace_atomically(final: Path, *, private: bool, replace: bool) -> Iterator[BinaryIO]:
    _raise_on_sigterm()
    directory = final.parent if str(final.parent) else Path(".")
    # mkstemp creates the file 0600; a non-secret output gets the usual umask afterwards.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".partial", dir=directory)
    tmp = Path(tmp_name)
    try:
        if not private:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, final)
        else:
            try:
                os.link(tmp, final)  # fails if anything appeared under the name meanwhile
            except FileExistsError:
                raise click.UsageError(f"{str(final)!r} appeared while writing; not replacing it") from None
            except OSError:
                # A file system without hard links: the check above, then a plain rename.
                if os.path.lexists(final):
                    raise click.UsageError(
                        f"{str(final)!r} appeared while writing; not replacing it"
                    ) from None
                os.replace(tmp, final)
            else:
                tmp.unlink()
    except BaseException:
        # Failed, interrupted (Ctrl-C) or refused: nothing new under the final name.
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _raise_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so the temporary output is removed like on Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
