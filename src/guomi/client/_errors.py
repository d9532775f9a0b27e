"""Turn a custody-service error answer into the matching :mod:`guomi.exceptions` type.

Layer: ``guomi.client`` (internal). The service answers errors as
``{"errors": [{"code": "...", "message": "..."}]}`` (``docs/spec/http-api.md`` §2).
The first error's ``code`` picks the exception class (:func:`guomi.api.exception_class`:
the same class the server raised); a code this SDK does not know (a newer server)
falls back to the HTTP status.  The code is kept on the exception so callers can
branch on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guomi.api import exception_class
from guomi.exceptions import ServiceError

__all__ = ["error_for"]


def _errors_of(body: Any) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list):
            for err in errors:
                if isinstance(err, Mapping):
                    out.append({str(k): str(v) for k, v in err.items() if isinstance(v, (str, int))})
                elif isinstance(err, str):  # Vault's style: a list of messages
                    out.append({"code": "", "message": err})
        elif isinstance(body.get("detail"), str):
            out.append({"code": "", "message": str(body["detail"])})
    return out


def error_for(status: int, body: Any, method: str, path: str) -> ServiceError:
    """The exception for an error answer (``body`` is the decoded JSON, or ``None``)."""
    errors = _errors_of(body)
    code = errors[0].get("code", "") if errors else ""
    text = "; ".join(e.get("message", e.get("code", "")) for e in errors) or f"HTTP {status}"
    cls = exception_class(code, status)
    return cls(f"{method} /v1/{path}: {text}", status=status, code=code or None, errors=errors)
