"""Routes ``/v1/sys/*``: health, init, unseal, seal, seal status.

Layer: ``guomi.kms.http`` (translation only; the engine does the work).
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import ERROR_RESPONSES, authed, context, engine_of, ok

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


@router.post("/sys/init", response_model=api.DataResponse[api.InitResponse])
def init(request: Request, body: api.InitRequest) -> Response:
    """Once: the master key's shares (base64) and the root token; they are never shown again."""
    return ok(engine_of(request).init(body, context(request)))


@router.post("/sys/unseal", response_model=api.DataResponse[api.SealStatus])
def unseal(request: Request, body: api.UnsealRequest) -> Response:
    """One share per call; unsealed when the threshold is reached and the keyring opens."""
    return ok(engine_of(request).unseal(body, context(request)))


@router.post("/sys/seal", response_model=api.DataResponse[api.SealStatus])
def seal(request: Request) -> Response:
    """Drops every key from memory (root token)."""
    eng, caller = authed(request, "sys/seal")
    return ok(eng.seal(caller))
