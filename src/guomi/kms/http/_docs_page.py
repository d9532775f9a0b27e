"""``/v1/docs`` without a CDN: Swagger UI's assets served by the service itself.

Layer: ``guomi.kms.http``.  A bank's network often has no way out: a docs page that loads
its scripts from a public CDN is blank there.  The assets come from the pinned
``swagger-ui-bundle`` wheel (Swagger UI's release files) and are answered from memory after
the first read; the page's only script is served here too (no inline script).
"""

from __future__ import annotations

from pathlib import Path

from guomi.kms.http._routes import Call, Reply, Route

__all__ = ["DOCS_HTML", "docs_page_routes"]

DOCS_HTML = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>guomi custody service - API</title>
<link rel="icon" type="image/png" href="/v1/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/v1/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/v1/docs/assets/swagger-ui-bundle.js"></script>
<script src="/v1/docs/assets/init.js"></script></body></html>
"""
_INIT_JS = (
    b'window.ui = SwaggerUIBundle({url: "/v1/openapi.json", dom_id: "#swagger-ui", deepLinking: true});\n'
)
#: The only files served (no path is ever built from the request beyond this list).
_ASSETS = {
    "swagger-ui.css": b"text/css",
    "swagger-ui-bundle.js": b"application/javascript",
    "favicon-32x32.png": b"image/png",
}


def _assets_dir() -> Path | None:
    try:
        import swagger_ui_bundle  # type: ignore[import-untyped]  # noqa: PLC0415 - docs page only
    except ImportError:
        return None
    return Path(swagger_ui_bundle.swagger_ui_path)


def docs_page_routes() -> tuple[Route, ...]:
    """``GET /v1/docs`` and ``GET /v1/docs/assets/{name}``."""
    cache: dict[str, bytes] = {}

    def page(_: Call) -> Reply:
        return Reply(200, DOCS_HTML, b"text/html; charset=utf-8")

    def asset(c: Call) -> Reply:
        name = str(c.params["name"])
        if name == "init.js":
            return Reply(200, _INIT_JS, b"application/javascript")
        kind = _ASSETS.get(name)
        folder = _assets_dir()
        if kind is None or folder is None:
            return Reply(404, b'{"errors":[{"code":"not_found","message":"no such path"}]}')
        if name not in cache:
            cache[name] = (folder / name).read_bytes()
        return Reply(200, cache[name], kind)

    common = {"body_required": False, "auth": False, "documented": False, "inline": False}
    return (
        Route("GET", "/docs", page, **common),  # type: ignore[arg-type]
        Route("GET", "/docs/assets/{name}", asset, **common),  # type: ignore[arg-type]
    )
