"""guomi.dbapi: field encryption for any DB-API 2.0 driver (DB2, Oracle, MySQL, PostgreSQL, SQLite).

Layer: integration (over :mod:`guomi.fields`).

- :func:`encrypt_row` / :func:`decrypt_row` (and the batch ``*_rows``): whole rows by a
  schema ``{table: {column: Field}}``; encryption adds the blind-index columns.
- :func:`wrap`: a connection whose cursors encrypt ``INSERT ... VALUES`` parameters, rewrite
  ``WHERE col = ?`` on encrypted columns to the blind index, and decrypt and re-check results.
"""

from guomi.dbapi._schema import Schema, decrypt_row, decrypt_rows, encrypt_row, encrypt_rows
from guomi.dbapi._wrap import Connection, Cursor, wrap

__all__ = [
    "Connection",
    "Cursor",
    "Schema",
    "decrypt_row",
    "decrypt_rows",
    "encrypt_row",
    "encrypt_rows",
    "wrap",
]
