"""Routes ``/v1/sign/{name}`` and ``/v1/verify/{name}`` (SM2 signatures, HMAC verification).

Layer: ``guomi.kms.http`` (translation only).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import ERROR_RESPONSES, authed, ok

router = APIRouter(tags=["signing"], responses=ERROR_RESPONSES)


@router.post("/sign/{name}", response_model=api.DataResponse[api.SignResponse])
def sign(request: Request, name: str, body: api.SignRequest) -> Response:
    """SM2 signature (DER inside the token) of ``input`` with ``user_id``."""
    eng, caller = authed(request, f"sign/{name}")
    return ok(eng.sign(caller, name, body))


@router.post("/verify/{name}", response_model=api.DataResponse[api.VerifyResponse])
def verify(request: Request, name: str, body: api.VerifyRequest) -> Response:
    """``valid``: whether ``signature`` (sm2-sign) or ``hmac`` (hmac-sm3) matches ``input``."""
    eng, caller = authed(request, f"verify/{name}")
    return ok(eng.verify(caller, name, body))
