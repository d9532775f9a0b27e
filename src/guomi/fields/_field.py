"""``Field``: one encrypted database column and its blind indexes (``docs/spec/field.md``).

Layer: ``guomi.fields``. A :class:`Field` is declared once per ``table.column`` and used by
every integration (SQLAlchemy, Django, DB-API, bulk jobs):

>>> from guomi.keys import Keyset
>>> email = Field("customer", "email", Keyset.generate(),
...               indexes=[BlindIndex("email_bidx", "casefold", bits=16)])
>>> token = email.encrypt("Zhang@Bank.cn", context=b"42")
>>> email.decrypt(token, context=b"42")
'Zhang@Bank.cn'
>>> email.index("email_bidx", "zhang@bank.CN") == email.index("email_bidx", "Zhang@Bank.cn")
True

Batch forms (``encrypt_many``, ``decrypt_many``, ``index_many``) and the Arrow-layout packed
forms (``encrypt_packed``, ``decrypt_packed``, ``index_packed``) run in the Rust kernel over
the whole batch with the GIL released.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Final

from guomi.exceptions import InvalidArgumentError
from guomi.fields._codec import TYPE_BYTES, TYPE_STR, decode_value, encode_value
from guomi.fields._index import BlindIndex
from guomi.fields._keyring import Keyring, KeySnapshot, as_keyring
from guomi.fields._keys import column_keys, index_key, index_root
from guomi.fields._token import token_info
from guomi.primitives.field import BlindIndexKernel, FieldCipher

__all__ = ["SUITE_IDS", "Field"]

SUITE_IDS: Final = {"sm4-gcm": 0x01, "sm4-siv": 0x02}

Context = bytes | bytearray | memoryview | str | int | None


def _context(ctx: Context) -> bytes | None:
    """Row context as bytes: bytes as is, str as UTF-8, int as its decimal digits."""
    if ctx is None:
        return None
    if isinstance(ctx, bytes):
        return ctx
    if isinstance(ctx, bytearray | memoryview):
        return bytes(ctx)
    if isinstance(ctx, str):
        return ctx.encode("utf-8")
    if isinstance(ctx, int) and not isinstance(ctx, bool):
        return str(ctx).encode("ascii")
    raise InvalidArgumentError(f"context must be bytes, str or int, not {type(ctx).__name__}")


def _contexts(contexts: Iterable[Context] | None, n: int) -> list[bytes | None] | None:
    if contexts is None:
        return None
    out = [_context(c) for c in contexts]
    if len(out) != n:
        raise InvalidArgumentError(f"{len(out)} contexts for {n} values")
    return out


def _offset_width(offsets: Any, data: Any, offset_width: int | None) -> int:
    """Width of the offsets' entries: given, from a typed memoryview, or from consistency."""
    if offset_width is not None:
        if offset_width not in (4, 8):
            raise InvalidArgumentError("offset_width must be 4 (int32) or 8 (int64)")
        return offset_width
    mv = memoryview(offsets)
    if mv.format in ("i", "l", "q", "<i", "<q", "=i", "=q") and mv.itemsize in (4, 8):
        return mv.itemsize
    raw = mv if mv.format == "B" else mv.cast("B")
    n_data = memoryview(data).nbytes
    fits = []
    for w, fmt in ((4, "<i"), (8, "<q")):
        if len(raw) >= w and len(raw) % w == 0 and struct.unpack_from(fmt, raw, len(raw) - w)[0] == n_data:
            fits.append(w)
    if len(fits) == 1:
        return fits[0]
    raise InvalidArgumentError("cannot tell int32 from int64 offsets here: pass offset_width=4 or 8")


def _view(obj: Any) -> Any:
    """A zero-copy unsigned-byte view of any buffer (pyarrow exports format 'b', the kernel wants 'B')."""
    if obj is None or type(obj) is bytes:
        return obj
    mv = memoryview(obj)
    return mv if mv.format == "B" and mv.ndim == 1 else mv.cast("B")


class _State:
    """Kernels built from one key snapshot."""

    __slots__ = ("cipher", "generation", "indexes", "primary")

    def __init__(self, field: Field, snap: KeySnapshot, generation: object) -> None:
        self.generation = generation
        self.primary = snap.primary
        keys = [(kid, *column_keys(m, field.table, field.column)) for kid, m in snap.material.items()]
        self.cipher = FieldCipher(
            field.table.encode("utf-8"), field.column.encode("utf-8"), field.suite_id, keys, snap.primary
        )
        self.indexes: dict[str, BlindIndexKernel] = {}
        for name, idx in field.indexes.items():
            kid = idx.key_id if idx.key_id is not None else snap.first_key
            material = snap.material.get(kid)
            if material is None:
                raise InvalidArgumentError(
                    f"blind index {name!r} is keyed by key {kid}, which is not enabled in the keyring "
                    "(reindex under another key_id before disabling or destroying it)"
                )
            key = index_key(
                index_root(material),
                field.table,
                field.column,
                name,
                bits=idx.bits,
                iterations=idx.slow_iterations,
            )
            code, n = idx.kernel_transform or (0, 0)
            self.indexes[name] = BlindIndexKernel(key, idx.bits, idx.slow_iterations, code, n)


class Field:
    """An encrypted column ``table.column`` with its blind indexes.

    ``keyring``: a :class:`~guomi.keys.Keyset` or a keyring (:class:`ServiceKeyring`).
    ``suite``: ``"sm4-gcm"`` (randomized, the default) or ``"sm4-siv"`` (deterministic:
    equal values in the same cell position give equal ciphertexts, for joins and unique
    constraints; see the spec's leakage section).
    """

    def __init__(
        self,
        table: str,
        column: str,
        keyring: Any,
        indexes: Sequence[BlindIndex] = (),
        suite: str = "sm4-gcm",
    ) -> None:
        if not isinstance(table, str) or not table or not isinstance(column, str) or not column:
            raise InvalidArgumentError("table and column must be non-empty strings")
        if suite not in SUITE_IDS:
            raise InvalidArgumentError(f"unknown field suite {suite!r}: use one of {sorted(SUITE_IDS)}")
        self.table = table
        self.column = column
        self.suite = suite
        self.suite_id = SUITE_IDS[suite]
        self.keyring: Keyring = as_keyring(keyring)
        self.indexes: dict[str, BlindIndex] = {}
        for idx in indexes:
            if not isinstance(idx, BlindIndex):
                raise InvalidArgumentError("indexes must be BlindIndex objects")
            if idx.name in self.indexes:
                raise InvalidArgumentError(f"two blind indexes are named {idx.name!r}")
            self.indexes[idx.name] = idx
        self._state: _State | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Field({self.table!r}, {self.column!r}, indexes={list(self.indexes)}, suite={self.suite!r})"

    # ------------------------------------------------------------ keys

    def _kernels(self) -> _State:
        gen = (self.keyring.generation(), tuple(self.indexes))
        st = self._state
        if st is None or st.generation != gen:
            with self._lock:
                st = self._state
                if st is None or st.generation != gen:
                    st = _State(self, self.keyring.snapshot(), gen)
                    self._state = st
        return st

    @property
    def primary_key_id(self) -> int:
        """The key version new values are encrypted under."""
        return self._kernels().primary

    def blind_index(self, name: str) -> BlindIndex:
        """The declared index called ``name``; :class:`InvalidArgumentError` naming the known ones."""
        try:
            return self.indexes[name]
        except KeyError:
            raise InvalidArgumentError(
                f"field {self.table}.{self.column} has no blind index {name!r} "
                f"(it has: {sorted(self.indexes)})"
            ) from None

    # ------------------------------------------------------------ encryption

    def encrypt(self, value: Any, context: Context = None) -> str:
        """The ``gm1.`` text of ``value`` bound to this table, column and ``context``."""
        if value is None:
            raise InvalidArgumentError("None is stored as SQL NULL, not encrypted")
        if context is None and (type(value) is str or type(value) is bytes):
            fast: str = self._kernels().cipher.encrypt_list([value], None, None, False, True)[0]
            return fast
        out: str = self.encrypt_many([value], None if context is None else [context])[0]
        return out

    def encrypt_binary(self, value: Any, context: Context = None) -> bytes:
        """The binary form (BLOB/BYTEA columns) of ``value``."""
        if value is None:
            raise InvalidArgumentError("None is stored as SQL NULL, not encrypted")
        out: bytes = self.encrypt_many([value], None if context is None else [context], binary=True)[0]
        return out

    def encrypt_many(
        self, values: Sequence[Any], contexts: Iterable[Context] | None = None, *, binary: bool = False
    ) -> list[Any]:
        """Encrypt a list in one kernel call (GIL released); ``None`` items stay ``None``."""
        values = values if isinstance(values, list) else list(values)
        ctx = _contexts(contexts, len(values))
        cipher = self._kernels().cipher
        if all(type(v) is str or type(v) is bytes or v is None for v in values):
            return cipher.encrypt_list(values, ctx, None, False, not binary)
        tagged = [None if v is None else _tagged(v) for v in values]
        return cipher.encrypt_list(tagged, ctx, None, True, not binary)

    def decrypt(self, token: str | bytes, context: Context = None) -> Any:
        """The value of a field value made for this cell; :class:`InvalidTag` otherwise."""
        if token is None:
            raise InvalidArgumentError("a NULL column has no value to decrypt")
        return self.decrypt_many([token], None if context is None else [context])[0]

    def decrypt_many(self, tokens: Sequence[Any], contexts: Iterable[Context] | None = None) -> list[Any]:
        """Decrypt a list in one kernel call; ``None`` stays ``None``. The first bad value raises,
        naming its position."""
        tokens = tokens if isinstance(tokens, list) else list(tokens)
        ctx = _contexts(contexts, len(tokens))
        out = self._kernels().cipher.decrypt_list(tokens, ctx)
        for i, v in enumerate(out):
            if type(v) is tuple:
                out[i] = decode_value(v[0], v[1])
        return out

    def needs_rekey(self, token: str | bytes) -> bool:
        """True when ``token`` is not under the primary key version (``rekey`` would rewrite it)."""
        return token_info(token).key_id != self.primary_key_id

    def rekey_many(self, tokens: Sequence[Any], contexts: Iterable[Context] | None = None) -> list[Any]:
        """Decrypt under any version and re-encrypt under the primary (text stays text)."""
        tokens = list(tokens)
        ctx = None if contexts is None else list(contexts)
        values = self.decrypt_many(tokens, ctx)
        binary = any(isinstance(t, bytes | bytearray | memoryview) for t in tokens)
        return self.encrypt_many(values, ctx, binary=binary)

    # ------------------------------------------------------------ blind indexes

    def index(self, name: str, value: Any) -> int:
        """The blind index ``name`` of ``value`` (a non-negative integer below ``2**bits``)."""
        if value is None:
            raise InvalidArgumentError("None has no blind index (a NULL column's index is NULL)")
        if type(value) is str:
            idx = self.indexes.get(name)
            if idx is not None and idx.kernel_transform is not None:
                hashes, fallback = self._kernels().indexes[name].index_list([value], TYPE_STR)
                if not fallback and hashes[0] is not None:
                    return hashes[0]
        out = self.index_many(name, [value])[0]
        assert out is not None
        return out

    def index_many(self, name: str, values: Sequence[Any]) -> list[int | None]:
        """Blind indexes of a list in one kernel call; ``None`` items give ``None``."""
        idx = self.blind_index(name)
        kernel = self._kernels().indexes[name]
        values = values if isinstance(values, list) else list(values)
        if idx.kernel_transform is not None:
            if all(type(v) is str or v is None for v in values):
                out, fallback = kernel.index_list(values, TYPE_STR)
                self._fallback(idx, kernel, values, out, fallback)
                return out
            if idx.is_exact:
                return kernel.index_list(
                    [None if v is None else _tagged(v) for v in values], None, True, True
                )[0]
        tagged = [None if v is None else _tagged(idx.apply(v)) for v in values]
        return kernel.index_list(tagged, None, True, True)[0]

    @staticmethod
    def _fallback(
        idx: BlindIndex, kernel: BlindIndexKernel, values: Sequence[Any], out: list[Any], fallback: list[int]
    ) -> None:
        """Values the kernel could not transform (casefold of non-ASCII text) go through Python."""
        if not fallback:
            return
        redo = [_tagged(idx.apply(values[i])) for i in fallback]
        for i, h in zip(fallback, kernel.index_list(redo, None, True, True)[0], strict=True):
            out[i] = h

    # ------------------------------------------------------------ Arrow-layout (packed) API

    def encrypt_packed(
        self,
        offsets: Any,
        data: Any,
        *,
        contexts: Sequence[Context] | tuple[Any, Any] | None = None,
        type_tag: int = TYPE_STR,
        binary: bool = False,
        validity: Any = None,
        offset_width: int | None = None,
    ) -> tuple[bytes, bytes]:
        """Encrypt an Arrow-layout array: ``offsets`` (n+1 little-endian int32 or int64) and
        ``data`` (the values' bytes), any buffer-protocol objects, read without copying.

        Each value is taken as the canonical bytes of ``type_tag`` (:data:`TYPE_STR` for
        ``string``/``large_string`` arrays, :data:`TYPE_BYTES` for binary ones; other types'
        canonical forms are in ``docs/spec/field.md`` §7). ``contexts`` is a list of bytes or a
        packed ``(offsets, data)`` pair of the same width. Returns ``(offsets, data)`` of the
        ``gm1.`` texts (or binary values with ``binary=True``), offsets of the input's width.
        Null slots (bit 0 in the Arrow ``validity`` bitmap) come out empty; keep the bitmap.
        """
        width = _offset_width(offsets, data, offset_width)
        ctx = _packed_contexts(contexts)
        return self._kernels().cipher.encrypt_packed(
            _view(offsets), _view(data), width, ctx, type_tag, not binary, _view(validity)
        )

    def decrypt_packed(
        self,
        offsets: Any,
        data: Any,
        *,
        contexts: Sequence[Context] | tuple[Any, Any] | None = None,
        type_tag: int | None = TYPE_STR,
        validity: Any = None,
        offset_width: int | None = None,
    ) -> tuple[bytes, bytes]:
        """Decrypt an Arrow-layout array of field values (text or binary, mixed allowed) into
        ``(offsets, data)`` of canonical bytes. Every value must carry ``type_tag``
        (:class:`InvalidEncodingError` naming the position otherwise); with ``type_tag=None`` each
        output value keeps its one-byte tag in front. Null slots come out empty."""
        width = _offset_width(offsets, data, offset_width)
        ctx = _packed_contexts(contexts)
        return self._kernels().cipher.decrypt_packed(
            _view(offsets), _view(data), width, ctx, type_tag, _view(validity)
        )

    def index_packed(
        self,
        name: str,
        offsets: Any,
        data: Any,
        *,
        type_tag: int = TYPE_STR,
        validity: Any = None,
        offset_width: int | None = None,
    ) -> bytes:
        """Blind index ``name`` of every value of an Arrow-layout array: little-endian int64
        (n * 8 bytes, wrap with ``pyarrow.py_buffer`` as an ``int64`` array); nulls give 0."""
        idx = self.blind_index(name)
        kernel = self._kernels().indexes[name]
        width = _offset_width(offsets, data, offset_width)
        if idx.kernel_transform is not None and (idx.is_exact or type_tag == TYPE_STR):
            out, fallback = kernel.index_packed(_view(offsets), _view(data), width, type_tag, _view(validity))
            if not fallback:
                return out
            values = _unpack(offsets, data, width, fallback)
            patched = bytearray(out)
            redo = [_tagged(idx.apply(v.decode("utf-8"))) for v in values]
            for i, h in zip(fallback, kernel.index_list(redo, None, True, True)[0], strict=True):
                struct.pack_into("<q", patched, i * 8, h)
            return bytes(patched)
        # A callable or chained transform: Python per value (documented as the slow path).
        n = memoryview(offsets).nbytes // width - 1
        values = _unpack(offsets, data, width, range(n))
        valid = _validity(validity, n)
        typed = [
            None if not valid[i] else decode_value(type_tag, v) if type_tag != TYPE_BYTES else v
            for i, v in enumerate(values)
        ]
        hashes = self.index_many(name, typed)
        return struct.pack(f"<{n}q", *(0 if h is None else h for h in hashes))


def _tagged(value: Any) -> bytes:
    tag, raw = encode_value(value)
    return bytes((tag,)) + raw


def _packed_contexts(contexts: Sequence[Context] | tuple[Any, Any] | None) -> Any:
    if contexts is None:
        return None
    if isinstance(contexts, tuple):
        return (_view(contexts[0]), _view(contexts[1]))
    return [_context(c) for c in contexts]


def _unpack(offsets: Any, data: Any, width: int, positions: Iterable[int]) -> list[bytes]:
    offs = memoryview(offsets).cast("B")
    buf = memoryview(data).cast("B")
    fmt = "<i" if width == 4 else "<q"
    out = []
    for i in positions:
        start = struct.unpack_from(fmt, offs, i * width)[0]
        end = struct.unpack_from(fmt, offs, (i + 1) * width)[0]
        out.append(bytes(buf[start:end]))
    return out


def _validity(validity: Any, n: int) -> list[bool]:
    if validity is None:
        return [True] * n
    bits = memoryview(validity).cast("B")
    if len(bits) * 8 < n:
        raise InvalidArgumentError("validity bitmap is shorter than the array")
    return [bool(bits[i // 8] >> (i % 8) & 1) for i in range(n)]
