"""Routes ``/v1/sys/*``: health, init, unseal, seal, seal status.

Layer: ``guomi.kms.http`` (translation only; the engine does the work).
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import (
    ERROR_RESPONSES,
    NoBody,
    body_doc,
    dispatch,
    dispatch_unauthenticated,
    engine_of,
    ok,
)

router = APIRouter(tags=["sys"], responses=ERROR_RESPONSES)


@router.get("/sys/health", response_model=api.HealthResponse)
def health(request: Request) -> Response:
    """200 unsealed, 503 sealed, 501 not initialised; the body (top level, as Vault's) says which."""
    status, body = engine_of(request).health()
    return Response(
        json.dumps(body.model_dump(mode="json")), status_code=status, media_type="application/json"
    )


@router.get("/sys/seal-status", response_model=api.DataResponse[api.SealStatus])
def seal_status(request: Request) -> Response:
    """Initialised? sealed? threshold, shares, unseal progress."""
    return ok(engine_of(request).seal_status())


@router.post(
    "/sys/init", response_model=api.DataResponse[api.InitResponse], openapi_extra=body_doc(api.InitRequest)
)
async def init(request: Request) -> Response:
    """Once: the master key's shares (base64) and the root token; they are never shown again."""
    return await dispatch_unauthenticated(request, api.InitRequest, lambda eng, ctx, b: eng.init(b, ctx))


@router.post(
    "/sys/unseal", response_model=api.DataResponse[api.SealStatus], openapi_extra=body_doc(api.UnsealRequest)
)
async def unseal(request: Request) -> Response:
    """One share per call; unsealed when the threshold is reached and the keyring opens."""
    return await dispatch_unauthenticated(request, api.UnsealRequest, lambda eng, ctx, b: eng.unseal(b, ctx))


@router.post("/sys/seal", response_model=api.DataResponse[api.SealStatus])
async def seal(request: Request) -> Response:
    """Drops every key from memory (root token)."""
    return await dispatch(
        request, "sys/seal", NoBody, lambda eng, c, _: eng.seal(c), optional=True, admin=True
    )
