"""Writes the seed inputs of the Rust fuzz targets into ``fuzz/corpus/<target>/``.

Run once from the project root with the extension built and ``openssl`` on PATH:
``PYTHONPATH=src python fuzz/seeds.py``. The seeds are valid inputs (so the
fuzzer starts from the accepting paths) plus the negative key vectors of
``tests/vectors/keys``; each fuzz run then merges what it found into the same
directory, minimised, and those corpora are committed as regression inputs
(replayed by ``rust/guomi-core/tests/fuzz_corpus.rs``).

The fixed SM2 key (d = 0x0102...20) and stream payload key (16 x 0x07)
match ``fuzz/src/checks.rs``.
"""

from __future__ import annotations

import hashlib
import pathlib
import subprocess

from guomi import _rust

ROOT = pathlib.Path(__file__).resolve().parent
CORPUS = ROOT / "corpus"
VECTORS = ROOT.parent / "tests" / "vectors" / "keys"


def put(target: str, data: bytes) -> None:
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)  # noqa: S324 - a file name, as libFuzzer names them


def openssl(*args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *args], input=stdin, check=True, capture_output=True).stdout


def main() -> None:
    key = _rust.Sm2PrivateKey.from_bytes(bytes(range(1, 33)))
    pub = key.public_key()
    point = pub.encode()
    scalar = key.private_bytes()
    for enc in ("der", "raw"):
        put("sm2_signature", key.sign_digest(b"\x5a" * 32, enc))
    for layout in ("c1c3c2", "c1c2c3", "der"):
        for msg in (b"", b"x", b"guomi fuzz seed" * 5):
            put("sm2_ciphertext", pub.encrypt(msg, layout))
    sk = _rust.StreamKey(b"\x07" * 16, 4096)
    for first, last, n in ((0, True, 0), (0, True, 10), (1, False, 4096), (3, True, 5000)):
        put("stream_segment", bytes([(first << 1) | int(last)]) + sk.seal(first, last, b"s" * n))
    put(
        "pkcs8_encrypted",
        _rust.formats_encrypt_private_key(scalar, point, b"fuzz", b"saltsalt", b"\x01" * 16, 1000, False),
    )
    # Keys: selector byte 0 = private DER, 1 = private PEM, 2 = public DER, 3 = public PEM.
    pem_key = openssl("genpkey", "-algorithm", "SM2")
    for fmt, pem in (("pkcs8", False), ("sec1", False), ("pkcs8", True), ("sec1", True)):
        put("keys", bytes([1 if pem else 0]) + _rust.formats_encode_private_key(scalar, point, fmt, pem))
    put("keys", b"\x01" + pem_key)
    put("keys", b"\x01" + openssl("ec", stdin=pem_key))
    put("keys", b"\x02" + _rust.formats_encode_public_key(point, False))
    put("keys", b"\x03" + _rust.formats_encode_public_key(point, True))
    for f in sorted(VECTORS.iterdir()):
        if f.suffix == ".der":
            put("keys", b"\x00" + f.read_bytes())
            put("pkcs8_encrypted", f.read_bytes())
        elif f.suffix == ".pem":
            put("keys", b"\x01" + f.read_bytes())


def python_seeds() -> None:
    """Seeds of the atheris targets (fuzz/python): valid inputs of each parser."""
    import io  # noqa: PLC0415
    import os  # noqa: PLC0415

    from guomi.api._token import TokenHeader, format_text  # noqa: PLC0415
    from guomi.envelope import PassphraseRecipient, SM2Recipient, encrypt  # noqa: PLC0415
    from guomi.keys import INSECURE_CLEARTEXT_KEYSET_ACCESS, Keyset, LocalAead  # noqa: PLC0415
    from guomi.primitives import sm2  # noqa: PLC0415

    header = TokenHeader(1, "sm4-gcm", 3)
    blob = header.encode() + os.urandom(40)
    put("py_tokens", format_text(header, blob).encode())
    put("py_tokens", blob)
    other = sm2.generate_private_key().public_key()
    for n in (0, 100, 5000):
        out = io.BytesIO()
        encrypt(io.BytesIO(b"p" * n), out, [SM2Recipient(other)], segment_size=4096)
        put("py_stream", out.getvalue())
    out = io.BytesIO()
    encrypt(io.BytesIO(b"p" * 10), out, [PassphraseRecipient("not-fuzz", iterations=100_000)])
    put("py_stream", out.getvalue())
    ks = Keyset.generate()
    ks.add()
    put("py_keyset", ks.export_cleartext(access=INSECURE_CLEARTEXT_KEYSET_ACCESS).encode())
    put("py_keyset", ks.to_encrypted_json(aead=LocalAead(bytes(range(16)))).encode())


if __name__ == "__main__":
    main()
    python_seeds()
