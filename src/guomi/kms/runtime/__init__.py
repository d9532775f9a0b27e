"""What a ``guomi server`` process adds around the service: TLS, connection limits, the init
lock, unseal throttling, metrics and the offline documentation page.

Layer: ``guomi.kms.runtime`` (inside ``guomi.kms``; uses the engine only through its public
methods).  ``guomi server`` (``guomi.cli._server``) builds these from
:class:`~guomi.kms.config.ServerSettings`; see docs/operations.md.
"""

from __future__ import annotations

from guomi.kms.runtime._bootstrap import BOOTSTRAP_PREFIX, BootstrapLock, new_bootstrap_token
from guomi.kms.runtime._guard import OperationsGuard
from guomi.kms.runtime._lifecycle_routes import LIFECYCLE_PATHS, lifecycle_routes
from guomi.kms.runtime._metrics import Metrics, route_family
from guomi.kms.runtime._protocol import guarded_http_protocol, subject_name
from guomi.kms.runtime._tls import TLS12_CIPHERS, server_ssl_context

__all__ = [
    "BOOTSTRAP_PREFIX",
    "LIFECYCLE_PATHS",
    "TLS12_CIPHERS",
    "BootstrapLock",
    "Metrics",
    "OperationsGuard",
    "guarded_http_protocol",
    "lifecycle_routes",
    "new_bootstrap_token",
    "route_family",
    "server_ssl_context",
    "subject_name",
]
