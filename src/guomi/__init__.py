"""guomi: local encryption with the Chinese national commercial algorithms.

Layers, top to bottom (each imports only those below it):

- ``guomi.cli`` / ``guomi.integrations``: applications and adapters.
- ``guomi.kms`` / ``guomi.client``: the key custody service and its SDK.
- ``guomi.envelope`` / ``guomi.api``: wire formats and the HTTP contract.
- ``guomi.keys``: keys, keysets and the ``Aead`` / ``Signer`` protocols.
- ``guomi.primitives``: hazmat; thin typed wrappers over the Rust core.
- ``guomi.exceptions``: importable from anywhere.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
