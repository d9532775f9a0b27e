"""Routes ``/v1/auth/tokens*`` and ``/v1/policies*``.

Layer: ``guomi.kms.http`` (translation only).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import ERROR_RESPONSES, authed, ok

router = APIRouter(tags=["auth"], responses=ERROR_RESPONSES)


@router.post("/auth/tokens", response_model=api.DataResponse[api.TokenResponse])
def create_token(request: Request, body: api.CreateTokenRequest) -> Response:
    """A new token holding ``policies`` for ``ttl``; the token is shown only here."""
    eng, caller = authed(request, "auth/tokens")
    return ok(eng.create_token(caller, body))


@router.get("/auth/tokens/self", response_model=api.DataResponse[api.TokenInfo])
def lookup_self(request: Request) -> Response:
    """The caller's token: policies, expiry, accessor."""
    eng, caller = authed(request, "auth/tokens/self")
    return ok(eng.lookup_self(caller))


@router.post("/auth/tokens/revoke", status_code=204)
def revoke(request: Request, body: api.RevokeTokenRequest | None = None) -> Response:
    """Revokes ``token`` / ``accessor``, or the caller's own token when neither is given."""
    eng, caller = authed(request, "auth/tokens/revoke")
    eng.revoke_token(caller, body or api.RevokeTokenRequest())
    return ok(None)


@router.get("/policies", response_model=api.DataResponse[api.PolicyListResponse])
def list_policies(request: Request) -> Response:
    """Policy names (root)."""
    eng, caller = authed(request, "policies")
    return ok(eng.list_policies(caller))


@router.put("/policies/{name}", response_model=api.DataResponse[api.PolicyResponse])
def write_policy(request: Request, name: str, body: api.PolicyRequest) -> Response:
    """Creates or replaces a policy (root)."""
    eng, caller = authed(request, f"policies/{name}")
    return ok(eng.write_policy(caller, name, body))


@router.get("/policies/{name}", response_model=api.DataResponse[api.PolicyResponse])
def read_policy(request: Request, name: str) -> Response:
    """A policy's rules (root)."""
    eng, caller = authed(request, f"policies/{name}")
    return ok(eng.read_policy(caller, name))


@router.delete("/policies/{name}", status_code=204)
def delete_policy(request: Request, name: str) -> Response:
    """Deletes a policy (root); tokens naming it lose its grants at once."""
    eng, caller = authed(request, f"policies/{name}")
    eng.delete_policy(caller, name)
    return ok(None)
