"""guomi.primitives: hazmat layer, thin typed wrappers over the Rust core.

These are building blocks. They do exactly what the standards say and no
more: no implicit padding, no nonce management, no key storage. Prefer the
higher layers (``guomi.keys``, ``guomi.envelope``) unless you need a specific
primitive for interoperability.

:func:`backend` names the SM4 implementation path in use (``"aesni-avx2"``,
``"gfni-avx512"`` or ``"portable"``); set ``GUOMI_BACKEND=portable`` before
import to force the portable path.
"""

from __future__ import annotations

from guomi import _rust

__all__ = ["backend", "detected_backend"]


def backend() -> str:
    """The name of the SM4 implementation path in use in this process."""
    return _rust.backend()


def detected_backend() -> str:
    """The fastest path this CPU supports, whatever ``GUOMI_BACKEND`` says."""
    return _rust.detected_backend()
