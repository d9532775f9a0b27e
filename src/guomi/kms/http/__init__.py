"""HTTP routes of the custody service, one module per path family (all under ``/v1``).

Layer: ``guomi.kms.http``: parse, call the engine, serialise.  No logic here.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from guomi.kms.http import auth, datakey, encrypt, hmac, keys, sign, sys

__all__ = ["ROUTERS", "VAULT_TRANSIT_ALIASES", "include_routes"]

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


#: Also mounted under ``/v1/transit`` (Vault's mount point of its transit engine),
#: left out of the OpenAPI document, so a script written for
#: ``$VAULT_ADDR/v1/transit/encrypt/orders`` works with only the address changed.
VAULT_TRANSIT_ALIASES: tuple[APIRouter, ...] = (
    encrypt.router,
    sign.router,
    hmac.router,
    datakey.router,
    keys.router,
)


def include_routes(app: FastAPI) -> None:
    """Adds every route under ``/v1`` (and the Vault-compatible aliases, after them)."""
    for r in ROUTERS:
        app.include_router(r, prefix="/v1")
    for r in VAULT_TRANSIT_ALIASES:
        app.include_router(r, prefix="/v1/transit", include_in_schema=False)
