"""The route table's vocabulary: :class:`Route`, what a handler receives and may return.

Layer: ``guomi.kms.http``.  Every path family module (``encrypt``, ``keys``,
``auth``, ...) declares its routes as a tuple of :class:`Route`; the one ASGI
dispatcher (:mod:`._dispatch`) serves them and the OpenAPI document
(:mod:`._openapi`) is generated from the same entries.  Adding an endpoint is
one entry: method, path, request model, response model, capability, handler.

Paths are relative to ``/v1`` and made of literal segments and ``{param}`` /
``{param:int}`` segments (one non-empty path segment each).  ``method`` is any
HTTP method token (Vault's ``LIST`` included).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import from_json, to_json

from guomi import api
from guomi.api import ErrorCode
from guomi.kms.errors import BadRequestError
from guomi.kms.service import Caller, Engine, RequestContext

__all__ = [
    "GUOMI_ERRORS",
    "Call",
    "ErrorStyle",
    "NoBody",
    "Reply",
    "Route",
    "guomi_error_body",
    "parse_body",
]


class NoBody(BaseModel):
    """Routes without a request body accept an empty one (or ``{}``)."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class Reply:
    """A response a handler builds itself (status, JSON or other bytes)."""

    status: int
    body: bytes
    content_type: bytes = b"application/json"


@dataclass(slots=True)
class Call:
    """What a handler receives: the engine, the authenticated caller (``None`` on
    unauthenticated routes), the request context, path parameters and the parsed body."""

    engine: Engine
    caller: Caller | None
    ctx: RequestContext
    params: dict[str, Any]
    body: Any

    @property
    def who(self) -> Caller:
        """The caller of an authenticated route."""
        assert self.caller is not None, "route declared auth=False"
        return self.caller

    @property
    def name(self) -> str:
        """The ``{name}`` path parameter."""
        name: str = self.params["name"]
        return name


Handler = Callable[[Call], "BaseModel | Reply | None"]
#: Builds an error body from (code, message).
ErrorStyle = Callable[[str, str], bytes]


def guomi_error_body(code: str, message: str) -> bytes:
    """``{"errors": [{"code", "message"}]}`` (docs/spec/http-api.md §2)."""
    return json.dumps(
        {"errors": [{"code": code, "message": message}]}, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


GUOMI_ERRORS: ErrorStyle = guomi_error_body


@dataclass(frozen=True)
class Route:
    """One endpoint of the service."""

    method: str
    path: str
    handler: Handler
    #: The body model (``NoBody`` for routes without one).
    request: type[BaseModel] = NoBody
    #: The model under ``{"data": ...}`` in a 2xx answer; ``None`` for 204 No Content.
    response: type[BaseModel] | None = None
    #: Capabilities the caller's policies must grant on the key (``("root",)``: root only;
    #: empty: any valid token).  The engine enforces them; here they document the route.
    capability: tuple[str, ...] = ()
    summary: str = ""
    tag: str = ""
    body_required: bool = True
    #: False for ``sys/init``, ``sys/unseal`` and the read-only status routes.
    auth: bool = True
    #: Small requests on local stores may run on the event loop; False: always the thread pool
    #: (writes that fsync).
    inline: bool = True
    #: Extra mount prefixes (e.g. ``/transit``, Vault's), served but left out of the OpenAPI document.
    aliases: tuple[str, ...] = ()
    errors: ErrorStyle = GUOMI_ERRORS
    #: A faster parser for the raw body; returns ``None`` to fall back to :attr:`request`.
    fast_parse: Callable[[bytes], Any] | None = None
    #: Whether the response is ``{"data": model}`` (False: the model at top level).
    wrap: bool = True
    documented: bool = True
    #: Path-parameter types for validation and OpenAPI (default ``str``).
    param_types: dict[str, type | Any] = field(default_factory=dict)

    def segments(self) -> list[str]:
        """The path's segments."""
        return self.path.strip("/").split("/")


def _field_of(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "path", "query")]
    return ".".join(parts) or "body"


def validation_error(exc: ValidationError, prefix: tuple[str, ...] = ()) -> BadRequestError:
    """A 400 naming the failing fields (at most five), ``invalid_json`` for malformed JSON."""
    errors = exc.errors(include_url=False)
    if any(e.get("type") == "json_invalid" for e in errors):
        return BadRequestError("body: malformed JSON", code=ErrorCode.INVALID_JSON)
    msgs = []
    for e in errors[:5]:
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        msgs.append(f"{_field_of((*prefix, *e.get('loc', ())))}: {msg}")
    return BadRequestError("; ".join(msgs), code=ErrorCode.INVALID_REQUEST)


def parse_body(model: type[BaseModel], raw: bytes, *, required: bool = True) -> Any:
    """Validates raw JSON with pydantic's Rust parser; errors become 400s naming the field.

    A request with ``batch_input`` whose only errors are inside batch items is still
    accepted (docs/spec/http-api.md §7: a failure of one item never fails the others):
    each invalid item is replaced by its :class:`~guomi.api.BatchItemError` (code
    ``invalid_request``, the message naming the field), which the engine passes through
    in its place in ``batch_results``."""
    if not raw.strip():
        if not required:
            return model()
        raise BadRequestError("body: a JSON object is required", code=ErrorCode.INVALID_REQUEST)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        partial = _with_failed_items(model, raw, exc)
        if partial is None:
            raise validation_error(exc) from None
        return partial


def _with_failed_items(model: type[BaseModel], raw: bytes, exc: ValidationError) -> BaseModel | None:
    fields = model.model_fields.get("batch_input")
    errors = exc.errors(include_url=False)
    if fields is None or any(
        len(e["loc"]) < 3 or e["loc"][0] != "batch_input" or not isinstance(e["loc"][1], int) for e in errors
    ):
        return None
    doc = from_json(raw)
    items = doc["batch_input"]
    bad = {int(e["loc"][1]) for e in errors}
    item_errors: dict[int, api.BatchItemError] = {}
    for i in bad:
        item = items[i]
        ref = item.get("reference") if isinstance(item, dict) else None
        msgs = "; ".join(
            f"{_field_of(e['loc'][2:])}: {str(e.get('msg', 'invalid')).removeprefix('Value error, ')}"
            for e in [e for e in errors if e["loc"][1] == i][:5]
        )
        item_errors[i] = api.BatchItemError(
            error=msgs, code=ErrorCode.INVALID_REQUEST, reference=ref if isinstance(ref, str) else None
        )
    doc["batch_input"] = [it for i, it in enumerate(items) if i not in bad]
    try:
        req = model.model_validate_json(to_json(doc))
    except ValidationError:
        return None
    good = iter(req.batch_input or [])  # type: ignore[attr-defined]
    merged = [item_errors[i] if i in bad else next(good) for i in range(len(items))]
    req.batch_input = merged  # type: ignore[attr-defined]
    return req


Kind = Literal["plaintext", "wrapped"]
