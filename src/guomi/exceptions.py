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
    "AuditUnavailableError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DecryptionError",
    "DecryptionFailedError",
    "GuomiError",
    "IndexPlanError",
    "InvalidArgumentError",
    "InvalidEncodingError",
    "InvalidKey",
    "InvalidPasswordError",
    "InvalidSignature",
    "InvalidTag",
    "MissingExtraError",
    "NoIdentityMatchError",
    "NotFoundError",
    "NotInitializedError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "SealedError",
    "ServiceError",
    "ServiceUnavailableError",
    "StorageIntegrityError",
    "StorageUnavailableError",
    "StreamError",
    "StreamFormatError",
    "StreamSignatureError",
    "TooManyRequestsError",
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
    """An error of the custody service: raised by the server (``guomi.kms``) and, from the
    service's answer, by the SDK (``guomi.client``).

    ``status`` is the HTTP status, ``code`` the machine-readable error code (one of
    :class:`guomi.api.ErrorCode`; ``{"errors": [{"code": ..., "message": ...}]}`` on the
    wire), ``field`` the request field at fault when known, ``errors`` every error object
    the service sent (SDK side).  Subclasses name the statuses and codes callers handle;
    each has a default ``status`` and ``code``.
    """

    status: int = 500
    code: str = "internal"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        field: str | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.field = field
        self.errors = errors if errors is not None else []


class BadRequestError(ServiceError, ValueError):
    """400: the request was malformed or named a bad value (the message names the field)."""

    status = 400
    code = "invalid_request"


class DecryptionFailedError(BadRequestError):
    """400: a ciphertext token could not be opened (deliberately says no more), or names a
    key version that is unavailable (``key_version_disabled``)."""

    code = "decryption_failed"

    def __init__(self, message: str = "ciphertext could not be decrypted", **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]


class AuthenticationError(ServiceError):
    """401: no token, or the token is unknown, expired (``token_expired``) or revoked."""

    status = 401
    code = "unauthorized"


class PermissionDeniedError(ServiceError):
    """403: the token's policies do not grant this capability on this key."""

    status = 403
    code = "forbidden"


class NotFoundError(ServiceError):
    """404: no such key, policy, accessor (or path)."""

    status = 404
    code = "not_found"


class ConflictError(ServiceError):
    """409: the request conflicts with the current state (key exists, already initialised...)."""

    status = 409
    code = "conflict"


class PayloadTooLargeError(ServiceError):
    """413: the body or the batch is larger than the service accepts."""

    status = 413
    code = "payload_too_large"


class TooManyRequestsError(ServiceError):
    """429: too many unseal or share submissions from one address; retry after ``Retry-After``."""

    status = 429
    code = "too_many_requests"


class StorageIntegrityError(ServiceError):
    """500: a stored record failed its integrity check (tampered, moved, replayed or rolled back)."""

    status = 500
    code = "storage_integrity"


class NotInitializedError(ServiceError):
    """501: the service has not been initialised (``guomi operator init``)."""

    status = 501
    code = "not_initialized"


class ServiceUnavailableError(ServiceError):
    """503: the service cannot serve now (sealed, storage down, audit log unwritable)."""

    status = 503
    code = "storage_unavailable"


class SealedError(ServiceUnavailableError):
    """503 because the service is sealed: an operator must unseal it with key shares."""

    code = "sealed"

    def __init__(self, message: str = "the service is sealed", **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]


class StorageUnavailableError(ServiceUnavailableError):
    """503: the storage backend failed (I/O, lost database connection); retry later."""

    code = "storage_unavailable"


class AuditUnavailableError(ServiceUnavailableError):
    """503: the audit record could not be written, so no result was returned (fail closed)."""

    code = "audit_unavailable"

    def __init__(
        self, message: str = "the audit log cannot be written; request refused", **kw: object
    ) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]


class StreamError(GuomiError):
    """A ``guomi-stream/v1`` file could not be encrypted or decrypted (``guomi.envelope``)."""


class StreamFormatError(StreamError, ValueError):
    """The encrypted file is damaged: truncated, reordered, extended, edited, or not one at all.

    The message names the failure (bad magic, header MAC bad, segment N failed
    authentication, truncated, trailing data, ...). Also raised when a stanza addressed to
    the caller's identity does not open (wrong passphrase or damaged header).
    """


class StreamSignatureError(StreamError, InvalidSignature):
    """A signature was required of a ``guomi-stream`` file and it does not hold.

    The file is unsigned, signed by another key than the expected one, or its SM2
    signature does not verify (``docs/spec/stream.md`` §6). Also an
    :class:`InvalidSignature`.
    """


class NoIdentityMatchError(StreamError):
    """None of the given identities is a recipient of this file ("not mine", not "damaged")."""


class MissingExtraError(GuomiError, ImportError):
    """A part of guomi needs an optional extra that is not installed.

    ``pip install guomi`` brings the primitives, keys and formats only; the custody service,
    its SDK and the CLI come with extras. The message names the command to run, e.g.
    ``pip install "guomi[server]"``. Also an :class:`ImportError`, since it is raised when
    the module is imported.
    """

    def __init__(self, extra: str, missing: tuple[str, ...], feature: str) -> None:
        self.extra = extra
        self.missing = missing
        super().__init__(
            f"{feature} needs the {extra!r} extra (missing: {', '.join(missing)}); "
            f'install it with: pip install "guomi[{extra}]"',
            name=missing[0] if missing else None,
        )


class UnsupportedQueryError(GuomiError, ValueError):
    """A query on an encrypted column that its blind indexes cannot answer (``guomi.fields``).

    Raised instead of silently returning nothing; the message names the index that would allow it.
    """


class IndexPlanError(GuomiError, ValueError):
    """A blind index so wide it would be unique per row on a low-entropy column (``guomi.fields.plan``)."""
