"""Whole tables and datasets: encrypt, decrypt, re-key, re-index and migrate columns.

Layer: ``guomi.bulk`` (above ``guomi.fields``, ``guomi.client`` and ``guomi.keys``; below
``guomi.cli``). A :class:`Job` reads a source (CSV, Parquet, a directory of Parquet
files, a database table through SQLAlchemy), applies one operation to the named columns
with the field kernel of :mod:`guomi.fields` (so every value is a ``guomi.fields`` value,
``docs/spec/field.md``), and writes a sink (a file or directory that appears only when
complete, a new table, or the same table in place: resumable, compare-and-set).

>>> from guomi.bulk import Job
>>> summary = Job("in.csv", "out.csv", columns=["email", "phone"], keyring=keyset).run()  # doctest: +SKIP

Engines: the embedded default (threads over Arrow record batches, bounded memory),
Apache Spark (``engine="spark"``, ``mapInArrow``; files and database tables in key-range
partitions) and Dask (``engine="dask"``, database tables). Operations: ``encrypt``,
``decrypt``, ``rekey``, ``reindex``, ``migrate`` and ``rewrap`` (RSA-wrapped data keys to
SM2); blind-index settings with ``index_options=``. Legacy decryptors for AES/RSA-era data
live in :mod:`guomi.bulk.legacy`.
"""

from guomi._extras import bulk as _requires_bulk  # noqa: F401 (a clear error without the extra)
from guomi.bulk._columns import ColumnSpec, parse_columns
from guomi.bulk._errors import BulkError, BulkInputError, BulkValueError, OutputExistsError
from guomi.bulk._job import DEFAULT_FILE_TABLE, Job, Summary
from guomi.bulk._kernel import ColumnCipher, ColumnStats
from guomi.bulk._keys import LocalKeys, ServiceKeys, clear_cache, new_wrapped_keys
from guomi.bulk._transform import OPERATIONS, BatchTransform

__all__ = [
    "DEFAULT_FILE_TABLE",
    "OPERATIONS",
    "BatchTransform",
    "BulkError",
    "BulkInputError",
    "BulkValueError",
    "ColumnCipher",
    "ColumnSpec",
    "ColumnStats",
    "Job",
    "LocalKeys",
    "OutputExistsError",
    "ServiceKeys",
    "Summary",
    "clear_cache",
    "new_wrapped_keys",
    "parse_columns",
]
