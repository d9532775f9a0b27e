"""Transit: encrypt, decrypt, rewrap, datakey (single items, batches, and plain batches).

Layer: ``guomi.kms.service`` (internal).  The key's type (:mod:`._keytypes`)
says whether it can encrypt; the token construction is :mod:`._token`'s.

Plain batches (:meth:`TransitOps.encrypt_batch`, :meth:`TransitOps.decrypt_batch`)
take ``batch_input`` as plain tuples and return plain dicts typed by
:data:`guomi.api.EncryptBatchItem` / :data:`guomi.api.DecryptBatchItem`, so a
1,000-item request builds no pydantic object per item in or out (that cost more
than the cryptography); the HTTP layer serialises them with the one
``TypeAdapter`` of ``guomi.api``.  Same checks, same per-item errors in the
same order, and the same single audit record per request as :meth:`encrypt` /
:meth:`decrypt`.  A plain ``decrypt`` batch of an ``sm4-gcm`` key is opened in one
Rust call (:mod:`guomi.primitives.token_batch`: parse, commitment, SM4-GCM and
base64 per item, the GIL released); the version checks run once per version the
batch names, and any item it does not open takes the single-item path, which
opens it or raises its exact per-item error.
"""

from __future__ import annotations

import binascii
import os
from collections.abc import Callable, Sequence
from typing import Any

from pydantic_core import to_json

from guomi import api
from guomi.exceptions import InvalidSignature, InvalidTag
from guomi.kms._crypto import (
    NONCE_SIZE,
    Sm4GcmTokenKey,
    sm4gcm_token_open_batch,
    sm4gcm_token_open_batch_json,
)
from guomi.kms.errors import BadRequestError, KMSError, NotFoundError
from guomi.kms.service import _token
from guomi.kms.service._context import Caller
from guomi.kms.service._keyrecords import KeyMeta
from guomi.kms.service._keys import KeyOps, batch_item_error
from guomi.kms.service._keytypes import KeyType, Material

__all__ = ["TransitOps"]

#: One plain encrypt item: (plaintext, associated data, reference).
PlainEncryptItem = tuple[bytes, bytes | None, str | None]
#: One plain decrypt item: (ciphertext token, associated data, reference).
PlainDecryptItem = tuple[str, bytes | None, str | None]


def _reply_frame() -> tuple[bytes, bytes]:
    """What the reply adapter writes before and after the ``batch_results`` items."""
    empty = api.DECRYPT_BATCH_REPLY.dump_json({"data": {"batch_results": []}})
    head, tail = empty.split(b"[]")
    return head + b"[", b"]" + tail


#: (prefix, suffix) of a plain decrypt batch's reply body, for the Rust writer.
_REPLY_FRAME = _reply_frame()


def _failed(exc: Exception, reference: str | None) -> api.FailedBatchItem:
    e = batch_item_error(exc, reference)
    d: api.FailedBatchItem = {"error": e.error, "code": e.code}
    if reference is not None:
        d["reference"] = reference
    return d


class TransitOps(KeyOps):
    """``encrypt``, ``decrypt``, ``rewrap``, ``datakey``."""

    def _decrypt_one(
        self,
        meta: KeyMeta,
        kt: KeyType,
        token: str,
        ad: bytes | None,
        material: Callable[[int], Material],
    ) -> tuple[bytes, int]:
        header, body = _token.parse(token, kt.name)
        v = self._decryption_version(meta, header.key_version)
        return material(v).decrypt(meta.name, header, body, ad), v

    def encrypt(self, caller: Caller, name: str, req: api.EncryptRequest) -> api.EncryptResponse:
        """``POST encrypt/{name}``."""
        with self._op(caller, "encrypt", f"encrypt/{name}", name, ("encrypt",)) as extra:
            meta, _ = self._key_for(name, "encrypt", rotate=True)
            material = self._material_memo(meta)

            def one(item: Any) -> api.EncryptResult:
                if item.plaintext is None:
                    raise BadRequestError("plaintext: required", field="plaintext")
                v = self._encryption_version(meta, item.key_version)
                token = material(v).encrypt(
                    name, item.plaintext, item.associated_data, os.urandom(NONCE_SIZE)
                )
                # The validating constructor (pydantic-core, Rust) is about twice as fast as
                # model_construct (Python) for these three plain fields (hot batch path).
                return api.EncryptResult(
                    ciphertext=token.decode("ascii"),
                    key_version=v,
                    reference=getattr(item, "reference", None),
                )

            single, batch = self._batch(req, req.batch_input, ("plaintext",), one)
            extra["key_version"] = meta.latest
            if batch is not None:
                extra["batch"] = len(batch)
                return api.EncryptResponse(batch_results=batch)
            assert single is not None
            extra["ciphertext"] = self.audit.hmac(single.ciphertext)
            return api.EncryptResponse(ciphertext=single.ciphertext, key_version=single.key_version)

    def decrypt(self, caller: Caller, name: str, req: api.DecryptRequest) -> api.DecryptResponse:
        """``POST decrypt/{name}``."""
        with self._op(caller, "decrypt", f"decrypt/{name}", name, ("decrypt",)) as extra:
            meta, kt = self._key_for(name, "decrypt")
            material = self._material_memo(meta)

            def one(item: Any) -> api.DecryptResult:
                if item.ciphertext is None:
                    raise BadRequestError("ciphertext: required", field="ciphertext")
                pt, v = self._decrypt_one(meta, kt, item.ciphertext, item.associated_data, material)
                return api.DecryptResult(
                    plaintext=pt, key_version=v, reference=getattr(item, "reference", None)
                )

            if req.ciphertext is not None:
                extra["ciphertext"] = self.audit.hmac(req.ciphertext)
            single, batch = self._batch(req, req.batch_input, ("ciphertext",), one)
            if batch is not None:
                extra["batch"] = len(batch)
                return api.DecryptResponse(batch_results=batch)
            assert single is not None
            extra["key_version"] = single.key_version
            return api.DecryptResponse(plaintext=single.plaintext, key_version=single.key_version)

    def encrypt_batch(
        self, caller: Caller, name: str, items: Sequence[PlainEncryptItem]
    ) -> list[api.EncryptBatchItem | api.FailedBatchItem]:
        """:meth:`encrypt` of a ``batch_input`` without ``key_version`` (the latest), as plain values."""
        with self._op(caller, "encrypt", f"encrypt/{name}", name, ("encrypt",)) as extra:
            meta, _ = self._key_for(name, "encrypt", rotate=True)
            self._check_batch_size(len(items))
            material = self._material_memo(meta)
            out: list[api.EncryptBatchItem | api.FailedBatchItem] = []
            append = out.append
            # All the batch's nonces in one os.urandom call: each call releases and retakes
            # the GIL, and with the server's other threads waiting that cost more than the
            # encryption (py-spy: 63% of the samples on a per-item call).
            ns = NONCE_SIZE
            nonces = os.urandom(ns * len(items))
            # Every item uses the latest version: chosen (or refused, for every item) once.
            try:
                v = self._encryption_version(meta, None)
                encrypt = material(v).encrypt
            except KMSError as exc:
                return [_failed(exc, ref) for _, _, ref in items]
            for i, (pt, ad, ref) in enumerate(items):
                try:
                    tok = encrypt(name, pt, ad, nonces[i * ns : (i + 1) * ns])
                except (KMSError, InvalidTag, InvalidSignature) as exc:
                    append(_failed(exc, ref))
                    continue
                d: api.EncryptBatchItem = {"ciphertext": tok, "key_version": v}
                if ref is not None:
                    d["reference"] = ref
                append(d)
            extra["key_version"] = meta.latest
            extra["batch"] = len(items)
            return out

    def decrypt_batch(
        self, caller: Caller, name: str, items: Sequence[PlainDecryptItem]
    ) -> list[api.DecryptBatchItem | api.FailedBatchItem]:
        """:meth:`decrypt` of a ``batch_input`` as plain values (plaintexts as base64 text)."""
        with self._op(caller, "decrypt", f"decrypt/{name}", name, ("decrypt",)) as extra:
            meta, kt = self._key_for(name, "decrypt")
            self._check_batch_size(len(items))
            extra["batch"] = len(items)
            return self._decrypt_items(meta, kt, name, items)

    def decrypt_batch_reply(self, caller: Caller, name: str, items: Sequence[PlainDecryptItem]) -> bytes:
        """:meth:`decrypt_batch` as the reply body ``{"data": {"batch_results": [...]}}``, the bytes
        :data:`guomi.api.DECRYPT_BATCH_REPLY` writes.  When every item of an ``sm4-gcm`` batch
        opens, Rust writes the body directly (no per-item object at all); otherwise the items
        are built as in :meth:`decrypt_batch` and serialised by the adapter."""
        with self._op(caller, "decrypt", f"decrypt/{name}", name, ("decrypt",)) as extra:
            meta, kt = self._key_for(name, "decrypt")
            self._check_batch_size(len(items))
            extra["batch"] = len(items)
            if kt.batch_decrypt:
                batch = items if type(items) is list else list(items)
                refs = None
                if any(ref is not None for _, _, ref in batch):
                    # Each reference as the adapter writes a str (same escaping).
                    refs = [None if ref is None else to_json(ref) for _, _, ref in batch]
                body = sm4gcm_token_open_batch_json(
                    batch, self._opener(meta, name, self._material_memo(meta)), *_REPLY_FRAME, refs
                )
                if body is not None:
                    return body
            out = self._decrypt_items(meta, kt, name, items)
            return api.DECRYPT_BATCH_REPLY.dump_json({"data": {"batch_results": out}})

    def _opener(
        self, meta: KeyMeta, name: str, material: Callable[[int], Material]
    ) -> Callable[[int], Sm4GcmTokenKey | None]:
        def opener(v: int) -> Sm4GcmTokenKey | None:
            # The single-item path's version checks, once per version the batch names;
            # a refused version's items are left to that path, which words the error.
            try:
                return material(self._decryption_version(meta, v)).batch_opener(name)
            except KMSError:
                return None

        return opener

    def _decrypt_items(
        self, meta: KeyMeta, kt: KeyType, name: str, items: Sequence[PlainDecryptItem]
    ) -> list[api.DecryptBatchItem | api.FailedBatchItem]:
        material = self._material_memo(meta)
        n = len(items)
        texts: list[bytes | None]
        versions: list[int]
        if kt.batch_decrypt:
            # Parse, commitment, SM4-GCM and base64 of every item in one Rust call,
            # the GIL released: per item in Python this cost ~4x the cryptography.
            batch = items if type(items) is list else list(items)
            texts, versions = sm4gcm_token_open_batch(batch, self._opener(meta, name, material))
        else:
            texts, versions = [None] * n, [0] * n
        b64 = binascii.b2a_base64
        out: list[api.DecryptBatchItem | api.FailedBatchItem] = []
        append = out.append
        for (token, ad, ref), opened, version in zip(items, texts, versions, strict=True):
            if opened is None:
                # Not opened in bulk (malformed, refused, forged or another type): the
                # single-item path opens it or raises its exact per-item error.
                try:
                    pt, v = self._decrypt_one(meta, kt, token, ad, material)
                except (KMSError, InvalidTag, InvalidSignature) as exc:
                    append(_failed(exc, ref))
                    continue
                d: api.DecryptBatchItem = {"plaintext": b64(pt, newline=False), "key_version": v}
            else:
                d = {"plaintext": opened, "key_version": version}
            if ref is not None:
                d["reference"] = ref
            append(d)
        return out

    def rewrap(self, caller: Caller, name: str, req: api.RewrapRequest) -> api.RewrapResponse:
        """``POST rewrap/{name}``: decrypt and re-encrypt inside the service; plaintext never leaves."""
        with self._op(caller, "rewrap", f"rewrap/{name}", name, ("rewrap",)) as extra:
            meta, kt = self._key_for(name, "encrypt", rotate=True)
            material = self._material_memo(meta)

            def one(item: Any) -> api.RewrapResult:
                if item.ciphertext is None:
                    raise BadRequestError("ciphertext: required", field="ciphertext")
                pt, _ = self._decrypt_one(meta, kt, item.ciphertext, item.associated_data, material)
                v = self._encryption_version(meta, item.key_version)
                token = material(v).encrypt(name, pt, item.associated_data, os.urandom(NONCE_SIZE))
                return api.RewrapResult(
                    ciphertext=token.decode("ascii"),
                    key_version=v,
                    reference=getattr(item, "reference", None),
                )

            single, batch = self._batch(req, req.batch_input, ("ciphertext",), one)
            extra["key_version"] = meta.latest
            if batch is not None:
                extra["batch"] = len(batch)
                return api.RewrapResponse(batch_results=batch)
            assert single is not None
            return api.RewrapResponse(ciphertext=single.ciphertext, key_version=single.key_version)

    def datakey(self, caller: Caller, name: str, kind: str, req: api.DatakeyRequest) -> api.DatakeyResponse:
        """``POST datakey/{plaintext|wrapped}/{name}``: a fresh SM4 key (``bits``).

        ``plaintext`` needs ``datakey`` and ``decrypt`` (it amounts to both)."""
        if kind not in ("plaintext", "wrapped"):
            raise NotFoundError("datakey kind must be 'plaintext' or 'wrapped'")
        need = ("datakey", "decrypt") if kind == "plaintext" else ("datakey",)
        with self._op(caller, f"datakey-{kind}", f"datakey/{kind}/{name}", name, need) as extra:
            meta, _ = self._key_for(name, "encrypt", rotate=True)
            v = self._encryption_version(meta, None)
            dek = os.urandom(req.bits // 8)
            token = self._material(meta, v).encrypt(name, dek, req.associated_data, os.urandom(NONCE_SIZE))
            extra["key_version"] = v
            return api.DatakeyResponse(
                ciphertext=token.decode("ascii"),
                key_version=v,
                plaintext=dek if kind == "plaintext" else None,
            )
