"""The audit log: one JSON line per authenticated request, hash-chained with SM3.

Layer: ``guomi.kms``.  Each record carries ``seq`` (1, 2, 3, ...) and
``prev`` = hex SM3 (GB/T 32905) of the previous line's bytes (64 zeros for
the first), so editing, deleting, inserting or reordering any line breaks the
chain at that point; :func:`verify_audit_log` (``guomi audit verify FILE``)
checks it.  Sensitive values never appear in clear: tokens, ciphertexts and
similar correlatable values are written as HMAC-SM3 under the keyring's audit
key (``hmac-sm3:<hex>``), so two records about the same token can be linked
by someone holding the log, but the value cannot be recovered or guessed
offline.

Fail closed: :meth:`AuditLog.record` raises
:class:`~guomi.kms.errors.AuditUnavailableError` when the line cannot be
written completely, and the engine then returns no result (HTTP 503).

What the chain alone cannot show: cutting records off the *end* of the file
(the remaining prefix is a valid chain).  ``verify`` reports the last seq and
hash so an operator can anchor them elsewhere (a ticket, a second log host).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from guomi.kms._crypto import hmac_sm3, sm3_digest
from guomi.kms.auth import iso
from guomi.kms.errors import AuditUnavailableError

__all__ = [
    "GENESIS",
    "AuditLog",
    "AuditSink",
    "AuditVerifyResult",
    "FileSink",
    "MemorySink",
    "verify_audit_log",
]

#: ``prev`` of the first record.
GENESIS = "0" * 64


class AuditSink(Protocol):
    """Where audit lines go; ``write`` raises ``OSError`` when the line is not stored."""

    def write(self, line: bytes) -> None: ...

    def last_line(self) -> bytes | None: ...


class MemorySink:
    """Lines kept in a list (tests, ``--dev`` without a data directory)."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def write(self, line: bytes) -> None:
        self.lines.append(line)

    def last_line(self) -> bytes | None:
        return self.lines[-1].rstrip(b"\n") if self.lines else None


class FileSink:
    """Append-only file, mode 0600, safe to share between processes.

    Every append happens under an exclusive ``flock`` and re-reads the file's
    last line first (unless the file's inode, size and modification time are
    exactly what our own last append left, i.e. nobody appended since), so
    several workers or servers writing one file still form one chain.

    Durability: every record is written with ``write(2)`` before the request's
    result is returned, so it survives the server process dying (``kill -9``);
    ``fsync=True`` (``Config.audit_fsync``) also makes it survive a power cut or
    kernel crash before the reply, at the cost of one fsync per request."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._fd: int | None = None
        # (inode, size, mtime_ns) of the file right after our last append: if it is
        # unchanged when we next hold the lock, nobody appended since, and the chain
        # position we remember is the file's (no need to re-read the last line).
        self._after_last: tuple[int, int, int] | None = None

    def unchanged_since_last_write(self) -> bool:
        """Whether the file is exactly as our last :meth:`write` left it (call under the lock)."""
        if self._after_last is None or self._fd is None:
            return False
        st = os.fstat(self._fd)
        return (st.st_ino, st.st_size, st.st_mtime_ns) == self._after_last

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        return self._fd

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Holds the file's exclusive lock (other processes appending wait)."""
        fd = self._open()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def write(self, line: bytes) -> None:
        fd = self._open()
        self._after_last = None
        # One write(2) of the whole line in the common case (O_APPEND: atomic position).
        n = os.write(fd, line)
        if n != len(line):
            view = memoryview(line)[max(n, 0) :]
            while view:
                n = os.write(fd, view)
                if n <= 0:
                    raise OSError("short write to the audit log")
                view = view[n:]
        if self.fsync:
            os.fsync(fd)
        st = os.fstat(fd)
        self._after_last = (st.st_ino, st.st_size, st.st_mtime_ns)

    def last_line(self) -> bytes | None:
        fd = self._open()
        size = os.fstat(fd).st_size
        if size == 0:
            return None
        block = 4096
        while True:
            start = max(0, size - block)
            data = os.pread(fd, size - start, start)
            body = data[:-1] if data.endswith(b"\n") else data
            cut = body.rfind(b"\n")
            if cut >= 0 or start == 0:
                # A final line without its newline (a torn write) is returned as is:
                # the caller refuses to chain over it.
                return body[cut + 1 :] if data.endswith(b"\n") else b"\xff" + body[cut + 1 :]
            block *= 4

    def close(self) -> None:
        self._after_last = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class AuditLog:
    """Serialises records, chains them and writes them to a sink, failing closed."""

    def __init__(self, sink: AuditSink) -> None:
        self.sink = sink
        self._lock = threading.Lock()
        self._key: bytes | None = None
        self._prev: str | None = None
        self._seq = 0

    def __repr__(self) -> str:
        return f"AuditLog(sink={type(self.sink).__name__}, seq={self._seq})"

    def set_key(self, audit_key: bytes | None) -> None:
        """Installs the keyring's audit key at unseal (``None`` at seal)."""
        self._key = audit_key

    def hmac(self, value: bytes | str) -> str:
        """``hmac-sm3:<hex>`` of a sensitive value under the audit key."""
        if self._key is None:
            raise AuditUnavailableError("the audit key is not loaded (sealed)")
        data = value.encode("utf-8") if isinstance(value, str) else value
        return "hmac-sm3:" + hmac_sm3(self._key, data).hex()

    def _resume(self) -> None:
        # Continue the chain of an existing file (restart, or another process before us).
        last = self.sink.last_line()
        if last is None:
            self._prev, self._seq = GENESIS, 0
            return
        try:
            self._seq = int(json.loads(last)["seq"])
        except (ValueError, KeyError, TypeError):
            raise AuditUnavailableError(
                "the audit log ends with a damaged record; refusing to append"
            ) from None
        self._prev = sm3_digest(last).hex()

    def record(self, **fields: Any) -> None:
        """Writes one record (``None`` fields dropped); raises AuditUnavailableError on failure."""
        body = {k: v for k, v in fields.items() if v is not None}
        exclusive = getattr(self.sink, "exclusive", None)
        unchanged = getattr(self.sink, "unchanged_since_last_write", None)
        with self._lock:
            try:
                with exclusive() if exclusive is not None else contextlib.nullcontext():
                    if self._prev is None or (
                        exclusive is not None and not (unchanged is not None and unchanged())
                    ):
                        # Shared file: another process may have appended since our last record.
                        self._resume()
                    seq = self._seq + 1
                    body["seq"] = seq
                    body["time"] = iso(time.time())
                    body["prev"] = self._prev
                    line = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
                    self.sink.write(line + b"\n")
            except AuditUnavailableError:
                raise
            except Exception:
                # Forget the chain position: re-read the file before the next attempt, so
                # a partially written line is noticed instead of chained over.
                self._prev = None
                raise AuditUnavailableError() from None
            self._seq = seq
            self._prev = sm3_digest(line).hex()


@dataclass(frozen=True, slots=True)
class AuditVerifyResult:
    """Outcome of :func:`verify_audit_log`."""

    ok: bool
    records: int
    last_seq: int
    last_hash: str
    error: str | None = None
    line: int | None = None

    def __bool__(self) -> bool:
        return self.ok


def verify_audit_log(path: str | os.PathLike[str]) -> AuditVerifyResult:  # noqa: PLR0911 - one exit per failure kind
    """Checks the SM3 chain and the sequence numbers of an audit log file.

    Reports the first line where an edit, deletion, insertion, reordering or a
    torn final write shows."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return AuditVerifyResult(False, 0, 0, GENESIS, f"cannot read the log: {exc.strerror}", None)
    if data and not data.endswith(b"\n"):
        # A torn last line: report it as such rather than as a parse error.
        pass
    lines = data.split(b"\n")
    trailing = lines.pop() if lines else b""
    for number, line in enumerate(lines, start=1):
        try:
            rec = json.loads(line)
            seq = rec["seq"]
            rec_prev = rec["prev"]
        except (ValueError, KeyError, TypeError):
            return AuditVerifyResult(False, count, expected_seq - 1, prev, "record is not valid JSON", number)
        if not isinstance(rec, dict) or not isinstance(seq, int):
            return AuditVerifyResult(
                False, count, expected_seq - 1, prev, "record has no sequence number", number
            )
        if rec_prev != prev:
            return AuditVerifyResult(
                False,
                count,
                expected_seq - 1,
                prev,
                "chain broken: prev does not match SM3 of the previous record (edit, deletion or insertion)",
                number,
            )
        if seq != expected_seq:
            return AuditVerifyResult(
                False,
                count,
                expected_seq - 1,
                prev,
                f"sequence gap: expected {expected_seq}, found {seq}",
                number,
            )
        prev = sm3_digest(line).hex()
        expected_seq += 1
        count += 1
    if trailing:
        return AuditVerifyResult(
            False, count, expected_seq - 1, prev, "last record is incomplete (no newline)", len(lines) + 1
        )
    return AuditVerifyResult(True, count, expected_seq - 1, prev)
