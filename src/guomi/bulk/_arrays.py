"""Arrow array plumbing for the field kernel: buffers in, buffers out, nulls kept aside.

Layer: ``guomi.bulk``. The kernel of ``guomi.fields`` works on the Arrow layout of a
variable-length column (an offsets buffer and a data buffer) and knows nothing of nulls;
this module hands it the buffers of a string/binary array without copying and rebuilds
an array of the same length, nulls where the input had them.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "VARIABLE_TYPES",
    "apply_packed",
    "is_text",
    "merge_masked",
    "offset_width",
    "packed_buffers",
]

VARIABLE_TYPES = (pa.string(), pa.large_string(), pa.binary(), pa.large_binary())

Packed = tuple[object, object]
"""``(offsets, data)``: any two buffers (bytes, bytearray, memoryview, pyarrow Buffer)."""


def is_text(type_: pa.DataType) -> bool:
    """String columns get the text armour; binary columns the binary form."""
    return bool(pa.types.is_string(type_) or pa.types.is_large_string(type_))


def offset_width(type_: pa.DataType) -> int:
    return 8 if (pa.types.is_large_string(type_) or pa.types.is_large_binary(type_)) else 4


def packed_buffers(array: pa.Array) -> Packed:
    """The ``(offsets, data)`` of a variable-length array, zero-copy (slices allowed)."""
    width = offset_width(array.type)
    _, offsets, data = array.buffers()
    start = array.offset * width
    # format "B": pyarrow exports signed bytes ("b"); the kernel takes unsigned byte buffers
    offsets_view = memoryview(offsets).cast("B")[start : start + (len(array) + 1) * width]
    return offsets_view, (memoryview(data).cast("B") if data is not None else b"")


def from_packed(type_: pa.DataType, length: int, packed: Packed) -> pa.Array:
    """An array over the kernel's output buffers (no copy of the data)."""
    offsets, data = packed
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(type_, length, buffers)


def apply_packed(
    array: pa.Array,
    out_type: pa.DataType,
    kernel: Callable[[object, object, int], Packed],
) -> pa.Array:
    """Run ``kernel(offsets, data, offset_width)`` over the non-null values; nulls stay null."""
    width = offset_width(array.type)
    if array.null_count == 0:
        return from_packed(out_type, len(array), kernel(*packed_buffers(array), width))
    valid = array.is_valid()
    present = array.filter(valid)
    done = from_packed(out_type, len(present), kernel(*packed_buffers(present), width))
    return merge_masked(pa.nulls(len(array), out_type), valid, done)


def merge_masked(base: pa.Array, mask: pa.Array, replacements: pa.Array) -> pa.Array:
    """``base`` with the positions where ``mask`` is true taken, in order, from ``replacements``."""
    if len(replacements) == 0:
        return base
    result: pa.Array = pc.replace_with_mask(base, mask, replacements)
    return result
