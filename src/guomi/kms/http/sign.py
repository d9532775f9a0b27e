"""Routes ``/v1/sign/{name}`` and ``/v1/verify/{name}`` (also under Vault's ``/v1/transit``).

Layer: ``guomi.kms.http`` (translation only).
"""

from __future__ import annotations

from guomi import api
from guomi.kms.http._routes import Route

__all__ = ["ROUTES"]

ROUTES = (
    Route(
        "POST",
        "/sign/{name}",
        lambda c: c.engine.sign(c.who, c.name, c.body),
        api.SignRequest,
        api.SignResponse,
        ("sign",),
        "SM2 signature (DER inside the token) of ``input`` with ``user_id``.",
        "signing",
        aliases=("/transit",),
    ),
    Route(
        "POST",
        "/verify/{name}",
        lambda c: c.engine.verify(c.who, c.name, c.body),
        api.VerifyRequest,
        api.VerifyResponse,
        ("verify",),
        "``valid``: whether ``signature`` (sm2-sign) or ``hmac`` (hmac-sm3) matches ``input``.",
        "signing",
        aliases=("/transit",),
    ),
)
