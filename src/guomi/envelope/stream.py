"""``guomi-stream/v1``: file encryption for recipients, in bounded memory (``docs/spec/stream.md``).

Layer: ``guomi.envelope``. The header (recipient stanzas wrapping a fresh ``file_key``, a
header MAC committing to it) is built and parsed here; the payload, a STREAM of SM4-GCM
segments, is sealed and opened by :class:`guomi.primitives.stream.StreamKey` a batch of segments per
call with the GIL released, so Python costs nothing per 64 KiB segment.

>>> import io
>>> from guomi.primitives import sm2
>>> key = sm2.generate_private_key()
>>> sealed = io.BytesIO()
>>> encrypt(io.BytesIO(b"ledger"), sealed, [SM2Recipient(key.public_key())])
>>> out = io.BytesIO()
>>> _ = sealed.seek(0)
>>> decrypt(sealed, out, [SM2Identity(key)])
>>> out.getvalue()
b'ledger'

Recipients (who may open a file) and identities (what a reader holds) follow age's two
extension points. An identity looks at all stanzas and answers "not mine" (``None``) or a
file key, or raises :class:`~guomi.exceptions.StreamFormatError` when a stanza addressed to
it does not open, so "no identity matches" is never said of a damaged file or a wrong key.
"""

from __future__ import annotations

import hmac as _stdlib_hmac
import io
import os
import struct
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

from guomi.exceptions import (
    DecryptionError,
    GuomiError,
    InvalidEncodingError,
    InvalidKey,
    InvalidTag,
    NoIdentityMatchError,
    StreamError,
    StreamFormatError,
)
from guomi.primitives.hmac import hmac_sm3
from guomi.primitives.kdf import hkdf_sm3, pbkdf2_hmac_sm3
from guomi.primitives.sm3 import digest as sm3_digest
from guomi.primitives.sm4 import SM4GCM
from guomi.primitives.stream import StreamKey

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from guomi.keys import Aead
    from guomi.primitives.sm2 import SM2PrivateKey, SM2PublicKey

__all__ = [
    "DEFAULT_ITERATIONS",
    "DEFAULT_SEGMENT_SIZE",
    "MAGIC",
    "AeadProvider",
    "Header",
    "Identity",
    "KmsIdentity",
    "KmsRecipient",
    "PassphraseIdentity",
    "PassphraseRecipient",
    "Recipient",
    "SM2Identity",
    "SM2Recipient",
    "Stanza",
    "decrypt",
    "encrypt",
    "open_encrypted",
    "read_header",
]

# ------------------------------------------------------------------ constants (spec §2-§4)

MAGIC = b"\x89GMS\r\n\x1a\n"
VERSION = 1
SUITE = 1
MIN_SEG_LOG2, MAX_SEG_LOG2 = 12, 24
DEFAULT_SEGMENT_SIZE = 1 << 16
MAX_STANZAS = 1024
MAX_STANZA_BODY = 65536
TAG_SIZE = 16
FILE_KEY_SIZE = 16
SALT_SIZE = 32
MAC_SIZE = 32
_FIXED = struct.Struct(">8sBBB32sH")  # magic, version, suite, seg_log2, payload_salt, stanza_count
_STANZA_HEAD = struct.Struct(">BI")

TYPE_SM2, TYPE_PASSPHRASE, TYPE_KMS = 1, 2, 3

MIN_ITERATIONS = 100_000
MAX_ITERATIONS = 100_000_000
DEFAULT_ITERATIONS = 600_000

_LABEL_HEADER = b"guomi-stream/v1 header"
_LABEL_PAYLOAD = b"guomi-stream/v1 payload"
_LABEL_SM2_FP = b"guomi-stream/v1 sm2 recipient"
_LABEL_PASSPHRASE = b"guomi-stream/v1 passphrase"
KMS_ASSOCIATED_DATA = b"guomi-stream/v1 file key"

# Plaintext moved per Rust call: big enough that the per-call cost vanishes, small enough
# that memory stays bounded (two batches in flight, a few MiB).
_BATCH_BYTES = 4 << 20


# ------------------------------------------------------------------ stanzas and protocols


@dataclass(frozen=True)
class Stanza:
    """One recipient stanza: ``type:u8 || body_len:u32 || body`` (spec §2)."""

    type: int
    body: bytes

    def encode(self) -> bytes:
        return _STANZA_HEAD.pack(self.type, len(self.body)) + self.body


@runtime_checkable
class Recipient(Protocol):
    """Someone a file is encrypted for: wraps the file key into a stanza."""

    def wrap(self, file_key: bytes) -> Stanza:
        """The stanza that lets this recipient recover ``file_key``."""
        ...


@runtime_checkable
class Identity(Protocol):
    """What a reader holds: finds and opens its stanza, or says "not mine"."""

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        """The file key, ``None`` if no stanza is addressed to this identity.

        Raise :class:`~guomi.exceptions.StreamFormatError` if a stanza is addressed to this
        identity and does not open.
        """
        ...


def sm2_fingerprint(public_key: SM2PublicKey) -> bytes:
    """``SM3(label || 04 || x || y)[0:8]`` (spec §3.1)."""
    return sm3_digest(_LABEL_SM2_FP + public_key.public_bytes_raw())[:8]


class SM2Recipient:
    """An SM2 public key: the file key is SM2-encrypted to it (C1||C3||C2, spec §3.1)."""

    __slots__ = ("public_key",)

    def __init__(self, public_key: SM2PublicKey) -> None:
        self.public_key = public_key

    def wrap(self, file_key: bytes) -> Stanza:
        body = sm2_fingerprint(self.public_key) + self.public_key.encrypt(file_key, layout="c1c3c2")
        return Stanza(TYPE_SM2, body)

    def __str__(self) -> str:
        from guomi.envelope.text import sm2_recipient_string  # noqa: PLC0415 (cycle)

        return sm2_recipient_string(self.public_key)

    def __repr__(self) -> str:
        return f"SM2Recipient({str(self)!r})"


class SM2Identity:
    """An SM2 private key; opens the SM2 stanzas whose fingerprint is its own."""

    __slots__ = ("_fingerprint", "_key")

    def __init__(self, private_key: SM2PrivateKey) -> None:
        self._key = private_key
        self._fingerprint = sm2_fingerprint(private_key.public_key())

    @property
    def private_key(self) -> SM2PrivateKey:
        return self._key

    def recipient(self) -> SM2Recipient:
        """The matching recipient."""
        return SM2Recipient(self._key.public_key())

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.type != TYPE_SM2 or stanza.body[:8] != self._fingerprint:
                continue  # not mine (spec §3.1: the fingerprint tells)
            try:
                file_key = self._key.decrypt(stanza.body[8:], layout="c1c3c2")
            except (DecryptionError, InvalidEncodingError, InvalidKey, ValueError) as exc:
                raise StreamFormatError(
                    "the SM2 stanza addressed to this key does not decrypt: the file header is damaged"
                ) from exc
            if len(file_key) != FILE_KEY_SIZE:
                raise StreamFormatError("the SM2 stanza for this key holds a file key of the wrong length")
            return file_key
        return None

    def __repr__(self) -> str:
        return "SM2Identity(<private key hidden>)"


class PassphraseRecipient:
    """A passphrase: PBKDF2-HMAC-SM3 wraps the file key (spec §3.2). Must be the only recipient."""

    __slots__ = ("_iterations", "_passphrase")

    def __init__(self, passphrase: str, iterations: int = DEFAULT_ITERATIONS) -> None:
        if not passphrase:
            raise StreamError("the passphrase is empty")
        if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
            raise StreamError(f"iterations must be {MIN_ITERATIONS}..{MAX_ITERATIONS}, got {iterations}")
        self._passphrase = passphrase
        self._iterations = iterations

    def wrap(self, file_key: bytes) -> Stanza:
        salt = os.urandom(16)
        wrap_key = pbkdf2_hmac_sm3(self._passphrase.encode("utf-8"), salt, self._iterations, 16)
        wrapped = SM4GCM(wrap_key).encrypt(bytes(12), file_key, _LABEL_PASSPHRASE)
        return Stanza(TYPE_PASSPHRASE, struct.pack(">I", self._iterations) + salt + wrapped)

    def __repr__(self) -> str:
        return f"PassphraseRecipient(<hidden>, iterations={self._iterations})"


class PassphraseIdentity:
    """A passphrase, or a callable asked for it only if the file has a passphrase stanza."""

    __slots__ = ("_passphrase",)

    def __init__(self, passphrase: str | Callable[[], str]) -> None:
        self._passphrase = passphrase

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        mine = [s for s in stanzas if s.type == TYPE_PASSPHRASE]
        if not mine:
            return None
        if len(stanzas) != 1:
            raise StreamFormatError(
                "a passphrase stanza must be the file's only stanza (spec §3.2); this file has "
                f"{len(stanzas)} stanzas"
            )
        body = mine[0].body
        if len(body) != 4 + 16 + FILE_KEY_SIZE + TAG_SIZE:
            raise StreamFormatError(f"passphrase stanza has {len(body)} bytes, expected 52")
        (iterations,) = struct.unpack(">I", body[:4])
        if iterations < MIN_ITERATIONS:
            raise StreamFormatError(
                f"passphrase stanza asks for {iterations} PBKDF2 iterations, fewer than the "
                f"minimum {MIN_ITERATIONS}: refused"
            )
        if iterations > MAX_ITERATIONS:
            raise StreamFormatError(
                f"passphrase stanza asks for {iterations} PBKDF2 iterations, more than the "
                f"maximum {MAX_ITERATIONS}: refused"
            )
        passphrase = self._passphrase() if callable(self._passphrase) else self._passphrase
        wrap_key = pbkdf2_hmac_sm3(passphrase.encode("utf-8"), body[4:20], iterations, 16)
        try:
            return SM4GCM(wrap_key).decrypt(bytes(12), body[20:], _LABEL_PASSPHRASE)
        except InvalidTag:
            raise StreamFormatError(
                "wrong passphrase, or the passphrase stanza is damaged (the two cannot be told apart)"
            ) from None

    def __repr__(self) -> str:
        return "PassphraseIdentity(<hidden>)"


def _kms_name_bytes(name: str) -> bytes:
    raw = name.encode("utf-8")
    if not 1 <= len(raw) <= 255:
        raise StreamError(f"custody-service key name must be 1..255 bytes of UTF-8, got {len(raw)}")
    return raw


class AeadProvider(Protocol):
    """Anything that hands out a named :class:`guomi.keys.Aead`: the SDK's
    ``guomi.client.Client`` does (``client.aead(name)``). Typed structurally so
    this layer never imports the SDK, which sits above it."""

    def aead(self, name: str) -> Aead: ...


class KmsRecipient:
    """A key ``NAME`` in the custody service: the service wraps the file key (spec §3.3)."""

    __slots__ = ("_client", "name")

    def __init__(self, client: AeadProvider, name: str) -> None:
        _kms_name_bytes(name)
        self._client = client
        self.name = name

    def wrap(self, file_key: bytes) -> Stanza:
        token = self._client.aead(self.name).encrypt(file_key, KMS_ASSOCIATED_DATA)
        raw = _kms_name_bytes(self.name)
        body = struct.pack(">B", len(raw)) + raw + struct.pack(">H", len(token)) + token
        return Stanza(TYPE_KMS, body)

    def __repr__(self) -> str:
        return f"KmsRecipient({self.name!r})"


def _parse_kms_body(body: bytes) -> tuple[str, bytes]:
    try:
        n = body[0]
        name = body[1 : 1 + n].decode("utf-8")
        (tlen,) = struct.unpack(">H", body[1 + n : 3 + n])
        token = body[3 + n :]
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise StreamFormatError("custody-service stanza is malformed") from exc
    if len(token) != tlen or len(name.encode("utf-8")) != n:
        raise StreamFormatError("custody-service stanza lengths do not add up")
    return name, token


class KmsIdentity:
    """Key ``NAME`` in the custody service, used through ``client`` to unwrap."""

    __slots__ = ("_client", "name")

    def __init__(self, client: AeadProvider, name: str) -> None:
        self._client = client
        self.name = name

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.type != TYPE_KMS:
                continue
            name, token = _parse_kms_body(stanza.body)
            if name != self.name:
                continue  # not mine
            try:
                file_key = self._client.aead(self.name).decrypt(token, KMS_ASSOCIATED_DATA)
            except InvalidTag as exc:
                raise StreamFormatError(
                    f"the custody service refused to unwrap the file key with kms:{self.name} "
                    "(damaged header, or a token of another installation)"
                ) from exc
            if len(file_key) != FILE_KEY_SIZE:
                raise StreamFormatError("the custody-service stanza holds a file key of the wrong length")
            return file_key
        return None

    def __repr__(self) -> str:
        return f"KmsIdentity({self.name!r})"


# ------------------------------------------------------------------ header


@dataclass(frozen=True)
class Header:
    """A parsed header: its bytes (for the MAC), fields and stanzas."""

    raw: bytes
    seg_log2: int
    payload_salt: bytes
    stanzas: tuple[Stanza, ...]
    mac: bytes

    @property
    def segment_size(self) -> int:
        return 1 << self.seg_log2

    @property
    def length(self) -> int:
        return len(self.raw) + MAC_SIZE


def _keys(file_key: bytes, payload_salt: bytes) -> tuple[bytes, bytes]:
    mac_key = hkdf_sm3(file_key, 32, b"", _LABEL_HEADER)
    payload_key = hkdf_sm3(file_key, 16, payload_salt, _LABEL_PAYLOAD)
    return mac_key, payload_key


def _read_exact(src: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes, fewer only at end of file (raw streams may return short reads)."""
    parts = []
    while n > 0:
        chunk = src.read(n)
        if not chunk:
            break
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _readinto_full(src: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``src``; the count is short only at end of file."""
    got = 0
    total = len(view)
    readinto = getattr(src, "readinto", None)
    while got < total:
        if readinto is not None:
            n = readinto(view[got:])
        else:
            data = src.read(total - got)
            n = len(data)
            view[got : got + n] = data
        if not n:
            break
        got += n
    return got


def read_header(src: BinaryIO) -> Header:  # noqa: PLR0912 (one check per field, in order)
    """Parse and shape-check a header (spec §2) without any key; the MAC is checked later."""
    fixed = _read_exact(src, _FIXED.size)
    if not fixed:
        raise StreamFormatError("empty file: not a guomi-stream file")
    if len(fixed) < len(MAGIC) or fixed[: len(MAGIC)] != MAGIC:
        if MAGIC.startswith(fixed):
            raise StreamFormatError("truncated header")
        raise StreamFormatError("bad magic: not a guomi-stream file")
    if len(fixed) < _FIXED.size:
        raise StreamFormatError("truncated header")
    _, version, suite, seg_log2, salt, count = _FIXED.unpack(fixed)
    if version != VERSION:
        raise StreamFormatError(f"unknown format version {version} (this reader knows version {VERSION})")
    if suite != SUITE:
        raise StreamFormatError(f"unknown algorithm suite {suite}")
    if not MIN_SEG_LOG2 <= seg_log2 <= MAX_SEG_LOG2:
        raise StreamFormatError(f"segment size 2^{seg_log2} is out of range 2^12..2^24")
    if not 1 <= count <= MAX_STANZAS:
        raise StreamFormatError(f"stanza count {count} is out of range 1..{MAX_STANZAS}")
    parts = [fixed]
    stanzas = []
    for _ in range(count):
        head = _read_exact(src, _STANZA_HEAD.size)
        if len(head) < _STANZA_HEAD.size:
            raise StreamFormatError("truncated header (in a stanza)")
        stype, blen = _STANZA_HEAD.unpack(head)
        if blen > MAX_STANZA_BODY:
            raise StreamFormatError(f"stanza body of {blen} bytes exceeds the {MAX_STANZA_BODY}-byte limit")
        body = _read_exact(src, blen)
        if len(body) < blen:
            raise StreamFormatError("truncated header (in a stanza)")
        parts += [head, body]
        stanzas.append(Stanza(stype, body))
    mac = _read_exact(src, MAC_SIZE)
    if len(mac) < MAC_SIZE:
        raise StreamFormatError("truncated header (in the header MAC)")
    return Header(b"".join(parts), seg_log2, salt, tuple(stanzas), mac)


def _file_key(header: Header, identities: Sequence[Identity]) -> bytes:
    if not identities:
        raise NoIdentityMatchError("no identity given")
    for identity in identities:
        file_key = identity.unwrap(header.stanzas)
        if file_key is not None:
            break
    else:
        raise NoIdentityMatchError("no identity matches this file")
    if len(file_key) != FILE_KEY_SIZE:
        raise StreamFormatError("the unwrapped file key has the wrong length")
    return file_key


def _open_header(src: BinaryIO, identities: Sequence[Identity]) -> tuple[Header, StreamKey]:
    header = read_header(src)
    file_key = _file_key(header, identities)
    mac_key, payload_key = _keys(file_key, header.payload_salt)
    if not _stdlib_hmac.compare_digest(hmac_sm3(mac_key, header.raw), header.mac):
        raise StreamFormatError("header MAC bad: the header was modified (stanzas, salt or segment size)")
    return header, StreamKey(payload_key, header.segment_size)


# ------------------------------------------------------------------ output pipeline


def _write_all(dst: BinaryIO, data: memoryview) -> None:
    while len(data):
        n = dst.write(data)
        if n is None:  # a non-blocking raw stream that would block: not supported
            raise StreamError("the output stream is non-blocking")
        data = data[n:]


class _Writer:
    """Writes batches on a helper thread while the next batch is read and sealed/opened.

    The crypto runs in Rust without the GIL, and file reads and writes release it too, so
    with two output buffers used in turn the three stages overlap. At most one write is
    in flight; :meth:`write` waits for it before queueing the next, so the buffer being
    filled is never the one being written.
    """

    def __init__(self, dst: BinaryIO) -> None:
        self._dst = dst
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guomi-stream-writer")
        self._pending: Future[None] | None = None

    def write(self, data: memoryview) -> None:
        self.wait()
        self._pending = self._pool.submit(_write_all, self._dst, data)

    def wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._pool.shutdown(wait=True)


# ------------------------------------------------------------------ encryption


def _build_header(recipients: Sequence[Recipient], seg_log2: int) -> tuple[bytes, StreamKey]:
    if not recipients:
        raise StreamError("at least one recipient is needed")
    if len(recipients) > MAX_STANZAS:
        raise StreamError(f"at most {MAX_STANZAS} recipients")
    if len(recipients) > 1 and any(isinstance(r, PassphraseRecipient) for r in recipients):
        raise StreamError(
            "a passphrase must be the only recipient of a file (other recipients could "
            "otherwise attack the passphrase offline)"
        )
    file_key = os.urandom(FILE_KEY_SIZE)
    salt = os.urandom(SALT_SIZE)
    stanzas = [r.wrap(file_key) for r in recipients]
    for s in stanzas:
        if len(s.body) > MAX_STANZA_BODY:
            raise StreamError("a recipient produced a stanza over the size limit")
    raw = _FIXED.pack(MAGIC, VERSION, SUITE, seg_log2, salt, len(stanzas)) + b"".join(
        s.encode() for s in stanzas
    )
    mac_key, payload_key = _keys(file_key, salt)
    return raw + hmac_sm3(mac_key, raw), StreamKey(payload_key, 1 << seg_log2)


def _seg_log2(segment_size: int) -> int:
    log2 = segment_size.bit_length() - 1
    if segment_size <= 0 or 1 << log2 != segment_size or not MIN_SEG_LOG2 <= log2 <= MAX_SEG_LOG2:
        raise StreamError(f"segment_size must be a power of two from 4096 to 16 MiB, got {segment_size}")
    return log2


def encrypt(
    src: BinaryIO,
    dst: BinaryIO,
    recipients: Sequence[Recipient],
    *,
    segment_size: int = DEFAULT_SEGMENT_SIZE,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Encrypt everything readable from ``src`` to ``dst`` for ``recipients``.

    Memory stays bounded (a few MiB) whatever the size. ``progress`` is called with the
    number of plaintext bytes consumed after each batch.
    """
    header, key = _build_header(recipients, _seg_log2(segment_size))
    dst.write(header)
    per_batch = max(1, _BATCH_BYTES // segment_size) * segment_size
    # One byte of look-ahead: a batch is final only if the input ends right after it.
    # The buffers are reused for every batch: no allocation (and no page faults) per
    # batch; two output buffers alternate so one can be written while the other fills.
    buf = bytearray(per_batch + 1)
    view = memoryview(buf)
    outs = [memoryview(bytearray(key.sealed_len(per_batch, True))) for _ in range(2)]
    writer = _Writer(dst)
    try:
        have = _readinto_full(src, view)
        index = 0
        while True:
            out = outs[index // (per_batch // segment_size) % 2]
            last = have < per_batch + 1
            n = key.seal_into(index, last, view[: min(have, per_batch)], out)
            writer.write(out[:n])
            if progress is not None:
                progress(min(have, per_batch))
            if last:
                break
            index += per_batch // segment_size
            buf[0] = buf[per_batch]
            have = 1 + _readinto_full(src, view[1:])
    finally:
        writer.close()


# ------------------------------------------------------------------ decryption


def _segment_error(key: StreamKey, index: int, segment: memoryview, expected_last: bool) -> StreamFormatError:
    """Name the failure of segment ``index`` by trying the other last-flag (spec §5)."""
    unit = key.segment_size + TAG_SIZE
    if len(segment) == unit or (not expected_last and len(segment) >= TAG_SIZE):
        try:
            key.open(index, not expected_last, segment)
        except GuomiError:
            pass
        else:
            if expected_last:
                return StreamFormatError(
                    f"truncated: segment {index} ends the file but is not marked final "
                    "(the end of the file is missing)"
                )
            return StreamFormatError(f"trailing data after the final segment {index}")
    return StreamFormatError(
        f"segment {index} failed authentication: the file is damaged, or its segments were "
        "reordered, duplicated or cut"
    )


def _open_batch(
    key: StreamKey, index: int, last: bool, data: memoryview, out: memoryview | None = None
) -> bytes | memoryview:
    """Open a batch (into ``out`` if given); on failure name the first bad segment."""
    try:
        if out is None:
            return key.open(index, last, data)
        return out[: key.open_into(index, last, data, out)]
    except InvalidTag:
        pass
    except InvalidEncodingError as exc:  # shape: a final piece shorter than a tag
        unit = key.segment_size + TAG_SIZE
        full = len(data) // unit * unit
        if not last or full == 0:
            raise StreamFormatError(str(exc)) from None
        # Name what precedes the stub: a segment marked final (trailing data) or not (cut).
        _open_batch(key, index, False, data[:full])
        raise StreamFormatError(
            "truncated: the final segment is cut short (fewer bytes than its tag)"
        ) from None
    # Find the failing segment to name the failure (failure path only).
    unit = key.segment_size + TAG_SIZE
    count = (len(data) + unit - 1) // unit
    for i in range(count):
        seg = data[i * unit : (i + 1) * unit]
        seg_last = last and i == count - 1
        try:
            key.open(index + i, seg_last, seg)
        except InvalidTag:
            raise _segment_error(key, index + i, seg, seg_last) from None
    raise StreamFormatError("a segment failed authentication")  # not reached


def _iter_plaintext(src: BinaryIO, key: StreamKey) -> Iterator[bytes | memoryview]:
    """Verified plaintext batches of the payload that follows the header in ``src``.

    Each batch is a view of one of two buffers used in turn: valid until the batch after
    the next one is requested (so it may be written while the next one is opened).
    """
    unit = key.segment_size + TAG_SIZE
    per_batch = max(1, _BATCH_BYTES // key.segment_size) * unit
    buf = bytearray(per_batch + 1)
    view = memoryview(buf)
    # Two output buffers in turn: the consumer may still be writing the previous one.
    outs = [memoryview(bytearray(key.opened_len(per_batch, True))) for _ in range(2)]
    have = _readinto_full(src, view)
    index = 0
    turn = 0
    while True:
        out = outs[turn % 2]
        turn += 1
        if have == per_batch + 1:
            yield _open_batch(key, index, False, view[:per_batch], out)
            index += per_batch // unit
            buf[0] = buf[per_batch]
            have = 1 + _readinto_full(src, view[1:])
            continue
        if have == 0:
            raise StreamFormatError("truncated: the file has a header but no payload")
        yield _open_batch(key, index, True, view[:have], out)
        return


def decrypt(
    src: BinaryIO,
    dst: BinaryIO,
    identities: Sequence[Identity],
    *,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Decrypt ``src`` into ``dst`` with the first identity that opens it.

    Only verified segments are written; on failure ``dst`` may hold a verified prefix, so
    write to a temporary place and keep it only if this returns (the CLI does).
    """
    _, key = _open_header(src, identities)
    writer = _Writer(dst)
    try:
        for chunk in _iter_plaintext(src, key):
            writer.write(memoryview(chunk))
            if progress is not None:
                progress(len(chunk))
    finally:
        writer.close()


class _SequentialReader(io.RawIOBase):
    """Readable plaintext of a non-seekable source (verified batch by batch)."""

    def __init__(self, src: BinaryIO, key: StreamKey) -> None:
        self._it = _iter_plaintext(src, key)
        self._buf: bytes | memoryview = b""
        self._pos = 0
        self._src = src

    def readable(self) -> bool:
        return True

    def readinto(self, b: Buffer) -> int:
        out = memoryview(b).cast("B")
        while self._pos >= len(self._buf):
            try:
                self._buf = next(self._it)
            except StopIteration:
                return 0
            self._pos = 0
        n = min(len(out), len(self._buf) - self._pos)
        out[:n] = self._buf[self._pos : self._pos + n]
        self._pos += n
        return n

    def close(self) -> None:
        self._buf = b""
        super().close()


class _RandomAccessReader(io.RawIOBase):
    """Seekable plaintext of a seekable source: any segment decrypts alone (spec §5)."""

    def __init__(self, src: BinaryIO, key: StreamKey, header_len: int) -> None:
        self._src = src
        self._key = key
        self._base = header_len
        self._seg = key.segment_size
        self._unit = self._seg + TAG_SIZE
        payload = src.seek(0, io.SEEK_END) - header_len
        if payload <= 0:
            raise StreamFormatError("truncated: the file has a header but no payload")
        self._nseg = (payload + self._unit - 1) // self._unit
        tail = payload - (self._nseg - 1) * self._unit
        if tail < TAG_SIZE:
            raise StreamFormatError("truncated: final segment is shorter than its tag")
        self._tail = tail
        self._size = payload - self._nseg * TAG_SIZE
        if self._nseg > 1 and tail == TAG_SIZE:
            # An empty final segment only exists for an empty plaintext (spec §5).
            raise StreamFormatError("trailing data: an empty segment after a full one")
        self._pos = 0
        self._cache_first = -1
        self._cache: bytes | memoryview = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def tell(self) -> int:
        return self._pos

    def _load(self, first: int, want_bytes: int) -> None:
        per_batch = max(1, _BATCH_BYTES // self._seg)
        count = min(self._nseg - first, max(1, min(per_batch, (want_bytes + self._seg - 1) // self._seg)))
        self._src.seek(self._base + first * self._unit)
        data = _read_exact(self._src, count * self._unit)
        last = first + count == self._nseg
        expected = (count - 1) * self._unit + (self._tail if last else self._unit)
        if len(data) != expected:
            raise StreamFormatError("the file changed size while it was being read")
        self._cache = _open_batch(self._key, first, last, memoryview(data))
        self._cache_first = first

    def readinto(self, b: Buffer) -> int:
        out = memoryview(b).cast("B")
        if self._pos >= self._size or not len(out):
            return 0
        seg = self._pos // self._seg
        cached_end = self._cache_first + (len(self._cache) + self._seg - 1) // self._seg
        if not (self._cache_first >= 0 and self._cache_first <= seg < cached_end):
            self._load(seg, len(out) + self._pos - seg * self._seg)
        off = self._pos - self._cache_first * self._seg
        n = min(len(out), len(self._cache) - off)
        out[:n] = self._cache[off : off + n]
        self._pos += n
        return n

    def close(self) -> None:
        self._cache = b""
        super().close()


def open_encrypted(src: BinaryIO, identities: Sequence[Identity]) -> io.BufferedReader:
    """A readable plaintext stream over the encrypted ``src``.

    The header (identity, header MAC) is checked here. If ``src`` is seekable the result is
    too, and a seek decrypts only the segments read (random access, spec §5): each segment
    read is verified, but a truncation of the file is only detected when its end is read.
    Reading raises :class:`~guomi.exceptions.StreamFormatError` at the first bad segment.
    """
    seekable = False
    try:
        seekable = bool(src.seekable())
    except (AttributeError, OSError):
        seekable = False
    start = src.tell() if seekable else 0
    header, key = _open_header(src, identities)
    raw: io.RawIOBase = (
        _RandomAccessReader(src, key, start + header.length) if seekable else _SequentialReader(src, key)
    )
    return io.BufferedReader(raw, buffer_size=max(io.DEFAULT_BUFFER_SIZE, header.segment_size))
