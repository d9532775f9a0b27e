"""The SM2 signature of a signed ``guomi-stream`` file (``docs/spec/stream.md`` §6).

Layer: ``guomi.envelope``. A signed file (format version 2) names its signer's public key in
the header and ends with a fixed-size trailer holding a DER SM2 signature over

    LABEL_SIGNATURE || SM3(every byte of the file before the trailer)

made with the signer's user ID in Z_A (GB/T 32918.2; default ``1234567812345678``, GM/T
0009). The signature so binds the header (stanzas, salt, segment size, signer) and every
payload byte: unlike the header MAC, which every recipient can recompute, only the holder
of the signing key can produce it. This module holds the running digest on both sides and
the checks a reader makes; it does no I/O of its own except :func:`verify_seekable`.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, BinaryIO

from guomi.envelope.stream._format import (
    LABEL_SIGNATURE,
    TRAILER_SIZE,
    Header,
    decode_trailer,
    encode_trailer,
    read_exact,
)
from guomi.envelope.stream.recipients import sm2_recipient_string
from guomi.exceptions import (
    GuomiError,
    InvalidEncodingError,
    InvalidKey,
    StreamError,
    StreamFormatError,
    StreamSignatureError,
)
from guomi.primitives.sm2 import DEFAULT_USER_ID, SM2PublicKey
from guomi.primitives.sm3 import SM3

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from guomi.keys import Signer

__all__ = [
    "StreamSigner",
    "StreamVerifier",
    "check_signing_demand",
    "signed_message",
    "signer_key",
    "verify_seekable",
]

_HASH_CHUNK = 4 << 20


def signed_message(file_digest: bytes) -> bytes:
    """What the SM2 signature is over: the label, then SM3 of the signed bytes (spec §6)."""
    return LABEL_SIGNATURE + file_digest


def signer_key(header: Header) -> SM2PublicKey:
    """The signer's public key a signed header names."""
    if header.signer is None:
        raise StreamFormatError("the file is not signed")
    try:
        return SM2PublicKey.from_encoded_point(header.signer)
    except (InvalidEncodingError, InvalidKey):
        raise StreamFormatError("the signer's public key in the header is not a valid SM2 point") from None


def check_signing_demand(header: Header, verify_key: SM2PublicKey | None) -> None:
    """Refuse, from the header alone, a file that cannot satisfy ``verify_key``.

    Unsigned (version 1, or a signature stripped by rewriting the header) and signed by
    another key are both :class:`StreamSignatureError`, before any key is unwrapped.
    """
    if header.signed:
        named = signer_key(header)  # shape-checked even when no signature is demanded
        if verify_key is not None and named != verify_key:
            raise StreamSignatureError(
                f"the file is signed by {sm2_recipient_string(named)}, not by the expected key "
                f"{sm2_recipient_string(verify_key)}"
            )
    elif verify_key is not None:
        raise StreamSignatureError("the file is not signed, but a signature by the expected key was required")


class StreamSigner:
    """The writer's side: digest the bytes as they are written, then sign the digest."""

    def __init__(self, signer: Signer, user_id: bytes = DEFAULT_USER_ID) -> None:
        self._signer = signer
        self._user_id = user_id
        self.public_key = signer.public_key()
        self._hash = SM3()

    @property
    def header_signer(self) -> bytes:
        return self.public_key.public_bytes_raw(compressed=True)

    def update(self, data: Buffer) -> None:
        self._hash.update(data)

    def trailer(self) -> bytes:
        """Sign the digest of everything written; the trailer that ends the file.

        A remote signer (custody service) may have rotated between :meth:`public_key` and
        the signature; the signature is verified here (with ``user_id``, the ID the signer
        signs with) so a file is never written with a signature its header's key does not
        verify.
        """
        message = signed_message(self._hash.digest())
        signature = self._signer.sign(message)
        try:
            self.public_key.verify(signature, message, user_id=self._user_id)
        except GuomiError:
            raise StreamError(
                "the signer's signature does not verify under its own public key and the "
                "given user ID (another ID, or was the key rotated while the file was written?)"
            ) from None
        try:
            return encode_trailer(signature)
        except ValueError:
            raise StreamError("the signer returned a signature that is not an SM2 DER signature") from None


class StreamVerifier:
    """The reader's side: digest the signed bytes as they are read; check the trailer."""

    def __init__(self, header: Header, verify_key: SM2PublicKey, user_id: bytes = DEFAULT_USER_ID) -> None:
        self._key = verify_key
        self._user_id = user_id
        self._hash = SM3()
        self._hash.update(header.raw)
        self._hash.update(header.mac)

    def update(self, data: Buffer) -> None:
        self._hash.update(data)

    def finish(self, trailer: bytes | memoryview) -> None:
        """Check the signature in ``trailer`` over everything fed to :meth:`update`."""
        signature = decode_trailer(trailer)
        message = signed_message(self._hash.digest())
        try:
            self._key.verify(signature, message, user_id=self._user_id)
        except GuomiError:
            raise StreamSignatureError(
                "the file's signature does not verify: the file was modified after it was "
                "signed, or it was signed with another user ID"
            ) from None


def verify_seekable(
    src: BinaryIO, start: int, header: Header, verify_key: SM2PublicKey, user_id: bytes
) -> None:
    """Verify a seekable file's signature before any key is unwrapped or byte decrypted.

    Reads the whole file once (SM3 only), then leaves ``src`` where the payload starts.
    """
    end = src.seek(0, io.SEEK_END)
    signed_end = end - TRAILER_SIZE
    if signed_end < start + header.length:
        raise StreamFormatError("truncated: the file ends before its signature trailer")
    verifier = StreamVerifier(header, verify_key, user_id)
    src.seek(start + header.length)
    remaining = signed_end - (start + header.length)
    while remaining > 0:
        chunk = read_exact(src, min(_HASH_CHUNK, remaining))
        if not chunk:
            raise StreamFormatError("the file changed size while it was being read")
        verifier.update(chunk)
        remaining -= len(chunk)
    verifier.finish(read_exact(src, TRAILER_SIZE))
    src.seek(start + header.length)
