"""Regenerate the guomi-stream/v1 failure corpus (``python -m tests.vectors.stream.generate``).

Deterministic: every random value (file keys, salts, SM2 ephemeral scalars) comes from an
SM3 counter DRBG seeded with a fixed label, and the recipient is the TEST-ONLY identity in
``identity.txt`` (never use it for anything else: its private key is in this repository).
Each damaged file is written as ``<name>.gms`` and described in ``manifest.json``: the
identities to try, the exception class and a regular expression its message must match, and
for signed files (spec §6) the ``verify_key`` a reader is asked to verify against (absent:
none). Signatures use the TEST-ONLY keys ``signer.pem`` / ``other_signer.pem`` with a
DRBG-chosen nonce.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from guomi import _rust
from guomi.envelope import stream as gs
from guomi.envelope.text import parse_identity_file
from guomi.primitives.serialization import load_pem_private_key
from guomi.primitives.sm2 import SM2PrivateKey, SM2PublicKey, compute_za
from guomi.primitives.sm3 import digest as sm3

HERE = Path(__file__).parent
SEG = 4096
PASSPHRASE = "TEST-ONLY passphrase"


class Drbg:
    """SM3(seed || counter) blocks: reproducible stand-in for os.urandom in the generator."""

    def __init__(self, seed: bytes) -> None:
        self.seed, self.counter, self.pool = seed, 0, b""

    def __call__(self, n: int) -> bytes:
        while len(self.pool) < n:
            self.counter += 1
            self.pool += sm3(self.seed + self.counter.to_bytes(8, "big"))
        out, self.pool = self.pool[:n], self.pool[n:]
        return out


class FixedSM2Recipient(gs.SM2Recipient):
    """SM2 stanza with a DRBG-chosen ephemeral scalar (tests only)."""

    def __init__(self, public_key: Any, rand: Drbg) -> None:
        super().__init__(public_key)
        self.rand = rand

    def wrap(self, file_key: bytes) -> gs.Stanza:
        k = b"\x00" + self.rand(31)  # below n, non-zero with overwhelming probability
        ct = _rust.sm2_encrypt_with_k_for_tests(self.public_key._k, file_key, k, "c1c3c2")
        return gs.Stanza(gs._format.TYPE_SM2, gs.recipients.sm2_fingerprint(self.public_key) + ct)


class FixedSigner:
    """SM2 signatures with a DRBG-chosen nonce, user ID 1234567812345678 (tests only)."""

    def __init__(self, key: SM2PrivateKey, rand: Drbg) -> None:
        self.key, self.rand = key, rand

    def public_key(self) -> SM2PublicKey:
        return self.key.public_key()

    def sign(self, data: bytes) -> bytes:
        e = sm3(compute_za(self.key.public_key()) + data)
        k = b"\x00" + self.rand(31)
        return bytes(_rust.sm2_sign_digest_with_k_for_tests(self.key._k, e, k, "der"))


def signer(name: str = "signer.pem") -> SM2PrivateKey:
    return load_pem_private_key((HERE / name).read_bytes())


def identity() -> gs.SM2Identity:
    return parse_identity_file((HERE / "identity.txt").read_text())[0]


def other_identity() -> gs.SM2Identity:
    return parse_identity_file((HERE / "other_identity.txt").read_text())[0]


@contextmanager
def seeded(name: str) -> Iterator[Drbg]:
    rand = Drbg(b"guomi-stream/v1 corpus " + name.encode())
    with mock.patch.object(gs._io.os, "urandom", rand):
        yield rand


def plaintext(n: int) -> bytes:
    return bytes((i * 7 + 3) % 256 for i in range(n))


def seal(
    name: str, pt: bytes, recipients: Callable[[Drbg], list[Any]], signing: SM2PrivateKey | None = None
) -> bytes:
    with seeded(name) as rand:
        out = io.BytesIO()
        sign = FixedSigner(signing, rand) if signing is not None else None
        gs.encrypt(io.BytesIO(pt), out, recipients(rand), segment_size=SEG, signer=sign)
        return out.getvalue()


def to_me(rand: Drbg) -> list[Any]:
    return [FixedSM2Recipient(identity().private_key.public_key(), rand)]


def split(blob: bytes) -> tuple[gs.Header, list[bytes]]:
    h = gs.read_header(io.BytesIO(blob))
    body = blob[h.length :]
    unit = SEG + 16
    return h, [body[i : i + unit] for i in range(0, len(body), unit)]


def with_header(h: gs.Header, mac: bytes | None = None) -> bytes:
    return h.raw + (mac if mac is not None else h.mac)


def build() -> dict[str, dict[str, Any]]:
    me = ["identity.txt"]
    files: dict[str, bytes] = {}
    manifest: dict[str, dict[str, Any]] = {}

    def add(
        name: str,
        blob: bytes,
        error: str,
        match: str,
        identities: list[str] | None = None,
        verify_key: str | None = None,
    ) -> None:
        files[name] = blob
        manifest[name] = {"identities": identities or me, "error": error, "match": match}
        if verify_key is not None:
            manifest[name]["verify_key"] = verify_key

    good = seal("good", plaintext(3 * SEG), to_me)
    h, segs = split(good)
    hdr = with_header(h)
    files["valid"] = good
    manifest["valid"] = {"identities": me, "error": None, "plaintext_sm3": sm3(plaintext(3 * SEG)).hex()}

    add(
        "truncated_at_segment_boundary",
        hdr + segs[0] + segs[1],
        "StreamFormatError",
        r"^truncated: segment 1",
    )
    add(
        "truncated_mid_segment",
        hdr + segs[0] + segs[1] + segs[2][:1000],
        "StreamFormatError",
        r"segment 2 failed authentication",
    )
    add(
        "truncated_in_tag",
        hdr + segs[0] + segs[1] + segs[2][: SEG + 16 - 20][:10],
        "StreamFormatError",
        r"^truncated: the final segment is cut short",
    )
    add(
        "segments_swapped",
        hdr + segs[1] + segs[0] + segs[2],
        "StreamFormatError",
        r"segment 0 failed authentication",
    )
    add(
        "segment_duplicated",
        hdr + segs[0] + segs[0] + segs[1] + segs[2],
        "StreamFormatError",
        r"segment 1 failed",
    )
    add("segment_dropped", hdr + segs[0] + segs[2], "StreamFormatError", r"segment 1 failed authentication")
    add(
        "trailing_garbage", good + b"GARBAGE", "StreamFormatError", r"trailing data after the final segment 2"
    )
    add(
        "trailing_segment",
        good + segs[0],
        "StreamFormatError",
        r"trailing data after the final segment 2",
    )
    flipped = bytearray(segs[1])
    flipped[100] ^= 0x80
    add(
        "segment_bit_flipped",
        hdr + segs[0] + bytes(flipped) + segs[2],
        "StreamFormatError",
        r"segment 1 failed",
    )
    add("no_payload", hdr, "StreamFormatError", r"^truncated: the file has a header but no payload")

    # last_flag_missing: a writer that never marked the end (sealed with last=0 throughout).
    with seeded("last_flag_missing") as rand:
        raw_hdr, key = gs._io._build_header(to_me(rand), 12)
    pt = plaintext(2 * SEG)
    add(
        "last_flag_missing",
        raw_hdr + key.seal(0, False, pt),
        "StreamFormatError",
        r"^truncated: segment 1 ends the file but is not marked final",
    )

    bad_mac = bytearray(h.mac)
    bad_mac[0] ^= 1
    add(
        "header_mac_bad",
        with_header(h, mac=bytes(bad_mac)) + b"".join(segs),
        "StreamFormatError",
        r"^the header does not verify",
    )
    salted = bytearray(h.raw)
    salted[12] ^= 1  # inside payload_salt
    add(
        "header_salt_edited",
        bytes(salted) + h.mac + b"".join(segs),
        "StreamFormatError",
        r"^the header does not verify",
    )
    bigger = bytearray(h.raw)
    bigger[10] = 13  # seg_log2 12 -> 13
    add(
        "header_segment_size_edited",
        bytes(bigger) + h.mac + b"".join(segs),
        "StreamFormatError",
        r"^the header does not verify",
    )

    two = seal(
        "two",
        plaintext(100),
        lambda r: [
            FixedSM2Recipient(other_identity().private_key.public_key(), r),
            FixedSM2Recipient(identity().private_key.public_key(), r),
        ],
    )
    h2, segs2 = split(two)
    # The other recipient (who knows the file key) drops our stanza and keeps the MAC.
    dropped = h2.raw[: gs._format.FIXED.size - 2] + struct.pack(">H", 1) + h2.stanzas[0].encode()
    add(
        "stanza_removed",
        dropped + h2.mac + b"".join(segs2),
        "StreamFormatError",
        r"^the header does not verify",
        ["other_identity.txt"],
    )

    add(
        "stanza_for_other_key",
        seal(
            "other",
            plaintext(100),
            lambda r: [FixedSM2Recipient(other_identity().private_key.public_key(), r)],
        ),
        "NoIdentityMatchError",
        r"^no identity matches this file$",
    )
    st = h.stanzas[0]
    body = bytearray(st.body)
    body[8 + 65 + 5] ^= 1  # inside C3
    damaged = h.raw[: gs._format.FIXED.size] + gs.Stanza(st.type, bytes(body)).encode()
    add(
        "stanza_damaged",
        damaged + h.mac + b"".join(segs),
        "StreamFormatError",
        r"^the header does not verify",
    )
    unknown = h.raw[: gs._format.FIXED.size - 2] + struct.pack(">H", 1) + gs.Stanza(99, b"future").encode()
    add(
        "only_unknown_stanza",
        unknown + h.mac + b"".join(segs),
        "NoIdentityMatchError",
        r"no identity matches",
    )

    add("empty_file", b"", "StreamFormatError", r"^empty file")
    add("bad_magic", b"GMS\x89" + good[4:], "StreamFormatError", r"^bad magic")
    add("text_mode_mangled", good.replace(b"\r\n", b"\n", 1), "StreamFormatError", r"^bad magic")
    add("header_truncated", good[: h.length - 10], "StreamFormatError", r"^truncated header")
    add("magic_only", gs.MAGIC[:5], "StreamFormatError", r"^truncated header")
    # Version 2 is the signed format (spec §6); 3 is the first this reader does not know.
    v3 = bytearray(good)
    v3[8] = 3
    add("unknown_version", bytes(v3), "StreamFormatError", r"^unknown format version 3")
    s2 = bytearray(good)
    s2[9] = 7
    add("unknown_suite", bytes(s2), "StreamFormatError", r"^unknown algorithm suite 7")
    big = bytearray(good)
    big[10] = 25
    add("segment_size_out_of_range", bytes(big), "StreamFormatError", r"segment size 2\^25 is out of range")
    zero = bytearray(good)
    zero[43:45] = b"\x00\x00"
    add("zero_stanzas", bytes(zero), "StreamFormatError", r"stanza count 0")
    huge = h.raw[: gs._format.FIXED.size] + struct.pack(">BI", 1, 70000)
    add("stanza_too_long", huge, "StreamFormatError", r"exceeds the 65536-byte limit")

    pw = ["passphrase:" + PASSPHRASE]
    good_pw = seal("pw", plaintext(50), lambda r: [gs.PassphraseRecipient(PASSPHRASE, gs.MIN_ITERATIONS)])
    hp, segp = split(good_pw)
    files["valid_passphrase"] = good_pw
    manifest["valid_passphrase"] = {
        "identities": pw,
        "error": None,
        "plaintext_sm3": sm3(plaintext(50)).hex(),
    }
    add(
        "passphrase_wrong",
        good_pw,
        "StreamFormatError",
        r"^the header does not verify",
        ["passphrase:not the passphrase"],
    )

    def pw_variant(name: str, body: bytes) -> bytes:
        raw = hp.raw[: gs._format.FIXED.size] + gs.Stanza(gs._format.TYPE_PASSPHRASE, body).encode()
        return raw + hp.mac + b"".join(segp)

    low = struct.pack(">I", 1000) + hp.stanzas[0].body[4:]
    add(
        "iterations_too_low",
        pw_variant("low", low),
        "StreamFormatError",
        r"1000 PBKDF2 iterations, fewer than",
        pw,
    )
    high = struct.pack(">I", 2_000_000_000) + hp.stanzas[0].body[4:]
    add(
        "iterations_too_high",
        pw_variant("high", high),
        "StreamFormatError",
        r"more than this reader's maximum",
        pw,
    )
    mixed = (
        hp.raw[: gs._format.FIXED.size - 2]
        + struct.pack(">H", 2)
        + hp.stanzas[0].encode()
        + h.stanzas[0].encode()
    )
    add(
        "passphrase_with_other_stanzas",
        mixed + hp.mac + b"".join(segp),
        "StreamFormatError",
        r"passphrase stanza must be the file's only stanza",
        pw,
    )

    _signed(add, files, manifest, good)

    for name, blob in files.items():
        (HERE / f"{name}.gms").write_bytes(blob)
    return manifest


def _signed(
    add: Callable[..., None], files: dict[str, bytes], manifest: dict[str, Any], unsigned: bytes
) -> None:
    """Signed files (format version 2, spec §6): one valid, and one per refusal."""
    me, pub = ["identity.txt"], "signer.pub.pem"
    pt = plaintext(3 * SEG)
    signed = seal("signed", pt, to_me, signer())
    files["signed_valid"] = signed
    manifest["signed_valid"] = {
        "identities": me,
        "error": None,
        "plaintext_sm3": sm3(pt).hex(),
        "verify_key": pub,
    }
    add("signed_unsigned_when_required", unsigned, "StreamSignatureError", r"not signed", verify_key=pub)
    add(
        "signed_by_other_key",
        seal("signed-other", pt, to_me, signer("other_signer.pem")),
        "StreamSignatureError",
        r"signed by sm2:\S+, not by the expected key",
        verify_key=pub,
    )
    edited = bytearray(signed)
    edited[-gs._format.TRAILER_SIZE - 1] ^= 1  # last byte of the final segment
    add("signed_payload_edited", bytes(edited), "StreamSignatureError", r"does not verify", verify_key=pub)
    bad_sig = bytearray(signed)
    bad_sig[-gs._format.TRAILER_SIZE + 10] ^= 1  # inside the DER signature
    add("signed_signature_edited", bytes(bad_sig), "StreamSignatureError", r"does not verify", verify_key=pub)
    padding = bytearray(signed)
    length = padding[-gs._format.TRAILER_SIZE]
    padding[-gs._format.TRAILER_SIZE] = length - 1
    padding[-gs._format.TRAILER_SIZE + length] = 1  # the DER's last byte now reads as padding
    add("signed_trailer_malformed", bytes(padding), "StreamFormatError", r"trailer is malformed")
    flags = bytearray(signed)
    flags[gs._format.FIXED.size] = 0x03
    add("signed_unknown_flags", bytes(flags), "StreamFormatError", r"unknown flags 0x03")


def main() -> None:
    manifest = build()
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(manifest)} vectors to {HERE}")


if __name__ == "__main__":
    main()
