"""The audit log: one JSON line per request, chained with SM3 and keyed with HMAC-SM3.

Layer: ``guomi.kms``.  Each record carries ``seq`` (1, 2, 3, ...) and
``prev`` = hex SM3 (GB/T 32905) of the previous line's bytes (64 zeros for
the first), so editing, deleting, inserting or reordering any line breaks the
chain at that point.

**Keyed chain (format 2).**  SM3 alone is no protection against whoever can
write the file: they delete a record and recompute every later ``prev``
(issue 10, finding 4).  So every record written while the service is
unsealed ends with ``"mac":"<hex>"``, an HMAC-SM3 under a chain key derived
from the keyring's audit key::

    body = the record's JSON (sorted keys, no "mac")
    line = body[:-1] + ',"mac":"' + hex(HMAC-SM3(K_chain, "guomi/audit/v2/mac" 0x00 SM3(body))) + '"}'

Since ``body`` contains ``prev`` (the SM3 of the whole previous line, MAC
included), re-chaining after a deletion means recomputing MACs nobody has
without the keyring.  The MAC covers SM3(body) so a verifier can send the
service 64-byte (digest, MAC) pairs instead of the log itself; the service
answers which MACs are genuine (:meth:`AuditLog.check_macs`,
``POST /v1/sys/audit/verify``) and never hands out the key.

**Signed checkpoints.**  Every ``checkpoint_every`` records (and on demand,
:meth:`AuditLog.signed_checkpoint`) the log states its head — sequence number
and SM3 of the last line — signed with an SM2 key derived from the audit key
(GB/T 32918.2).  Checkpoints verify offline with the public key alone and can
be copied to an external anchor (a ticket, a WORM bucket, another host):
:func:`verify_audit_log` with ``anchor=`` then also detects records cut off
the end, which no chain can show by itself.

**Legacy logs.**  Records without ``mac`` (written before format 2, or by
``sys/init`` before the keyring exists) are accepted only as a prefix of the
file and reported as *legacy*: their chain detects accidents, not an editor.

**Unauthenticated failures** (401s) are rate limited: a token bucket lets a
burst through, then one ``denied-summary`` record counts what was suppressed
(by error code), so a stranger cannot grow the log without bound (finding 7).

Sensitive values never appear in clear: tokens, ciphertexts and similar
correlatable values are written as HMAC-SM3 under the audit key
(``hmac-sm3:<hex>``).

Fail closed: :meth:`AuditLog.record` raises
:class:`~guomi.kms.errors.AuditUnavailableError` when the line cannot be
written completely, and the engine then returns no result (HTTP 503).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from guomi.exceptions import InvalidSignature
from guomi.kms._crypto import ct_equal, derive, hmac_sm3, sm3_digest
from guomi.kms.auth import iso
from guomi.kms.errors import AuditUnavailableError
from guomi.primitives import serialization
from guomi.primitives.sm2 import SM2PrivateKey, SM2PublicKey
from guomi.primitives.sm3 import SM3

__all__ = [
    "GENESIS",
    "AuditKeys",
    "AuditLog",
    "AuditSink",
    "AuditVerifyResult",
    "DeniedLimiter",
    "FileSink",
    "MacChecker",
    "MemorySink",
    "checkpoint_statement",
    "local_mac_checker",
    "split_keyed_line",
    "verify_audit_log",
]

#: ``prev`` of the first record.
GENESIS = "0" * 64

_MAC_LABEL = b"guomi/audit/v2/mac\x00"
_CHAIN_KEY_LABEL = b"guomi/audit/v2/chain-key"
_SIGN_KEY_LABELS = (b"guomi/audit/v2/checkpoint-sign/1", b"guomi/audit/v2/checkpoint-sign/2")
_CHECKPOINT_LABEL = b"guomi/audit/v2/checkpoint\x00"
_MAC_PREFIX = b',"mac":"'
#: ``,"mac":"`` + 64 hex + ``"}``
_MAC_SUFFIX_LEN = len(_MAC_PREFIX) + 64 + 2
# SM2 group order n (GB/T 32918.5): the checkpoint key is reduced into [1, n - 2].
_SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123

#: Checks (SM3(body), mac hex) pairs: one bool per pair, True when the MAC is genuine.
MacChecker = Callable[[Sequence[tuple[bytes, str]]], list[bool]]


def split_keyed_line(line: bytes) -> tuple[bytes, str] | None:
    """``(body, mac hex)`` of a format-2 line, ``None`` for a line without a MAC (legacy)."""
    if len(line) <= _MAC_SUFFIX_LEN or not line.endswith(b'"}'):
        return None
    tail = line[-_MAC_SUFFIX_LEN:]
    if not tail.startswith(_MAC_PREFIX):
        return None
    mac = tail[len(_MAC_PREFIX) : -2]
    try:
        text = mac.decode("ascii")
        int(text, 16)
    except ValueError:
        return None
    return line[:-_MAC_SUFFIX_LEN] + b"}", text


def checkpoint_statement(head_seq: int, head: str, time_text: str) -> bytes:
    """The bytes a checkpoint signature covers."""
    body = json.dumps({"head": head, "head_seq": head_seq, "time": time_text}, sort_keys=True)
    return _CHECKPOINT_LABEL + body.encode("ascii")


@dataclass(frozen=True, slots=True)
class AuditKeys:
    """The chain MAC key and the checkpoint signing key, both derived from the keyring's audit key."""

    chain_key: bytes = field(repr=False)
    signer: SM2PrivateKey = field(repr=False)

    @classmethod
    def derive(cls, audit_key: bytes) -> AuditKeys:
        """Derived keys (HKDF-Expand with SM3, distinct labels; the SM2 scalar from 64 bytes
        reduced into [1, n - 2], so its bias is below 2^-250)."""
        wide = b"".join(derive(audit_key, label, 32) for label in _SIGN_KEY_LABELS)
        d = int.from_bytes(wide, "big") % (_SM2_N - 2) + 1
        return cls(
            chain_key=derive(audit_key, _CHAIN_KEY_LABEL, 32), signer=SM2PrivateKey.from_private_value(d)
        )

    def mac(self, body_digest: bytes) -> str:
        """HMAC-SM3 of a record body's SM3, hex."""
        return hmac_sm3(self.chain_key, _MAC_LABEL + body_digest).hex()

    def public_key(self) -> SM2PublicKey:
        """The checkpoint verification key."""
        return self.signer.public_key()

    def public_key_pem(self) -> str:
        """The checkpoint verification key as PEM SubjectPublicKeyInfo."""
        return (
            self.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )

    def check(self, items: Sequence[tuple[bytes, str]]) -> list[bool]:
        """One bool per (SM3(body), mac hex): whether the MAC is genuine (constant-time compare)."""
        return [ct_equal(self.mac(digest).encode("ascii"), mac.encode("ascii")) for digest, mac in items]


def local_mac_checker(audit_key: bytes) -> MacChecker:
    """A checker for someone holding the audit key itself (offline verification)."""
    return AuditKeys.derive(audit_key).check


class DeniedLimiter:
    """Token bucket for unauthenticated-failure records, with the count of those suppressed.

    ``burst`` records pass at once, then ``rate`` per second; the rest are
    counted (in total, and by error code: a bounded set) and reported in one
    ``denied-summary`` record when the next record is written."""

    def __init__(
        self, burst: int = 100, rate: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.rate = rate
        self.clock = clock
        self._tokens = float(burst)
        self._last = clock()
        #: Every suppressed record since the process started (for metrics).
        self.suppressed_total = 0
        self.pending = 0
        self.pending_by_code: dict[str, int] = {}
        self.pending_since: str | None = None

    def allow(self) -> bool:
        """Whether one more denied record may be written now (takes a token)."""
        now = self.clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def suppress(self, code: str) -> None:
        """Counts one record that was not written."""
        self.suppressed_total += 1
        self.pending += 1
        if self.pending_since is None:
            self.pending_since = iso(time.time())
        key = code if code in _DENIED_CODES else "other"
        self.pending_by_code[key] = self.pending_by_code.get(key, 0) + 1

    def take_summary(self) -> dict[str, Any] | None:
        """The pending summary record's fields (and resets them), or ``None``."""
        if not self.pending:
            return None
        out = {
            "type": "denied-summary",
            "suppressed": self.pending,
            "suppressed_by_code": dict(sorted(self.pending_by_code.items())),
            "suppressed_total": self.suppressed_total,
            "since": self.pending_since,
        }
        self.pending, self.pending_by_code, self.pending_since = 0, {}, None
        return out


_DENIED_CODES = frozenset({"unauthorized", "token_expired"})


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
    """Serialises records, chains and MACs them and writes them to a sink, failing closed."""

    def __init__(
        self,
        sink: AuditSink,
        *,
        checkpoint_every: int = 1000,
        denied_limiter: DeniedLimiter | None = None,
    ) -> None:
        self.sink = sink
        self.checkpoint_every = checkpoint_every
        self.denied = denied_limiter or DeniedLimiter()
        self._lock = threading.Lock()
        self._key: bytes | None = None
        self._keys: AuditKeys | None = None
        self._prev: str | None = None
        self._seq = 0

    def __repr__(self) -> str:
        return f"AuditLog(sink={type(self.sink).__name__}, seq={self._seq})"

    def set_key(self, audit_key: bytes | None) -> None:
        """Installs the keyring's audit key at unseal (``None`` at seal)."""
        self._key = audit_key
        self._keys = None if audit_key is None else AuditKeys.derive(audit_key)

    @property
    def keys(self) -> AuditKeys:
        """The derived chain and checkpoint keys (sealed: AuditUnavailableError)."""
        keys = self._keys
        if keys is None:
            raise AuditUnavailableError("the audit key is not loaded (sealed)")
        return keys

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

    def _append(self, body: dict[str, Any]) -> None:
        # Under self._lock and the sink's lock, chain position current.
        seq = self._seq + 1
        body["seq"] = seq
        body["time"] = iso(time.time())
        body["prev"] = self._prev
        raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
        keys = self._keys
        if keys is None:
            line = raw
            prev = sm3_digest(line).hex()
        else:
            # One SM3 pass serves both digests: SM3(body) for the MAC and SM3(line) for the
            # next record's prev (the line is the body with its closing brace replaced).
            head = SM3()
            head.update(raw[:-1])
            body_hash = head.copy()
            body_hash.update(b"}")
            tail = _MAC_PREFIX + keys.mac(body_hash.digest()).encode("ascii") + b'"}'
            head.update(tail)
            line = raw[:-1] + tail
            prev = head.hexdigest()
        self.sink.write(line + b"\n")
        self._seq = seq
        self._prev = prev

    def _checkpoint_body(self, keys: AuditKeys) -> dict[str, Any]:
        head, head_seq, now = self._prev or GENESIS, self._seq, iso(time.time())
        return {
            "type": "checkpoint",
            "head_seq": head_seq,
            "head": head,
            "checkpoint_time": now,
            "signature": keys.signer.sign(checkpoint_statement(head_seq, head, now)).hex(),
        }

    def _append_one(self, body: dict[str, Any]) -> None:
        self._append(body)
        keys = self._keys
        if keys is not None and self.checkpoint_every > 0 and self._seq % self.checkpoint_every == 0:
            # Periodic signed head statement (seq is global, so several writers sharing
            # the file agree where the checkpoints go).
            self._append(self._checkpoint_body(keys))

    @contextlib.contextmanager
    def _synced(self) -> Iterator[None]:
        # Holds our lock and the sink's, with the chain position current.
        exclusive = getattr(self.sink, "exclusive", None)
        unchanged = getattr(self.sink, "unchanged_since_last_write", None)
        with self._lock, exclusive() if exclusive is not None else contextlib.nullcontext():
            if self._prev is None or (exclusive is not None and not (unchanged is not None and unchanged())):
                # Shared file: another process may have appended since our last record.
                self._resume()
            yield

    def _write(self, make: Callable[[], dict[str, Any]] | None, body: dict[str, Any] | None = None) -> Any:
        # ``body``, or (under the locks, once the chain position is current) ``make()``; a
        # pending denied-summary record goes first.
        exclusive = getattr(self.sink, "exclusive", None)
        try:
            with self._lock, exclusive() if exclusive is not None else contextlib.nullcontext():
                if self._prev is None or (
                    exclusive is not None and not self.sink.unchanged_since_last_write()  # type: ignore[attr-defined]
                ):
                    # Shared file: another process may have appended since our last record.
                    self._resume()
                if self.denied.pending:
                    summary = self.denied.take_summary()
                    if summary is not None:
                        self._append_one(summary)
                if body is None:
                    assert make is not None
                    body = make()
                self._append_one(body)
                return body
        except AuditUnavailableError:
            raise
        except Exception:
            # Forget the chain position: re-read the file before the next attempt, so
            # a partially written line is noticed instead of chained over.
            self._prev = None
            raise AuditUnavailableError() from None

    def record(self, **fields: Any) -> None:
        """Writes one record (``None`` fields dropped); raises AuditUnavailableError on failure."""
        body = {k: v for k, v in fields.items() if v is not None}
        self._write(None, body)

    def record_denied(self, code: str, **fields: Any) -> bool:
        """An unauthenticated failure: written while the rate allows, else only counted.

        Returns whether a record was written.  Suppressed records are reported
        by the ``denied-summary`` record that precedes the next one written."""
        with self._lock:
            allowed = self.denied.allow()
            if not allowed:
                self.denied.suppress(code)
        if allowed:
            self.record(error_code=code, **fields)
        return allowed

    def signed_checkpoint(self) -> dict[str, Any]:
        """Appends a checkpoint record now and returns it with the public key: the head
        statement to copy to an external anchor."""
        keys = self.keys
        rec: dict[str, Any] = dict(self._write(lambda: self._checkpoint_body(keys)))
        rec["public_key"] = keys.public_key_pem()
        return rec

    def head(self) -> tuple[int, str]:
        """(seq, SM3 hex) of the log's last record now (re-read from a shared file)."""
        try:
            with self._synced():
                return self._seq, self._prev or GENESIS
        except AuditUnavailableError:
            raise
        except Exception:
            self._prev = None
            raise AuditUnavailableError() from None

    def check_macs(self, items: Sequence[tuple[bytes, str]]) -> list[bool]:
        """Server side of ``sys/audit/verify``: which (SM3(body), mac) pairs are genuine."""
        return self.keys.check(items)


@dataclass(frozen=True, slots=True)
class AuditVerifyResult:
    """Outcome of :func:`verify_audit_log`.

    ``keyed`` counts records carrying a MAC, ``legacy`` those without (allowed
    only as the file's prefix); ``macs_checked`` says whether the MACs were
    checked against the key (otherwise only the SM3 chain was), and
    ``checkpoints`` how many signed checkpoints verified."""

    ok: bool
    records: int
    last_seq: int
    last_hash: str
    error: str | None = None
    line: int | None = None
    keyed: int = 0
    legacy: int = 0
    macs_checked: bool = False
    checkpoints: int = 0
    anchored: bool = False

    def __bool__(self) -> bool:
        return self.ok

    @property
    def statement(self) -> str:
        """One sentence saying what this verification proves."""
        if not self.ok:
            return f"BROKEN at line {self.line}: {self.error}"
        parts = [f"{self.records} records, SM3 chain intact"]
        if self.legacy and not self.keyed:
            parts.append(
                "LEGACY log (unkeyed chain, written before format 2): it detects accidental damage "
                "but not someone who can rewrite the file and re-chain it"
            )
        elif self.legacy:
            parts.append(f"the first {self.legacy} records are legacy (unkeyed), the rest keyed")
        if self.keyed:
            parts.append(
                f"{self.keyed} record MACs verified with the audit key"
                if self.macs_checked
                else f"{self.keyed} keyed records: MACs NOT checked (no key; set GUOMI_ADDR and GUOMI_TOKEN)"
            )
        if self.checkpoints:
            parts.append(f"{self.checkpoints} signed checkpoints verified")
        if self.anchored:
            parts.append("the anchored head is present")
        return "; ".join(parts)


_CHECK_CHUNK = 4096


def _load_public_key(key: SM2PublicKey | str | bytes) -> SM2PublicKey:
    if isinstance(key, SM2PublicKey):
        return key
    return serialization.load_pem_public_key(key.encode("ascii") if isinstance(key, str) else key)


def verify_audit_log(  # noqa: PLR0912, PLR0915 - one exit per failure kind
    path: str | os.PathLike[str],
    *,
    mac_checker: MacChecker | None = None,
    public_key: SM2PublicKey | str | bytes | None = None,
    anchor: dict[str, Any] | None = None,
) -> AuditVerifyResult:
    """Checks the SM3 chain and sequence numbers of an audit log file, and with
    ``mac_checker`` every record's MAC (keyed chain), with ``public_key`` every
    checkpoint's SM2 signature, with ``anchor`` (an exported checkpoint) that
    the anchored head is in the file.

    Reports the first line where an edit, deletion, insertion, reordering,
    re-chaining or a torn final write shows."""
    prev = GENESIS
    expected_seq = 1
    count = keyed = legacy = checkpoints = 0
    pub = None if public_key is None else _load_public_key(public_key)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return AuditVerifyResult(False, 0, 0, GENESIS, f"cannot read the log: {exc.strerror}", None)
    lines = data.split(b"\n")
    trailing = lines.pop() if lines else b""
    to_check: list[tuple[bytes, str]] = []
    check_lines: list[int] = []
    hashes: dict[int, str] = {}
    failure: tuple[str, int] | None = None
    for number, line in enumerate(lines, start=1):
        try:
            rec = json.loads(line)
            seq = rec["seq"]
            rec_prev = rec["prev"]
        except (ValueError, KeyError, TypeError):
            failure = ("record is not valid JSON", number)
            break
        if not isinstance(rec, dict) or not isinstance(seq, int):
            failure = ("record has no sequence number", number)
            break
        if rec_prev != prev:
            failure = (
                "chain broken: prev does not match SM3 of the previous record (edit, deletion or insertion)",
                number,
            )
            break
        if seq != expected_seq:
            failure = (f"sequence gap: expected {expected_seq}, found {seq}", number)
            break
        split = split_keyed_line(line)
        if split is None:
            if keyed:
                failure = ("record without a MAC after keyed records (inserted or stripped)", number)
                break
            legacy += 1
        else:
            keyed += 1
            to_check.append((sm3_digest(split[0]), split[1]))
            check_lines.append(number)
        if rec.get("type") == "checkpoint" and pub is not None:
            try:
                pub.verify(
                    bytes.fromhex(str(rec["signature"])),
                    checkpoint_statement(int(rec["head_seq"]), str(rec["head"]), str(rec["checkpoint_time"])),
                )
            except (InvalidSignature, KeyError, ValueError, TypeError):
                failure = ("checkpoint signature does not verify with the given public key", number)
                break
            if hashes.get(int(rec["head_seq"]), GENESIS) != rec["head"]:
                failure = ("checkpoint names a head that is not the log's", number)
                break
            checkpoints += 1
        prev = sm3_digest(line).hex()
        hashes[seq] = prev
        expected_seq += 1
        count += 1
    if failure is None and trailing:
        failure = ("last record is incomplete (no newline)", len(lines) + 1)
    if mac_checker is not None:
        for start in range(0, len(to_check), _CHECK_CHUNK):
            chunk = to_check[start : start + _CHECK_CHUNK]
            results = mac_checker(chunk)
            bad = next((i for i, good in enumerate(results) if not good), None)
            if len(results) != len(chunk):
                bad = len(results)
            if bad is not None:
                number = check_lines[start + bad]
                if failure is None or number <= failure[1]:
                    failure = ("record MAC does not verify (edited, forged or re-chained)", number)
                    count = min(count, number - 1)
                break
    anchored = False
    if failure is None and anchor is not None:
        try:
            a_seq, a_head = int(anchor["head_seq"]), str(anchor["head"])
        except (KeyError, ValueError, TypeError):
            failure = ("the anchor is not a checkpoint (head_seq, head)", 0)
        else:
            if pub is not None and "signature" in anchor:
                try:
                    pub.verify(
                        bytes.fromhex(str(anchor["signature"])),
                        checkpoint_statement(a_seq, a_head, str(anchor["checkpoint_time"])),
                    )
                except (InvalidSignature, KeyError, ValueError, TypeError):
                    failure = ("the anchor's signature does not verify", 0)
            if failure is None:
                if a_seq > count:
                    failure = (
                        f"the log ends at seq {count} but the anchor names seq {a_seq}: "
                        "records were cut off the end",
                        count,
                    )
                elif hashes.get(a_seq, GENESIS) != a_head:
                    failure = (f"record {a_seq} differs from the anchored head (log rewritten)", a_seq)
                else:
                    anchored = True
    if failure is not None:
        error, number = failure
        last = min(count, max(number - 1, 0))
        return AuditVerifyResult(
            False,
            last,
            last,
            hashes.get(last, GENESIS),
            error,
            number,
            keyed=keyed,
            legacy=legacy,
            macs_checked=mac_checker is not None,
            checkpoints=checkpoints,
        )
    return AuditVerifyResult(
        True,
        count,
        expected_seq - 1,
        prev,
        keyed=keyed,
        legacy=legacy,
        macs_checked=mac_checker is not None,
        checkpoints=checkpoints,
        anchored=anchored,
    )
