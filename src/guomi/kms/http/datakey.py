"""Routes ``/v1/datakey/{plaintext|wrapped}/{name}``.

Layer: ``guomi.kms.http`` (translation only).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import ERROR_RESPONSES, dispatch

router = APIRouter(tags=["encryption"], responses=ERROR_RESPONSES)


@router.post("/datakey/{kind}/{name}", response_model=api.DataResponse[api.DatakeyResponse])
async def datakey(
    request: Request, kind: Literal["plaintext", "wrapped"], name: str, body: api.DatakeyRequest | None = None
) -> Response:
    """A fresh 128-bit SM4 data key, wrapped under ``name`` (and in plaintext on that path)."""
    return await dispatch(
        request,
        f"datakey/{kind}/{name}",
        body,
        lambda eng, c: eng.datakey(c, name, kind, body or api.DatakeyRequest()),
    )
