"""guomi-stream/v1 round trips, recipients, random access and tamper detection (docs/spec/stream.md)."""

from __future__ import annotations

import io
import random
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guomi import _rust
from guomi.client import Client
from guomi.envelope import stream as gs
from guomi.envelope.stream import (
    KmsIdentity,
    KmsRecipient,
    PassphraseIdentity,
    PassphraseRecipient,
    SM2Identity,
    SM2Recipient,
    decrypt,
    encrypt,
    open_encrypted,
    read_header,
)
from guomi.envelope.text import (
    format_identity_file,
    parse_identity_file,
    parse_sm2_recipient,
    sm2_recipient_string,
)
from guomi.exceptions import (
    InvalidArgumentError,
    InvalidEncodingError,
    InvalidKey,
    NoIdentityMatchError,
    ServiceError,
    StreamError,
    StreamFormatError,
)
from guomi.primitives import sm2

SEG = 4096
SIZES = [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG]
FAST_ITERATIONS = 100_000  # the spec's minimum, so the tests stay quick

HYPO = settings(
    derandomize=True,
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def seal(pt: bytes, recipients: list[Any], segment_size: int = SEG) -> bytes:
    out = io.BytesIO()
    encrypt(io.BytesIO(pt), out, recipients, segment_size=segment_size)
    return out.getvalue()


def unseal(ct: bytes, identities: list[Any]) -> bytes:
    out = io.BytesIO()
    decrypt(io.BytesIO(ct), out, identities)
    return out.getvalue()


def data(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _pair(kind: str, sm2_key: sm2.SM2PrivateKey, kms: Client | None) -> tuple[Any, Any]:
    if kind == "sm2":
        return SM2Recipient(sm2_key.public_key()), SM2Identity(sm2_key)
    if kind == "passphrase":
        return PassphraseRecipient("correct horse", FAST_ITERATIONS), PassphraseIdentity("correct horse")
    assert kms is not None
    return KmsRecipient(kms, "files"), KmsIdentity(kms, "files")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", ["sm2", "passphrase", "kms"])
def test_round_trip_at_segment_boundaries(
    kind: str, size: int, sm2_key: sm2.SM2PrivateKey, kms: Client
) -> None:
    recipient, identity = _pair(kind, sm2_key, kms)
    pt = data(size, size)
    ct = seal(pt, [recipient])
    header = read_header(io.BytesIO(ct))
    nseg = max(1, -(-size // SEG))
    assert len(ct) == header.length + size + 16 * nseg  # exact layout of spec §2 / §5
    assert unseal(ct, [identity]) == pt
    assert open_encrypted(io.BytesIO(ct), [identity]).read() == pt


@HYPO
@given(
    size=st.sampled_from(SIZES) | st.integers(0, 4 * SEG + 3),
    seed=st.integers(0, 2**32),
    kind=st.sampled_from(["sm2", "passphrase", "kms"]),
)
def test_round_trip_property(
    size: int, seed: int, kind: str, sm2_key: sm2.SM2PrivateKey, kms: Client
) -> None:
    recipient, identity = _pair(kind, sm2_key, kms)
    pt = data(size, seed)
    assert unseal(seal(pt, [recipient]), [identity]) == pt


@HYPO
@given(size=st.integers(0, 5 * SEG), start=st.integers(0, 6 * SEG), length=st.integers(0, 2 * SEG))
def test_random_access_reads_any_range(
    size: int, start: int, length: int, sm2_key: sm2.SM2PrivateKey
) -> None:
    pt = data(size, start)
    ct = seal(pt, [SM2Recipient(sm2_key.public_key())])
    f = open_encrypted(io.BytesIO(ct), [SM2Identity(sm2_key)])
    assert f.seekable()
    f.seek(start)
    assert f.read(length) == pt[start : start + length]
    assert f.seek(0, io.SEEK_END) == size


def test_many_recipients_each_can_open(
    sm2_key: sm2.SM2PrivateKey, other_sm2_key: sm2.SM2PrivateKey, kms: Client
) -> None:
    pt = data(3 * SEG + 17, 1)
    ct = seal(
        pt,
        [
            SM2Recipient(sm2_key.public_key()),
            KmsRecipient(kms, "files"),
            SM2Recipient(other_sm2_key.public_key()),
        ],
    )
    assert len(read_header(io.BytesIO(ct)).stanzas) == 3
    for identity in (SM2Identity(sm2_key), SM2Identity(other_sm2_key), KmsIdentity(kms, "files")):
        assert unseal(ct, [identity]) == pt
    # A non-matching identity first is skipped ("not mine"), the matching one opens.
    stranger = SM2Identity(sm2.generate_private_key())
    assert unseal(ct, [stranger, KmsIdentity(kms, "other"), SM2Identity(other_sm2_key)]) == pt


def test_not_mine_is_told_apart_from_wrong(sm2_key: sm2.SM2PrivateKey, kms: Client) -> None:
    ct = seal(b"hello", [SM2Recipient(sm2_key.public_key())])
    with pytest.raises(NoIdentityMatchError, match="no identity matches this file"):
        unseal(
            ct, [SM2Identity(sm2.generate_private_key()), KmsIdentity(kms, "files"), PassphraseIdentity("x")]
        )
    with pytest.raises(NoIdentityMatchError):
        unseal(ct, [])
    pw = seal(b"hello", [PassphraseRecipient("right", FAST_ITERATIONS)])
    with pytest.raises(StreamFormatError, match=r"^the header does not verify"):
        unseal(pw, [PassphraseIdentity("wrong")])
    kct = seal(b"hello", [KmsRecipient(kms, "files")])
    with pytest.raises(NoIdentityMatchError):
        unseal(kct, [KmsIdentity(kms, "other")])


def test_passphrase_identity_is_asked_lazily(sm2_key: sm2.SM2PrivateKey) -> None:
    asked: list[int] = []

    def ask() -> str:
        asked.append(1)
        return "pw"

    ct = seal(b"x", [SM2Recipient(sm2_key.public_key())])
    assert unseal(ct, [PassphraseIdentity(ask), SM2Identity(sm2_key)]) == b"x"
    assert asked == []
    pw = seal(b"y", [PassphraseRecipient("pw", FAST_ITERATIONS)])
    assert unseal(pw, [PassphraseIdentity(ask)]) == b"y"
    assert asked == [1]


def test_passphrase_must_be_alone(sm2_key: sm2.SM2PrivateKey) -> None:
    with pytest.raises(StreamError, match="only recipient"):
        seal(b"x", [PassphraseRecipient("pw", FAST_ITERATIONS), SM2Recipient(sm2_key.public_key())])
    with pytest.raises(StreamError, match="iterations"):
        PassphraseRecipient("pw", 1000)


def test_kms_wrap_uses_the_service_with_the_spec_associated_data(kms: Client) -> None:
    ct = seal(b"data", [KmsRecipient(kms, "files")])
    (stanza,) = read_header(io.BytesIO(ct)).stanzas
    name, token = gs.recipients.parse_kms_body(stanza.body)
    assert name == "files"
    assert token.startswith(b"guomi:")
    file_key = kms.decrypt("files", token.decode(), b"guomi-stream/v1 file key")
    assert len(file_key) == 16
    # Without the associated data the service refuses: the token is bound to its purpose.
    with pytest.raises(ServiceError):
        kms.decrypt("files", token.decode())


def test_header_edit_by_another_recipient_is_caught(
    sm2_key: sm2.SM2PrivateKey, other_sm2_key: sm2.SM2PrivateKey
) -> None:
    """Dropping a stanza without recomputing the MAC is caught (the MAC covers every stanza)."""
    pt = data(100, 2)
    ct = seal(pt, [SM2Recipient(sm2_key.public_key()), SM2Recipient(other_sm2_key.public_key())])
    h = read_header(io.BytesIO(ct))
    fixed = h.raw[: gs._format.FIXED.size - 2] + struct.pack(">H", 1)
    forged = fixed + h.stanzas[1].encode() + h.mac + ct[h.length :]
    with pytest.raises(StreamFormatError, match=r"^the header does not verify"):
        unseal(forged, [SM2Identity(other_sm2_key)])


def test_every_single_byte_flip_fails(sm2_key: sm2.SM2PrivateKey) -> None:
    pt = data(SEG + 10, 3)
    ct = bytearray(seal(pt, [SM2Recipient(sm2_key.public_key())]))
    ident = [SM2Identity(sm2_key)]
    rng = random.Random(5)
    positions = (
        set(range(0, len(ct), 97)) | {len(ct) - 1, len(ct) - 17} | {rng.randrange(len(ct)) for _ in range(50)}
    )
    for pos in sorted(positions):
        bad = bytearray(ct)
        bad[pos] ^= 0x01
        out = io.BytesIO()
        with pytest.raises((StreamFormatError, NoIdentityMatchError)):
            decrypt(io.BytesIO(bytes(bad)), out, ident)


def test_truncation_and_extension_at_every_segment_boundary(sm2_key: sm2.SM2PrivateKey) -> None:
    pt = data(3 * SEG, 4)
    ct = seal(pt, [SM2Recipient(sm2_key.public_key())])
    hlen = read_header(io.BytesIO(ct)).length
    ident = [SM2Identity(sm2_key)]
    for cut in range(hlen, len(ct)):
        if cut in {hlen + k * (SEG + 16) for k in range(4)} or cut % 1009 == 0:
            with pytest.raises(StreamFormatError):
                unseal(ct[:cut], ident)
    with pytest.raises(StreamFormatError, match="trailing data"):
        unseal(ct + bytes(SEG + 16), ident)
    with pytest.raises(StreamFormatError):
        unseal(ct + b"\0", ident)


def test_no_unverified_plaintext_is_released(sm2_key: sm2.SM2PrivateKey) -> None:
    pt = data(3 * SEG, 6)
    ct = bytearray(seal(pt, [SM2Recipient(sm2_key.public_key())]))
    ct[-5] ^= 1  # damage the final segment (same batch as the others)
    out = io.BytesIO()
    with pytest.raises(StreamFormatError, match="segment 2 failed authentication"):
        decrypt(io.BytesIO(bytes(ct)), out, [SM2Identity(sm2_key)])
    assert pt not in out.getvalue() and pt[2 * SEG :] not in out.getvalue()


class _Pipe(io.RawIOBase):
    """A non-seekable source that returns short reads (like a pipe)."""

    def __init__(self, data: bytes) -> None:
        self._b = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        chunk = self._b.read(min(len(b), 1000))
        b[: len(chunk)] = chunk
        return len(chunk)


def test_non_seekable_sources_and_short_reads(sm2_key: sm2.SM2PrivateKey) -> None:
    pt = data(5 * SEG + 3, 7)
    out = io.BytesIO()
    encrypt(_Pipe(pt), out, [SM2Recipient(sm2_key.public_key())], segment_size=SEG)  # type: ignore[arg-type]
    ct = out.getvalue()
    assert unseal(ct, [SM2Identity(sm2_key)]) == pt
    f = open_encrypted(_Pipe(ct), [SM2Identity(sm2_key)])  # type: ignore[arg-type]
    assert not f.seekable()
    assert f.read(10) == pt[:10]
    assert f.read() == pt[10:]


def test_batches_larger_than_one_call(sm2_key: sm2.SM2PrivateKey) -> None:
    """More than one Rust batch (4 MiB) with the default 64 KiB segments."""
    pt = data(9 * 1024 * 1024 + 5, 8)
    ct = seal(pt, [SM2Recipient(sm2_key.public_key())], segment_size=65536)
    assert unseal(ct, [SM2Identity(sm2_key)]) == pt
    f = open_encrypted(io.BytesIO(ct), [SM2Identity(sm2_key)])
    f.seek(5 * 1024 * 1024 - 3)
    assert f.read(100) == pt[5 * 1024 * 1024 - 3 : 5 * 1024 * 1024 + 97]


def test_segment_sizes_checked() -> None:
    key = sm2.generate_private_key()
    for bad in (1000, 2048, 1 << 25, 0):
        with pytest.raises(StreamError):
            seal(b"x", [SM2Recipient(key.public_key())], segment_size=bad)
    assert (
        unseal(seal(b"x" * 70000, [SM2Recipient(key.public_key())], 1 << 24), [SM2Identity(key)])
        == b"x" * 70000
    )


def test_text_forms(sm2_key: sm2.SM2PrivateKey) -> None:
    text = sm2_recipient_string(sm2_key.public_key())
    assert text.startswith("sm2:") and len(text) == 48
    assert parse_sm2_recipient(text).public_key == sm2_key.public_key()
    ident = format_identity_file(sm2_key)
    assert f"# public: {text}\n" in ident
    (parsed,) = parse_identity_file(ident)
    assert parsed.private_key.private_value == sm2_key.private_value
    for bad in ("sm2:", "sm2:AAAA", "sm2:" + "A" * 44, "age1xyz", "sm2:!!!"):
        with pytest.raises(StreamError):
            parse_sm2_recipient(bad)
    with pytest.raises(StreamError, match="line 1"):
        parse_identity_file("GUOMI-SM2-SECRET-KEY-1-ZZ\n")
    with pytest.raises(StreamError, match="no identity"):
        parse_identity_file("# only a comment\n")
    with pytest.raises(StreamError, match="not an identity") as info:
        parse_identity_file("secret-stuff-123\n")
    assert "secret-stuff" not in str(info.value)


def test_stream_key_glue_rejects_bad_buffers() -> None:
    """The Rust entry points answer bad shapes with typed errors, never a panic."""
    key = _rust.StreamKey(bytes(16), SEG)
    assert "hidden" in repr(key) and key.segment_size == SEG
    with pytest.raises(InvalidKey):
        _rust.StreamKey(bytes(15), SEG)
    with pytest.raises(InvalidArgumentError):
        _rust.StreamKey(bytes(16), 5000)
    data = bytes(2 * SEG)
    out = bytearray(key.sealed_len(len(data), True))
    with pytest.raises(InvalidArgumentError, match="writable"):
        key.seal_into(0, True, data, bytes(len(out)))
    with pytest.raises(InvalidArgumentError, match="needs"):
        key.seal_into(0, True, data, bytearray(10))
    with pytest.raises(InvalidArgumentError, match="whole number"):
        key.seal(0, False, b"x")
    shared = bytearray(3 * SEG + 64)
    with pytest.raises(InvalidArgumentError, match="overlap"):
        key.seal_into(0, True, memoryview(shared)[: 2 * SEG], memoryview(shared)[SEG:])
    n = key.seal_into(7, True, data, out)
    assert bytes(out[:n]) == key.seal(7, True, data)
    back = bytearray(2 * SEG)
    assert key.open_into(7, True, out, back) == 2 * SEG and bytes(back) == data
    out[5] ^= 1
    with pytest.raises(Exception, match="segment 7 failed authentication"):
        key.open_into(7, True, out, back)
    assert bytes(back) == bytes(2 * SEG)  # zeroed, nothing released
    with pytest.raises(InvalidEncodingError, match="truncated"):
        key.open(0, True, b"")
    with pytest.raises(InvalidArgumentError, match="2\\^32"):
        key.seal(2**32, True, b"x")


def test_progress_callback_counts_plaintext(sm2_key: sm2.SM2PrivateKey) -> None:
    seen: list[int] = []
    pt = data(9 * 1024 * 1024, 9)
    out = io.BytesIO()
    encrypt(io.BytesIO(pt), out, [SM2Recipient(sm2_key.public_key())], progress=seen.append)
    assert sum(seen) == len(pt) and len(seen) == 3
    got: list[int] = []
    back = io.BytesIO()
    decrypt(io.BytesIO(out.getvalue()), back, [SM2Identity(sm2_key)], progress=got.append)
    assert sum(got) == len(pt) and back.getvalue() == pt
