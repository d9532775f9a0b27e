"""Routes ``/v1/encrypt``, ``/v1/decrypt``, ``/v1/rewrap``.

Layer: ``guomi.kms.http`` (translation only).  Bodies are parsed by
:func:`~guomi.kms.http._common.dispatch` with pydantic's Rust JSON parser.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import ERROR_RESPONSES, body_doc, dispatch

router = APIRouter(tags=["encryption"], responses=ERROR_RESPONSES)


@router.post(
    "/encrypt/{name}",
    response_model=api.DataResponse[api.EncryptResponse],
    openapi_extra=body_doc(api.EncryptRequest),
)
async def encrypt(request: Request, name: str) -> Response:
    """Ciphertext tokens for base64 plaintexts (``batch_input`` for many)."""
    return await dispatch(
        request, f"encrypt/{name}", api.EncryptRequest, lambda eng, c, b: eng.encrypt(c, name, b)
    )


@router.post(
    "/decrypt/{name}",
    response_model=api.DataResponse[api.DecryptResponse],
    openapi_extra=body_doc(api.DecryptRequest),
)
async def decrypt(request: Request, name: str) -> Response:
    """Plaintexts of ciphertext tokens."""
    return await dispatch(
        request, f"decrypt/{name}", api.DecryptRequest, lambda eng, c, b: eng.decrypt(c, name, b)
    )


@router.post(
    "/rewrap/{name}",
    response_model=api.DataResponse[api.RewrapResponse],
    openapi_extra=body_doc(api.RewrapRequest),
)
async def rewrap(request: Request, name: str) -> Response:
    """Re-encrypts under the latest (or a chosen) version; the plaintext never leaves."""
    return await dispatch(
        request, f"rewrap/{name}", api.RewrapRequest, lambda eng, c, b: eng.rewrap(c, name, b)
    )
