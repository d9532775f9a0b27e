"""The transport-free custody engine (no HTTP): ``Engine`` does every operation.

Layer: ``guomi.kms.service``.  See :mod:`guomi.kms.service._engine` for the
module of each concern.
"""

from __future__ import annotations

from guomi.kms.service._context import Caller, RequestContext
from guomi.kms.service._engine import Engine
from guomi.kms.service._keytypes import KEY_TYPES, KeyType

__all__ = ["KEY_TYPES", "Caller", "Engine", "KeyType", "RequestContext"]
