"""Decryptors for AES/RSA-era data, so ``migrate`` can turn it into SM4 field values.

Layer: ``guomi.bulk.legacy`` (uses pyca/cryptography for the old algorithms and
``guomi.primitives.sm2`` for the new wrap). Give each the old key; pass one to
``Job(..., operation="migrate", legacy=...)`` (or ``guomi table migrate --from ...``)::

    from guomi.bulk import Job
    from guomi.bulk.legacy import FernetDecryptor
    Job("old.csv", "new.csv", columns=["ssn"], operation="migrate",
        legacy=FernetDecryptor([fernet_key]), keyring=keyset).run()

RSA-wrapped data keys are re-wrapped to SM2 by :class:`RsaToSm2Rewrapper` without touching
the payload they protect; whole columns with ``Job(..., operation="rewrap",
legacy=RsaToSm2Rewrapper(...))`` (``guomi table rewrap``), no guomi keyring needed.
"""

from guomi.bulk.legacy._aes import (
    AesGcmIv12Decryptor,
    FernetDecryptor,
    MySQLAesDecryptor,
    SparkAesDecryptor,
    VaultTransitDecryptor,
    mysql_fold_key,
)
from guomi.bulk.legacy._base import LegacyDecryptor, LegacyFormatError
from guomi.bulk.legacy._rewrap import RewrapTransform
from guomi.bulk.legacy._rsa import RsaToSm2Rewrapper, RsaWrappedKeyDecryptor

__all__ = [
    "AesGcmIv12Decryptor",
    "FernetDecryptor",
    "LegacyDecryptor",
    "LegacyFormatError",
    "MySQLAesDecryptor",
    "RewrapTransform",
    "RsaToSm2Rewrapper",
    "RsaWrappedKeyDecryptor",
    "SparkAesDecryptor",
    "VaultTransitDecryptor",
    "mysql_fold_key",
]
