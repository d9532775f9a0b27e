"""Routes ``/v1/auth/tokens*`` and ``/v1/policies*``.

Layer: ``guomi.kms.http`` (translation only).  Writes run in the thread pool.
"""

from __future__ import annotations

from typing import Any

from guomi import api
from guomi.kms.http._routes import Route

__all__ = ["ROUTES"]


def _auth(method: str, path: str, handler: Any, **kw: Any) -> Route:
    return Route(method, path, handler, tag="auth", inline=False, **kw)


ROUTES = (
    _auth(
        "POST",
        "/auth/tokens",
        lambda c: c.engine.create_token(c.who, c.body),
        request=api.CreateTokenRequest,
        response=api.TokenResponse,
        summary="A new token holding ``policies`` for ``ttl``; the token is shown only here.",
    ),
    _auth(
        "GET",
        "/auth/tokens/self",
        lambda c: c.engine.lookup_self(c.who),
        response=api.TokenInfo,
        summary="The caller's token: policies, expiry, accessor.",
        body_required=False,
    ),
    _auth(
        "POST",
        "/auth/tokens/revoke",
        lambda c: c.engine.revoke_token(c.who, c.body),
        request=api.RevokeTokenRequest,
        summary="Revokes ``token`` / ``accessor``, or the caller's own token when neither is given.",
        body_required=False,
    ),
    _auth(
        "GET",
        "/policies",
        lambda c: c.engine.list_policies(c.who),
        response=api.PolicyListResponse,
        capability=("root",),
        summary="Policy names (root).",
        body_required=False,
    ),
    _auth(
        "PUT",
        "/policies/{name}",
        lambda c: c.engine.write_policy(c.who, c.name, c.body),
        request=api.PolicyRequest,
        response=api.PolicyResponse,
        capability=("root",),
        summary="Creates or replaces a policy (root).",
    ),
    _auth(
        "GET",
        "/policies/{name}",
        lambda c: c.engine.read_policy(c.who, c.name),
        response=api.PolicyResponse,
        capability=("root",),
        summary="A policy's rules (root).",
        body_required=False,
    ),
    _auth(
        "DELETE",
        "/policies/{name}",
        lambda c: c.engine.delete_policy(c.who, c.name),
        capability=("root",),
        summary="Deletes a policy (root); tokens naming it lose its grants at once.",
        body_required=False,
    ),
)
