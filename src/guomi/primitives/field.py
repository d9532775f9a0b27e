"""The field-encryption kernel of the Rust core (hazmat; use :mod:`guomi.fields`).

Layer: ``guomi.primitives``. :class:`FieldCipher` encrypts and decrypts one column's values
in batches (``docs/spec/field.md``), :class:`BlindIndexKernel` computes one blind index; both
take already derived keys and run over whole lists or Arrow-layout packed buffers with the
GIL released. Key derivation, value typing and keyrings live in :mod:`guomi.fields`.
"""

from __future__ import annotations

from guomi import _rust

__all__ = ["FIELD_OVERHEAD", "BlindIndexKernel", "FieldCipher"]

FieldCipher = _rust.FieldCipher
BlindIndexKernel = _rust.BlindIndexKernel
#: Bytes a binary field value adds to the canonical value (header, nonce, type tag, tag).
FIELD_OVERHEAD: int = _rust.FIELD_OVERHEAD
