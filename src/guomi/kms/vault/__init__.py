"""Vault compatibility: what lets HashiCorp Vault clients (hvac, curl scripts) use guomi unchanged.

Layer: ``guomi.kms``.  :class:`VaultMethodsProtocol` is the uvicorn HTTP
protocol that accepts Vault's ``LIST`` method without giving up httptools.
"""

from guomi.kms.vault._protocol import EXTRA_METHODS, VaultMethodsProtocol

__all__ = ["EXTRA_METHODS", "VaultMethodsProtocol"]
