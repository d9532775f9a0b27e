"""Routes ``/v1/hmac/{name}``, ``/v1/random/{n}``, ``/v1/hash``.

Layer: ``guomi.kms.http`` (translation only).
"""

from __future__ import annotations

from guomi import api
from guomi.kms.http._routes import Route

__all__ = ["ROUTES"]

ROUTES = (
    Route(
        "POST",
        "/hmac/{name}",
        lambda c: c.engine.hmac(c.who, c.name, c.body),
        api.HmacRequest,
        api.HmacResponse,
        ("hmac",),
        "HMAC-SM3 of ``input`` under the named hmac-sm3 key.",
        "utility",
        aliases=("/transit",),
    ),
    Route(
        "POST",
        "/random/{n:int}",
        lambda c: c.engine.random(c.who, c.params["n"], c.body),
        api.RandomRequest,
        api.RandomResponse,
        (),
        "``n`` bytes (1-1024) from the OS CSPRNG.",
        "utility",
        body_required=False,
        aliases=("/transit",),
        param_types={"n": int},
    ),
    Route(
        "POST",
        "/hash",
        lambda c: c.engine.hash(c.who, c.body),
        api.HashRequest,
        api.HashResponse,
        (),
        "SM3 digest of ``input``.",
        "utility",
        aliases=("/transit",),
    ),
)
