"""HTTP routes of the custody service, one module per path family (all under ``/v1``).

Layer: ``guomi.kms.http``: parse, call the engine, serialise.  No logic here.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from guomi.kms.http import auth, datakey, encrypt, hmac, keys, sign, sys

__all__ = ["ROUTERS", "include_routes"]

#: Hot path families first: route matching is linear in the number of routes tried.
ROUTERS: tuple[APIRouter, ...] = (
    encrypt.router,
    sign.router,
    hmac.router,
    datakey.router,
    keys.router,
    auth.router,
    sys.router,
)


def include_routes(app: FastAPI) -> None:
    """Adds every route under ``/v1`` to ``app``."""
    for r in ROUTERS:
        app.include_router(r, prefix="/v1")
