"""Encrypting and decrypting ``guomi-stream`` files in bounded memory (``docs/spec/stream.md`` §4-§6).

Layer: ``guomi.envelope``. The header is built from the recipients' stanzas and checked
against the reader's identities here; the payload, a STREAM of SM4-GCM segments, is sealed
and opened by :class:`guomi.primitives.stream.StreamKey` a batch of segments per call with
the GIL released, so Python costs nothing per 64 KiB segment. Reads, crypto and writes
overlap: the writes run on a helper thread (:class:`_Writer`). A signed file (spec §6) is
digested on that thread as it is written, and signed at the end; a reader that demands a
signature verifies a seekable file before unwrapping its key and, in every case, before it
releases the final batch of plaintext.
"""

from __future__ import annotations

import hmac as _stdlib_hmac
import io
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, BinaryIO

from guomi.envelope.stream._format import (
    DEFAULT_SEGMENT_SIZE,
    FILE_KEY_SIZE,
    HEADER_FAILED,
    MAX_SEG_LOG2,
    MAX_STANZA_BODY,
    MAX_STANZAS,
    MIN_SEG_LOG2,
    SALT_SIZE,
    TAG_SIZE,
    TYPE_PASSPHRASE,
    Header,
    decode_trailer,
    encode_header,
    header_keys,
    read_exact,
    read_header,
)
from guomi.envelope.stream._signature import (
    StreamSigner,
    StreamVerifier,
    check_signing_demand,
    verify_seekable,
)
from guomi.exceptions import (
    GuomiError,
    InvalidEncodingError,
    InvalidTag,
    NoIdentityMatchError,
    StreamError,
    StreamFormatError,
)
from guomi.primitives.hmac import hmac_sm3
from guomi.primitives.sm2 import DEFAULT_USER_ID
from guomi.primitives.stream import StreamKey

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from guomi.envelope.stream.recipients import Identity, Recipient
    from guomi.keys import Signer
    from guomi.primitives.sm2 import SM2PublicKey

__all__ = ["decrypt", "encrypt", "open_encrypted"]

# Plaintext moved per Rust call: big enough that the per-call cost vanishes, small enough
# that memory stays bounded (two batches in flight, a few MiB).
_BATCH_BYTES = 4 << 20


# ------------------------------------------------------------------ header


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
        raise StreamFormatError(HEADER_FAILED)
    return file_key


def _start_if_seekable(src: BinaryIO) -> int | None:
    """Where ``src`` is now if it can seek (a regular file), else ``None`` (a pipe)."""
    try:
        return src.tell() if src.seekable() else None
    except (AttributeError, OSError, ValueError):
        return None


def _open_header(
    src: BinaryIO,
    identities: Sequence[Identity],
    verify_key: SM2PublicKey | None,
    verify_user_id: bytes,
) -> tuple[Header, StreamKey, int | None]:
    """Read and check the header; the payload key; where the file starts if seekable.

    A demanded signature is checked first: an unsigned file or another signer is refused
    from the header alone, and a seekable file's signature is verified over the whole file
    before any identity is tried (spec §6).
    """
    start = _start_if_seekable(src)
    header = read_header(src)
    check_signing_demand(header, verify_key)
    if verify_key is not None and start is not None:
        verify_seekable(src, start, header, verify_key, verify_user_id)
    file_key = _file_key(header, identities)
    mac_key, payload_key = header_keys(file_key, header.payload_salt)
    if not _stdlib_hmac.compare_digest(hmac_sm3(mac_key, header.raw), header.mac):
        raise StreamFormatError(HEADER_FAILED)
    return header, StreamKey(payload_key, header.segment_size), start


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


# ------------------------------------------------------------------ output pipeline


def _write_all(dst: BinaryIO, data: memoryview, signer: StreamSigner | None = None) -> None:
    if signer is not None:
        signer.update(data)
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

    def __init__(self, dst: BinaryIO, signer: StreamSigner | None = None) -> None:
        self._dst = dst
        self._signer = signer
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guomi-stream-writer")
        self._pending: Future[None] | None = None

    def write(self, data: memoryview) -> None:
        self.wait()
        self._pending = self._pool.submit(_write_all, self._dst, data, self._signer)

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


def _build_header(
    recipients: Sequence[Recipient], seg_log2: int, signer: bytes | None = None
) -> tuple[bytes, StreamKey]:
    if not recipients:
        raise StreamError("at least one recipient is needed")
    if len(recipients) > MAX_STANZAS:
        raise StreamError(f"at most {MAX_STANZAS} recipients")
    file_key = os.urandom(FILE_KEY_SIZE)
    salt = os.urandom(SALT_SIZE)
    stanzas = [r.wrap(file_key) for r in recipients]
    if len(stanzas) > 1 and any(s.type == TYPE_PASSPHRASE for s in stanzas):
        raise StreamError(
            "a passphrase must be the only recipient of a file (other recipients could "
            "otherwise attack the passphrase offline)"
        )
    for s in stanzas:
        if len(s.body) > MAX_STANZA_BODY:
            raise StreamError("a recipient produced a stanza over the size limit")
    raw = encode_header(seg_log2, salt, stanzas, signer)
    mac_key, payload_key = header_keys(file_key, salt)
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
    signer: Signer | None = None,
    signer_user_id: bytes = DEFAULT_USER_ID,
) -> None:
    """Encrypt everything readable from ``src`` to ``dst`` for ``recipients``.

    Memory stays bounded (a few MiB) whatever the size. ``progress`` is called with the
    number of plaintext bytes consumed after each batch.

    With ``signer`` (any :class:`guomi.keys.Signer`: an ``SM2PrivateKey``, a
    ``LocalSigner``, the custody service's ``client.signer(name)``) the file is signed
    (format version 2, spec §6): the header names the signer's public key and the file
    ends with an SM2 signature over all bytes before it. ``signer_user_id`` is the user ID
    the signer signs with (checked once against the signature before it is written).
    """
    stream_signer = StreamSigner(signer, signer_user_id) if signer is not None else None
    header, key = _build_header(
        recipients,
        _seg_log2(segment_size),
        stream_signer.header_signer if stream_signer is not None else None,
    )
    _write_all(dst, memoryview(header), stream_signer)
    per_batch = max(1, _BATCH_BYTES // segment_size) * segment_size
    # One byte of look-ahead: a batch is final only if the input ends right after it.
    # The buffers are reused for every batch: no allocation (and no page faults) per
    # batch; two output buffers alternate so one can be written while the other fills.
    buf = bytearray(per_batch + 1)
    view = memoryview(buf)
    outs = [memoryview(bytearray(key.sealed_len(per_batch, True))) for _ in range(2)]
    writer = _Writer(dst, stream_signer)
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
    if stream_signer is not None:
        _write_all(dst, memoryview(stream_signer.trailer()))


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


def _iter_plaintext(
    src: BinaryIO, key: StreamKey, trailer_size: int = 0, verifier: StreamVerifier | None = None
) -> Iterator[bytes | memoryview]:
    """Verified plaintext batches of the payload that follows the header in ``src``.

    Each batch is a view of one of two buffers used in turn: valid until the batch after
    the next one is requested (so it may be written while the next one is opened).

    A signed file's trailer (``trailer_size`` bytes) is held back by the look-ahead; its
    shape is checked, and with ``verifier`` its signature verified, before the final batch
    is yielded: a bad signature releases no byte of the last batch (up to 4 MiB, and so
    nothing of a smaller file).
    """
    unit = key.segment_size + TAG_SIZE
    per_batch = max(1, _BATCH_BYTES // key.segment_size) * unit
    # Look-ahead: one byte tells whether a batch is final; a signed file also keeps its
    # trailer out of the payload.
    reserve = 1 + trailer_size
    buf = bytearray(per_batch + reserve)
    view = memoryview(buf)
    # Two output buffers in turn: the consumer may still be writing the previous one.
    outs = [memoryview(bytearray(key.opened_len(per_batch, True))) for _ in range(2)]
    have = _readinto_full(src, view)
    index = 0
    turn = 0
    while True:
        out = outs[turn % 2]
        turn += 1
        if have == per_batch + reserve:
            if verifier is not None:
                verifier.update(view[:per_batch])
            yield _open_batch(key, index, False, view[:per_batch], out)
            index += per_batch // unit
            buf[:reserve] = buf[per_batch : per_batch + reserve]
            have = reserve + _readinto_full(src, view[reserve:])
            continue
        payload_end = have - trailer_size
        if payload_end < 0:
            raise StreamFormatError("truncated: the file ends before its signature trailer")
        if payload_end == 0:
            raise StreamFormatError("truncated: the file has a header but no payload")
        plaintext = _open_batch(key, index, True, view[:payload_end], out)
        if trailer_size:
            trailer = bytes(view[payload_end:have])
            if verifier is not None:
                verifier.update(view[:payload_end])
                verifier.finish(trailer)
            else:
                decode_trailer(trailer)
        yield plaintext
        return


def decrypt(
    src: BinaryIO,
    dst: BinaryIO,
    identities: Sequence[Identity],
    *,
    progress: Callable[[int], None] | None = None,
    verify_key: SM2PublicKey | None = None,
    verify_user_id: bytes = DEFAULT_USER_ID,
) -> None:
    """Decrypt ``src`` into ``dst`` with the first identity that opens it.

    Only verified segments are written; on failure ``dst`` may hold a verified prefix, so
    write to a temporary place and keep it only if this returns (the CLI does).

    With ``verify_key`` the file MUST be signed by that SM2 key (spec §6), else
    :class:`~guomi.exceptions.StreamSignatureError`: an unsigned file or another signer is
    refused from the header; a seekable ``src`` (a regular file) has its signature verified
    over the whole file before any identity is tried or any byte decrypted, so nothing is
    written; a pipe is verified as it is read and the final batch (the last up to 4 MiB;
    all of a smaller file) is written only after the signature verified.
    """
    header, key, _ = _open_header(src, identities, verify_key, verify_user_id)
    verifier = StreamVerifier(header, verify_key, verify_user_id) if verify_key is not None else None
    writer = _Writer(dst)
    try:
        for chunk in _iter_plaintext(src, key, header.trailer_size, verifier):
            writer.write(memoryview(chunk))
            if progress is not None:
                progress(len(chunk))
    finally:
        writer.close()


class _SequentialReader(io.RawIOBase):
    """Readable plaintext of a non-seekable source (verified batch by batch)."""

    def __init__(
        self, src: BinaryIO, key: StreamKey, trailer_size: int, verifier: StreamVerifier | None
    ) -> None:
        self._it = _iter_plaintext(src, key, trailer_size, verifier)
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

    def __init__(self, src: BinaryIO, key: StreamKey, header_len: int, trailer_size: int) -> None:
        self._src = src
        self._key = key
        self._base = header_len
        self._seg = key.segment_size
        self._unit = self._seg + TAG_SIZE
        end = src.seek(0, io.SEEK_END)
        if trailer_size:
            if end - trailer_size < header_len:
                raise StreamFormatError("truncated: the file ends before its signature trailer")
            src.seek(end - trailer_size)
            decode_trailer(read_exact(src, trailer_size))
        payload = end - trailer_size - header_len
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
        last = first + count == self._nseg
        expected = (count - 1) * self._unit + (self._tail if last else self._unit)
        # Read exactly the segments (a signed file's trailer follows the last one).
        data = read_exact(self._src, expected)
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


def open_encrypted(
    src: BinaryIO,
    identities: Sequence[Identity],
    *,
    verify_key: SM2PublicKey | None = None,
    verify_user_id: bytes = DEFAULT_USER_ID,
) -> io.BufferedReader:
    """A readable plaintext stream over the encrypted ``src``.

    The header (identity, header MAC) is checked here. If ``src`` is seekable the result is
    too, and a seek decrypts only the segments read (random access, spec §5): each segment
    read is verified, but a truncation of the file is only detected when its end is read.
    Reading raises :class:`~guomi.exceptions.StreamFormatError` at the first bad segment.

    With ``verify_key`` (spec §6) a seekable file's signature is verified here, over the
    whole file, before this returns; a non-seekable one is verified as it is read, before
    its final batch is returned (:class:`~guomi.exceptions.StreamSignatureError`).
    """
    header, key, start = _open_header(src, identities, verify_key, verify_user_id)
    raw: io.RawIOBase
    if start is not None:
        raw = _RandomAccessReader(src, key, start + header.length, header.trailer_size)
    else:
        verifier = StreamVerifier(header, verify_key, verify_user_id) if verify_key is not None else None
        raw = _SequentialReader(src, key, header.trailer_size, verifier)
    return io.BufferedReader(raw, buffer_size=max(io.DEFAULT_BUFFER_SIZE, header.segment_size))
