"""Find what data holds: PII in plaintext, guomi ciphertext (and which key), legacy formats.

Layer: ``guomi.scan`` (standard library, plus ``guomi.fields`` through one adapter; reads
databases and files, never changes them). The scanner behind ``guomi assess`` (the 密评
evidence pack) and ``guomi table scan``:

* :func:`classify_values` — a column from sampled values (``str`` / ``bytes`` / ``None``):
  resident ID numbers (GB 11643 check character), mobile numbers, Luhn-valid card
  numbers; guomi field values (``docs/spec/field.md``) and service tokens
  (``docs/spec/token.md``) with their key ids; Fernet, Vault transit ``vault:vN:``, AES-GCM
  with a 12-byte IV prefix (Spark ``aes_encrypt`` GCM, base64 AES-GCM), AES-CBC with an
  IV prefix, AES-ECB (MySQL ``AES_ENCRYPT``, Spark ECB), RSA-wrapped keys — each with a
  confidence;
* :func:`scan_database` — every (or the named) table of a database URL, sampled at random
  on every backend (:func:`sample_column`, :func:`sample_keyed_column` for row-bound
  values);
* :func:`scan_file` — key material in config files (PEM private keys, hex/base64 keys
  next to key-ish names, service tokens), or a CSV file's columns.

Findings never contain the sampled values.
"""

from guomi.scan._column import classify_values
from guomi.scan._database import (
    primary_key_columns,
    redact_url,
    sample_column,
    sample_keyed_column,
    scan_database,
)
from guomi.scan._fieldfmt import FIELD_FORMAT_AVAILABLE
from guomi.scan._files import scan_file
from guomi.scan._model import (
    KIND_INFO,
    ColumnFinding,
    DatabaseFinding,
    FileFinding,
    FileItem,
    Kind,
    KindInfo,
    TableFinding,
    ValueFinding,
)
from guomi.scan._pii import is_bank_card, is_mobile, is_resident_id, luhn_ok
from guomi.scan._values import classify_value

__all__ = [
    "FIELD_FORMAT_AVAILABLE",
    "KIND_INFO",
    "ColumnFinding",
    "DatabaseFinding",
    "FileFinding",
    "FileItem",
    "Kind",
    "KindInfo",
    "TableFinding",
    "ValueFinding",
    "classify_value",
    "classify_values",
    "is_bank_card",
    "is_mobile",
    "is_resident_id",
    "luhn_ok",
    "primary_key_columns",
    "redact_url",
    "sample_column",
    "sample_keyed_column",
    "scan_database",
    "scan_file",
]
