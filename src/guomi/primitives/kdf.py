"""Key derivation functions built on SM3.

- ``sm3_kdf(z, length)``: the KDF of SM2, GB/T 32918.4-2016 §5.4.3
  (``SM3(Z || ct)`` for a 32-bit big-endian counter from 1, concatenated and
  truncated). Used for SM2 encryption and key exchange; also handy for
  interoperating with systems that derive keys "the SM2 way".
- ``hkdf_sm3(ikm, length, salt=b"", info=b"")``: RFC 5869 HKDF with HMAC-SM3;
  ``length`` at most 255 * 32 = 8160 bytes.
- ``pbkdf2_hmac_sm3(password, salt, iterations, length)``: RFC 8018 PBKDF2
  with HMAC-SM3. Runs without the GIL; the password's HMAC pad states are
  computed once, so each iteration costs two SM3 compressions.

All lengths are in bytes and must be at least 1; errors raise
:class:`guomi.exceptions.InvalidArgumentError`.
"""

from __future__ import annotations

from guomi import _rust

__all__ = ["HKDF_MAX_LENGTH", "hkdf_sm3", "pbkdf2_hmac_sm3", "sm3_kdf"]

#: Largest ``hkdf_sm3`` output (RFC 5869 §2.3: 255 * HashLen).
HKDF_MAX_LENGTH = 255 * 32

sm3_kdf = _rust.sm3_kdf
hkdf_sm3 = _rust.hkdf_sm3
pbkdf2_hmac_sm3 = _rust.pbkdf2_hmac_sm3
