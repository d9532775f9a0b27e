"""ZUC-128 and the 3GPP algorithms built on it: 128-EEA3 and 128-EIA3.

References: ETSI/SAGE "Specification of the 3GPP Confidentiality and
Integrity Algorithms 128-EEA3 & 128-EIA3" (Document 1: EEA3/EIA3; Document 2:
ZUC) and GM/T 0001-2012 / GB/T 33133.1-2016.

- ``ZUC(key, iv).keystream(n_words)``: the next ``n_words`` 32-bit keystream
  words, big-endian; successive calls continue the same stream.
- ``eea3(key, count, bearer, direction, data, length_bits)``: encrypts or
  decrypts the first ``length_bits`` bits of ``data``; returns
  ``ceil(length_bits / 8)`` bytes with the unused trailing bits of the last
  byte set to zero (Document 1 §3).
- ``eia3(key, count, bearer, direction, data, length_bits)``: the 4-byte
  big-endian MAC over exactly ``length_bits`` bits (Document 1 §4).

``key`` and ``iv`` are 16 bytes, ``count`` is 32-bit, ``bearer`` 0..31,
``direction`` 0 or 1, and ``data`` must hold at least
``ceil(length_bits / 8)`` bytes. The S-boxes are evaluated without
secret-indexed table lookups.
"""

from __future__ import annotations

from guomi import _rust

__all__ = ["ZUC", "eea3", "eia3"]

#: ``ZUC(key, iv)``: a ZUC-128 keystream generator.
ZUC = _rust.Zuc

#: ``eea3(key, count, bearer, direction, data, length_bits) -> bytes``.
eea3 = _rust.zuc_eea3

#: ``eia3(key, count, bearer, direction, data, length_bits) -> bytes`` (4 bytes).
eia3 = _rust.zuc_eia3
