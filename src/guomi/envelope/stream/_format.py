"""``guomi-stream`` wire format: constants, KDF labels and the header codec (``docs/spec/stream.md``).

Layer: ``guomi.envelope``. Everything a second implementation must agree on byte for byte
lives here: the magic and sizes (spec §2), the stanza and header layout (version 1, and version 2 with the
signer of an SM2-signed file, spec §6), the signature trailer, the HKDF labels
that derive the header MAC key and the payload key from the file key (spec §4), and
:func:`read_header`, which shape-checks a header without any key. It holds no key and does
no I/O beyond reading the header from a stream.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from guomi.exceptions import StreamFormatError
from guomi.primitives.kdf import hkdf_sm3

__all__ = [
    "DEFAULT_ITERATIONS",
    "DEFAULT_MAX_ITERATIONS",
    "DEFAULT_SEGMENT_SIZE",
    "FILE_KEY_SIZE",
    "FIXED",
    "FLAG_SIGNED",
    "HEADER_FAILED",
    "KMS_ASSOCIATED_DATA",
    "LABEL_HEADER",
    "LABEL_PASSPHRASE",
    "LABEL_PAYLOAD",
    "LABEL_SIGNATURE",
    "LABEL_SM2_FP",
    "MAC_SIZE",
    "MAGIC",
    "MAX_ITERATIONS",
    "MAX_SEG_LOG2",
    "MAX_SIGNATURE_DER",
    "MAX_STANZAS",
    "MAX_STANZA_BODY",
    "MIN_ITERATIONS",
    "MIN_SEG_LOG2",
    "SALT_SIZE",
    "SIGNER_KEY_SIZE",
    "STANZA_HEAD",
    "SUITE",
    "TAG_SIZE",
    "TRAILER_SIZE",
    "TYPE_KMS",
    "TYPE_PASSPHRASE",
    "TYPE_SM2",
    "VERSION",
    "VERSION_SIGNED",
    "Header",
    "Stanza",
    "decode_trailer",
    "encode_header",
    "encode_trailer",
    "header_keys",
    "read_exact",
    "read_header",
]

# ------------------------------------------------------------------ constants (spec §2-§4)

MAGIC = b"\x89GMS\r\n\x1a\n"
VERSION = 1
"""An unsigned file (spec §2); what every unsigned file is written as."""
VERSION_SIGNED = 2
"""A file with the SM2 signature of spec §6: a ``flags`` byte and the signer's key in the
header, a signature trailer after the payload. Version-1 readers refuse it by its version."""
SUITE = 1
MIN_SEG_LOG2, MAX_SEG_LOG2 = 12, 24
DEFAULT_SEGMENT_SIZE = 1 << 16
MAX_STANZAS = 1024
MAX_STANZA_BODY = 65536
TAG_SIZE = 16
FILE_KEY_SIZE = 16
SALT_SIZE = 32
MAC_SIZE = 32
FIXED = struct.Struct(">8sBBB32sH")  # magic, version, suite, seg_log2, payload_salt, stanza_count
STANZA_HEAD = struct.Struct(">BI")
FLAG_SIGNED = 0x01
"""Version-2 ``flags`` bit 0: signed (spec §6). It MUST be set; every other bit MUST be 0."""
SIGNER_KEY_SIZE = 33
"""The signer's SM2 public key in the version-2 header: compressed ``02|03 || x``."""
MAX_SIGNATURE_DER = 72
"""Longest DER ``SEQUENCE {r, s}`` of an SM2 signature (two 33-byte INTEGERs)."""
TRAILER_SIZE = 1 + MAX_SIGNATURE_DER
"""Fixed trailer: ``der_len:u8 || DER signature || zero padding`` (spec §6), so that the
end of the payload is known from the file length alone (random access, streaming)."""

TYPE_SM2, TYPE_PASSPHRASE, TYPE_KMS = 1, 2, 3

MIN_ITERATIONS = 100_000
"""Fewest PBKDF2 rounds a passphrase stanza may ask for (spec §3.2): fewer is refused."""
MAX_ITERATIONS = 100_000_000
"""Most rounds a writer may choose; the format's hard ceiling."""
DEFAULT_ITERATIONS = 600_000
"""What ``guomi encrypt -p`` writes (OWASP's 2023 figure for PBKDF2-HMAC-SHA256)."""
DEFAULT_MAX_ITERATIONS = 2_000_000
"""Most rounds a reader spends by default before refusing the file (about a second).

A stanza may ask for up to :data:`MAX_ITERATIONS`; a reader that paid whatever a file
asks could be made to spin for minutes per attempt by a file it was sent. Readers that
expect stronger files raise it explicitly (``max_iterations=``, ``--max-iterations``)."""

# KDF labels and associated data (spec §3-§4). Each names the format version and its one
# use, so a key derived for one purpose is never valid for another, and a v2 format can
# never collide with these.
LABEL_HEADER = b"guomi-stream/v1 header"
"""HKDF-SM3 info for the header MAC key (spec §4)."""
LABEL_PAYLOAD = b"guomi-stream/v1 payload"
"""HKDF-SM3 info for the payload key, salted with the header's fresh ``payload_salt``."""
LABEL_SM2_FP = b"guomi-stream/v1 sm2 recipient"
"""Prefix of the SM3 recipient fingerprint (spec §3.1): not a key, only a "mine?" hint."""
LABEL_PASSPHRASE = b"guomi-stream/v1 passphrase"
"""Associated data of the passphrase stanza's SM4-GCM wrap (zero nonce: the key is fresh)."""
LABEL_SIGNATURE = b"guomi-stream/v2 signature"
"""Prefix of the message an SM2-signed file's signature is over (spec §6):
``LABEL_SIGNATURE || SM3(every byte of the file before the trailer)``. The label keeps a
signing key shared with other uses from ever signing something that reads as a file."""
KMS_ASSOCIATED_DATA = b"guomi-stream/v1 file key"
"""Associated data of the custody-service wrap of the file key (spec §3.3)."""

HEADER_FAILED = (
    "the header does not verify: wrong passphrase or key, or the header was modified "
    "(stanzas, salt or segment size)"
)
"""The one message for every failure before the header MAC verifies (spec §4): a stanza
addressed to an identity that does not open, and a bad header MAC, are not told apart, so
a reader never tells an attacker which of the two it was."""


@dataclass(frozen=True)
class Stanza:
    """One recipient stanza: ``type:u8 || body_len:u32 || body`` (spec §2)."""

    type: int
    body: bytes

    def encode(self) -> bytes:
        return STANZA_HEAD.pack(self.type, len(self.body)) + self.body


@dataclass(frozen=True)
class Header:
    """A parsed header: its bytes (for the MAC), fields and stanzas."""

    raw: bytes
    seg_log2: int
    payload_salt: bytes
    stanzas: tuple[Stanza, ...]
    mac: bytes
    signer: bytes | None = None
    """The signer's compressed SM2 public key (version 2, spec §6), else ``None``."""

    @property
    def signed(self) -> bool:
        return self.signer is not None

    @property
    def trailer_size(self) -> int:
        """Bytes after the payload: the signature trailer of a signed file, else 0."""
        return TRAILER_SIZE if self.signed else 0

    @property
    def segment_size(self) -> int:
        return 1 << self.seg_log2

    @property
    def length(self) -> int:
        return len(self.raw) + MAC_SIZE


def header_keys(file_key: bytes, payload_salt: bytes) -> tuple[bytes, bytes]:
    """The header MAC key and the payload key of a file (spec §4)."""
    mac_key = hkdf_sm3(file_key, 32, b"", LABEL_HEADER)
    payload_key = hkdf_sm3(file_key, 16, payload_salt, LABEL_PAYLOAD)
    return mac_key, payload_key


def read_exact(src: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes, fewer only at end of file (raw streams may return short reads)."""
    parts = []
    while n > 0:
        chunk = src.read(n)
        if not chunk:
            break
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def read_header(src: BinaryIO) -> Header:  # noqa: PLR0912 (one check per field, in order)
    """Parse and shape-check a header (spec §2) without any key; the MAC is checked later."""
    fixed = read_exact(src, FIXED.size)
    if not fixed:
        raise StreamFormatError("empty file: not a guomi-stream file")
    if len(fixed) < len(MAGIC) or fixed[: len(MAGIC)] != MAGIC:
        if MAGIC.startswith(fixed):
            raise StreamFormatError("truncated header")
        raise StreamFormatError("bad magic: not a guomi-stream file")
    if len(fixed) < FIXED.size:
        raise StreamFormatError("truncated header")
    _, version, suite, seg_log2, salt, count = FIXED.unpack(fixed)
    if version not in (VERSION, VERSION_SIGNED):
        raise StreamFormatError(
            f"unknown format version {version} (this reader knows versions {VERSION} and {VERSION_SIGNED})"
        )
    if suite != SUITE:
        raise StreamFormatError(f"unknown algorithm suite {suite}")
    if not MIN_SEG_LOG2 <= seg_log2 <= MAX_SEG_LOG2:
        raise StreamFormatError(f"segment size 2^{seg_log2} is out of range 2^12..2^24")
    if not 1 <= count <= MAX_STANZAS:
        raise StreamFormatError(f"stanza count {count} is out of range 1..{MAX_STANZAS}")
    parts = [fixed]
    signer = None
    if version == VERSION_SIGNED:
        signed_head = read_exact(src, 1 + SIGNER_KEY_SIZE)
        if len(signed_head) < 1 + SIGNER_KEY_SIZE:
            raise StreamFormatError("truncated header (in the signer)")
        if signed_head[0] != FLAG_SIGNED:
            raise StreamFormatError(f"unknown flags 0x{signed_head[0]:02x} in a version-2 header")
        if signed_head[1] not in (2, 3):
            raise StreamFormatError("the signer's public key is not a compressed SM2 point")
        signer = signed_head[1:]
        parts.append(signed_head)
    stanzas = []
    for _ in range(count):
        head = read_exact(src, STANZA_HEAD.size)
        if len(head) < STANZA_HEAD.size:
            raise StreamFormatError("truncated header (in a stanza)")
        stype, blen = STANZA_HEAD.unpack(head)
        if blen > MAX_STANZA_BODY:
            raise StreamFormatError(f"stanza body of {blen} bytes exceeds the {MAX_STANZA_BODY}-byte limit")
        body = read_exact(src, blen)
        if len(body) < blen:
            raise StreamFormatError("truncated header (in a stanza)")
        parts += [head, body]
        stanzas.append(Stanza(stype, body))
    mac = read_exact(src, MAC_SIZE)
    if len(mac) < MAC_SIZE:
        raise StreamFormatError("truncated header (in the header MAC)")
    return Header(b"".join(parts), seg_log2, salt, tuple(stanzas), mac, signer)


def encode_header(
    seg_log2: int, payload_salt: bytes, stanzas: list[Stanza], signer: bytes | None = None
) -> bytes:
    """The header bytes the MAC covers: the fixed fields, the signer of a signed file
    (version 2, spec §6), then every stanza (spec §2)."""
    version = VERSION if signer is None else VERSION_SIGNED
    fixed = FIXED.pack(MAGIC, version, SUITE, seg_log2, payload_salt, len(stanzas))
    if signer is not None:
        if len(signer) != SIGNER_KEY_SIZE:
            raise ValueError("the signer must be a compressed SM2 public key (33 bytes)")
        fixed += bytes([FLAG_SIGNED]) + signer
    return fixed + b"".join(s.encode() for s in stanzas)


def encode_trailer(signature_der: bytes) -> bytes:
    """``der_len:u8 || signature || zero padding`` to :data:`TRAILER_SIZE` bytes (spec §6)."""
    if not 8 <= len(signature_der) <= MAX_SIGNATURE_DER:
        raise ValueError("an SM2 DER signature is 8 to 72 bytes long")
    return bytes([len(signature_der)]) + signature_der + bytes(MAX_SIGNATURE_DER - len(signature_der))


def decode_trailer(trailer: bytes | memoryview) -> bytes:
    """The DER signature in a trailer; :class:`StreamFormatError` if its shape is wrong."""
    if len(trailer) != TRAILER_SIZE:
        raise StreamFormatError("truncated: the signature trailer is cut short")
    length = trailer[0]
    if not 8 <= length <= MAX_SIGNATURE_DER or any(trailer[1 + length :]):
        raise StreamFormatError("the signature trailer is malformed (length or padding)")
    return bytes(trailer[1 : 1 + length])
