"""Errors of the custody service, each carrying its HTTP status and stable error code.

Layer: ``guomi.kms`` (engine and HTTP share them; the HTTP layer turns them into
``{"errors": [{"code", "message"}]}``).  Messages name the field or the problem
and never contain key material, plaintext or tokens.
"""

from __future__ import annotations

__all__ = [
    "AuditUnavailableError",
    "BadRequestError",
    "ConflictError",
    "DecryptionFailedError",
    "ForbiddenError",
    "KMSError",
    "NotFoundError",
    "NotInitializedError",
    "PayloadTooLargeError",
    "SealedError",
    "StorageIntegrityError",
    "StorageUnavailableError",
    "UnauthorizedError",
]


class KMSError(Exception):
    """Base class: ``status`` (HTTP) and ``code`` (machine-readable) travel to the client."""

    status = 500
    code = "internal"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field


class BadRequestError(KMSError):
    """400: the request is malformed or names an unacceptable value."""

    status = 400
    code = "invalid_request"


class DecryptionFailedError(BadRequestError):
    """400: a ciphertext token could not be opened (deliberately says no more)."""

    code = "decryption_failed"

    def __init__(
        self, message: str = "ciphertext could not be decrypted", *, code: str | None = None
    ) -> None:
        super().__init__(message, code=code)


class UnauthorizedError(KMSError):
    """401: no token, or an unknown, expired or revoked one."""

    status = 401
    code = "unauthorized"


class ForbiddenError(KMSError):
    """403: the token's policies do not grant the capability."""

    status = 403
    code = "forbidden"


class NotFoundError(KMSError):
    """404: no such key, policy or path."""

    status = 404
    code = "not_found"


class ConflictError(KMSError):
    """409: the request conflicts with the current state."""

    status = 409
    code = "conflict"


class PayloadTooLargeError(KMSError):
    """413: the body or the batch exceeds the configured limits."""

    status = 413
    code = "payload_too_large"


class NotInitializedError(KMSError):
    """501: ``sys/init`` has not been run."""

    status = 501
    code = "not_initialized"


class SealedError(KMSError):
    """503: the service is sealed; no key is in memory."""

    status = 503
    code = "sealed"

    def __init__(self, message: str = "the service is sealed", **kw: str | None) -> None:
        super().__init__(message, **kw)


class StorageUnavailableError(KMSError):
    """503: the storage backend failed (I/O, lost database connection); retry later."""

    status = 503
    code = "storage_unavailable"


class StorageIntegrityError(KMSError):
    """500: a stored record failed barrier authentication (tampered, moved or corrupted)."""

    status = 500
    code = "storage_integrity"


class AuditUnavailableError(KMSError):
    """503: the audit record could not be written, so no result is returned (fail closed)."""

    status = 503
    code = "audit_unavailable"

    def __init__(
        self, message: str = "the audit log cannot be written; request refused", **kw: str | None
    ) -> None:
        super().__init__(message, **kw)
