"""The field-encryption kernel of the Rust core (hazmat; use :mod:`guomi.fields`).

Layer: ``guomi.primitives``. :class:`FieldCipher` encrypts and decrypts one column's values
in batches (``docs/spec/field.md``), :class:`BlindIndexKernel` computes one blind index; both
take already derived keys and run over whole lists or Arrow-layout packed buffers with the
GIL released. :func:`csv_encrypt_block` encrypts columns of a simple CSV block in one pass
(the fast path of :mod:`guomi.bulk`'s CSV jobs). Key derivation, value typing and keyrings
live in :mod:`guomi.fields`.
"""

from __future__ import annotations

from guomi import _rust

__all__ = ["FIELD_OVERHEAD", "BlindIndexKernel", "FieldCipher", "csv_encrypt_block"]

FieldCipher = _rust.FieldCipher
BlindIndexKernel = _rust.BlindIndexKernel
#: ``csv_encrypt_block(block, ncols, [(column_index, FieldCipher), ...], type_tag=1)``:
#: ``(csv_bytes, rows, [(processed, skipped), ...])``, or ``None`` for a block that is not
#: quote-free LF/CRLF UTF-8 with ``ncols`` fields per row (``guomi_core::field::csv``).
csv_encrypt_block = _rust.field_csv_encrypt_block
#: Bytes a binary field value adds to the canonical value (header, nonce, type tag, tag).
FIELD_OVERHEAD: int = _rust.FIELD_OVERHEAD
