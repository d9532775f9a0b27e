"""The OpenAPI document, generated from the route table; ``/v1/openapi.json`` and ``/v1/docs``.

Layer: ``guomi.kms.http``.  FastAPI is used here only as a documentation
generator: each :class:`~._routes.Route` becomes a never-called FastAPI route
with the same method, path, request and response models, and FastAPI's
``get_openapi`` writes the document.  Requests are served by
:class:`~._dispatch.Dispatcher` alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI

from guomi import __version__, api
from guomi.kms.http._docs_page import docs_page_routes
from guomi.kms.http._routes import Call, NoBody, Reply, Route

__all__ = ["ERROR_RESPONSES", "docs_routes", "openapi_document"]

TITLE = "guomi custody service"
DESCRIPTION = (
    "Key custody and encryption as a service with the Chinese national algorithms "
    "(SM2, SM3, SM4). Vault transit's field names; see docs/spec/http-api.md."
)

#: OpenAPI documentation of the error body on every route.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": desc, "model": api.ErrorResponse}
    for code, desc in (
        (400, "bad input (the message names the field)"),
        (401, "no token, or an unknown, expired or revoked one"),
        (403, "denied by policy"),
        (404, "unknown key"),
        (409, "conflict"),
        (413, "body or batch too large"),
        (503, "sealed, or the audit log cannot be written"),
    )
}


def _never_called() -> None:  # pragma: no cover - documentation only
    raise RuntimeError("documentation-only route")


def _param_schema(route: Route, name: str) -> dict[str, Any]:
    t = route.param_types.get(name)
    if t is int:
        return {"type": "integer"}
    if t is not None and hasattr(t, "__args__"):
        return {"type": "string", "enum": list(t.__args__)}
    return {"type": "string"}


def _operation_id(method: str, path: str) -> str:
    return method.lower() + "_" + "_".join(s.strip("{}") for s in path.strip("/").split("/"))


def openapi_document(routes: Iterable[Route]) -> dict[str, Any]:
    """The OpenAPI 3 document of ``routes`` (their primary ``/v1`` paths)."""
    doc_app = FastAPI(title=TITLE, version=__version__, description=DESCRIPTION)
    bodies: list[type[Any]] = []
    for r in routes:
        if not r.documented:
            continue
        path = "/v1" + r.path.replace(":int", "")
        params = [s[1:-1].split(":")[0] for s in r.segments() if s.startswith("{")]
        extra: dict[str, Any] = {
            "parameters": [
                {"name": p, "in": "path", "required": True, "schema": _param_schema(r, p)} for p in params
            ]
        }
        if r.capability:
            extra["x-guomi-capability"] = list(r.capability)
        if r.request is not NoBody:
            bodies.append(r.request)
            ref = {"$ref": f"#/components/schemas/{r.request.__name__}"}
            extra["requestBody"] = {
                "required": r.body_required,
                "content": {"application/json": {"schema": ref}},
            }
        response: Any = None
        if r.response is not None:
            response = api.DataResponse[r.response] if r.wrap else r.response  # type: ignore[name-defined]
        doc_app.add_api_route(
            path,
            _never_called,
            methods=[r.method],
            response_model=response,
            status_code=204 if r.response is None else 200,
            responses=ERROR_RESPONSES,
            summary=r.summary.split(";")[0].rstrip(".") or None,
            description=r.summary,
            tags=[r.tag] if r.tag else None,
            openapi_extra=extra,
            operation_id=_operation_id(r.method, path),
        )
    schema = doc_app.openapi()
    comps = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in bodies:
        js = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in js.pop("$defs", {}).items():
            comps.setdefault(name, sub)
        comps.setdefault(model.__name__, js)
    return schema


def docs_routes(routes: Iterable[Route]) -> tuple[Route, ...]:
    """``GET /v1/openapi.json`` and ``GET /v1/docs`` (Swagger UI) for ``routes``."""
    cache: dict[str, bytes] = {}
    table = tuple(routes)

    def document(_: Call) -> Reply:
        if "doc" not in cache:
            cache["doc"] = json.dumps(openapi_document(table)).encode()
        return Reply(200, cache["doc"])

    common: dict[str, Any] = {"body_required": False, "auth": False, "documented": False}
    # /v1/docs: Swagger UI from assets the service serves itself (no CDN; _docs_page).
    return (Route("GET", "/openapi.json", document, **common), *docs_page_routes())
