"""Routes ``/v1/encrypt``, ``/v1/decrypt``, ``/v1/rewrap``.

Layer: ``guomi.kms.http`` (translation only).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import ERROR_RESPONSES, authed, ok

router = APIRouter(tags=["encryption"], responses=ERROR_RESPONSES)


@router.post("/encrypt/{name}", response_model=api.DataResponse[api.EncryptResponse])
def encrypt(request: Request, name: str, body: api.EncryptRequest) -> Response:
    """Ciphertext tokens for base64 plaintexts (``batch_input`` for many)."""
    eng, caller = authed(request, f"encrypt/{name}")
    return ok(eng.encrypt(caller, name, body))


@router.post("/decrypt/{name}", response_model=api.DataResponse[api.DecryptResponse])
def decrypt(request: Request, name: str, body: api.DecryptRequest) -> Response:
    """Plaintexts of ciphertext tokens."""
    eng, caller = authed(request, f"decrypt/{name}")
    return ok(eng.decrypt(caller, name, body))


@router.post("/rewrap/{name}", response_model=api.DataResponse[api.RewrapResponse])
def rewrap(request: Request, name: str, body: api.RewrapRequest) -> Response:
    """Re-encrypts under the latest (or a chosen) version; the plaintext never leaves."""
    eng, caller = authed(request, f"rewrap/{name}")
    return ok(eng.rewrap(caller, name, body))
