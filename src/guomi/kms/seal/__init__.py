"""Root-key sources and the seal's life cycle.

Layer: ``guomi.kms.seal``.  ``shamir`` (custodians' shares, the default), ``pkcs11`` (the
master key wrapped inside an HSM; imported on demand, it needs the ``hsm`` extra) and
:class:`SealLifecycle` (generate-root, rekey, rotate).
"""

from __future__ import annotations

from guomi.kms.seal._lifecycle import REKEY_PENDING_PATH, SealLifecycle, decode_root_token
from guomi.kms.seal.shamir import combine, split

__all__ = ["REKEY_PENDING_PATH", "SealLifecycle", "combine", "decode_root_token", "split"]
