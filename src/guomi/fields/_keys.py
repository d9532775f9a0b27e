"""Per-column keys derived from a keyset version (``docs/spec/field.md`` §5).

Layer: ``guomi.fields``. From each 16-byte data key (one per keyset version) HKDF-SM3
derives, with distinct domain-separation constants (CipherSweet's 0xB4 / 0x7E pattern):

- the column's SM4 key:       info = 0xB4 * 32 || pack(table, column), 16 bytes
- the column's SIV PRF key:   info = 0xB5 * 32 || pack(table, column), 32 bytes
- the blind-index root:       info = 0x7E * 32, 32 bytes
- each index key (from root): info = 0x7F * 32 || pack(table, column, name, bits, iterations)

All with salt ``guomi/field/v1``. Different constants make the encryption keys and the index
keys independent (a leaked index key says nothing about values' ciphertexts), and binding
bits and iterations makes a re-planned index unrelated to the old one (no truncation link).
"""

from __future__ import annotations

import struct
from typing import Final

from guomi.primitives.kdf import hkdf_sm3

__all__ = ["SALT", "column_keys", "index_key", "index_root", "pack"]

SALT: Final = b"guomi/field/v1"
_ENC: Final = b"\xb4" * 32
_SIV: Final = b"\xb5" * 32
_ROOT: Final = b"\x7e" * 32
_INDEX: Final = b"\x7f" * 32


def pack(*pieces: bytes) -> bytes:
    """``LE64(n) || (LE64(len) || piece)*``: unambiguous for any pieces."""
    out = [struct.pack("<Q", len(pieces))]
    for p in pieces:
        out.append(struct.pack("<Q", len(p)))
        out.append(p)
    return b"".join(out)


def column_keys(data_key: bytes, table: str, column: str) -> tuple[bytes, bytes]:
    """(SM4 key, SIV PRF key) of ``table.column`` under one data key."""
    tc = pack(table.encode("utf-8"), column.encode("utf-8"))
    return (
        hkdf_sm3(data_key, 16, salt=SALT, info=_ENC + tc),
        hkdf_sm3(data_key, 32, salt=SALT, info=_SIV + tc),
    )


def index_root(data_key: bytes) -> bytes:
    """The blind-index root of one data key."""
    return hkdf_sm3(data_key, 32, salt=SALT, info=_ROOT)


def index_key(root: bytes, table: str, column: str, name: str, *, bits: int, iterations: int) -> bytes:
    """The HMAC-SM3 key of one blind index."""
    info = _INDEX + pack(
        table.encode("utf-8"),
        column.encode("utf-8"),
        name.encode("utf-8"),
        str(bits).encode("ascii"),
        str(iterations).encode("ascii"),
    )
    return hkdf_sm3(root, 32, salt=SALT, info=info)
