"""Generate tests/vectors/field/field_v1.json from an independent implementation.

Everything here is computed with pyca/cryptography (SM4-GCM, HMAC-SM3, HKDF-SM3,
PBKDF2-HMAC-SM3), not with guomi, following docs/spec/field.md step by step; the tests then
check guomi's Rust kernel against these bytes. Nonces and keys are fixed, so the output is
reproducible:

    PYTHONPATH=src python tests/vectors/field/generate.py > tests/vectors/field/field_v1.json
"""

from __future__ import annotations

import base64
import json
import struct
import sys

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

SALT = b"guomi/field/v1"
KEY_A = 0x0A0B0C0D
KEY_B = 0x11223344
DEK = {KEY_A: bytes(range(16)), KEY_B: bytes(range(16, 32))}


def pack(*pieces: bytes) -> bytes:
    return struct.pack("<Q", len(pieces)) + b"".join(struct.pack("<Q", len(p)) + p for p in pieces)


def hkdf(ikm: bytes, length: int, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SM3(), length=length, salt=SALT, info=info).derive(ikm)


def hmac_sm3(key: bytes, msg: bytes) -> bytes:
    h = hmac.HMAC(key, hashes.SM3())
    h.update(msg)
    return h.finalize()


def ad(suite: int, key_id: int, table: str, column: str, context: bytes | None) -> bytes:
    pieces = [b"\x01", bytes([suite]), key_id.to_bytes(4, "big"), table.encode(), column.encode()]
    if context is not None:
        pieces.append(context)
    return b"guomi/field/v1" + pack(*pieces)


def seal(
    suite: int, key_id: int, table: str, column: str, context: bytes | None, tagged: bytes, nonce: bytes
) -> bytes:
    tc = pack(table.encode(), column.encode())
    k_enc = hkdf(DEK[key_id], 16, b"\xb4" * 32 + tc)
    a = ad(suite, key_id, table, column, context)
    if suite == 2 and nonce == b"":
        k_siv = hkdf(DEK[key_id], 32, b"\xb5" * 32 + tc)
        nonce = hmac_sm3(k_siv, pack(a, tagged))[:12]
    enc = Cipher(algorithms.SM4(k_enc), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(a)
    ct = enc.update(tagged) + enc.finalize()
    return b"\x01" + bytes([suite]) + key_id.to_bytes(4, "big") + nonce + ct + enc.tag


def text(binary: bytes) -> str:
    return "gm1." + base64.urlsafe_b64encode(binary).rstrip(b"=").decode()


def index(key_id: int, table: str, column: str, name: str, bits: int, iterations: int, tagged: bytes) -> int:
    root = hkdf(DEK[key_id], 32, b"\x7e" * 32)
    info = b"\x7f" * 32 + pack(
        table.encode(), column.encode(), name.encode(), str(bits).encode(), str(iterations).encode()
    )
    k_idx = hkdf(root, 32, info)
    m = b"guomi/field/v1/index" + pack(tagged)
    if iterations:
        h = PBKDF2HMAC(algorithm=hashes.SM3(), length=32, salt=k_idx, iterations=iterations).derive(m)
    else:
        h = hmac_sm3(k_idx, m)
    return int.from_bytes(h[:8], "big") >> (64 - bits)


def main() -> None:
    keyset = {
        "format": "guomi-keyset/v1",
        "primary": KEY_B,
        "keys": [
            {
                "id": kid,
                "type": "sm4-gcm",
                "status": "enabled",
                "created": "2026-01-01T00:00:00Z",
                "material": base64.b64encode(m).decode(),
            }
            for kid, m in DEK.items()
        ],
    }
    # (name, suite, key, table, column, context, type, json value, canonical tagged bytes hex)
    cases = [
        ("str_gcm", 1, KEY_A, "customer", "email", None, "str", "Zhang@Bank.cn", b"\x01Zhang@Bank.cn"),
        (
            "str_gcm_context",
            1,
            KEY_B,
            "customer",
            "email",
            b"42",
            "str",
            "Zhang@Bank.cn",
            b"\x01Zhang@Bank.cn",
        ),
        ("str_unicode", 1, KEY_B, "customer", "name", b"7", "str", "张三", b"\x01" + "张三".encode()),
        ("empty_str", 1, KEY_B, "customer", "name", None, "str", "", b"\x01"),
        ("bytes", 1, KEY_B, "doc", "blob", None, "bytes", "00ff10", b"\x02\x00\xff\x10"),
        (
            "int_negative",
            1,
            KEY_B,
            "account",
            "balance",
            None,
            "int",
            -129,
            b"\x03" + (-129).to_bytes(2, "big", signed=True),
        ),
        ("int_zero", 1, KEY_B, "account", "balance", None, "int", 0, b"\x03\x00"),
        ("decimal", 1, KEY_B, "account", "rate", None, "decimal", "1.50", b"\x041.50"),
        ("date", 1, KEY_B, "customer", "birthday", None, "date", "1990-05-17", b"\x051990-05-17"),
        (
            "datetime",
            1,
            KEY_B,
            "audit",
            "at",
            None,
            "datetime",
            "2026-01-02T03:04:05.000006+08:00",
            b"\x062026-01-02T03:04:05.000006+08:00",
        ),
        (
            "json",
            1,
            KEY_B,
            "customer",
            "profile",
            None,
            "json",
            {"b": [1, 2], "a": "x"},
            b'\x07{"a":"x","b":[1,2]}',
        ),
        ("bool", 1, KEY_B, "customer", "vip", None, "bool", True, b"\x08\x01"),
        (
            "siv_str",
            2,
            KEY_B,
            "customer",
            "id_no",
            None,
            "str",
            "110101199003078515",
            b"\x01110101199003078515",
        ),
    ]
    entries = []
    for i, (name, suite, kid, table, column, ctx, typ, value, tagged) in enumerate(cases):
        nonce = b"" if suite == 2 else bytes([i + 1]) * 12
        binary = seal(suite, kid, table, column, ctx, tagged, nonce)
        entries.append(
            {
                "name": name,
                "suite": suite,
                "key_id": kid,
                "table": table,
                "column": column,
                "context": None if ctx is None else ctx.hex(),
                "type": typ,
                "value": value,
                "canonical": tagged.hex(),
                "nonce": binary[6:18].hex(),
                "binary": binary.hex(),
                "text": text(binary),
            }
        )
    indexes = []
    for name, transform, bits, iterations, value, transformed in [
        ("email_bidx", None, 16, 0, "Zhang@Bank.cn", b"\x01Zhang@Bank.cn"),
        ("email_ci", "casefold", 32, 0, "Zhang@Bank.CN", b"\x01zhang@bank.cn"),
        ("email_ci", "casefold", 32, 0, "STRASSE@X.DE", b"\x01strasse@x.de"),
        ("email_ci", "casefold", 32, 0, "Straße@x.de", b"\x01strasse@x.de"),
        ("mobile_digits", "digits", 20, 0, "+86 138-0013-8000", b"\x018613800138000"),
        ("card_last4", "last:4", 10, 0, "6222020200112233445", b"\x013445"),
        ("name_prefix", "prefix:1", 8, 0, "张三丰", b"\x01" + "张".encode()),
        ("id_no_slow", None, 24, 2000, "110101199003078515", b"\x01110101199003078515"),
        ("balance_bidx", None, 63, 0, -129, b"\x03" + (-129).to_bytes(2, "big", signed=True)),
    ]:
        indexes.append(
            {
                "table": "customer",
                "column": "c",
                "key_id": KEY_A,
                "name": name,
                "transform": transform,
                "bits": bits,
                "slow_iterations": iterations,
                "value": value,
                "index": index(KEY_A, "customer", "c", name, bits, iterations, transformed),
            }
        )
    # Negative vectors, named after the failure, built from the first entries.
    good = bytes.fromhex(entries[1]["binary"])  # str_gcm_context: customer.email, context b"42"
    good_text = entries[1]["text"]

    def flip(b: bytes, i: int) -> bytes:
        return b[:i] + bytes([b[i] ^ 1]) + b[i + 1 :]

    # empty_str: 35 bytes, so its text ends in a character with two unused low bits.
    short_text = entries[3]["text"]
    ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    siv_forged = seal(2, KEY_B, "customer", "email", b"42", b"\x01Zhang@Bank.cn", b"\x55" * 12)
    negative = [
        ("field_bad_prefix", "gm2." + good_text[4:], "42", "customer", "email", "InvalidEncodingError"),
        ("field_bad_base64_padding", good_text + "=", "42", "customer", "email", "InvalidEncodingError"),
        (
            "field_noncanonical_trailing_bits",
            short_text[:-1] + ALPHABET[ALPHABET.index(short_text[-1]) | 1],
            None,
            "customer",
            "name",
            "InvalidEncodingError",
        ),
        ("field_truncated", text(good[:34]), "42", "customer", "email", "InvalidEncodingError"),
        (
            "field_bad_format_version",
            text(b"\x02" + good[1:]),
            "42",
            "customer",
            "email",
            "InvalidEncodingError",
        ),
        (
            "field_bad_suite",
            text(good[:1] + b"\x07" + good[2:]),
            "42",
            "customer",
            "email",
            "InvalidEncodingError",
        ),
        (
            "field_unknown_key_id",
            text(good[:2] + (0x99999999).to_bytes(4, "big") + good[6:]),
            "42",
            "customer",
            "email",
            "InvalidTag",
        ),
        ("field_tag_flipped", text(flip(good, len(good) - 1)), "42", "customer", "email", "InvalidTag"),
        ("field_ciphertext_flipped", text(flip(good, 18)), "42", "customer", "email", "InvalidTag"),
        ("field_other_row_context", good_text, "43", "customer", "email", "InvalidTag"),
        ("field_missing_row_context", good_text, None, "customer", "email", "InvalidTag"),
        ("field_other_column", good_text, "42", "customer", "email2", "InvalidTag"),
        ("field_other_table", good_text, "42", "customer2", "email", "InvalidTag"),
        ("field_siv_nonce_mismatch", text(siv_forged), "42", "customer", "email", "InvalidTag"),
    ]
    doc = {
        "description": (
            "guomi field values v1 (docs/spec/field.md); "
            "generated by tests/vectors/field/generate.py with pyca/cryptography"
        ),
        "keyset_cleartext": keyset,
        "values": entries,
        "indexes": indexes,
        "negative": [
            {
                "name": n,
                "token": t,
                "context": None if c is None else c.encode().hex(),
                "table": tb,
                "column": col,
                "error": e,
            }
            for n, t, c, tb, col, e in negative
        ],
    }
    json.dump(doc, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
