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
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DecryptionError",
    "GuomiError",
    "IndexPlanError",
    "InvalidArgumentError",
    "InvalidEncodingError",
    "InvalidKey",
    "InvalidPasswordError",
    "InvalidSignature",
    "InvalidTag",
    "NoIdentityMatchError",
    "NotFoundError",
    "NotInitializedError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "SealedError",
    "ServiceError",
    "ServiceUnavailableError",
    "StreamError",
    "StreamFormatError",
    "UnsupportedAlgorithmError",
    "UnsupportedQueryError",
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


class ServiceError(GuomiError):
    """The custody service answered with an error (raised by ``guomi.client``).

    ``status`` is the HTTP status, ``code`` the service's machine-readable error code
    (``{"errors": [{"code": ..., "message": ...}]}``), ``errors`` every error object it sent.
    Subclasses name the common statuses so callers can catch what they handle.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "",
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.errors = errors if errors is not None else []


class BadRequestError(ServiceError, ValueError):
    """400: the request was malformed or named a bad value (the message names the field)."""


class AuthenticationError(ServiceError):
    """401: no token, or the token is unknown, expired or revoked."""


class PermissionDeniedError(ServiceError):
    """403: the token's policies do not grant this capability on this key."""


class NotFoundError(ServiceError):
    """404: no such key (or path)."""


class ConflictError(ServiceError):
    """409: the request conflicts with the current state (key exists, already initialised...)."""


class PayloadTooLargeError(ServiceError):
    """413: the body or the batch is larger than the service accepts."""


class NotInitializedError(ServiceError):
    """501: the service has not been initialised (``guomi operator init``)."""


class ServiceUnavailableError(ServiceError):
    """503: the service cannot serve now (sealed, or the audit log cannot be written)."""


class SealedError(ServiceUnavailableError):
    """503 because the service is sealed: an operator must unseal it with key shares."""


class StreamError(GuomiError):
    """A ``guomi-stream/v1`` file could not be encrypted or decrypted (``guomi.envelope``)."""


class StreamFormatError(StreamError, ValueError):
    """The encrypted file is damaged: truncated, reordered, extended, edited, or not one at all.

    The message names the failure (bad magic, header MAC bad, segment N failed
    authentication, truncated, trailing data, ...). Also raised when a stanza addressed to
    the caller's identity does not open (wrong passphrase or damaged header).
    """


class NoIdentityMatchError(StreamError):
    """None of the given identities is a recipient of this file ("not mine", not "damaged")."""


class UnsupportedQueryError(GuomiError, ValueError):
    """A query on an encrypted column that its blind indexes cannot answer (``guomi.fields``).

    Raised instead of silently returning nothing; the message names the index that would allow it.
    """


class IndexPlanError(GuomiError, ValueError):
    """A blind index so wide it would be unique per row on a low-entropy column (``guomi.fields.plan``)."""
