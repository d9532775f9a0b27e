"""Routes ``/v1/sign/{name}`` and ``/v1/verify/{name}`` (SM2 signatures, HMAC verification).

Layer: ``guomi.kms.http`` (translation only).  Bodies are parsed by
:func:`~guomi.kms.http._common.dispatch` with pydantic's Rust JSON parser.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import ERROR_RESPONSES, body_doc, dispatch

router = APIRouter(tags=["signing"], responses=ERROR_RESPONSES)


@router.post(
    "/sign/{name}",
    response_model=api.DataResponse[api.SignResponse],
    openapi_extra=body_doc(api.SignRequest),
)
async def sign(request: Request, name: str) -> Response:
    """SM2 signature (DER inside the token) of ``input`` with ``user_id``."""
    return await dispatch(request, f"sign/{name}", api.SignRequest, lambda eng, c, b: eng.sign(c, name, b))


@router.post(
    "/verify/{name}",
    response_model=api.DataResponse[api.VerifyResponse],
    openapi_extra=body_doc(api.VerifyRequest),
)
async def verify(request: Request, name: str) -> Response:
    """``valid``: whether ``signature`` (sm2-sign) or ``hmac`` (hmac-sm3) matches ``input``."""
    return await dispatch(
        request, f"verify/{name}", api.VerifyRequest, lambda eng, c, b: eng.verify(c, name, b)
    )
