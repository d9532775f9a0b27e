"""The errors the custody service raises: the service classes of :mod:`guomi.exceptions`.

Layer: ``guomi.kms``.  There is one hierarchy: the server raises the same
:class:`guomi.exceptions.ServiceError` subclasses the SDK raises from an error
answer, each carrying its HTTP ``status``, its ``code`` (a
:class:`guomi.api.ErrorCode`) and the ``field`` at fault.  The HTTP layer
turns them into ``{"errors": [{"code", "message"}]}``.  Messages name the
field or the problem and never contain key material, plaintext or tokens.

:data:`KMSError` is the server's name for the base class, :data:`ForbiddenError`
and :data:`UnauthorizedError` its names for the 403 and 401 classes (the same
class objects, kept for code written against the earlier module).
"""

from __future__ import annotations

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
    StorageIntegrityError,
    StorageUnavailableError,
)

__all__ = [
    "AuditUnavailableError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DecryptionFailedError",
    "ForbiddenError",
    "KMSError",
    "NotFoundError",
    "NotInitializedError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "SealedError",
    "StorageIntegrityError",
    "StorageUnavailableError",
    "UnauthorizedError",
]

#: The base of every service error (:class:`guomi.exceptions.ServiceError`).
KMSError = ServiceError
#: 403 (:class:`guomi.exceptions.PermissionDeniedError`).
ForbiddenError = PermissionDeniedError
#: 401 (:class:`guomi.exceptions.AuthenticationError`).
UnauthorizedError = AuthenticationError
