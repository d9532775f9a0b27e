"""Routes ``/v1/hmac/{name}``, ``/v1/random/{n}``, ``/v1/hash``.

Layer: ``guomi.kms.http`` (translation only).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import ERROR_RESPONSES, dispatch

router = APIRouter(tags=["utility"], responses=ERROR_RESPONSES)


@router.post("/hmac/{name}", response_model=api.DataResponse[api.HmacResponse])
async def hmac(request: Request, name: str, body: api.HmacRequest) -> Response:
    """HMAC-SM3 of ``input`` under the named hmac-sm3 key."""
    return await dispatch(request, f"hmac/{name}", body, lambda eng, c: eng.hmac(c, name, body))


@router.post("/random/{n}", response_model=api.DataResponse[api.RandomResponse])
async def random(request: Request, n: int, body: api.RandomRequest | None = None) -> Response:
    """``n`` bytes (1-1024) from the OS CSPRNG."""
    return await dispatch(
        request, f"random/{n}", body, lambda eng, c: eng.random(c, n, body or api.RandomRequest())
    )


@router.post("/hash", response_model=api.DataResponse[api.HashResponse])
async def hash_(request: Request, body: api.HashRequest) -> Response:
    """SM3 of ``input``."""
    return await dispatch(request, "hash", body, lambda eng, c: eng.hash(c, body))
