"""The one place that knows ``guomi.fields``' API and value format (``docs/spec/field.md``).

Layer: ``guomi.bulk``. Everything else in the package goes through these functions, so a
change of the fields API is a change here only. Value-format facts used (field.md):
binary value = ``ver(1) | suite(1) | key_id(4, big-endian) | ...``; text armour =
``TEXT_PREFIX + base64url(binary)`` without padding, so the first 8 characters after the
prefix encode exactly the 6 header bytes (version, suite, key id): a whole column's key
versions are read from a few distinct header strings, without a Python call per row.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from guomi.exceptions import GuomiError

__all__ = [
    "as_guomi",
    "decrypt_one",
    "decrypt_packed",
    "encrypt_csv_block",
    "encrypt_one",
    "encrypt_packed",
    "explain",
    "index_packed",
    "is_token_mask",
    "kernel_of",
    "key_versions",
    "known_key_ids",
    "primary_version",
    "under_primary_mask",
]

TEXT_PREFIX = "gm1."
BINARY_VERSION = 0x01
HEADER_SIZE = 6
HEADER_CHARS = 8  # base64 of 6 bytes, no padding
MIN_BINARY_SIZE = HEADER_SIZE + 12 + 1 + 16  # header, nonce, type tag, GCM tag
SUITE_IDS = (0x01, 0x02)  # sm4-gcm, sm4-siv (field.md)


def _type_tag(text: bool) -> int:
    from guomi.fields import TYPE_BYTES, TYPE_STR  # noqa: PLC0415

    return int(TYPE_STR if text else TYPE_BYTES)


def encrypt_packed(
    fld: Any, offsets: object, data: object, *, text: bool, width: int
) -> tuple[object, object]:
    """String columns: ``gm1.`` text of TYPE_STR values; binary columns: binary TYPE_BYTES values."""
    result: tuple[object, object] = fld.encrypt_packed(
        offsets, data, type_tag=_type_tag(text), binary=not text, offset_width=width
    )
    return result


def kernel_of(fld: Any) -> Any:
    """The column's Rust ``FieldCipher`` (current key snapshot), for the CSV block kernel."""
    return fld._kernels().cipher


def encrypt_csv_block(
    block: bytes, ncols: int, targets: list[tuple[int, Any]]
) -> tuple[bytes, int, list[tuple[int, int]]] | None:
    """Encrypt the ``targets`` (``(column index, kernel_of(field))``, ascending) of a CSV block
    of ``ncols`` columns as ``gm1.`` text of string values; ``None`` if the block is not of the
    simple shape (see :mod:`guomi.bulk._csvfast`)."""
    from guomi.primitives.field import csv_encrypt_block  # noqa: PLC0415

    return csv_encrypt_block(block, ncols, targets, _type_tag(True))


def decrypt_packed(
    fld: Any, offsets: object, data: object, *, text: bool, width: int
) -> tuple[object, object]:
    result: tuple[object, object] = fld.decrypt_packed(
        offsets, data, type_tag=_type_tag(text), offset_width=width
    )
    return result


def index_packed(fld: Any, name: str, offsets: object, data: object, *, text: bool, width: int) -> pa.Array:
    values = fld.index_packed(name, offsets, data, type_tag=_type_tag(text), offset_width=width)
    count = memoryview(values).nbytes // 8
    return pa.Array.from_buffers(pa.int64(), count, [None, pa.py_buffer(values)])


def encrypt_one(fld: Any, value: str | bytes) -> object:
    return fld.encrypt(value) if isinstance(value, str) else fld.encrypt_binary(value)


def decrypt_one(fld: Any, value: str | bytes) -> object:
    return fld.decrypt(value)


def primary_version(fld: Any) -> int:
    return int(fld.primary_key_id)


def explain(exc: BaseException) -> str:
    """A message safe to show: the exception's own (guomi messages never carry secrets)."""
    return str(exc) or type(exc).__name__


def as_guomi(exc: BaseException) -> GuomiError:
    if isinstance(exc, GuomiError):
        return exc
    return GuomiError("decrypted value is not valid UTF-8 for a string column")


def _headers(array: pa.Array) -> pa.Array:
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return pc.utf8_slice_codeunits(array, len(TEXT_PREFIX), len(TEXT_PREFIX) + HEADER_CHARS)
    return pc.binary_slice(array, 0, HEADER_SIZE)


def _decode_header(header: str | bytes) -> bytes | None:
    if isinstance(header, str):
        if len(header) != HEADER_CHARS:
            return None
        try:
            return base64.urlsafe_b64decode(header)
        except ValueError:
            return None
    return header if len(header) == HEADER_SIZE else None


def known_key_ids(fld: Any) -> set[int]:
    """The key versions the field's keyring can use (enabled keys)."""
    return set(fld.keyring.snapshot().material)


def is_token_mask(array: pa.Array, fld: Any = None) -> pa.Array | None:
    """True where a value already is a guomi field value; ``None`` when none is.

    Text columns: the ``gm1.`` prefix. Binary columns have no prefix, and a random legacy
    ciphertext starts with the version byte once in 256 values, so a binary value counts
    only when its whole 6-byte header (version, a known suite, a key id of ``fld``'s
    keyring) matches: a false match needs 48 random bits to line up.
    """
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        mask = pc.fill_null(pc.starts_with(array, TEXT_PREFIX), False)
    else:
        ids = known_key_ids(fld) if fld is not None else set()
        headers = [
            bytes([BINARY_VERSION, suite]) + struct.pack(">I", kid) for suite in SUITE_IDS for kid in ids
        ]
        if not headers:
            return None
        mask = pc.fill_null(
            pc.and_(
                pc.is_in(pc.binary_slice(array, 0, HEADER_SIZE), pa.array(headers, pa.binary())),
                pc.greater_equal(pc.binary_length(array), MIN_BINARY_SIZE),
            ),
            False,
        )
    if not pc.any(mask).as_py():
        return None
    return mask


def key_versions(array: pa.Array, fld: Any = None) -> set[int]:
    """The key versions (key ids) of the field values in ``array``, from their headers."""
    tokens = is_token_mask(array, fld)
    if tokens is None:
        return set()
    versions = set()
    for header in pc.unique(_headers(array.filter(tokens))).to_pylist():
        raw = _decode_header(header)
        if raw is not None:
            versions.add(struct.unpack(">I", raw[2:6])[0])
    return versions


def under_primary_mask(fld: Any, array: pa.Array) -> pa.Array | None:
    """True where a value is already under the primary key version; ``None`` when none is."""
    tokens = is_token_mask(array, fld)
    if tokens is None:
        return None
    primary = primary_version(fld)
    headers = _headers(array)
    matches = []
    for header in pc.unique(headers.filter(tokens)).to_pylist():
        raw = _decode_header(header)
        if raw is not None and struct.unpack(">I", raw[2:6])[0] == primary:
            matches.append(header)
    if not matches:
        return None
    return pc.fill_null(pc.and_(tokens, pc.is_in(headers, pa.array(matches, headers.type))), False)


INDEX_SETTINGS = ("transform", "bits", "slow", "key_id")
"""What a blind index takes besides its name (:class:`guomi.fields.BlindIndex`)."""


def blind_index(name: str, settings: Any = None) -> Any:
    """A :class:`guomi.fields.BlindIndex` (defaults, or ``settings``: transform, bits, slow, key_id)."""
    from guomi.fields import BlindIndex  # noqa: PLC0415

    return BlindIndex(name, **dict(settings or {}))


def make_field(table: str, column: str, keyring: Any, indexes: tuple[str, ...], settings: Any = None) -> Any:
    """The :class:`guomi.fields.Field` for a column, its blind indexes by name (default settings,
    or ``settings[name]``)."""
    from guomi.fields import Field  # noqa: PLC0415 (fields loads its kernel once, here)

    settings = settings or {}
    return Field(table, column, keyring, indexes=tuple(blind_index(n, settings.get(n)) for n in indexes))


def service_keyring(client: Any, name: str, wrapped: str) -> Any:
    """A keyring of data keys (``wrapped``: a keyset document) wrapped by the service key ``name``."""
    from guomi.fields import ServiceKeyring  # noqa: PLC0415

    return ServiceKeyring(client.aead(name), wrapped)


def new_wrapped_keys(client: Any, name: str) -> str:
    """A fresh data-key document wrapped by the service key ``name`` (to store next to the data)."""
    from guomi.fields import ServiceKeyring  # noqa: PLC0415

    return str(ServiceKeyring.create(client.aead(name)).wrapped)
