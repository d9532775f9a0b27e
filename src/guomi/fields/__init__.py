"""guomi.fields: SM4 database field encryption with HMAC-SM3 blind indexes (``docs/spec/field.md``).

Layer: above ``guomi.keys`` and ``guomi.primitives``; never imports ``guomi.client`` or
``guomi.kms`` (a service-backed keyring takes any :class:`guomi.keys.Aead`, such as the
SDK's ``client.aead(name)``). Used by ``guomi.sqlalchemy``, ``guomi.django``,
``guomi.dbapi`` and ``guomi.bulk``.

- :class:`Field`: encrypt/decrypt/index one column, per value or in Rust batches, and the
  Arrow-layout packed API (``encrypt_packed``, ``decrypt_packed``, ``index_packed``).
- :class:`BlindIndex` and :func:`plan`: equality indexes and their width.
- :class:`ServiceKeyring` / :class:`LocalKeyring`: where the keys come from.
- :func:`is_field_token` / :func:`token_info`: keyless recognition for scanners.
- :class:`ColumnMigration`: the column lifecycle; :class:`CasWriter` and
  :func:`tune_transaction`: its compare-and-set batch writer, shared with ``guomi.bulk``'s
  in-place jobs.
"""

from guomi.fields._codec import (
    TYPE_BOOL,
    TYPE_BYTES,
    TYPE_DATE,
    TYPE_DATETIME,
    TYPE_DECIMAL,
    TYPE_FLOAT,
    TYPE_INT,
    TYPE_JSON,
    TYPE_STR,
    decode_value,
    encode_value,
)
from guomi.fields._field import SUITE_IDS, Field
from guomi.fields._index import DEFAULT_BITS, SLOW_ITERATIONS, BlindIndex, IndexPlan, plan
from guomi.fields._keyring import Keyring, KeySnapshot, LocalKeyring, ServiceKeyring
from guomi.fields._lifecycle import CHECKPOINT_TABLE, ColumnMigration, MigrationStatus
from guomi.fields._token import TEXT_PREFIX, FieldTokenInfo, is_field_token, token_info
from guomi.fields._writer import CasWriter, tune_transaction

__all__ = [
    "CHECKPOINT_TABLE",
    "DEFAULT_BITS",
    "SLOW_ITERATIONS",
    "SUITE_IDS",
    "TEXT_PREFIX",
    "TYPE_BOOL",
    "TYPE_BYTES",
    "TYPE_DATE",
    "TYPE_DATETIME",
    "TYPE_DECIMAL",
    "TYPE_FLOAT",
    "TYPE_INT",
    "TYPE_JSON",
    "TYPE_STR",
    "BlindIndex",
    "CasWriter",
    "ColumnMigration",
    "Field",
    "FieldTokenInfo",
    "IndexPlan",
    "KeySnapshot",
    "Keyring",
    "LocalKeyring",
    "MigrationStatus",
    "ServiceKeyring",
    "decode_value",
    "encode_value",
    "is_field_token",
    "plan",
    "token_info",
    "tune_transaction",
]
