"""Key life cycle: create, read, list, rotate, configure, delete, back up, restore.

Layer: ``guomi.kms.service`` (internal).  Also the key-record helpers the
transit and signing concerns use: loading metadata, version material (cached
per process by the key's random ``uid`` and version: versions never change
once written, and the metadata read on every operation tells whether a
version still exists), the version windows and the compare-and-set loop.

Concurrency: every change of a key is one atomic storage commit guarded by a
compare-and-set on the metadata record's revision; on a conflict the change
is recomputed from a fresh read (bounded retries), so concurrent rotations in
one process or in several servers sharing PostgreSQL yield consecutive
versions.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from guomi import api
from guomi.api import ErrorCode
from guomi.exceptions import InvalidSignature, InvalidTag
from guomi.kms import auth
from guomi.kms._crypto import sm4gcm
from guomi.kms.auth import iso
from guomi.kms.errors import (
    BadRequestError,
    ConflictError,
    DecryptionFailedError,
    KMSError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
)
from guomi.kms.service._context import Caller
from guomi.kms.service._core import EngineCore
from guomi.kms.service._keyrecords import KeyMeta, meta_path, version_path, versions_prefix
from guomi.kms.service._keytypes import KeyType, Material, Operation, key_type
from guomi.kms.storage import Delete, Op, Put, StorageConflict, StorageError

__all__ = ["KeyOps"]

_CAS_RETRIES = 64
#: ``guomi-backup:v2:<key name>:<base64url(nonce || SM4-GCM(backup key, body, AD))>``.
_BACKUP_PREFIX = "guomi-backup:v2:"
_BACKUP_AD = b"guomi/backup/v2"
#: Version 1 (no name binding): still opened, by root only.
_BACKUP_PREFIX_V1 = "guomi-backup:v1:"
_BACKUP_AD_V1 = b"guomi/backup/v1"

R = TypeVar("R")


class KeyOps(EngineCore):
    """Key records and the key life cycle."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._materials: OrderedDict[tuple[str, int], Material] = OrderedDict()
        self._materials_lock = threading.Lock()

    def _forget_keys(self) -> None:
        super()._forget_keys()
        with self._materials_lock:
            self._materials.clear()

    # ------------------------------------------------------------ key records

    def _load_meta(self, name: str) -> KeyMeta:
        meta = self._read_decoded(meta_path(name), KeyMeta.from_json)
        if meta is None:
            raise NotFoundError(f"no key named {name!r}")
        return meta

    def _key_for(self, name: str, operation: Operation, *, rotate: bool = False) -> tuple[KeyMeta, KeyType]:
        """The key's metadata and type, 400 ``unsupported_operation`` unless it can do ``operation``;
        with ``rotate``, an automatic rotation that is due happens first."""
        meta = self._load_meta(name)
        kt = key_type(meta.type)
        if not kt.supports(operation):
            raise BadRequestError(
                f"key {name!r} is a {meta.type} key and cannot {operation}",
                code=ErrorCode.UNSUPPORTED_OPERATION,
            )
        return (self._maybe_auto_rotate(meta) if rotate else meta), kt

    def _material(self, meta: KeyMeta, version: int) -> Material:
        ck = (meta.uid, version)
        with self._materials_lock:
            m = self._materials.get(ck)
            if m is not None:
                self._materials.move_to_end(ck)
                return m
        barrier = self._require_unsealed()
        rec = barrier.get(version_path(meta.name, version))
        if rec is None:
            raise NotFoundError(f"key {meta.name!r} has no version {version}")
        m = key_type(meta.type).load(rec.value)
        with self._materials_lock:
            self._materials[ck] = m
            while len(self._materials) > self.config.material_cache_size:
                self._materials.popitem(last=False)
        return m

    def _material_memo(self, meta: KeyMeta) -> Callable[[int], Material]:
        """:meth:`_material` memoised for one request: a batch takes the cache lock once
        per version it uses instead of once per item."""
        local: dict[int, Material] = {}

        def get(version: int) -> Material:
            m = local.get(version)
            if m is None:
                m = local[version] = self._material(meta, version)
            return m

        return get

    def _cas(self, name: str, change: Callable[[KeyMeta], tuple[KeyMeta, list[Op]]]) -> KeyMeta:
        """Applies ``change`` (new metadata + extra ops) with compare-and-set, retrying on conflict."""
        barrier = self._require_unsealed()
        for _ in range(_CAS_RETRIES):
            meta = self._load_meta(name)
            new_meta, ops = change(meta)
            ops = [*ops, Put(meta_path(name), new_meta.to_json(), meta.revision)]
            try:
                rev = barrier.commit(ops)
            except StorageConflict:
                time.sleep(0.0005 + (os.urandom(1)[0] / 255) * 0.002)
                continue
            return new_meta.evolve(revision=rev)
        raise ConflictError(f"key {name!r} is changing too fast; retry", code=ErrorCode.CAS_CONFLICT)

    def _next_version(self, meta: KeyMeta, now: float) -> tuple[KeyMeta, list[Op]]:
        v = meta.latest + 1
        rec = key_type(meta.type).new_version_record(v, now)
        return meta.evolve(latest=v, last_rotated=now), [Put(version_path(meta.name, v), rec, 0)]

    def _rotate(self, name: str) -> KeyMeta:
        return self._cas(name, lambda meta: self._next_version(meta, self.clock()))

    def _maybe_auto_rotate(self, meta: KeyMeta) -> KeyMeta:
        if meta.auto_rotate_period <= 0 or self.clock() - meta.last_rotated < meta.auto_rotate_period:
            return meta
        period = meta.auto_rotate_period

        def change(cur: KeyMeta) -> tuple[KeyMeta, list[Op]]:
            now = self.clock()
            if cur.auto_rotate_period <= 0 or now - cur.last_rotated < period:
                return cur, []  # someone else rotated meanwhile: rewrite unchanged (cheap, rare)
            return self._next_version(cur, now)

        return self._cas(meta.name, change)

    def rotate_due_keys(self) -> list[str]:
        """Background task: rotates every key whose ``auto_rotate_period`` has elapsed."""
        if self.sealed:
            return []
        rotated = []
        barrier = self._require_unsealed()
        for name in barrier.list("keymeta/"):
            try:
                meta = self._load_meta(name)
                new = self._maybe_auto_rotate(meta)
            except (KMSError, StorageError):
                continue
            if new.latest != meta.latest:
                rotated.append(name)
                self._audit_write(
                    operation="auto-rotate",
                    path=f"keys/{name}/rotate",
                    key=name,
                    key_version=new.latest,
                    result="ok",
                    status=200,
                )
        return rotated

    def _encryption_version(self, meta: KeyMeta, requested: int | None) -> int:
        v = meta.latest if requested is None else requested
        if v < 1 or v > meta.latest:
            raise BadRequestError(f"key_version: key has no version {v}", field="key_version")
        if meta.min_encryption_version and v < meta.min_encryption_version:
            raise BadRequestError(
                "key_version: below the key's min_encryption_version",
                code=ErrorCode.KEY_VERSION_DISABLED,
                field="key_version",
            )
        if v < meta.min_decryption_version:
            raise BadRequestError(
                "key_version: below the key's min_decryption_version",
                code=ErrorCode.KEY_VERSION_DISABLED,
                field="key_version",
            )
        return v

    def _decryption_version(self, meta: KeyMeta, v: int) -> int:
        # docs/spec/token.md §6: a version outside the window is key_version_disabled.
        if v > meta.latest:
            raise DecryptionFailedError(
                "ciphertext names a key version above the key's latest version",
                code=ErrorCode.KEY_VERSION_DISABLED,
            )
        if v < meta.min_decryption_version:
            raise DecryptionFailedError(
                "ciphertext key version is below the key's min_decryption_version",
                code=ErrorCode.KEY_VERSION_DISABLED,
            )
        return v

    # ------------------------------------------------------------ batches

    def _check_batch_size(self, n: int) -> None:
        if not n:
            raise BadRequestError("batch_input: must not be empty", field="batch_input")
        if n > self.config.max_batch_items:
            raise PayloadTooLargeError(
                f"batch_input: at most {self.config.max_batch_items} items",
                code=ErrorCode.BATCH_TOO_LARGE,
                field="batch_input",
            )

    def _batch(
        self,
        single: Any,
        batch: Sequence[Any] | None,
        single_fields: Sequence[str],
        do: Callable[[Any], R],
    ) -> tuple[R | None, list[R | api.BatchItemError] | None]:
        """``(do(single), None)``, or ``(None, results)`` for ``batch_input`` with per-item errors."""
        if batch is None:
            return do(single), None
        if any(getattr(single, f) is not None for f in single_fields):
            raise BadRequestError(
                "batch_input: give either batch_input or the single-item fields, not both",
                field="batch_input",
            )
        self._check_batch_size(len(batch))
        results: list[R | api.BatchItemError] = []
        for item in batch:
            if isinstance(item, api.BatchItemError):  # failed validation (guomi.kms.http)
                results.append(item)
                continue
            try:
                results.append(do(item))
            except (KMSError, InvalidTag, InvalidSignature) as exc:
                results.append(batch_item_error(exc, getattr(item, "reference", None)))
        return None, results

    # ------------------------------------------------------------ key life cycle

    def create_key(self, caller: Caller, name: str, req: api.CreateKeyRequest) -> api.KeyInfo:
        """``POST keys/{name}``: version 1 of a new key (409 if the name is taken)."""
        with self._op(caller, "create", f"keys/{name}", name, ("create",)) as extra:
            period = _rotate_period(req.auto_rotate_period)
            now = self.clock()
            meta = KeyMeta(
                name=name,
                type=req.type,
                uid=os.urandom(16).hex(),
                latest=1,
                min_decryption_version=1,
                min_encryption_version=0,
                deletion_allowed=req.deletion_allowed,
                auto_rotate_period=period,
                created=now,
                last_rotated=now,
            )
            rec = key_type(req.type).new_version_record(1, now)
            try:
                rev = self._require_unsealed().commit(
                    [Put(version_path(name, 1), rec, 0), Put(meta_path(name), meta.to_json(), 0)]
                )
            except StorageConflict:
                raise ConflictError(
                    f"a key named {name!r} already exists", code=ErrorCode.KEY_EXISTS
                ) from None
            extra["key_version"] = 1
            extra["key_type"] = req.type
            return self._key_info(meta.evolve(revision=rev))

    def _key_info(self, meta: KeyMeta) -> api.KeyInfo:
        versions: dict[str, api.KeyVersionInfo] = {}
        lo = max(meta.min_decryption_version, meta.latest - self.config.key_info_versions + 1, 1)
        for v in range(meta.latest, lo - 1, -1):
            try:
                m = self._material(meta, v)
            except NotFoundError:
                continue
            versions[str(v)] = api.KeyVersionInfo(creation_time=iso(m.created), public_key=m.public_pem)
        kt = key_type(meta.type)
        return api.KeyInfo(
            name=meta.name,
            type=meta.type,  # type: ignore[arg-type]
            latest_version=meta.latest,
            min_decryption_version=meta.min_decryption_version,
            min_encryption_version=meta.min_encryption_version,
            min_available_version=1,
            deletion_allowed=meta.deletion_allowed,
            auto_rotate_period=meta.auto_rotate_period,
            creation_time=iso(meta.created),
            last_rotation_time=iso(meta.last_rotated),
            supports_encryption=kt.supports("encrypt"),
            supports_decryption=kt.supports("decrypt"),
            supports_signing=kt.supports("sign"),
            supports_hmac=kt.supports("hmac"),
            keys=dict(sorted(versions.items(), key=lambda kv: int(kv[0]))),
        )

    def read_key(self, caller: Caller, name: str) -> api.KeyInfo:
        """``GET keys/{name}``: metadata, recent versions, SM2 public keys."""
        with self._op(caller, "read", f"keys/{name}", name, ("read",)):
            return self._key_info(self._load_meta(name))

    def list_keys(self, caller: Caller) -> api.KeyListResponse:
        """``GET keys``: the names the caller has ``list`` on."""
        with self._op(caller, "list", "keys", None, ()):
            names = self._require_unsealed().list("keymeta/")
            if not caller.entry.is_root:
                policies = self._policies(caller.entry.policies)
                names = [n for n in names if any("list" in p.capabilities_for(n) for p in policies)]
            return api.KeyListResponse(keys=names)

    def rotate_key(self, caller: Caller, name: str) -> api.KeyInfo:
        """``POST keys/{name}/rotate``: version latest+1, one atomic commit with the metadata."""
        with self._op(caller, "rotate", f"keys/{name}/rotate", name, ("rotate",)) as extra:
            meta = self._rotate(name)
            extra["key_version"] = meta.latest
            return self._key_info(meta)

    def configure_key(self, caller: Caller, name: str, req: api.KeyConfigRequest) -> api.KeyInfo:
        """``POST keys/{name}/config``."""
        with self._op(caller, "config", f"keys/{name}/config", name, ("config",)):
            period = None if req.auto_rotate_period is None else _rotate_period(req.auto_rotate_period)

            def change(meta: KeyMeta) -> tuple[KeyMeta, list[Op]]:
                min_dec = req.min_decryption_version or meta.min_decryption_version
                min_enc = (
                    meta.min_encryption_version
                    if req.min_encryption_version is None
                    else req.min_encryption_version
                )
                if min_dec > meta.latest:
                    raise BadRequestError(
                        "min_decryption_version: above the latest version", field="min_decryption_version"
                    )
                if min_enc > meta.latest:
                    raise BadRequestError(
                        "min_encryption_version: above the latest version", field="min_encryption_version"
                    )
                if min_enc and min_enc < min_dec:
                    raise BadRequestError(
                        "min_encryption_version: must be 0 or >= min_decryption_version",
                        field="min_encryption_version",
                    )
                return (
                    meta.evolve(
                        min_decryption_version=min_dec,
                        min_encryption_version=min_enc,
                        deletion_allowed=(
                            meta.deletion_allowed if req.deletion_allowed is None else req.deletion_allowed
                        ),
                        auto_rotate_period=meta.auto_rotate_period if period is None else period,
                    ),
                    [],
                )

            return self._key_info(self._cas(name, change))

    def delete_key(self, caller: Caller, name: str) -> None:
        """``DELETE keys/{name}``: only with ``deletion_allowed``; all versions in one commit."""
        with self._op(caller, "delete", f"keys/{name}", name, ("delete",)):
            barrier = self._require_unsealed()
            for _ in range(_CAS_RETRIES):
                meta = self._load_meta(name)
                if not meta.deletion_allowed:
                    raise BadRequestError(
                        f"key {name!r} does not allow deletion (set deletion_allowed first)",
                        code=ErrorCode.DELETION_NOT_ALLOWED,
                    )
                prefix = versions_prefix(name)
                ops: list[Op] = [Delete(prefix + s) for s in barrier.list(prefix)]
                ops.append(Delete(meta_path(name), meta.revision))
                try:
                    barrier.commit(ops)
                except StorageConflict:
                    continue
                with self._materials_lock:
                    for k in [k for k in self._materials if k[0] == meta.uid]:
                        del self._materials[k]
                return
            raise ConflictError(f"key {name!r} is changing too fast; retry", code=ErrorCode.CAS_CONFLICT)

    def backup_key(self, caller: Caller, name: str) -> api.BackupResponse:
        """``GET keys/{name}/backup``: metadata and every version, sealed for this installation
        and bound to the key's name (``guomi-backup:v2:<name>:<sealed>``, the name in the
        associated data: editing it breaks the seal)."""
        with self._op(caller, "backup", f"keys/{name}/backup", name, ("backup",)) as extra:
            barrier = self._require_unsealed()
            keyring = self._require_keyring()
            meta = self._load_meta(name)
            prefix = versions_prefix(name)
            versions = []
            for s in barrier.list(prefix):
                rec = barrier.get(prefix + s)
                if rec is not None:
                    versions.append(base64.b64encode(rec.value).decode("ascii"))
            body = json.dumps({"meta": json.loads(meta.to_json()), "versions": versions}).encode()
            nonce = os.urandom(12)
            blob = nonce + sm4gcm(keyring.backup_key).encrypt(nonce, body, _backup_ad(name))
            extra["key_version"] = meta.latest
            text = base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")
            return api.BackupResponse(backup=f"{_BACKUP_PREFIX}{name}:{text}")

    def restore_key(self, caller: Caller, req: api.RestoreRequest) -> api.KeyInfo:
        """``POST keys/restore``: recreates a key from a backup of this installation.

        Authorised and audited before the blob is opened (a caller without the rights
        learns nothing about a blob, and every attempt leaves an audit record).  Needs
        ``create`` on the target (and ``delete`` with ``force``); under another name than
        the backed-up key's, also every capability the caller holds on the target must be
        held on the source name (the copy grants nothing the original did not), or root.
        Version 1 backups (not bound to a name) are restored by root only."""
        self._require_unsealed()
        keyring = self._require_keyring()
        try:
            source, sealed = _parse_backup(req.backup)
            unreadable: BadRequestError | None = None
        except BadRequestError as exc:
            source, sealed, unreadable = None, b"", exc
        name = req.name or source
        need = ("create", "delete") if req.force else ("create",)
        # With no name known (an unreadable or version 1 backup and no "name"), the
        # authorisation is root's (key None); the parse error is raised inside the scope.
        with self._op(caller, "restore", "keys/restore", name, need) as extra:
            if unreadable is not None:
                raise unreadable
            if name is None:
                raise BadRequestError("name: required to restore a version 1 backup", field="name")
            if source is None and not caller.entry.is_root:
                raise PermissionDeniedError(
                    "permission denied: a version 1 backup (not bound to a key name) needs root"
                )
            if source is not None and name != source:
                self._check_rename(caller, source, name)
                extra["source_key"] = source
            try:
                ad = _backup_ad(source) if source is not None else _BACKUP_AD_V1
                body = sm4gcm(keyring.backup_key).decrypt(sealed[:12], sealed[12:], ad)
                d = json.loads(body)
                src_meta = KeyMeta.from_json(json.dumps(d["meta"]).encode(), 0)
                version_blobs = [base64.b64decode(v) for v in d["versions"]]
            except (ValueError, InvalidTag, KeyError, TypeError):
                raise BadRequestError(
                    "backup: damaged, or made by another installation",
                    code=ErrorCode.INVALID_BACKUP,
                    field="backup",
                ) from None
            if source is not None and src_meta.name != source:
                raise BadRequestError("backup: damaged", code=ErrorCode.INVALID_BACKUP, field="backup")
            barrier = self._require_unsealed()
            existing = barrier.get(meta_path(name))
            if existing is not None and not req.force:
                raise ConflictError(f"a key named {name!r} exists (use force)", code=ErrorCode.KEY_EXISTS)
            ops: list[Op] = []
            if existing is not None:
                prefix = versions_prefix(name)
                ops += [Delete(prefix + s) for s in barrier.list(prefix)]
            meta = src_meta.evolve(name=name, uid=os.urandom(16).hex())
            for vb in version_blobs:
                v = int(json.loads(vb)["version"])
                ops.append(Put(version_path(name, v), vb, None if existing is not None else 0))
            ops.append(Put(meta_path(name), meta.to_json(), existing.revision if existing else 0))
            try:
                rev = barrier.commit(ops)
            except StorageConflict:
                raise ConflictError(
                    f"key {name!r} changed during restore; retry", code=ErrorCode.CAS_CONFLICT
                ) from None
            extra["key_version"] = meta.latest
            return self._key_info(meta.evolve(revision=rev))

    def _check_rename(self, caller: Caller, source: str, target: str) -> None:
        """A renamed restore may not widen what the caller can do with the key material."""
        if caller.entry.is_root:
            return
        wider = (self.capabilities(caller, target) - {"create", "delete"}) - self.capabilities(caller, source)
        if wider:
            raise PermissionDeniedError(
                f"permission denied: restoring {source!r} as {target!r} needs, on {source!r}, every "
                f"capability held on {target!r} (missing: {'+'.join(sorted(wider))})"
            )


def _backup_ad(name: str) -> bytes:
    # The key name in the associated data: a backup cannot be re-labelled (issue 10 finding 3).
    return _BACKUP_AD + b"\x00" + name.encode("ascii")


def _parse_backup(text: str) -> tuple[str | None, bytes]:
    """(source key name, or None for a version 1 backup; the sealed bytes), without opening it."""
    if text.startswith(_BACKUP_PREFIX):
        source, sep, data = text[len(_BACKUP_PREFIX) :].partition(":")
        if not sep or not api.is_valid_key_name(source):
            raise BadRequestError("backup: not a guomi key backup", field="backup")
    elif text.startswith(_BACKUP_PREFIX_V1):
        source, data = None, text[len(_BACKUP_PREFIX_V1) :]
    else:
        raise BadRequestError("backup: not a guomi key backup", field="backup")
    try:
        sealed = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except ValueError:
        raise BadRequestError(
            "backup: not valid base64url", code=ErrorCode.INVALID_BACKUP, field="backup"
        ) from None
    return source, sealed


def batch_item_error(exc: Exception, reference: str | None) -> api.BatchItemError:
    """A failed batch item: the service error's code and message (a verification failure
    that escaped as such: the vague ``decryption_failed`` / ``invalid_signature``)."""
    if isinstance(exc, KMSError):
        return api.BatchItemError(error=exc.message, code=exc.code, reference=reference)
    code = ErrorCode.INVALID_SIGNATURE if isinstance(exc, InvalidSignature) else ErrorCode.DECRYPTION_FAILED
    return api.BatchItemError(error="failed", code=code, reference=reference)


def _rotate_period(value: int | str | None) -> int:
    seconds = auth.parse_duration(value, field_name="auto_rotate_period")
    if 0 < seconds < 60:
        raise BadRequestError(
            "auto_rotate_period: 0 (off) or at least 60 seconds", field="auto_rotate_period"
        )
    return seconds
