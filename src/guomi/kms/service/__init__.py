"""The transport-free custody engine (no HTTP): ``Engine`` does every operation.

Layer: ``guomi.kms.service``.
"""

from __future__ import annotations

from guomi.kms.service._engine import Caller, Engine, RequestContext

__all__ = ["Caller", "Engine", "RequestContext"]
