"""Routes ``/v1/encrypt``, ``/v1/decrypt``, ``/v1/rewrap``.

Layer: ``guomi.kms.http`` (translation only).  A well-formed encrypt or decrypt
``batch_input`` takes the plain path: one pydantic-core JSON parse and strict
base64 into tuples (:func:`plain_batch`), the engine's plain batch methods, one
``TypeAdapter`` serialisation of the whole reply body; anything not certainly valid
takes the model path, so every error body is the model path's.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json

from guomi import api
from guomi.kms.http._routes import Call, Reply, Route

__all__ = ["ROUTES", "PlainBatch", "plain_batch"]

_a2b = binascii.a2b_base64


@dataclass(frozen=True, slots=True)
class PlainBatch:
    """A ``batch_input`` as ``(plaintext bytes | ciphertext str, associated_data, reference)``."""

    items: list[tuple[Any, bytes | None, str | None]]


def plain_batch(main: str, decode_main: bool, raw: bytes) -> PlainBatch | None:
    """The items of a well-formed ``{"batch_input": [...]}`` body, or ``None``.

    ``None`` means "not certainly valid": the request then takes the model path,
    which produces every error body.  So this only has to accept precisely what the
    strict request models accept: one JSON parse, ``type() is`` checks, and base64
    with the rules of ``B64Bytes`` (standard alphabet, padded, no whitespace; a
    non-ASCII str raises ValueError).  Only the item keys (main field,
    ``associated_data``, ``reference``) are taken; anything else (``key_version``)
    takes the model path."""
    if b"batch_input" not in raw:
        return None
    allowed = {main, "associated_data", "reference"}
    out: list[tuple[Any, bytes | None, str | None]] = []
    append = out.append
    # Every "not plain" case raises ValueError (as binascii.Error and from_json do).
    try:
        doc = from_json(raw)
        items = doc.get("batch_input") if type(doc) is dict and len(doc) == 1 else None
        if type(items) is not list:
            raise ValueError
        for it in items:
            if type(it) is not dict:
                raise ValueError
            value = it.get(main)
            if type(value) is not str:
                raise ValueError
            ad = ref = None
            if len(it) > 1:
                if not it.keys() <= allowed:
                    raise ValueError
                ad = it.get("associated_data")
                if ad is not None:
                    if type(ad) is not str:
                        raise ValueError
                    ad = _a2b(ad, strict_mode=True)
                ref = it.get("reference")
                if ref is not None and type(ref) is not str:
                    raise ValueError
            append((_a2b(value, strict_mode=True) if decode_main else value, ad, ref))
    except ValueError:
        return None
    return PlainBatch(out)


def _encrypt(c: Call) -> Any:
    if isinstance(c.body, PlainBatch):
        items = c.engine.encrypt_batch(c.who, c.name, c.body.items)
        # The whole body in one serialisation: wrapping the list's JSON copied it twice.
        return Reply(200, api.ENCRYPT_BATCH_REPLY.dump_json({"data": {"batch_results": items}}))
    return c.engine.encrypt(c.who, c.name, c.body)


def _decrypt(c: Call) -> Any:
    if isinstance(c.body, PlainBatch):
        return Reply(200, c.engine.decrypt_batch_reply(c.who, c.name, c.body.items))
    return c.engine.decrypt(c.who, c.name, c.body)


ROUTES = (
    Route(
        "POST",
        "/encrypt/{name}",
        _encrypt,
        api.EncryptRequest,
        api.EncryptResponse,
        ("encrypt",),
        "Ciphertext tokens for base64 plaintexts (``batch_input`` for many).",
        "encryption",
        fast_parse=lambda raw: plain_batch("plaintext", True, raw),
    ),
    Route(
        "POST",
        "/decrypt/{name}",
        _decrypt,
        api.DecryptRequest,
        api.DecryptResponse,
        ("decrypt",),
        "Plaintexts of ciphertext tokens.",
        "encryption",
        fast_parse=lambda raw: plain_batch("ciphertext", False, raw),
    ),
    Route(
        "POST",
        "/rewrap/{name}",
        lambda c: c.engine.rewrap(c.who, c.name, c.body),
        api.RewrapRequest,
        api.RewrapResponse,
        ("rewrap",),
        "Re-encrypts under the latest (or a chosen) version; the plaintext never leaves.",
        "encryption",
    ),
)
