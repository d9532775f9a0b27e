"""The service's error codes, each with its HTTP status (``docs/spec/http-api.md`` §2).

Layer: ``guomi.api`` (the wire contract).  Every error answer is
``{"errors": [{"code": <ErrorCode>, "message": "..."}]}`` and every failed batch
item carries one in ``code``.  The server raises the
:mod:`guomi.exceptions` class for a code (:func:`exception_class`); the SDK maps a
received code back to the same class, falling back to the status for codes it
does not know (a newer server).
"""

from __future__ import annotations

from enum import StrEnum

from guomi.exceptions import (
    AuditUnavailableError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DecryptionFailedError,
    NotFoundError,
    NotInitializedError,
    PayloadTooLargeError,
    PermissionDeniedError,
    SealedError,
    ServiceError,
    ServiceUnavailableError,
    StorageIntegrityError,
    StorageUnavailableError,
    TooManyRequestsError,
)

__all__ = ["ErrorCode", "exception_class", "exception_class_for_status"]


class ErrorCode(StrEnum):
    """A stable, machine-readable error code; ``status`` is its HTTP status."""

    INVALID_REQUEST = "invalid_request"
    INVALID_JSON = "invalid_json"
    INVALID_KEY_NAME = "invalid_key_name"
    UNSUPPORTED_OPERATION = "unsupported_operation"
    DECRYPTION_FAILED = "decryption_failed"
    INVALID_CIPHERTEXT = "invalid_ciphertext"
    KEY_VERSION_DISABLED = "key_version_disabled"
    DELETION_NOT_ALLOWED = "deletion_not_allowed"
    INVALID_BACKUP = "invalid_backup"
    INVALID_SIGNATURE = "invalid_signature"
    UNSEAL_FAILED = "unseal_failed"
    UNAUTHORIZED = "unauthorized"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 - an error code, not a secret
    #: A token bound to a TLS client certificate presented over another one (or none).
    TOKEN_BOUND_ELSEWHERE = "token_bound_elsewhere"  # noqa: S105 - an error code
    #: ``sys/init`` without the server's one-time bootstrap token (the init lock).
    BOOTSTRAP_TOKEN_REQUIRED = "bootstrap_token_required"  # noqa: S105 - an error code
    #: Unseal progress reset without a share of the current round.
    RESET_DENIED = "reset_denied"
    #: Shares of generate-root / rekey that do not rebuild the master key (nothing changed).
    SHARES_INVALID = "shares_invalid"
    #: No generate-root / rekey attempt in progress.
    NO_ATTEMPT = "no_attempt"
    #: Too many unseal / share submissions from one address (``Retry-After`` says when).
    TOO_MANY_REQUESTS = "too_many_requests"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    KEY_EXISTS = "key_exists"
    ALREADY_INITIALIZED = "already_initialized"
    CAS_CONFLICT = "cas_conflict"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    BATCH_TOO_LARGE = "batch_too_large"
    INTERNAL = "internal"
    STORAGE_INTEGRITY = "storage_integrity"
    NOT_INITIALIZED = "not_initialized"
    SEALED = "sealed"
    AUDIT_UNAVAILABLE = "audit_unavailable"
    STORAGE_UNAVAILABLE = "storage_unavailable"

    @property
    def status(self) -> int:
        """The HTTP status of answers with this code."""
        return _STATUS[self]


_STATUS: dict[ErrorCode, int] = {
    **dict.fromkeys(
        (
            ErrorCode.INVALID_REQUEST,
            ErrorCode.INVALID_JSON,
            ErrorCode.INVALID_KEY_NAME,
            ErrorCode.UNSUPPORTED_OPERATION,
            ErrorCode.DECRYPTION_FAILED,
            ErrorCode.INVALID_CIPHERTEXT,
            ErrorCode.KEY_VERSION_DISABLED,
            ErrorCode.DELETION_NOT_ALLOWED,
            ErrorCode.INVALID_BACKUP,
            ErrorCode.INVALID_SIGNATURE,
            ErrorCode.UNSEAL_FAILED,
            ErrorCode.SHARES_INVALID,
        ),
        400,
    ),
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.TOKEN_EXPIRED: 401,
    ErrorCode.TOKEN_BOUND_ELSEWHERE: 401,
    ErrorCode.BOOTSTRAP_TOKEN_REQUIRED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.RESET_DENIED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.NO_ATTEMPT: 404,
    ErrorCode.TOO_MANY_REQUESTS: 429,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.CONFLICT: 409,
    ErrorCode.KEY_EXISTS: 409,
    ErrorCode.ALREADY_INITIALIZED: 409,
    ErrorCode.CAS_CONFLICT: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.BATCH_TOO_LARGE: 413,
    ErrorCode.INTERNAL: 500,
    ErrorCode.STORAGE_INTEGRITY: 500,
    ErrorCode.NOT_INITIALIZED: 501,
    ErrorCode.SEALED: 503,
    ErrorCode.AUDIT_UNAVAILABLE: 503,
    ErrorCode.STORAGE_UNAVAILABLE: 503,
}

#: The exception class of each code (codes not listed take their status's class).
_CLASS: dict[ErrorCode, type[ServiceError]] = {
    ErrorCode.DECRYPTION_FAILED: DecryptionFailedError,
    ErrorCode.INVALID_CIPHERTEXT: DecryptionFailedError,
    ErrorCode.STORAGE_INTEGRITY: StorageIntegrityError,
    ErrorCode.SEALED: SealedError,
    ErrorCode.AUDIT_UNAVAILABLE: AuditUnavailableError,
    ErrorCode.STORAGE_UNAVAILABLE: StorageUnavailableError,
}

_BY_STATUS: dict[int, type[ServiceError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: BadRequestError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: TooManyRequestsError,
    422: BadRequestError,
    500: ServiceError,
    501: NotInitializedError,
    503: ServiceUnavailableError,
}


def exception_class_for_status(status: int) -> type[ServiceError]:
    """The exception class for an HTTP error status (any other 4xx: :class:`BadRequestError`)."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = BadRequestError if 400 <= status < 500 else ServiceError
    return cls


def exception_class(code: str, status: int | None = None) -> type[ServiceError]:
    """The exception class for an error ``code``; unknown codes fall back to ``status``."""
    try:
        known = ErrorCode(code)
    except ValueError:
        return exception_class_for_status(status if status is not None else 500)
    return _CLASS.get(known) or exception_class_for_status(known.status)
