"""Every exception guomi raises, importable from any layer.

All derive from :class:`GuomiError`. Verification failures are named as
pyca/cryptography names them (:class:`InvalidTag`, :class:`InvalidSignature`);
everything else ends in ``Error``. Argument errors also derive from
:class:`ValueError` so generic callers can catch them as such.

Messages name the problem (a length, a range, an encoding) and never carry
key material, plaintext or tokens.
"""

from __future__ import annotations

__all__ = [
    "AlreadyFinalizedError",
    "DecryptionError",
    "GuomiError",
    "InvalidArgumentError",
    "InvalidEncodingError",
    "InvalidKey",
    "InvalidPasswordError",
    "InvalidSignature",
    "InvalidTag",
    "UnsupportedAlgorithmError",
]


class GuomiError(Exception):
    """Base class of every guomi exception."""


class InvalidTag(GuomiError):
    """An AEAD tag or MAC did not verify: the data, associated data, nonce or key is wrong."""


class InvalidSignature(GuomiError):
    """A signature or MAC tag did not verify."""


class InvalidKey(GuomiError, ValueError):
    """A key has the wrong length, is out of range, or is otherwise unusable."""


class InvalidArgumentError(GuomiError, ValueError):
    """A nonce, IV, tweak, tag length, data length or other parameter is not acceptable."""


class InvalidEncodingError(GuomiError, ValueError):
    """Malformed input encoding: DER, PEM, a curve point, a ciphertext layout."""


class InvalidPasswordError(GuomiError, ValueError):
    """An encrypted key could not be opened: the password is wrong or missing."""


class DecryptionError(GuomiError):
    """Public-key decryption failed. Deliberately says no more than that."""


class AlreadyFinalizedError(GuomiError):
    """A streaming context was used after ``finalize()``."""


class UnsupportedAlgorithmError(GuomiError):
    """The requested algorithm, mode or format is not supported."""
