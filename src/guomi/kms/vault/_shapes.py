"""Vault's wire shapes: the response envelope, error bodies and statuses, key and token views.

Layer: ``guomi.kms.vault``.  Pure functions, no engine and no HTTP: what the
Vault-compatible routes (:mod:`._transit`, :mod:`._token`) use to speak as
HashiCorp Vault does (``website/content/api-docs`` in Vault's repository;
recorded samples in ``tests/vault/fixtures/vault_responses.json``).

* Success: ``{"request_id", "lease_id": "", "renewable": false,
  "lease_duration": 0, "data", "wrap_info": null, "warnings", "auth"}``.
* Errors: ``{"errors": ["<guomi code>: <message>"]}`` -- a list of strings,
  as hvac and the Vault CLI expect -- plus ``"guomi_errors": [{"code",
  "message"}]`` (ignored by Vault clients) so the stable code stays available.
* Statuses as Vault uses them: a missing, unknown, revoked or expired token
  is 403 "permission denied" (Vault has no 401 for tokens; hvac's
  ``is_authenticated`` relies on it), conflicts are 400, an empty list is 404
  with ``{"errors": []}``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from guomi import api
from guomi.kms.errors import BadRequestError

__all__ = [
    "EMPTY_LIST",
    "KNOWN_VAULT_TYPES",
    "VaultErrors",
    "envelope",
    "guomi_key_type",
    "key_data",
    "reject_unsupported",
    "unix_time",
    "vault_error_body",
    "vault_status",
]

#: Vault's answer to a LIST with no entries (status 404).
EMPTY_LIST = b'{"errors":[]}'

#: Vault key types guomi maps to its own (for migrating data off Vault).
_TYPE_MAP = {"aes256-gcm96": "aes-256-gcm"}
#: Vault key types with no counterpart here: refused with a clear message.
KNOWN_VAULT_TYPES = frozenset(
    {
        "aes128-gcm96",
        "chacha20-poly1305",
        "ed25519",
        "ecdsa-p256",
        "ecdsa-p384",
        "ecdsa-p521",
        "rsa-2048",
        "rsa-3072",
        "rsa-4096",
        "hmac",
        "managed_key",
        "aes128-cmac",
        "aes256-cmac",
        "ml-dsa",
        "hybrid",
    }
)
_GUOMI_TYPES = ("sm4-gcm", "sm2-sign", "sm2-encrypt", "hmac-sm3", "aes-256-gcm")
_STATUS = {401: 403, 409: 400}


def vault_status(status: int) -> int:
    """The status Vault would answer for a guomi error status."""
    return _STATUS.get(status, status)


def vault_error_body(code: str, message: str) -> bytes:
    """``{"errors": ["code: message"], "guomi_errors": [{"code", "message"}]}``."""
    return json.dumps(
        {"errors": [f"{code}: {message}"], "guomi_errors": [{"code": code, "message": message}]},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")


class VaultErrors:
    """The error style of the Vault routes: Vault's body and Vault's statuses."""

    def __call__(self, code: str, message: str) -> bytes:
        return vault_error_body(code, message)

    @staticmethod
    def status_for(status: int) -> int:
        """Vault's status for a guomi error status (401 -> 403, 409 -> 400)."""
        return vault_status(status)


def envelope(
    data: Any = None,
    *,
    request_id: str = "",
    auth: Any = None,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """Vault's response envelope."""
    return {
        "request_id": request_id,
        "lease_id": "",
        "renewable": False,
        "lease_duration": 0,
        "data": data,
        "wrap_info": None,
        "warnings": warnings or None,
        "auth": auth,
    }


def unix_time(rfc3339: str) -> int:
    """Seconds since the epoch of guomi's ``...Z`` timestamps."""
    return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp())


def guomi_key_type(vault_type: Any) -> str:
    """guomi's key type for a Vault ``type`` (absent: guomi's default, ``sm4-gcm``)."""
    if vault_type is None or vault_type == "":
        return "sm4-gcm"
    if not isinstance(vault_type, str):
        raise BadRequestError("type: must be a string", field="type")
    if vault_type in _GUOMI_TYPES:
        return vault_type
    if vault_type in _TYPE_MAP:
        return _TYPE_MAP[vault_type]
    known = "a Vault key type guomi does not offer" if vault_type in KNOWN_VAULT_TYPES else "unknown"
    raise BadRequestError(
        f"type: {vault_type!r} is {known}; guomi keys are sm4-gcm (default), sm2-sign, "
        "sm2-encrypt, hmac-sm3, and aes-256-gcm (alias aes256-gcm96) for migrating Vault data",
        code="unsupported_operation",
        field="type",
    )


def reject_unsupported(body: dict[str, Any], **allowed_falsy: str) -> None:
    """Vault options whose only meaning here is their default: accepted when false or
    empty, refused with the reason when set (``allowed_falsy`` maps field -> reason)."""
    for fld, reason in allowed_falsy.items():
        value = body.get(fld)
        if value not in (None, False, "", 0, "false"):
            raise BadRequestError(f"{fld}: {reason}", code="unsupported_operation", field=fld)


def key_data(info: api.KeyInfo) -> dict[str, Any]:
    """``data`` of Vault's read-key answer for a guomi key."""
    asymmetric = info.type in ("sm2-sign", "sm2-encrypt")
    keys: dict[str, Any] = {}
    for version, v in info.keys.items():
        if asymmetric:
            keys[version] = {"creation_time": v.creation_time, "name": info.type, "public_key": v.public_key}
        else:
            keys[version] = unix_time(v.creation_time)
    return {
        "name": info.name,
        "type": info.type,
        "keys": keys,
        "latest_version": info.latest_version,
        "min_available_version": info.min_available_version,
        "min_decryption_version": info.min_decryption_version,
        "min_encryption_version": info.min_encryption_version,
        "deletion_allowed": info.deletion_allowed,
        "auto_rotate_period": info.auto_rotate_period,
        "derived": False,
        "exportable": False,
        "allow_plaintext_backup": False,
        "convergent_encryption": False,
        "imported": False,
        "supports_encryption": info.supports_encryption,
        "supports_decryption": info.supports_decryption,
        "supports_derivation": False,
        "supports_signing": info.supports_signing,
    }
