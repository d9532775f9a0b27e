"""Opening a batch of the custody service's ``sm4-gcm`` ciphertext tokens in one call.

Layer: ``guomi.primitives`` (the Rust core's ``token`` module; ``guomi.kms`` uses it
for ``decrypt`` ``batch_input``).  The token format is ``docs/spec/token.md``
(§3 text form, §5 associated data, §6 key-committing SM4-GCM).

:class:`Sm4GcmTokenKey` holds one key version's derived encryption and commitment
keys (never shown in ``repr``, wiped when the object dies) and the fixed head of
its tokens' associated data.  :func:`sm4gcm_token_open_batch` takes
``(token, associated_data, reference)`` tuples and a ``resolve(version)`` callback
(called once per distinct version; ``None`` refuses the version), opens every item
with the GIL released and returns ``(texts, versions)``: per item the padded
standard base64 of the plaintext (ASCII ``bytes``, encoded in constant time) and
its key version, or ``None`` and 0 when the item cannot be opened for any reason.
It is exactly as strict as the service's single-token path, which the caller runs
for the ``None`` items to word their errors.

:func:`sm4gcm_token_open_batch_json` does the same and writes the service's whole
JSON reply body (``prefix``, one ``{"plaintext":...,"key_version":...}`` object per
item with its already-serialised ``reference``, ``suffix``) in one buffer, or
returns ``None`` as soon as one item does not open (then nothing of it is kept).
"""

from __future__ import annotations

from guomi import _rust

__all__ = ["Sm4GcmTokenKey", "sm4gcm_token_open_batch", "sm4gcm_token_open_batch_json"]

#: ``Sm4GcmTokenKey(enc_key[16], commit_key[32], ad_head)``.
Sm4GcmTokenKey = _rust.Sm4GcmTokenKey

#: ``sm4gcm_token_open_batch(items, resolve) -> (texts, versions)``.
sm4gcm_token_open_batch = _rust.sm4gcm_token_open_batch

#: ``sm4gcm_token_open_batch_json(items, resolve, prefix, suffix, references=None) -> bytes | None``.
sm4gcm_token_open_batch_json = _rust.sm4gcm_token_open_batch_json
