"""Routes ``/v1/keys``: create, list, read, rotate, config, delete, backup, restore.

Layer: ``guomi.kms.http`` (translation only).  Writes run in the thread pool.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guomi import api
from guomi.kms.http._common import ERROR_RESPONSES, NoBody, body_doc, dispatch

router = APIRouter(tags=["keys"], responses=ERROR_RESPONSES)


@router.get("/keys", response_model=api.DataResponse[api.KeyListResponse])
async def list_keys(request: Request) -> Response:
    """Names of the keys the caller may ``list``."""
    return await dispatch(
        request, "keys", NoBody, lambda eng, c, _: eng.list_keys(c), optional=True, admin=True
    )


@router.post(
    "/keys/restore",
    response_model=api.DataResponse[api.KeyInfo],
    openapi_extra=body_doc(api.RestoreRequest),
)
async def restore_key(request: Request) -> Response:
    """Recreates a key from a backup made by this installation."""
    return await dispatch(
        request, "keys/restore", api.RestoreRequest, lambda eng, c, b: eng.restore_key(c, b), admin=True
    )


@router.post(
    "/keys/{name}",
    response_model=api.DataResponse[api.KeyInfo],
    openapi_extra=body_doc(api.CreateKeyRequest, required=False),
)
async def create_key(request: Request, name: str) -> Response:
    """A new key (``type`` defaults to ``sm4-gcm``), version 1."""
    return await dispatch(
        request,
        f"keys/{name}",
        api.CreateKeyRequest,
        lambda eng, c, b: eng.create_key(c, name, b),
        optional=True,
        admin=True,
    )


@router.get("/keys/{name}", response_model=api.DataResponse[api.KeyInfo])
async def read_key(request: Request, name: str) -> Response:
    """Metadata, versions, SM2 public keys."""
    return await dispatch(
        request, f"keys/{name}", NoBody, lambda eng, c, _: eng.read_key(c, name), optional=True, admin=True
    )


@router.delete("/keys/{name}", status_code=204)
async def delete_key(request: Request, name: str) -> Response:
    """Deletes the key and every version (only when ``deletion_allowed``)."""
    return await dispatch(
        request, f"keys/{name}", NoBody, lambda eng, c, _: eng.delete_key(c, name), optional=True, admin=True
    )


@router.post("/keys/{name}/rotate", response_model=api.DataResponse[api.KeyInfo])
async def rotate_key(request: Request, name: str) -> Response:
    """A new latest version."""
    return await dispatch(
        request,
        f"keys/{name}/rotate",
        NoBody,
        lambda eng, c, _: eng.rotate_key(c, name),
        optional=True,
        admin=True,
    )


@router.post(
    "/keys/{name}/config",
    response_model=api.DataResponse[api.KeyInfo],
    openapi_extra=body_doc(api.KeyConfigRequest),
)
async def configure_key(request: Request, name: str) -> Response:
    """Minimum versions, deletion flag, automatic rotation period."""
    return await dispatch(
        request,
        f"keys/{name}/config",
        api.KeyConfigRequest,
        lambda eng, c, b: eng.configure_key(c, name, b),
        admin=True,
    )


@router.get("/keys/{name}/backup", response_model=api.DataResponse[api.BackupResponse])
async def backup_key(request: Request, name: str) -> Response:
    """Every version, sealed so only this installation can restore it."""
    return await dispatch(
        request,
        f"keys/{name}/backup",
        NoBody,
        lambda eng, c, _: eng.backup_key(c, name),
        optional=True,
        admin=True,
    )
