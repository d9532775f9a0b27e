"""Routes ``/v1/keys``: create, list, read, rotate, config, delete, backup, restore.

Layer: ``guomi.kms.http`` (translation only).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import ERROR_RESPONSES, authed, ok

router = APIRouter(tags=["keys"], responses=ERROR_RESPONSES)


@router.get("/keys", response_model=api.DataResponse[api.KeyListResponse])
def list_keys(request: Request) -> Response:
    """Names of the keys the caller may ``list``."""
    eng, caller = authed(request, "keys")
    return ok(eng.list_keys(caller))


@router.post("/keys/restore", response_model=api.DataResponse[api.KeyInfo])
def restore_key(request: Request, body: api.RestoreRequest) -> Response:
    """Recreates a key from a backup made by this installation."""
    eng, caller = authed(request, "keys/restore")
    return ok(eng.restore_key(caller, body))


@router.post("/keys/{name}", response_model=api.DataResponse[api.KeyInfo])
def create_key(request: Request, name: str, body: api.CreateKeyRequest | None = None) -> Response:
    """A new key (``type`` defaults to ``sm4-gcm``), version 1."""
    eng, caller = authed(request, f"keys/{name}")
    return ok(eng.create_key(caller, name, body or api.CreateKeyRequest()))


@router.get("/keys/{name}", response_model=api.DataResponse[api.KeyInfo])
def read_key(request: Request, name: str) -> Response:
    """Metadata, versions, SM2 public keys."""
    eng, caller = authed(request, f"keys/{name}")
    return ok(eng.read_key(caller, name))


@router.delete("/keys/{name}", status_code=204)
def delete_key(request: Request, name: str) -> Response:
    """Deletes the key and every version (only when ``deletion_allowed``)."""
    eng, caller = authed(request, f"keys/{name}")
    eng.delete_key(caller, name)
    return ok(None)


@router.post("/keys/{name}/rotate", response_model=api.DataResponse[api.KeyInfo])
def rotate_key(request: Request, name: str) -> Response:
    """A new latest version."""
    eng, caller = authed(request, f"keys/{name}/rotate")
    return ok(eng.rotate_key(caller, name))


@router.post("/keys/{name}/config", response_model=api.DataResponse[api.KeyInfo])
def configure_key(request: Request, name: str, body: api.KeyConfigRequest) -> Response:
    """Minimum versions, deletion flag, automatic rotation period."""
    eng, caller = authed(request, f"keys/{name}/config")
    return ok(eng.configure_key(caller, name, body))


@router.get("/keys/{name}/backup", response_model=api.DataResponse[api.BackupResponse])
def backup_key(request: Request, name: str) -> Response:
    """Every version, sealed so only this installation can restore it."""
    eng, caller = authed(request, f"keys/{name}/backup")
    return ok(eng.backup_key(caller, name))
