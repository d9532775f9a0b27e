"""Routes ``/v1/datakey/{plaintext|wrapped}/{name}``.

Layer: ``guomi.kms.http`` (translation only).  Bodies are parsed by
:func:`~guomi.kms.http._common.dispatch` with pydantic's Rust JSON parser.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import ERROR_RESPONSES, body_doc, dispatch

router = APIRouter(tags=["encryption"], responses=ERROR_RESPONSES)


@router.post(
    "/datakey/{kind}/{name}",
    response_model=api.DataResponse[api.DatakeyResponse],
    openapi_extra=body_doc(api.DatakeyRequest, required=False),
)
async def datakey(request: Request, kind: Literal["plaintext", "wrapped"], name: str) -> Response:
    """A fresh 128-bit SM4 data key, wrapped under ``name`` (and in plaintext on that path)."""
    return await dispatch(
        request,
        f"datakey/{kind}/{name}",
        api.DatakeyRequest,
        lambda eng, c, b: eng.datakey(c, name, kind, b),
        optional=True,
    )
