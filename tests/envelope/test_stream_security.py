"""What guomi-stream/v1 promises a reader, and what it does not (spec §6, issue 10 item 9).

- A file's recipients are not authenticated to each other: any recipient knows the file
  key and can write a new file (new payload, valid header MAC) that the other recipients
  open without complaint. Only a signature over the file proves who wrote it.
- Every failure before the header MAC verifies is one error with one message, so a reader
  never tells an attacker whether a passphrase was wrong or the header was edited.
- A passphrase file cannot make a reader spend more PBKDF2 work than the reader allows.
"""

from __future__ import annotations

import io
import struct
from typing import Any

import pytest

from guomi.envelope.stream import (
    DEFAULT_MAX_ITERATIONS,
    PassphraseIdentity,
    PassphraseRecipient,
    SM2Identity,
    SM2Recipient,
    _format,
    _io,
    decrypt,
    encrypt,
    read_header,
)
from guomi.exceptions import StreamError, StreamFormatError
from guomi.primitives import sm2
from guomi.primitives.hmac import hmac_sm3
from guomi.primitives.stream import StreamKey

FAST = _format.MIN_ITERATIONS


def seal(pt: bytes, recipients: list[Any]) -> bytes:
    out = io.BytesIO()
    encrypt(io.BytesIO(pt), out, recipients, segment_size=4096)
    return out.getvalue()


def unseal(ct: bytes, identities: list[Any]) -> bytes:
    out = io.BytesIO()
    decrypt(io.BytesIO(ct), out, identities)
    return out.getvalue()


def test_a_recipient_can_forge_a_file_for_the_other_recipients() -> None:
    """Why the spec says: sign the file if its origin matters."""
    alice, mallory = sm2.generate_private_key(), sm2.generate_private_key()
    genuine = seal(b"pay 100 to bob", [SM2Recipient(alice.public_key()), SM2Recipient(mallory.public_key())])
    # Mallory opens the header with her own key and learns the file key ...
    header = read_header(io.BytesIO(genuine))
    file_key = SM2Identity(mallory).unwrap(header.stanzas)
    assert file_key is not None
    # ... and writes a new payload under the same header, with a valid MAC.
    mac_key, payload_key = _format.header_keys(file_key, header.payload_salt)
    key = StreamKey(payload_key, header.segment_size)
    forged_payload = b"pay 100 to mallory"
    forged = header.raw + hmac_sm3(mac_key, header.raw) + key.seal(0, True, forged_payload)
    assert unseal(forged, [SM2Identity(alice)]) == forged_payload


def _failures_before_the_mac() -> dict[str, bytes]:
    """Files that fail at the header, each for a different reason, and what opens them."""
    right = seal(b"x", [PassphraseRecipient("right", FAST)])
    header = read_header(io.BytesIO(right))
    edited_salt = bytearray(right)
    edited_salt[12] ^= 1  # inside payload_salt: the MAC no longer matches
    bad_mac = bytearray(right)
    bad_mac[header.length - 1] ^= 1
    stanza = bytearray(right)
    stanza[len(header.raw) - 1] ^= 1  # the wrapped file key's tag
    return {"edited salt": bytes(edited_salt), "bad MAC": bytes(bad_mac), "damaged stanza": bytes(stanza)}


def test_wrong_passphrase_and_bad_header_mac_are_one_error() -> None:
    messages = set()
    right = seal(b"x", [PassphraseRecipient("right", FAST)])
    with pytest.raises(StreamFormatError) as wrong:
        unseal(right, [PassphraseIdentity("wrong")])
    messages.add((type(wrong.value), str(wrong.value)))
    for name, damaged in _failures_before_the_mac().items():
        with pytest.raises(StreamFormatError) as info:
            unseal(damaged, [PassphraseIdentity("right")])
        messages.add((type(info.value), str(info.value)))
        assert info.value.__cause__ is None, name  # nothing chained that tells the cases apart
    assert messages == {(StreamFormatError, _format.HEADER_FAILED)}


def test_a_wrong_sm2_stanza_and_a_bad_mac_are_one_error() -> None:
    key = sm2.generate_private_key()
    ct = bytearray(seal(b"x", [SM2Recipient(key.public_key())]))
    header = read_header(io.BytesIO(bytes(ct)))
    damaged_stanza = bytearray(ct)
    damaged_stanza[len(header.raw) - 1] ^= 1  # inside C2 of the SM2 ciphertext
    bad_mac = bytearray(ct)
    bad_mac[header.length - 1] ^= 1
    for damaged in (damaged_stanza, bad_mac):
        with pytest.raises(StreamFormatError, match=f"^{_format.HEADER_FAILED[:30]}"):
            unseal(bytes(damaged), [SM2Identity(key)])


def _with_iterations(ct: bytes, iterations: int) -> bytes:
    header = read_header(io.BytesIO(ct))
    body = struct.pack(">I", iterations) + header.stanzas[0].body[4:]
    raw = header.raw[: _format.FIXED.size] + _format.Stanza(_format.TYPE_PASSPHRASE, body).encode()
    return raw + header.mac + ct[header.length :]


def test_work_factor_above_the_readers_maximum_is_refused_before_any_work() -> None:
    ct = seal(b"x", [PassphraseRecipient("pw", FAST)])
    greedy = _with_iterations(ct, DEFAULT_MAX_ITERATIONS + 1)
    asked = []

    def passphrase() -> str:
        asked.append(1)
        return "pw"

    with pytest.raises(StreamFormatError, match="more than this reader's maximum 2000000"):
        unseal(greedy, [PassphraseIdentity(passphrase)])
    assert asked == []  # refused before the passphrase was asked for (and before PBKDF2)
    # The reader may allow more; then the (edited) file fails at the header MAC, as any edit does.
    with pytest.raises(StreamFormatError, match="does not verify"):
        unseal(greedy, [PassphraseIdentity("pw", max_iterations=DEFAULT_MAX_ITERATIONS + 1)])


def test_the_maximum_is_settable_down_to_the_format_minimum() -> None:
    ct = seal(b"x", [PassphraseRecipient("pw", FAST + 1)])
    with pytest.raises(StreamFormatError, match="maximum 100000"):
        unseal(ct, [PassphraseIdentity("pw", max_iterations=FAST)])
    assert unseal(ct, [PassphraseIdentity("pw", max_iterations=FAST + 1)]) == b"x"
    for bad in (FAST - 1, _format.MAX_ITERATIONS + 1):
        with pytest.raises(StreamError):
            PassphraseIdentity("pw", max_iterations=bad)


def test_header_keys_and_build_are_what_the_reader_checks() -> None:
    key = sm2.generate_private_key()
    raw, stream_key = _io._build_header([SM2Recipient(key.public_key())], 12)
    header = read_header(io.BytesIO(raw))
    assert header.length == len(raw) and stream_key.segment_size == 4096
