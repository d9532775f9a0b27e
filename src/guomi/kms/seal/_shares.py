"""Share commitments: tell a share of this installation from a bogus one before the quorum.

Layer: ``guomi.kms.seal``.  Without them a stranger can slip a bogus share into the unseal
progress (or a generate-root / rekey attempt): the quorum then fails and the custodians
start again, as often as the stranger likes.  At ``sys/init`` (and at each rekey) a keyed
SM3 digest of every share is stored at :data:`SHARE_CHECK_PATH`:

    digest_x = HMAC-SM3(salt, "guomi/share-check/v1" || 0x00 || share_x)

under a random 256-bit salt stored beside them.  A share's ``x`` byte selects the digest to
compare (constant time).  Each share is a uniformly random point (for a threshold >= 2) or
the master key itself (threshold 1), 256 bits either way, so a digest reveals nothing a
brute force could use; the master key is still verified only by opening the keyring.
Installations made before this record existed simply have no early check.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from typing import Any

from guomi.kms._crypto import ct_equal, hmac_sm3
from guomi.kms.storage import Put

__all__ = ["SHARE_CHECK_PATH", "share_check_record", "share_is_known"]

SHARE_CHECK_PATH = "core/share-check"
_LABEL = b"guomi/share-check/v1\x00"


def _digest(salt: bytes, share: bytes) -> bytes:
    return hmac_sm3(salt, _LABEL + share)


def share_check_record(shares: Sequence[bytes], expected: int | None = None) -> Put:
    """The storage write holding the digests of ``shares`` (``expected``: its CAS revision)."""
    salt = os.urandom(32)
    doc = {
        "format": 1,
        "salt": base64.b64encode(salt).decode("ascii"),
        "digests": {str(s[0]): _digest(salt, s).hex() for s in shares},
    }
    return Put(SHARE_CHECK_PATH, json.dumps(doc).encode(), expected)


def share_is_known(storage: Any, share: bytes) -> bool | None:
    """True / False for a share of / not of this installation; ``None`` when there is no
    record to check against (an installation older than the record)."""
    rec = storage.get(SHARE_CHECK_PATH)
    if rec is None:
        return None
    try:
        doc = json.loads(rec.value)
        salt = base64.b64decode(doc["salt"])
        digests: dict[str, str] = doc["digests"]
    except (ValueError, KeyError, TypeError):
        return None
    if len(share) < 2:
        return False
    expected = digests.get(str(share[0]))
    if expected is None:
        return False
    return ct_equal(_digest(salt, share), bytes.fromhex(expected))
