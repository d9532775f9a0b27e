"""HTTP routes of the custody service, one module per path family (all under ``/v1``).

Layer: ``guomi.kms.http``: parse, call the engine, serialise.  No logic here.
"""

from __future__ import annotations

from fastapi import APIRouter

from guomi.kms.http import auth, datakey, encrypt, hmac, keys, sign, sys

__all__ = ["router"]

router = APIRouter(prefix="/v1")
for _m in (sys, keys, encrypt, datakey, sign, hmac, auth):
    router.include_router(_m.router)
