"""Routes ``/v1/sign/{name}`` and ``/v1/verify/{name}`` (SM2 signatures, HMAC verification).

Layer: ``guomi.kms.http`` (translation only).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import ERROR_RESPONSES, dispatch

router = APIRouter(tags=["signing"], responses=ERROR_RESPONSES)


@router.post("/sign/{name}", response_model=api.DataResponse[api.SignResponse])
async def sign(request: Request, name: str, body: api.SignRequest) -> Response:
    """SM2 signature (DER inside the token) of ``input`` with ``user_id``."""
    return await dispatch(request, f"sign/{name}", body, lambda eng, c: eng.sign(c, name, body))


@router.post("/verify/{name}", response_model=api.DataResponse[api.VerifyResponse])
async def verify(request: Request, name: str, body: api.VerifyRequest) -> Response:
    """``valid``: whether ``signature`` (sm2-sign) or ``hmac`` (hmac-sm3) matches ``input``."""
    return await dispatch(request, f"verify/{name}", body, lambda eng, c: eng.verify(c, name, body))
