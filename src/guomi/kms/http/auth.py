"""Routes ``/v1/auth/tokens*`` and ``/v1/policies*``.

Layer: ``guomi.kms.http`` (translation only).  Writes run in the thread pool.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import ERROR_RESPONSES, NoBody, body_doc, dispatch

router = APIRouter(tags=["auth"], responses=ERROR_RESPONSES)


@router.post(
    "/auth/tokens",
    response_model=api.DataResponse[api.TokenResponse],
    openapi_extra=body_doc(api.CreateTokenRequest),
)
async def create_token(request: Request) -> Response:
    """A new token holding ``policies`` for ``ttl``; the token is shown only here."""
    return await dispatch(
        request, "auth/tokens", api.CreateTokenRequest, lambda eng, c, b: eng.create_token(c, b), admin=True
    )


@router.get("/auth/tokens/self", response_model=api.DataResponse[api.TokenInfo])
async def lookup_self(request: Request) -> Response:
    """The caller's token: policies, expiry, accessor."""
    return await dispatch(
        request, "auth/tokens/self", NoBody, lambda eng, c, _: eng.lookup_self(c), optional=True, admin=True
    )


@router.post(
    "/auth/tokens/revoke",
    status_code=204,
    openapi_extra=body_doc(api.RevokeTokenRequest, required=False),
)
async def revoke(request: Request) -> Response:
    """Revokes ``token`` / ``accessor``, or the caller's own token when neither is given."""
    return await dispatch(
        request,
        "auth/tokens/revoke",
        api.RevokeTokenRequest,
        lambda eng, c, b: eng.revoke_token(c, b),
        optional=True,
        admin=True,
    )


@router.get("/policies", response_model=api.DataResponse[api.PolicyListResponse])
async def list_policies(request: Request) -> Response:
    """Policy names (root)."""
    return await dispatch(
        request, "policies", NoBody, lambda eng, c, _: eng.list_policies(c), optional=True, admin=True
    )


@router.put(
    "/policies/{name}",
    response_model=api.DataResponse[api.PolicyResponse],
    openapi_extra=body_doc(api.PolicyRequest),
)
async def write_policy(request: Request, name: str) -> Response:
    """Creates or replaces a policy (root)."""
    return await dispatch(
        request,
        f"policies/{name}",
        api.PolicyRequest,
        lambda eng, c, b: eng.write_policy(c, name, b),
        admin=True,
    )


@router.get("/policies/{name}", response_model=api.DataResponse[api.PolicyResponse])
async def read_policy(request: Request, name: str) -> Response:
    """A policy's rules (root)."""
    return await dispatch(
        request,
        f"policies/{name}",
        NoBody,
        lambda eng, c, _: eng.read_policy(c, name),
        optional=True,
        admin=True,
    )


@router.delete("/policies/{name}", status_code=204)
async def delete_policy(request: Request, name: str) -> Response:
    """Deletes a policy (root); tokens naming it lose its grants at once."""
    return await dispatch(
        request,
        f"policies/{name}",
        NoBody,
        lambda eng, c, _: eng.delete_policy(c, name),
        optional=True,
        admin=True,
    )
