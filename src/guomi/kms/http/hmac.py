"""Routes ``/v1/hmac/{name}``, ``/v1/random/{n}``, ``/v1/hash``.

Layer: ``guomi.kms.http`` (translation only).  Bodies are parsed by
:func:`~guomi.kms.http._common.dispatch` with pydantic's Rust JSON parser.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import ERROR_RESPONSES, body_doc, dispatch

router = APIRouter(tags=["utility"], responses=ERROR_RESPONSES)


@router.post(
    "/hmac/{name}",
    response_model=api.DataResponse[api.HmacResponse],
    openapi_extra=body_doc(api.HmacRequest),
)
async def hmac(request: Request, name: str) -> Response:
    """HMAC-SM3 of ``input`` under the named hmac-sm3 key."""
    return await dispatch(request, f"hmac/{name}", api.HmacRequest, lambda eng, c, b: eng.hmac(c, name, b))


@router.post(
    "/random/{n}",
    response_model=api.DataResponse[api.RandomResponse],
    openapi_extra=body_doc(api.RandomRequest, required=False),
)
async def random(request: Request, n: int) -> Response:
    """``n`` bytes (1-1024) from the OS CSPRNG."""
    return await dispatch(
        request, f"random/{n}", api.RandomRequest, lambda eng, c, b: eng.random(c, n, b), optional=True
    )


@router.post(
    "/hash",
    response_model=api.DataResponse[api.HashResponse],
    openapi_extra=body_doc(api.HashRequest),
)
async def hash_(request: Request) -> Response:
    """SM3 of ``input``."""
    return await dispatch(request, "hash", api.HashRequest, lambda eng, c, b: eng.hash(c, b))
