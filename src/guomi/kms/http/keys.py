"""Routes ``/v1/keys``: create, list, read, rotate, config, delete, backup, restore.

Layer: ``guomi.kms.http`` (translation only).  Writes run in the thread pool.
"""

from __future__ import annotations

from typing import Any

from guomi import api
from guomi.kms.http._routes import Route

__all__ = ["ROUTES"]


def _keys(method: str, path: str, handler: Any, **kw: Any) -> Route:
    return Route(method, path, handler, tag="keys", inline=False, aliases=("/transit",), **kw)


ROUTES = (
    _keys(
        "GET",
        "/keys",
        lambda c: c.engine.list_keys(c.who),
        summary="Names of the keys the caller may ``list``.",
        response=api.KeyListResponse,
        body_required=False,
    ),
    _keys(
        "POST",
        "/keys/restore",
        lambda c: c.engine.restore_key(c.who, c.body),
        request=api.RestoreRequest,
        response=api.KeyInfo,
        capability=("create",),
        summary="Recreates a key from a backup made by this installation.",
    ),
    _keys(
        "POST",
        "/keys/{name}",
        lambda c: c.engine.create_key(c.who, c.name, c.body),
        request=api.CreateKeyRequest,
        response=api.KeyInfo,
        capability=("create",),
        summary="A new key (``type`` defaults to ``sm4-gcm``), version 1.",
        body_required=False,
    ),
    _keys(
        "GET",
        "/keys/{name}",
        lambda c: c.engine.read_key(c.who, c.name),
        response=api.KeyInfo,
        capability=("read",),
        summary="Metadata, versions, SM2 public keys.",
        body_required=False,
    ),
    _keys(
        "DELETE",
        "/keys/{name}",
        lambda c: c.engine.delete_key(c.who, c.name),
        capability=("delete",),
        summary="Deletes the key and every version (only when ``deletion_allowed``).",
        body_required=False,
    ),
    _keys(
        "POST",
        "/keys/{name}/rotate",
        lambda c: c.engine.rotate_key(c.who, c.name),
        response=api.KeyInfo,
        capability=("rotate",),
        summary="A new latest version.",
        body_required=False,
    ),
    _keys(
        "POST",
        "/keys/{name}/config",
        lambda c: c.engine.configure_key(c.who, c.name, c.body),
        request=api.KeyConfigRequest,
        response=api.KeyInfo,
        capability=("config",),
        summary="Minimum versions, deletion flag, automatic rotation period.",
    ),
    _keys(
        "GET",
        "/keys/{name}/backup",
        lambda c: c.engine.backup_key(c.who, c.name),
        response=api.BackupResponse,
        capability=("backup",),
        summary="Every version, sealed so only this installation can restore it.",
        body_required=False,
    ),
)
