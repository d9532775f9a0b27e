"""HTTP layer of the custody service: one route table, one ASGI dispatcher (all under ``/v1``).

Layer: ``guomi.kms.http``: parse, call the engine, serialise; no logic here.
One module per path family declares its :class:`Route` entries; :data:`ROUTES`
is the table the :class:`Dispatcher` serves and :func:`openapi_document`
describes.  Families mounted also under ``/v1/transit`` (Vault's mount point
of its transit engine) say so in their routes' ``aliases``, so a script
written for ``$VAULT_ADDR/v1/transit/encrypt/orders`` works with only the
address changed; aliases are left out of the OpenAPI document.
"""

from __future__ import annotations

from guomi.kms.http import auth, datakey, encrypt, hmac, keys, sign, sys
from guomi.kms.http._dispatch import Dispatcher, bearer_token, error_of, request_id_of
from guomi.kms.http._openapi import docs_routes, openapi_document
from guomi.kms.http._routes import GUOMI_ERRORS, Call, ErrorStyle, NoBody, Reply, Route

__all__ = [
    "GUOMI_ERRORS",
    "ROUTES",
    "Call",
    "Dispatcher",
    "ErrorStyle",
    "NoBody",
    "Reply",
    "Route",
    "bearer_token",
    "docs_routes",
    "error_of",
    "openapi_document",
    "request_id_of",
]

#: Every route of the service, hot path families first.
ROUTES: tuple[Route, ...] = (
    *encrypt.ROUTES,
    *sign.ROUTES,
    *hmac.ROUTES,
    *datakey.ROUTES,
    *keys.ROUTES,
    *auth.ROUTES,
    *sys.ROUTES,
)
