"""Turn a custody-service error answer into the matching :mod:`guomi.exceptions` type.

Layer: ``guomi.client`` (internal). The service answers errors as
``{"errors": [{"code": "...", "message": "..."}]}`` (SERVICE.md); the status picks the
exception class, and the first error's ``code`` is kept on it so callers can branch on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guomi.exceptions import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    NotInitializedError,
    PayloadTooLargeError,
    PermissionDeniedError,
    SealedError,
    ServiceError,
    ServiceUnavailableError,
)

_BY_STATUS: dict[int, type[ServiceError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: BadRequestError,
    501: NotInitializedError,
    503: ServiceUnavailableError,
}


def _errors_of(body: Any) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list):
            for err in errors:
                if isinstance(err, Mapping):
                    out.append({str(k): str(v) for k, v in err.items() if isinstance(v, (str, int))})
                elif isinstance(err, str):
                    out.append({"code": "error", "message": err})
        elif isinstance(body.get("detail"), str):
            out.append({"code": "error", "message": str(body["detail"])})
    return out


def error_for(status: int, body: Any, method: str, path: str) -> ServiceError:
    """The exception for an error answer (``body`` is the decoded JSON, or ``None``)."""
    errors = _errors_of(body)
    code = errors[0].get("code", "") if errors else ""
    text = "; ".join(e.get("message", e.get("code", "")) for e in errors) or f"HTTP {status}"
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = BadRequestError if 400 <= status < 500 else ServiceError
    if status == 503 and ("seal" in code or "seal" in text.lower()):
        cls = SealedError
    return cls(f"{method} /v1/{path}: {text}", status=status, code=code, errors=errors)
