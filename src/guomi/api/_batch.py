"""Plain-value forms of batch results, for the server's high-volume batch path.

Layer: ``guomi.api``.  A 1,000-item encrypt or decrypt batch is answered
without a pydantic object per item: the engine returns plain dicts of these
``TypedDict`` shapes and the HTTP layer serialises the list with
:data:`ENCRYPT_BATCH_RESULTS` / :data:`DECRYPT_BATCH_RESULTS` (pydantic-core,
in Rust).  The JSON is exactly what :class:`~guomi.api.EncryptResponse` /
:class:`~guomi.api.DecryptResponse` write for their ``batch_results`` (a
contract test in ``tests/kms/test_api_models.py`` checks it), so clients see
one schema whichever path served them.

The server writes the whole reply body, ``{"data":{"batch_results":[...]}}``, with
:data:`ENCRYPT_BATCH_REPLY` / :data:`DECRYPT_BATCH_REPLY` in one serialisation:
wrapping the list's JSON afterwards (``prefix + results + suffix``) copied the
~1.4 MB body twice, which cost twice the serialisation itself (perf-batch,
bench/RESULTS.md).
"""

from __future__ import annotations

from typing import NotRequired

from pydantic import TypeAdapter
from typing_extensions import TypedDict

__all__ = [
    "DECRYPT_BATCH_REPLY",
    "DECRYPT_BATCH_RESULTS",
    "ENCRYPT_BATCH_REPLY",
    "ENCRYPT_BATCH_RESULTS",
    "DecryptBatchItem",
    "EncryptBatchItem",
    "FailedBatchItem",
]


class EncryptBatchItem(TypedDict):
    """:class:`~guomi.api.EncryptResult` as a dict; ``ciphertext`` is the token's ASCII bytes
    (written as the same JSON string: tokens need no escaping, and no per-item ``str`` is made)."""

    ciphertext: bytes
    key_version: int
    reference: NotRequired[str]


class DecryptBatchItem(TypedDict):
    """:class:`~guomi.api.DecryptResult` as a dict; ``plaintext`` is already its base64 text
    (ASCII bytes, written as the JSON string)."""

    plaintext: bytes
    key_version: int
    reference: NotRequired[str]


class FailedBatchItem(TypedDict):
    """:class:`~guomi.api.BatchItemError` as a dict."""

    error: str
    code: str
    reference: NotRequired[str]


#: Serialises the ``batch_results`` list of a plain encrypt batch.
ENCRYPT_BATCH_RESULTS: TypeAdapter[list[EncryptBatchItem | FailedBatchItem]] = TypeAdapter(
    list[EncryptBatchItem | FailedBatchItem]
)
#: Serialises the ``batch_results`` list of a plain decrypt batch.
DECRYPT_BATCH_RESULTS: TypeAdapter[list[DecryptBatchItem | FailedBatchItem]] = TypeAdapter(
    list[DecryptBatchItem | FailedBatchItem]
)


class _EncryptBatchData(TypedDict):
    batch_results: list[EncryptBatchItem | FailedBatchItem]


class _DecryptBatchData(TypedDict):
    batch_results: list[DecryptBatchItem | FailedBatchItem]


class EncryptBatchReply(TypedDict):
    """The server's reply body to a plain encrypt batch: ``{"data": {"batch_results": [...]}}``
    (the dispatcher's ``{"data": ...}`` envelope around :class:`~guomi.api.EncryptResponse`)."""

    data: _EncryptBatchData


class DecryptBatchReply(TypedDict):
    """The server's reply body to a plain decrypt batch (as :class:`EncryptBatchReply`)."""

    data: _DecryptBatchData


#: Serialises the whole reply body of a plain encrypt batch in one pass.
ENCRYPT_BATCH_REPLY: TypeAdapter[EncryptBatchReply] = TypeAdapter(EncryptBatchReply)
#: Serialises the whole reply body of a plain decrypt batch in one pass.
DECRYPT_BATCH_REPLY: TypeAdapter[DecryptBatchReply] = TypeAdapter(DecryptBatchReply)
