"""HTTP routes of the root and seal life cycle (Vault's paths): ``sys/generate-root/*``,
``sys/rekey/*``, ``sys/rotate``.

Layer: ``guomi.kms.runtime``.  Translation only: parse the JSON body, call
:class:`~guomi.kms.seal.SealLifecycle` in a worker thread (it reads and writes storage), answer
``{"data": ...}`` or the usual ``{"errors": [...]}``.  generate-root and rekey are gated by
unseal shares (as in Vault) and throttled with the unseal submissions; cancelling needs the
attempt's nonce; ``sys/rotate`` needs a root token.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from guomi.kms.errors import BadRequestError, ForbiddenError, KMSError

__all__ = ["LIFECYCLE_PATHS", "handle_lifecycle"]

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

LIFECYCLE_PATHS = frozenset(
    {
        "/v1/sys/generate-root/attempt",
        "/v1/sys/generate-root/update",
        "/v1/sys/rekey/init",
        "/v1/sys/rekey/update",
        "/v1/sys/rekey/verify",
        "/v1/sys/rotate",
    }
)


def _json(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        doc = json.loads(body)
    except ValueError:
        raise BadRequestError("body: not valid JSON") from None
    if not isinstance(doc, dict):
        raise BadRequestError("body: expected a JSON object")
    return doc


def _share(doc: dict[str, Any]) -> bytes:
    key = doc.get("key")
    if not isinstance(key, str):
        raise BadRequestError("key: a base64 share is required", field="key")
    try:
        return base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequestError("key: not valid base64", field="key") from None


def _nonce(doc: dict[str, Any]) -> str | None:
    n = doc.get("nonce")
    return n if isinstance(n, str) else None


def _int(doc: dict[str, Any], name: str) -> int:
    v = doc.get(name)
    if not isinstance(v, int) or isinstance(v, bool):
        raise BadRequestError(f"{name}: an integer is required", field=name)
    return v


def _dispatch(  # noqa: PLR0911 - one return per route
    lifecycle: Any, engine: Any, method: str, path: str, *, doc: dict[str, Any], token: str | None, ctx: Any
) -> Any:
    route = (method, path.removeprefix("/v1/sys/"))
    match route:
        case ("GET", "generate-root/attempt"):
            return lifecycle.root_status()
        case ("POST", "generate-root/attempt"):
            return lifecycle.root_start(ctx)
        case ("DELETE", "generate-root/attempt"):
            lifecycle._check_nonce(lifecycle._root, _nonce(doc), "generate-root")
            lifecycle.root_cancel(ctx)
            return lifecycle.root_status()
        case ("POST", "generate-root/update"):
            return lifecycle.root_update(_nonce(doc), _share(doc), ctx)
        case ("GET", "rekey/init"):
            return lifecycle.rekey_status()
        case ("POST", "rekey/init"):
            return lifecycle.rekey_start(_int(doc, "secret_shares"), _int(doc, "secret_threshold"), ctx)
        case ("DELETE", "rekey/init"):
            status = lifecycle.rekey_status()
            nonce = _nonce(doc)
            if nonce not in (status["nonce"], status["verification_nonce"]) or not nonce:
                raise BadRequestError("nonce: does not match the rekey in progress", field="nonce")
            lifecycle.rekey_cancel(ctx)
            return lifecycle.rekey_status()
        case ("POST", "rekey/update"):
            return lifecycle.rekey_update(_nonce(doc), _share(doc), ctx)
        case ("POST", "rekey/verify"):
            return lifecycle.rekey_verify(_nonce(doc), _share(doc), ctx)
        case ("POST", "rotate"):
            caller = engine.authenticate(token, ctx, "sys/rotate")
            if not caller.entry.is_root:
                raise ForbiddenError("permission denied: sys/rotate needs the root policy")
            return lifecycle.rotate(ctx)
    return None


async def handle_lifecycle(
    lifecycle: Any,
    engine: Any,
    method: str,
    path: str,
    *,
    body: bytes,
    token: str | None,
    ctx: Any,
    send: Send,
) -> None:
    """Answers one life-cycle request."""
    try:
        doc = _json(body)
        result = await asyncio.to_thread(
            functools.partial(_dispatch, lifecycle, engine, method, path, doc=doc, token=token, ctx=ctx)
        )
        if result is None:
            status, payload = (
                405,
                {"errors": [{"code": "method_not_allowed", "message": "method not allowed"}]},
            )
        else:
            status, payload = 200, {"data": result}
    except KMSError as exc:
        status, payload = exc.status, {"errors": [{"code": exc.code, "message": exc.message}]}
    data = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
