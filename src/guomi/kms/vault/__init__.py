"""Vault compatibility: what lets HashiCorp Vault clients (hvac, curl scripts) use guomi unchanged.

Layer: ``guomi.kms``.  :data:`ROUTES` answer Vault's transit and token paths
in Vault's shapes (``docs/vault-migration.md``); :func:`with_vault` joins them
to guomi's route table; :class:`VaultMethodsProtocol` is the uvicorn HTTP
protocol that accepts Vault's ``LIST`` method without giving up httptools.
"""

from guomi.kms.vault._protocol import EXTRA_METHODS, VaultMethodsProtocol
from guomi.kms.vault._routes import (
    HEADER_ERRORS,
    LISTING_PATHS,
    PREFIX_ERRORS,
    ROUTES,
    VAULT_ERRORS,
    with_vault,
)
from guomi.kms.vault._shapes import VaultErrors, envelope, vault_error_body

__all__ = [
    "EXTRA_METHODS",
    "HEADER_ERRORS",
    "LISTING_PATHS",
    "PREFIX_ERRORS",
    "ROUTES",
    "VAULT_ERRORS",
    "VaultErrors",
    "VaultMethodsProtocol",
    "envelope",
    "vault_error_body",
    "with_vault",
]
