"""Root-key sources: Shamir shares held by custodians (an HSM source would live here too).

Layer: ``guomi.kms.seal``.
"""

from __future__ import annotations

from guomi.kms.seal.shamir import combine, split

__all__ = ["combine", "split"]
