"""Routes ``/v1/sys/*``: health, init, unseal, seal, seal status.

Layer: ``guomi.kms.http`` (translation only; the engine does the work).
"""

from __future__ import annotations

from guomi import api
from guomi.kms.http._routes import Call, Reply, Route

__all__ = ["ROUTES"]


def _health(c: Call) -> Reply:
    # Top level, as Vault's; the status says which state (200 / 503 / 501).
    status, body = c.engine.health()
    return Reply(status, body.model_dump_json().encode())


ROUTES = (
    Route(
        "GET",
        "/sys/health",
        _health,
        response=api.HealthResponse,
        summary="200 unsealed, 503 sealed, 501 not initialised; the body (top level, as Vault's) says which.",
        tag="sys",
        body_required=False,
        auth=False,
        wrap=False,
    ),
    Route(
        "GET",
        "/sys/seal-status",
        lambda c: c.engine.seal_status(),
        response=api.SealStatus,
        summary="Initialised? sealed? threshold, shares, unseal progress.",
        tag="sys",
        body_required=False,
        auth=False,
        inline=False,
    ),
    Route(
        "POST",
        "/sys/init",
        lambda c: c.engine.init(c.body, c.ctx),
        api.InitRequest,
        api.InitResponse,
        summary="Once: the master key's shares (base64) and the root token; they are never shown again.",
        tag="sys",
        auth=False,
        inline=False,
    ),
    Route(
        "POST",
        "/sys/unseal",
        lambda c: c.engine.unseal(c.body, c.ctx),
        api.UnsealRequest,
        api.SealStatus,
        summary="One share per call; unsealed when the threshold is reached and the keyring opens.",
        tag="sys",
        auth=False,
        inline=False,
    ),
    Route(
        "GET",
        "/sys/state",
        lambda c: c.engine.storage_state(c.who),
        response=api.StorageState,
        capability=("root",),
        summary="The storage state's generation and digest, to record as an external anchor (root).",
        tag="sys",
        body_required=False,
        inline=False,
    ),
    Route(
        "POST",
        "/sys/seal",
        lambda c: c.engine.seal(c.who),
        response=api.SealStatus,
        capability=("root",),
        summary="Drops every key from memory (root token).",
        tag="sys",
        body_required=False,
        inline=False,
    ),
)
