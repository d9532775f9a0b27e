"""Routes ``/v1/hmac/{name}``, ``/v1/random/{n}``, ``/v1/hash``.

Layer: ``guomi.kms.http`` (translation only).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import ERROR_RESPONSES, authed, ok

router = APIRouter(tags=["utility"], responses=ERROR_RESPONSES)


@router.post("/hmac/{name}", response_model=api.DataResponse[api.HmacResponse])
def hmac(request: Request, name: str, body: api.HmacRequest) -> Response:
    """HMAC-SM3 of ``input`` under the named hmac-sm3 key."""
    eng, caller = authed(request, f"hmac/{name}")
    return ok(eng.hmac(caller, name, body))


@router.post("/random/{n}", response_model=api.DataResponse[api.RandomResponse])
def random(request: Request, n: int, body: api.RandomRequest | None = None) -> Response:
    """``n`` bytes (1-1024) from the OS CSPRNG."""
    eng, caller = authed(request, f"random/{n}")
    return ok(eng.random(caller, n, body or api.RandomRequest()))


@router.post("/hash", response_model=api.DataResponse[api.HashResponse])
def hash_(request: Request, body: api.HashRequest) -> Response:
    """SM3 of ``input``."""
    eng, caller = authed(request, "hash")
    return ok(eng.hash(caller, body))
