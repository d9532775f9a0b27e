"""SM2-signed guomi-stream files (format version 2, ``docs/spec/stream.md`` §6; issue 10).

What a signed file promises: the signature binds every byte before the trailer (header,
signer, stanzas, payload) to the holder of the signing key, so a recipient who knows the
file key can no longer forge a file the others accept. A reader that demands a signature
(``verify_key``) refuses an unsigned file, another signer, a stripped or edited signature
and any edit, with a typed error, and releases no plaintext of a seekable file (and not the
final batch of a pipe) before the signature verified. The real ``openssl`` CLI verifies the
signature over the bytes the spec names.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from guomi.client import Client
from guomi.envelope.stream import (
    KmsIdentity,
    KmsRecipient,
    SM2Identity,
    SM2Recipient,
    _format,
    _io,
    decrypt,
    encrypt,
    open_encrypted,
    read_header,
)
from guomi.exceptions import InvalidSignature, StreamError, StreamFormatError, StreamSignatureError
from guomi.keys import LocalSigner
from guomi.primitives import sm2
from guomi.primitives.hmac import hmac_sm3
from guomi.primitives.serialization import Encoding, PublicFormat
from guomi.primitives.sm3 import digest as sm3
from guomi.primitives.stream import StreamKey

SEG = 4096


class Pipe(io.RawIOBase):
    """A non-seekable source, as standard input is."""

    def __init__(self, data: bytes) -> None:
        self._src = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._src.read(len(b))
        b[: len(data)] = data
        return len(data)


class CountingIdentity(SM2Identity):
    """An SM2 identity that records whether a reader tried it."""

    tried = 0

    def unwrap(self, stanzas: Any) -> bytes | None:
        type(self).tried += 1
        return super().unwrap(stanzas)


@pytest.fixture(scope="module")
def reader() -> sm2.SM2PrivateKey:
    return sm2.generate_private_key()


@pytest.fixture(scope="module")
def signing() -> sm2.SM2PrivateKey:
    return sm2.generate_private_key()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 4 segments, so a few KiB exercise the multi-batch paths."""
    monkeypatch.setattr(_io, "_BATCH_BYTES", 4 * SEG)


def seal(pt: bytes, to: sm2.SM2PrivateKey, signer: Any = None, **kw: Any) -> bytes:
    out = io.BytesIO()
    encrypt(io.BytesIO(pt), out, [SM2Recipient(to.public_key())], segment_size=SEG, signer=signer, **kw)
    return out.getvalue()


def unseal(
    ct: bytes, key: sm2.SM2PrivateKey, verify: sm2.SM2PublicKey | None, *, pipe: bool = False
) -> bytes:
    out = io.BytesIO()
    src: Any = Pipe(ct) if pipe else io.BytesIO(ct)
    try:
        decrypt(src, out, [SM2Identity(key)], verify_key=verify)
    except Exception:
        unseal.released = out.getvalue()  # type: ignore[attr-defined]
        raise
    return out.getvalue()


SIZES = [0, 1, SEG - 1, SEG, 3 * SEG, 4 * SEG, 4 * SEG + 5, 9 * SEG + 100]


@pytest.mark.usefixtures("small_batches")
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("pipe", [False, True], ids=["file", "pipe"])
def test_signed_round_trip(size: int, pipe: bool, reader: Any, signing: Any) -> None:
    pt = bytes(i % 251 for i in range(size))
    ct = seal(pt, reader, signing)
    assert unseal(ct, reader, signing.public_key(), pipe=pipe) == pt
    # A reader that does not demand a signature still reads a signed file.
    assert unseal(ct, reader, None, pipe=pipe) == pt
    with open_encrypted(
        Pipe(ct) if pipe else io.BytesIO(ct), [SM2Identity(reader)], verify_key=signing.public_key()
    ) as f:
        assert f.read() == pt


def test_header_names_version_2_the_flag_and_the_signer(reader: Any, signing: Any) -> None:
    ct = seal(b"ledger", reader, signing)
    assert ct[8] == _format.VERSION_SIGNED
    header = read_header(io.BytesIO(ct))
    assert header.signer == signing.public_key().public_bytes_raw(compressed=True)
    assert ct[_format.FIXED.size] == _format.FLAG_SIGNED
    # Unsigned files are still written as version 1 (readers of version 1 keep working).
    assert seal(b"ledger", reader)[8] == _format.VERSION
    # The trailer: der_len || DER || zero padding, 73 bytes.
    trailer = ct[-_format.TRAILER_SIZE :]
    assert trailer[1] == 0x30 and not any(trailer[1 + trailer[0] :])
    assert len(ct) == header.length + len(b"ledger") + 16 + _format.TRAILER_SIZE


def test_the_signature_is_over_label_and_sm3_of_everything_before_the_trailer(
    reader: Any, signing: Any
) -> None:
    ct = seal(b"x" * 10_000, reader, signing)
    body, trailer = ct[: -_format.TRAILER_SIZE], ct[-_format.TRAILER_SIZE :]
    signature = trailer[1 : 1 + trailer[0]]
    signing.public_key().verify(signature, b"guomi-stream/v2 signature" + sm3(body))
    with pytest.raises(InvalidSignature):  # the ID is part of it (GM/T 0009 default above)
        signing.public_key().verify(signature, b"guomi-stream/v2 signature" + sm3(body), user_id=b"")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_openssl_verifies_the_signature(tmp_path: Path, reader: Any, signing: Any) -> None:
    """``openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:1234567812345678``
    over label || ``openssl dgst -sm3 -binary`` of the file without its last 73 bytes."""
    ct = seal(bytes(range(256)) * 100, reader, signing)
    pub = tmp_path / "signer.pem"
    pub.write_bytes(signing.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    (tmp_path / "signed.bin").write_bytes(ct[: -_format.TRAILER_SIZE])
    trailer = ct[-_format.TRAILER_SIZE :]
    (tmp_path / "sig.der").write_bytes(trailer[1 : 1 + trailer[0]])
    digest = subprocess.run(
        ["openssl", "dgst", "-sm3", "-binary", str(tmp_path / "signed.bin")],
        capture_output=True,
        check=True,
    ).stdout
    assert digest == sm3(ct[: -_format.TRAILER_SIZE])
    (tmp_path / "msg.bin").write_bytes(b"guomi-stream/v2 signature" + digest)

    def openssl_verify(distid: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [
                "openssl",
                "pkeyutl",
                "-verify",
                "-rawin",
                "-digest",
                "sm3",
                "-pkeyopt",
                f"distid:{distid}",
                "-pubin",
                "-inkey",
                str(pub),
                "-in",
                str(tmp_path / "msg.bin"),
                "-sigfile",
                str(tmp_path / "sig.der"),
            ],
            capture_output=True,
            check=False,
        )

    ok = openssl_verify("1234567812345678")
    assert ok.returncode == 0 and b"Signature Verified Successfully" in ok.stdout, ok.stderr
    assert openssl_verify("someone-else").returncode != 0
    # And an edited file is refused by openssl too.
    (tmp_path / "msg.bin").write_bytes(b"guomi-stream/v2 signature" + sm3(ct[: -_format.TRAILER_SIZE - 1]))
    assert openssl_verify("1234567812345678").returncode != 0


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_a_file_signed_by_an_openssl_key_verifies(tmp_path: Path, reader: Any) -> None:
    """The other direction: the signing key made by ``openssl genpkey -algorithm SM2``."""
    from guomi.primitives.serialization import load_pem_private_key  # noqa: PLC0415

    subprocess.run(["openssl", "genpkey", "-algorithm", "SM2", "-out", str(tmp_path / "k.pem")], check=True)
    pub = subprocess.run(
        ["openssl", "pkey", "-in", str(tmp_path / "k.pem"), "-pubout"], capture_output=True, check=True
    ).stdout
    key = load_pem_private_key((tmp_path / "k.pem").read_bytes())
    from guomi.primitives.serialization import load_pem_public_key  # noqa: PLC0415

    assert unseal(seal(b"pay", reader, key), reader, load_pem_public_key(pub)) == b"pay"


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize("pipe", [False, True], ids=["file", "pipe"])
def test_unsigned_file_is_refused_when_a_signature_is_required(pipe: bool, reader: Any, signing: Any) -> None:
    ct = seal(b"secret", reader)
    CountingIdentity.tried = 0
    out = io.BytesIO()
    with pytest.raises(StreamSignatureError, match="not signed"):
        decrypt(
            Pipe(ct) if pipe else io.BytesIO(ct),
            out,
            [CountingIdentity(reader)],
            verify_key=signing.public_key(),
        )
    assert out.getvalue() == b"" and CountingIdentity.tried == 0


@pytest.mark.parametrize("pipe", [False, True], ids=["file", "pipe"])
def test_another_signer_is_refused(pipe: bool, reader: Any, signing: Any) -> None:
    ct = seal(b"secret", reader, sm2.generate_private_key())
    with pytest.raises(StreamSignatureError, match=r"signed by sm2:.*not by the expected key"):
        unseal(ct, reader, signing.public_key(), pipe=pipe)
    assert unseal.released == b""  # type: ignore[attr-defined]


@pytest.mark.parametrize("pipe", [False, True], ids=["file", "pipe"])
@pytest.mark.parametrize("where", ["salt", "signer", "stanza", "header_mac", "payload", "trailer"])
def test_any_flipped_byte_is_refused_and_nothing_is_released(
    where: str, pipe: bool, reader: Any, signing: Any
) -> None:
    pt = b"pay 100 to bob" * 50
    ct = bytearray(seal(pt, reader, signing))
    header = read_header(io.BytesIO(bytes(ct)))
    offset = {
        "salt": 12,
        "signer": _format.FIXED.size + 5,
        "stanza": len(header.raw) - 1,
        "header_mac": header.length - 1,
        "payload": header.length + 3,
        "trailer": len(ct) - _format.TRAILER_SIZE + 10,
    }[where]
    ct[offset] ^= 1
    with pytest.raises(StreamError):
        unseal(bytes(ct), reader, signing.public_key(), pipe=pipe)
    assert unseal.released == b""  # type: ignore[attr-defined]


def test_a_seekable_file_is_verified_before_any_identity_is_tried(reader: Any, signing: Any) -> None:
    ct = bytearray(seal(b"x" * 100, reader, signing))
    ct[len(ct) - _format.TRAILER_SIZE - 1] ^= 1  # last payload byte: only the signature sees it first
    CountingIdentity.tried = 0
    with pytest.raises(StreamSignatureError, match="does not verify"):
        decrypt(
            io.BytesIO(bytes(ct)), io.BytesIO(), [CountingIdentity(reader)], verify_key=signing.public_key()
        )
    assert CountingIdentity.tried == 0


@pytest.mark.parametrize("pipe", [False, True], ids=["file", "pipe"])
def test_stripped_signature_is_refused(pipe: bool, reader: Any, signing: Any) -> None:
    ct = seal(b"y" * 5000, reader, signing)
    stripped = ct[: -_format.TRAILER_SIZE]
    # The payload's last 73 bytes read as a trailer: malformed (or, 1 in 256, shaped right
    # and then a signature that does not verify).
    with pytest.raises((StreamFormatError, StreamSignatureError)):
        unseal(stripped, reader, signing.public_key(), pipe=pipe)
    assert unseal.released == b""  # type: ignore[attr-defined]
    with pytest.raises(StreamFormatError):  # also without a demanded signature: it is a cut file
        unseal(stripped, reader, None, pipe=pipe)


def test_a_recipient_cannot_forge_a_signed_file(reader: Any, signing: Any) -> None:
    """The attack ``test_stream_security`` shows on unsigned files fails on signed ones."""
    mallory = sm2.generate_private_key()
    out = io.BytesIO()
    encrypt(
        io.BytesIO(b"pay 100 to bob"),
        out,
        [SM2Recipient(reader.public_key()), SM2Recipient(mallory.public_key())],
        signer=signing,
    )
    genuine = out.getvalue()
    header = read_header(io.BytesIO(genuine))
    file_key = SM2Identity(mallory).unwrap(header.stanzas)
    assert file_key is not None
    mac_key, payload_key = _format.header_keys(file_key, header.payload_salt)
    key = StreamKey(payload_key, header.segment_size)
    payload = key.seal(0, True, b"pay 100 to mallory")
    # 1. Keep the signed header and the signature, new payload: the signature fails.
    forged = header.raw + header.mac + payload + genuine[-_format.TRAILER_SIZE :]
    for pipe in (False, True):
        with pytest.raises(StreamSignatureError, match="does not verify"):
            unseal(forged, reader, signing.public_key(), pipe=pipe)
        assert unseal.released == b""  # type: ignore[attr-defined]
    # 2. Rewrite it as an unsigned version-1 file with a valid MAC: refused as unsigned.
    raw = _format.encode_header(header.seg_log2, header.payload_salt, list(header.stanzas))
    unsigned = raw + hmac_sm3(mac_key, raw) + payload
    assert unseal(unsigned, reader, None) == b"pay 100 to mallory"  # what v1 cannot prevent
    with pytest.raises(StreamSignatureError, match="not signed"):
        unseal(unsigned, reader, signing.public_key())
    # 3. Sign it with her own key: refused as another signer.
    with pytest.raises(StreamSignatureError, match="not by the expected key"):
        unseal(seal(b"pay 100 to mallory", reader, mallory), reader, signing.public_key())


@pytest.mark.usefixtures("small_batches")
def test_pipe_releases_no_byte_of_the_final_batch_before_the_signature(reader: Any, signing: Any) -> None:
    """Precisely what a non-seekable reader guarantees (spec §6): earlier, verified batches
    may be out, the final batch is not."""
    pt = bytes(i % 256 for i in range(10 * SEG))  # batches of 4 segments: 4 + 4 + 2
    ct = bytearray(seal(pt, reader, signing))
    ct[-_format.TRAILER_SIZE + 20] ^= 1  # inside the DER signature
    with pytest.raises(StreamError):
        unseal(bytes(ct), reader, signing.public_key(), pipe=True)
    released = unseal.released  # type: ignore[attr-defined]
    assert released == pt[: len(released)] and len(released) <= 8 * SEG
    # The seekable path releases nothing.
    with pytest.raises(StreamError):
        unseal(bytes(ct), reader, signing.public_key(), pipe=False)
    assert unseal.released == b""  # type: ignore[attr-defined]


def test_malformed_trailer_is_refused_without_verification(reader: Any, signing: Any) -> None:
    good = seal(b"z", reader, signing)
    length = good[-_format.TRAILER_SIZE]
    bad_length = bytearray(good)
    bad_length[-_format.TRAILER_SIZE] = _format.MAX_SIGNATURE_DER + 1
    bad_padding = bytearray(good)
    bad_padding[-_format.TRAILER_SIZE] = length - 1  # the DER's last byte now reads as padding
    bad_padding[-_format.TRAILER_SIZE + length] = 0x01  # ... and is not zero
    for ct in (bad_length, bad_padding):
        for pipe in (False, True):
            with pytest.raises(StreamFormatError, match="trailer is malformed"):
                unseal(bytes(ct), reader, None, pipe=pipe)
        with pytest.raises(StreamFormatError, match="trailer is malformed"):
            open_encrypted(io.BytesIO(bytes(ct)), [SM2Identity(reader)])


def test_user_id_is_part_of_the_signature(reader: Any, signing: Any) -> None:
    alice = LocalSigner(signing, b"alice@bank")
    ct = seal(b"pay", reader, alice, signer_user_id=b"alice@bank")
    with pytest.raises(StreamSignatureError, match="another user ID"):
        unseal(ct, reader, signing.public_key())
    out = io.BytesIO()
    decrypt(
        io.BytesIO(ct),
        out,
        [SM2Identity(reader)],
        verify_key=signing.public_key(),
        verify_user_id=b"alice@bank",
    )
    assert out.getvalue() == b"pay"
    # A writer told the wrong ID refuses to write a file no reader could verify.
    with pytest.raises(StreamError, match="does not verify under its own public key"):
        seal(b"pay", reader, alice)


def test_unknown_flags_and_bad_signer_point_are_format_errors(reader: Any, signing: Any) -> None:
    ct = bytearray(seal(b"q", reader, signing))
    flags = bytearray(ct)
    flags[_format.FIXED.size] = 0x03
    with pytest.raises(StreamFormatError, match="unknown flags"):
        unseal(bytes(flags), reader, None)
    point = bytearray(ct)
    point[_format.FIXED.size + 1] = 0x04
    with pytest.raises(StreamFormatError, match="compressed SM2 point"):
        unseal(bytes(point), reader, None)


def test_custody_service_key_signs_and_verifies(kms: Client, reader: Any) -> None:
    """``kms:NAME`` as signer: the service signs the 57-byte message, never the file."""
    kms.create_key("stream-signer", "sm2-sign")
    signer = kms.signer("stream-signer")
    out = io.BytesIO()
    encrypt(io.BytesIO(b"backup"), out, [KmsRecipient(kms, "files")], signer=signer)
    back = io.BytesIO()
    decrypt(io.BytesIO(out.getvalue()), back, [KmsIdentity(kms, "files")], verify_key=signer.public_key())
    assert back.getvalue() == b"backup"
