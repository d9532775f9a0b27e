"""Routes ``/v1/encrypt``, ``/v1/decrypt``, ``/v1/rewrap``.

Layer: ``guomi.kms.http`` (translation only).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import ERROR_RESPONSES, dispatch

router = APIRouter(tags=["encryption"], responses=ERROR_RESPONSES)


@router.post("/encrypt/{name}", response_model=api.DataResponse[api.EncryptResponse])
async def encrypt(request: Request, name: str, body: api.EncryptRequest) -> Response:
    """Ciphertext tokens for base64 plaintexts (``batch_input`` for many)."""
    return await dispatch(request, f"encrypt/{name}", body, lambda eng, c: eng.encrypt(c, name, body))


@router.post("/decrypt/{name}", response_model=api.DataResponse[api.DecryptResponse])
async def decrypt(request: Request, name: str, body: api.DecryptRequest) -> Response:
    """Plaintexts of ciphertext tokens."""
    return await dispatch(request, f"decrypt/{name}", body, lambda eng, c: eng.decrypt(c, name, body))


@router.post("/rewrap/{name}", response_model=api.DataResponse[api.RewrapResponse])
async def rewrap(request: Request, name: str, body: api.RewrapRequest) -> Response:
    """Re-encrypts under the latest (or a chosen) version; the plaintext never leaves."""
    return await dispatch(request, f"rewrap/{name}", body, lambda eng, c: eng.rewrap(c, name, body))
