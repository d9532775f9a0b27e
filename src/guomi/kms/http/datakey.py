"""Route ``/v1/datakey/{plaintext|wrapped}/{name}`` (also under Vault's ``/v1/transit``).

Layer: ``guomi.kms.http`` (translation only).
"""

from __future__ import annotations

from typing import Literal

from guomi import api
from guomi.kms.http._routes import Route

__all__ = ["ROUTES"]

ROUTES = (
    Route(
        "POST",
        "/datakey/{kind}/{name}",
        lambda c: c.engine.datakey(c.who, c.name, c.params["kind"], c.body),
        api.DatakeyRequest,
        api.DatakeyResponse,
        ("datakey",),
        "A fresh 128-bit SM4 data key, wrapped under ``name`` (and in plaintext on that path; "
        "``plaintext`` also needs ``decrypt``).",
        "encryption",
        body_required=False,
        aliases=("/transit",),
        param_types={"kind": Literal["plaintext", "wrapped"]},
    ),
)
