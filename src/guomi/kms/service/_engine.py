"""The custody engine: every operation of the service, with no HTTP in sight.

Layer: ``guomi.kms.service``.  The HTTP routes (``guomi.kms.http``) parse a
request into a ``guomi.api`` model, call one method here and serialise what
it returns; tests call the same methods directly.

Each key operation follows the same path: require the unsealed state (503
otherwise), authorise the caller against the key name (403, audited, nothing
changed), do the work, write the audit record and only then return the
result; if the record cannot be written the result is dropped and
:class:`AuditUnavailableError` (503) raised instead.

Concurrency: every change of a key is one atomic storage commit guarded by a
compare-and-set on the metadata record's revision; on a conflict the change
is recomputed from a fresh read (bounded retries), so concurrent rotations in
one process or in several servers sharing PostgreSQL yield consecutive
versions.  Decoded version material is cached per process keyed by the key's
random ``uid`` and version number: versions never change once written, and
the metadata (read on every operation) tells whether a version still exists.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic_core import to_json as _to_json

from guomi import __version__, api
from guomi.exceptions import GuomiError, InvalidSignature, InvalidTag
from guomi.kms import auth
from guomi.kms._crypto import NONCE_SIZE, ct_equal, hmac_sm3, sm3_digest, sm4gcm
from guomi.kms.audit import AuditLog
from guomi.kms.auth import ROOT_POLICY, Policy, TokenEntry, iso
from guomi.kms.barrier import KEYRING_PATH, SEAL_CONFIG_PATH, Barrier, BarrierError, Keyring
from guomi.kms.config import Config
from guomi.kms.errors import (
    AuditUnavailableError,
    BadRequestError,
    ConflictError,
    DecryptionFailedError,
    ForbiddenError,
    KMSError,
    NotFoundError,
    NotInitializedError,
    PayloadTooLargeError,
    SealedError,
    StorageIntegrityError,
    StorageUnavailableError,
    UnauthorizedError,
)
from guomi.kms.seal import shamir
from guomi.kms.service import _keys
from guomi.kms.service._keys import KeyMeta, Material
from guomi.kms.storage import Delete, Put, Record, Storage, StorageConflict, StorageError

__all__ = ["Caller", "Engine", "RequestContext"]

log = logging.getLogger("guomi.kms")

T = TypeVar("T")
_CAS_RETRIES = 64
_MASTER_KEY_SIZE = 32
_BACKUP_PREFIX = "guomi-backup:v1:"
_BACKUP_AD = b"guomi/backup/v1"
_MAX_RANDOM = 1024
#: Decoded token / policy / key-metadata records kept (emptied when full).
_DECODED_CACHE_MAX = 8192


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Transport facts the audit record wants (no secrets)."""

    request_id: str = ""
    remote_addr: str | None = None


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller: its token entry and the request it is making."""

    entry: TokenEntry
    ctx: RequestContext
    token_hmac: str


def _now() -> float:
    return time.time()


class Engine:
    """The transport-free custody service."""

    def __init__(
        self,
        storage: Storage,
        audit: AuditLog,
        config: Config | None = None,
        *,
        clock: Callable[[], float] = _now,
    ) -> None:
        self.storage = storage
        self.audit = audit
        self.config = config or Config()
        self.clock = clock
        self._lock = threading.Lock()
        self._barrier: Barrier | None = None
        self._keyring: Keyring | None = None
        self._unseal_shares: list[bytes] = []
        self._initialized = False
        self._materials: OrderedDict[tuple[str, int], Material] = OrderedDict()
        self._materials_lock = threading.Lock()
        # path -> (stored sealed bytes, revision, decoded object) of token, policy and key
        # metadata records: see _read_decoded.
        self._decoded: dict[str, tuple[bytes, int, Any]] = {}
        # Records fetched ahead by prefetch() for the request running on this thread.
        self._prefetched = threading.local()

    def __repr__(self) -> str:
        return f"Engine(storage={self.storage.kind}, sealed={self._barrier is None})"

    # ------------------------------------------------------------ state

    @property
    def sealed(self) -> bool:
        """No keys in memory."""
        return self._barrier is None

    def is_initialized(self) -> bool:
        """``sys/init`` has run (on this store, by any server)."""
        if not self._initialized:
            self._initialized = self.storage.get(SEAL_CONFIG_PATH) is not None
        return self._initialized

    def _seal_config(self) -> dict[str, int]:
        rec = self.storage.get(SEAL_CONFIG_PATH)
        if rec is None:
            raise NotInitializedError("the service is not initialised (POST /v1/sys/init)")
        d: dict[str, int] = json.loads(rec.value)
        return d

    def _require_unsealed(self) -> Barrier:
        barrier = self._barrier
        if barrier is None:
            if not self.is_initialized():
                raise NotInitializedError("the service is not initialised (POST /v1/sys/init)")
            raise SealedError()
        return barrier

    def health(self) -> tuple[int, api.HealthResponse]:
        """(HTTP status, body): 200 unsealed, 503 sealed, 501 not initialised."""
        initialized = self.is_initialized()
        sealed = self.sealed
        status = 501 if not initialized else (503 if sealed else 200)
        return status, api.HealthResponse(
            initialized=initialized, sealed=sealed, version=__version__, server_time_utc=int(self.clock())
        )

    def seal_status(self) -> api.SealStatus:
        """``GET sys/seal-status``."""
        if not self.is_initialized():
            return api.SealStatus(initialized=False, sealed=True, t=0, n=0, progress=0, version=__version__)
        cfg = self._seal_config()
        with self._lock:
            progress = 0 if self._barrier is not None else len(self._unseal_shares)
        return api.SealStatus(
            initialized=True,
            sealed=self.sealed,
            t=int(cfg["threshold"]),
            n=int(cfg["shares"]),
            progress=progress,
            version=__version__,
        )

    # ------------------------------------------------------------ init / unseal / seal

    def init(self, req: api.InitRequest, ctx: RequestContext | None = None) -> api.InitResponse:
        """Creates the master key, the keyring and the root token; returns shares once.

        Written in one atomic commit: a crash leaves either no installation or
        a complete one."""
        if req.secret_threshold > req.secret_shares:
            raise BadRequestError("secret_threshold: must not exceed secret_shares", field="secret_threshold")
        if req.secret_shares > 1 and req.secret_threshold < 2:
            raise BadRequestError(
                "secret_threshold: must be at least 2 when there are several shares "
                "(threshold 1 gives every custodian the whole master key)",
                field="secret_threshold",
            )
        if self.is_initialized():
            raise ConflictError("the service is already initialised", code="already_initialized")
        master = os.urandom(_MASTER_KEY_SIZE)
        shares = shamir.split(master, req.secret_shares, req.secret_threshold)
        keyring = Keyring.generate()
        barrier = Barrier(self.storage, keyring)
        token = auth.new_token()
        now = self.clock()
        entry = TokenEntry(
            token_id=auth.hash_token(keyring.token_key, token),
            accessor=auth.new_accessor(),
            policies=(ROOT_POLICY,),
            created=now,
            expires=None,
            display_name="root",
        )
        seal_cfg = json.dumps(
            {"shares": req.secret_shares, "threshold": req.secret_threshold, "created": now}
        ).encode()
        tpath = f"auth/token/{entry.token_id}"
        apath = f"auth/accessor/{entry.accessor}"
        # The audit trail starts with the init itself, written BEFORE the commit: if the
        # record cannot be written nothing is initialised (fail closed), and shares are
        # never handed out for an installation whose creation went unrecorded.
        c = ctx or RequestContext()
        self._audit_write(
            operation="sys/init",
            path="sys/init",
            request_id=c.request_id or None,
            remote_addr=c.remote_addr,
            root_accessor=entry.accessor,
            secret_shares=req.secret_shares,
            secret_threshold=req.secret_threshold,
            result="ok",
            status=200,
        )
        try:
            self.storage.commit(
                [
                    Put(SEAL_CONFIG_PATH, seal_cfg, 0),
                    Put(KEYRING_PATH, keyring.wrap(master), 0),
                    Put(tpath, barrier.seal(tpath, entry.to_json()), 0),
                    Put(apath, barrier.seal(apath, entry.token_id.encode()), 0),
                ]
            )
        except StorageConflict:
            raise ConflictError("the service is already initialised", code="already_initialized") from None
        del master
        self._initialized = True
        return api.InitResponse(
            keys_base64=[base64.b64encode(s).decode("ascii") for s in shares],
            root_token=token,
            secret_shares=req.secret_shares,
            secret_threshold=req.secret_threshold,
        )

    def unseal(self, req: api.UnsealRequest, ctx: RequestContext | None = None) -> api.SealStatus:
        """Takes one share; with ``threshold`` shares, rebuilds the master key and opens the keyring.

        The rebuilt key is checked only by the authenticated decryption of the
        keyring (no stored hash of it).  Wrong shares reset the progress."""
        cfg = self._seal_config()
        if req.reset:
            with self._lock:
                self._unseal_shares.clear()
            return self.seal_status()
        if self._barrier is not None:
            return self.seal_status()
        share = req.key
        if share is None:
            raise BadRequestError("key: a base64 share is required (or reset: true)", field="key")
        if len(share) != 1 + _MASTER_KEY_SIZE or share[0] == 0:
            raise BadRequestError("key: not a share of this installation (wrong length)", field="key")
        threshold = int(cfg["threshold"])
        with self._lock:
            if self._barrier is not None:
                return self.seal_status()
            if any(s[0] == share[0] for s in self._unseal_shares):
                raise BadRequestError("key: this share was already given", field="key")
            self._unseal_shares.append(bytes(share))
            if len(self._unseal_shares) < threshold:
                progress = len(self._unseal_shares)
                return api.SealStatus(
                    initialized=True,
                    sealed=True,
                    t=threshold,
                    n=int(cfg["shares"]),
                    progress=progress,
                    version=__version__,
                )
            shares, self._unseal_shares = self._unseal_shares, []
            master = shamir.combine(shares)
            rec = self.storage.get(KEYRING_PATH)
            if rec is None:
                raise NotInitializedError("the keyring is missing from storage")
            try:
                keyring = Keyring.unwrap(master, rec.value)
            except BarrierError:
                raise BadRequestError(
                    "key: the shares do not reconstruct this installation's master key; "
                    "unseal progress was reset",
                    code="unseal_failed",
                    field="key",
                ) from None
            finally:
                del master
            self._install(keyring)
        self._audit_plain("sys/unseal", "sys/unseal", ctx)
        return self.seal_status()

    def _install(self, keyring: Keyring) -> None:
        self._decoded.clear()
        self._keyring = keyring
        self.audit.set_key(keyring.audit_key)
        self._barrier = Barrier(self.storage, keyring)

    def seal(self, caller: Caller) -> api.SealStatus:
        """Drops every key from memory (root only)."""
        with self._op(caller, "seal", "sys/seal", None, ("root",)):
            pass
        with self._lock:
            self._barrier = None
            self._keyring = None
            self._unseal_shares.clear()
        self.audit.set_key(None)
        self._decoded.clear()
        with self._materials_lock:
            self._materials.clear()
        return self.seal_status()

    def dev_init(self) -> str:
        """Dev mode: initialise with one share, unseal, return the root token."""
        resp = self.init(api.InitRequest(secret_shares=1, secret_threshold=1))
        self.unseal(api.UnsealRequest(key=base64.b64decode(resp.keys_base64[0])))
        return resp.root_token

    # ------------------------------------------------------------ decoded records

    def _read_decoded(self, path: str, decode: Callable[[bytes, int], T]) -> T | None:
        """The record at ``path`` read from storage on every call (so another server's
        change or a revocation is seen at once), decrypted and decoded only when its
        stored bytes differ from the last ones seen at that path.

        Identical sealed bytes under the same barrier key (the cache is emptied at
        seal and unseal) open to the identical plaintext, so reusing the decoded
        object skips only the SM4-GCM open and the JSON parse, never a check: a
        changed, moved or tampered record differs in its bytes and is opened (and
        authenticated) again.  Only immutable objects without secrets are cached
        (token entries, policies, key metadata)."""
        barrier = self._require_unsealed()
        pre: dict[str, Record | None] | None = getattr(self._prefetched, "records", None)
        # A record read by prefetch() for this request is used once; otherwise read it now.
        rec = pre.pop(path) if pre is not None and path in pre else barrier.storage.get(path)
        if rec is None:
            return None
        hit = self._decoded.get(path)
        if hit is not None and hit[1] == rec.revision and hit[0] == rec.value:
            obj: T = hit[2]
            return obj
        obj = decode(barrier.open(path, rec.value), rec.revision)
        if len(self._decoded) >= _DECODED_CACHE_MAX:
            self._decoded.clear()
        self._decoded[path] = (rec.value, rec.revision, obj)
        return obj

    def prefetch(self, token: str | None, key_names: Sequence[str]) -> None:
        """Reads the token's record and the keys' metadata in ONE storage round trip (on
        backends with ``get_many``: PostgreSQL), for the request about to run on this
        thread; :meth:`authenticate` and the operation then use them instead of reading
        each (every record is still read from storage during the request, so revocation
        and other servers' changes apply as before).  Call :meth:`end_request` after."""
        get_many = getattr(self.storage, "get_many", None)
        keyring = self._keyring
        if get_many is None or keyring is None or not token or not auth.looks_like_token(token):
            return
        paths = [f"auth/token/{auth.hash_token(keyring.token_key, token)}"]
        paths += [_keys.meta_path(n) for n in key_names]
        self._prefetched.records = dict(zip(paths, get_many(paths), strict=True))

    def end_request(self) -> None:
        """Drops whatever :meth:`prefetch` read and the request did not use."""
        self._prefetched.records = None

    # ------------------------------------------------------------ authentication

    def authenticate(self, token: str | None, ctx: RequestContext, path: str = "") -> Caller:
        """The caller behind a bearer token; 401 (audited) when absent, unknown, expired or revoked."""
        self._require_unsealed()
        keyring = self._keyring
        if keyring is None:  # sealed concurrently
            raise SealedError()
        if not token:
            self._audit_denied(None, ctx, path, 401, "unauthorized")
            raise UnauthorizedError("missing token (Authorization: Bearer <token>)")
        token_hmac = self.audit.hmac(token)
        if not auth.looks_like_token(token):
            self._audit_denied(token_hmac, ctx, path, 401, "unauthorized")
            raise UnauthorizedError("invalid token")
        token_id = auth.hash_token(keyring.token_key, token)
        entry = self._read_decoded(
            f"auth/token/{token_id}", lambda value, rev: TokenEntry.from_json(token_id, value, rev)
        )
        if entry is None:
            self._audit_denied(token_hmac, ctx, path, 401, "unauthorized")
            raise UnauthorizedError("invalid or revoked token")
        if entry.expired(self.clock()):
            self._audit_denied(token_hmac, ctx, path, 401, "token_expired", accessor=entry.accessor)
            raise UnauthorizedError("token expired", code="token_expired")
        return Caller(entry=entry, ctx=ctx, token_hmac=token_hmac)

    # ------------------------------------------------------------ audit

    def _audit_write(self, **fields: Any) -> None:
        self.audit.record(type="request", **fields)

    def _audit_plain(self, operation: str, path: str, ctx: RequestContext | None) -> None:
        c = ctx or RequestContext()
        self._audit_write(
            operation=operation,
            path=path,
            request_id=c.request_id or None,
            remote_addr=c.remote_addr,
            result="ok",
            status=200,
        )

    def _audit_denied(
        self, token_hmac: str | None, ctx: RequestContext, path: str, status: int, code: str, **extra: Any
    ) -> None:
        self._audit_write(
            operation="authenticate",
            path=path or None,
            request_id=ctx.request_id or None,
            remote_addr=ctx.remote_addr,
            token=token_hmac,
            result="denied",
            status=status,
            error_code=code,
            **extra,
        )

    def _audit_fields(self, caller: Caller, operation: str, path: str, key: str | None) -> dict[str, Any]:
        return {
            "operation": operation,
            "path": path,
            "key": key,
            "request_id": caller.ctx.request_id or None,
            "remote_addr": caller.ctx.remote_addr,
            "token": caller.token_hmac,
            "accessor": caller.entry.accessor,
        }

    def _audit_ok(
        self, caller: Caller, operation: str, path: str, key: str | None = None, **extra: Any
    ) -> None:
        self._audit_write(
            **self._audit_fields(caller, operation, path, key), result="ok", status=200, **extra
        )

    def _audit_error(self, caller: Caller, operation: str, path: str, key: str | None, exc: KMSError) -> None:
        result = "denied" if isinstance(exc, ForbiddenError) else "error"
        self._audit_write(
            **self._audit_fields(caller, operation, path, key),
            result=result,
            status=exc.status,
            error_code=exc.code,
        )

    # ------------------------------------------------------------ authorization

    def _policies(self, names: Sequence[str]) -> list[Policy]:
        out = []
        for n in names:
            p = self._read_decoded(f"policy/{n}", lambda value, _rev: Policy.from_json(value))
            if p is not None:
                out.append(p)
        return out

    def capabilities(self, caller: Caller, key_name: str) -> frozenset[str]:
        """What ``caller`` may do to ``key_name``."""
        if caller.entry.is_root:
            return frozenset(api.CAPABILITIES)
        caps: set[str] = set()
        for p in self._policies(caller.entry.policies):
            caps |= p.capabilities_for(key_name)
        return frozenset(caps)

    def _check_access(self, caller: Caller, key: str | None, need: Sequence[str]) -> None:
        if caller.entry.is_root or not need:
            return
        if key is None:
            raise ForbiddenError("permission denied: this path needs the root policy")
        have = self.capabilities(caller, key)
        if any(c not in have for c in need):
            raise ForbiddenError(f"permission denied: {'+'.join(need)} on key {key!r}")

    @contextmanager
    def _op(
        self, caller: Caller, operation: str, path: str, key: str | None, need: Sequence[str]
    ) -> Iterator[dict[str, Any]]:
        """Unsealed check, key-name check, authorisation, then audit of the outcome.

        The body fills the yielded dict with extra audit fields.  If the final
        audit write fails the body's result never leaves (the exception replaces it)."""
        self._require_unsealed()
        extra: dict[str, Any] = {}
        try:
            if key is not None:
                _check_key_name(key)
            self._check_access(caller, key, need)
            yield extra
        except KMSError as exc:
            if not isinstance(exc, AuditUnavailableError):
                self._audit_error(caller, operation, path, key, exc)
            raise
        except StorageError:
            exc2: KMSError = StorageUnavailableError("storage unavailable")
            self._audit_error(caller, operation, path, key, exc2)
            raise exc2 from None
        except BarrierError:
            log.error("a stored record failed authentication during %s (tampering or corruption)", operation)
            exc2 = StorageIntegrityError("a stored record failed its integrity check")
            self._audit_error(caller, operation, path, key, exc2)
            raise exc2 from None
        except Exception as exc:
            # A bug, not bad input: still one audit record (status 500) for the request.
            log.error("internal error during %s: %s", operation, type(exc).__name__)
            self._audit_error(caller, operation, path, key, KMSError("internal error"))
            raise
        self._audit_ok(caller, operation, path, key, **extra)

    # ------------------------------------------------------------ key records

    def _load_meta(self, name: str) -> KeyMeta:
        meta = self._read_decoded(_keys.meta_path(name), KeyMeta.from_json)
        if meta is None:
            raise NotFoundError(f"no key named {name!r}")
        return meta

    def _material(self, meta: KeyMeta, version: int) -> Material:
        ck = (meta.uid, version)
        with self._materials_lock:
            m = self._materials.get(ck)
            if m is not None:
                self._materials.move_to_end(ck)
                return m
        barrier = self._require_unsealed()
        rec = barrier.get(_keys.version_path(meta.name, version))
        if rec is None:
            raise NotFoundError(f"key {meta.name!r} has no version {version}")
        m = Material.from_record(meta.type, rec.value)
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

    def _cas(self, name: str, change: Callable[[KeyMeta], tuple[KeyMeta, list[Any]]]) -> KeyMeta:
        """Applies ``change`` (new metadata + extra ops) with compare-and-set, retrying on conflict."""
        barrier = self._require_unsealed()
        for _ in range(_CAS_RETRIES):
            meta = self._load_meta(name)
            new_meta, ops = change(meta)
            ops = [*ops, Put(_keys.meta_path(name), new_meta.to_json(), meta.revision)]
            try:
                rev = barrier.commit(ops)
            except StorageConflict:
                time.sleep(0.0005 + (os.urandom(1)[0] / 255) * 0.002)
                continue
            return new_meta.evolve(revision=rev)
        raise ConflictError(f"key {name!r} is changing too fast; retry", code="cas_conflict")

    def _rotate(self, name: str) -> KeyMeta:
        def change(meta: KeyMeta) -> tuple[KeyMeta, list[Any]]:
            now = self.clock()
            v = meta.latest + 1
            rec = _keys.new_version_record(meta.type, v, now)
            return meta.evolve(latest=v, last_rotated=now), [Put(_keys.version_path(name, v), rec, 0)]

        return self._cas(name, change)

    def _maybe_auto_rotate(self, meta: KeyMeta) -> KeyMeta:
        if meta.auto_rotate_period <= 0 or self.clock() - meta.last_rotated < meta.auto_rotate_period:
            return meta
        period = meta.auto_rotate_period

        def change(cur: KeyMeta) -> tuple[KeyMeta, list[Any]]:
            now = self.clock()
            if cur.auto_rotate_period <= 0 or now - cur.last_rotated < period:
                return cur, []  # someone else rotated meanwhile: rewrite unchanged (cheap, rare)
            v = cur.latest + 1
            rec = _keys.new_version_record(cur.type, v, now)
            return cur.evolve(latest=v, last_rotated=now), [Put(_keys.version_path(cur.name, v), rec, 0)]

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
                code="key_version_disabled",
                field="key_version",
            )
        if v < meta.min_decryption_version:
            raise BadRequestError(
                "key_version: below the key's min_decryption_version",
                code="key_version_disabled",
                field="key_version",
            )
        return v

    def _decryption_version(self, meta: KeyMeta, v: int) -> int:
        if v > meta.latest:
            raise DecryptionFailedError("ciphertext names a key version that does not exist")
        if v < meta.min_decryption_version:
            raise DecryptionFailedError(
                "ciphertext key version is below the key's min_decryption_version",
                code="key_version_disabled",
            )
        return v

    # ------------------------------------------------------------ keys

    def create_key(self, caller: Caller, name: str, req: api.CreateKeyRequest) -> api.KeyInfo:
        """``POST keys/{name}``: version 1 of a new key (409 if the name is taken)."""
        path = f"keys/{name}"
        with self._op(caller, "create", path, name, ("create",)) as extra:
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
            rec = _keys.new_version_record(req.type, 1, now)
            try:
                rev = self._require_unsealed().commit(
                    [
                        Put(_keys.version_path(name, 1), rec, 0),
                        Put(_keys.meta_path(name), meta.to_json(), 0),
                    ]
                )
            except StorageConflict:
                raise ConflictError(f"a key named {name!r} already exists", code="key_exists") from None
            extra["key_version"] = 1
            extra["key_type"] = req.type
            return self._key_info(meta.evolve(revision=rev))
        raise AssertionError("unreachable")  # pragma: no cover

    def _key_info(self, meta: KeyMeta) -> api.KeyInfo:
        versions: dict[str, api.KeyVersionInfo] = {}
        lo = max(meta.min_decryption_version, meta.latest - self.config.key_info_versions + 1, 1)
        for v in range(meta.latest, lo - 1, -1):
            try:
                m = self._material(meta, v)
            except NotFoundError:
                continue
            versions[str(v)] = api.KeyVersionInfo(creation_time=iso(m.created), public_key=m.public_pem)
        t = meta.type
        return api.KeyInfo(
            name=meta.name,
            type=t,  # type: ignore[arg-type]
            latest_version=meta.latest,
            min_decryption_version=meta.min_decryption_version,
            min_encryption_version=meta.min_encryption_version,
            min_available_version=1,
            deletion_allowed=meta.deletion_allowed,
            auto_rotate_period=meta.auto_rotate_period,
            creation_time=iso(meta.created),
            last_rotation_time=iso(meta.last_rotated),
            supports_encryption=t in _keys.ENCRYPTION_TYPES,
            supports_decryption=t in _keys.ENCRYPTION_TYPES,
            supports_signing=t == "sm2-sign",
            supports_hmac=t == "hmac-sm3",
            keys=dict(sorted(versions.items(), key=lambda kv: int(kv[0]))),
        )

    def read_key(self, caller: Caller, name: str) -> api.KeyInfo:
        """``GET keys/{name}``: metadata, recent versions, SM2 public keys."""
        with self._op(caller, "read", f"keys/{name}", name, ("read",)):
            return self._key_info(self._load_meta(name))
        raise AssertionError("unreachable")  # pragma: no cover

    def list_keys(self, caller: Caller) -> api.KeyListResponse:
        """``GET keys``: the names the caller has ``list`` on."""
        self._require_unsealed()
        with self._op(caller, "list", "keys", None, ()):
            names = self._require_unsealed().list("keymeta/")
            if not caller.entry.is_root:
                policies = self._policies(caller.entry.policies)
                names = [n for n in names if any("list" in p.capabilities_for(n) for p in policies)]
            return api.KeyListResponse(keys=names)
        raise AssertionError("unreachable")  # pragma: no cover

    def rotate_key(self, caller: Caller, name: str) -> api.KeyInfo:
        """``POST keys/{name}/rotate``: version latest+1, one atomic commit with the metadata."""
        with self._op(caller, "rotate", f"keys/{name}/rotate", name, ("rotate",)) as extra:
            meta = self._rotate(name)
            extra["key_version"] = meta.latest
            return self._key_info(meta)
        raise AssertionError("unreachable")  # pragma: no cover

    def configure_key(self, caller: Caller, name: str, req: api.KeyConfigRequest) -> api.KeyInfo:
        """``POST keys/{name}/config``."""
        with self._op(caller, "config", f"keys/{name}/config", name, ("config",)):
            period = None if req.auto_rotate_period is None else _rotate_period(req.auto_rotate_period)

            def change(meta: KeyMeta) -> tuple[KeyMeta, list[Any]]:
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
        raise AssertionError("unreachable")  # pragma: no cover

    def delete_key(self, caller: Caller, name: str) -> None:
        """``DELETE keys/{name}``: only with ``deletion_allowed``; all versions in one commit."""
        with self._op(caller, "delete", f"keys/{name}", name, ("delete",)):
            barrier = self._require_unsealed()
            for _ in range(_CAS_RETRIES):
                meta = self._load_meta(name)
                if not meta.deletion_allowed:
                    raise BadRequestError(
                        f"key {name!r} does not allow deletion (set deletion_allowed first)",
                        code="deletion_not_allowed",
                    )
                prefix = _keys.versions_prefix(name)
                ops: list[Any] = [Delete(prefix + s) for s in barrier.list(prefix)]
                ops.append(Delete(_keys.meta_path(name), meta.revision))
                try:
                    barrier.commit(ops)
                except StorageConflict:
                    continue
                with self._materials_lock:
                    for k in [k for k in self._materials if k[0] == meta.uid]:
                        del self._materials[k]
                return
            raise ConflictError(f"key {name!r} is changing too fast; retry", code="cas_conflict")

    def backup_key(self, caller: Caller, name: str) -> api.BackupResponse:
        """``GET keys/{name}/backup``: metadata and every version, sealed for this installation."""
        with self._op(caller, "backup", f"keys/{name}/backup", name, ("backup",)) as extra:
            barrier = self._require_unsealed()
            keyring = self._keyring
            if keyring is None:  # sealed concurrently
                raise SealedError()
            meta = self._load_meta(name)
            prefix = _keys.versions_prefix(name)
            versions = []
            for s in barrier.list(prefix):
                rec = barrier.get(prefix + s)
                if rec is not None:
                    versions.append(base64.b64encode(rec.value).decode("ascii"))
            body = json.dumps({"meta": json.loads(meta.to_json()), "versions": versions}).encode()
            nonce = os.urandom(12)
            blob = nonce + sm4gcm(keyring.backup_key).encrypt(nonce, body, _BACKUP_AD)
            extra["key_version"] = meta.latest
            return api.BackupResponse(
                backup=_BACKUP_PREFIX + base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def restore_key(self, caller: Caller, req: api.RestoreRequest) -> api.KeyInfo:
        """``POST keys/restore``: recreates a key from a backup of this installation."""
        self._require_unsealed()
        keyring = self._keyring
        if keyring is None:  # sealed concurrently
            raise SealedError()
        blob_text = req.backup
        if not blob_text.startswith(_BACKUP_PREFIX):
            raise BadRequestError("backup: not a guomi key backup", field="backup")
        try:
            raw = base64.urlsafe_b64decode(blob_text[len(_BACKUP_PREFIX) :] + "=" * (-len(blob_text) % 4))
            body = sm4gcm(keyring.backup_key).decrypt(raw[:12], raw[12:], _BACKUP_AD)
            d = json.loads(body)
            src_meta = KeyMeta.from_json(json.dumps(d["meta"]).encode(), 0)
            version_blobs = [base64.b64decode(v) for v in d["versions"]]
        except (ValueError, InvalidTag, KeyError, TypeError):
            raise BadRequestError(
                "backup: damaged, or made by another installation", code="invalid_backup", field="backup"
            ) from None
        name = req.name or src_meta.name
        need = ("create", "delete") if req.force else ("create",)
        with self._op(caller, "restore", "keys/restore", name, need) as extra:
            barrier = self._require_unsealed()
            existing = barrier.get(_keys.meta_path(name))
            if existing is not None and not req.force:
                raise ConflictError(f"a key named {name!r} exists (use force)", code="key_exists")
            ops: list[Any] = []
            if existing is not None:
                prefix = _keys.versions_prefix(name)
                ops += [Delete(prefix + s) for s in barrier.list(prefix)]
            meta = src_meta.evolve(name=name, uid=os.urandom(16).hex())
            for vb in version_blobs:
                v = int(json.loads(vb)["version"])
                ops.append(Put(_keys.version_path(name, v), vb, None if existing is not None else 0))
            ops.append(Put(_keys.meta_path(name), meta.to_json(), existing.revision if existing else 0))
            try:
                rev = barrier.commit(ops)
            except StorageConflict:
                raise ConflictError(
                    f"key {name!r} changed during restore; retry", code="cas_conflict"
                ) from None
            extra["key_version"] = meta.latest
            return self._key_info(meta.evolve(revision=rev))
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------ batch helper

    def _batch(
        self,
        single: Any,
        batch: list[Any] | None,
        single_fields: Sequence[str],
        do: Callable[[Any], Any],
    ) -> tuple[Any, list[Any] | None]:
        if batch is not None:
            if any(getattr(single, f) is not None for f in single_fields):
                raise BadRequestError(
                    "batch_input: give either batch_input or the single-item fields, not both",
                    field="batch_input",
                )
            if not batch:
                raise BadRequestError("batch_input: must not be empty", field="batch_input")
            if len(batch) > self.config.max_batch_items:
                raise PayloadTooLargeError(
                    f"batch_input: at most {self.config.max_batch_items} items",
                    code="batch_too_large",
                    field="batch_input",
                )
            results: list[Any] = []
            for item in batch:
                try:
                    results.append(do(item))
                except (KMSError, InvalidTag, InvalidSignature) as exc:
                    code = exc.code if isinstance(exc, KMSError) else "invalid"
                    msg = exc.message if isinstance(exc, KMSError) else "failed"
                    results.append(api.BatchItemError(error=msg, code=code, reference=item.reference))
            return None, results
        return do(single), None

    # ------------------------------------------------------------ encrypt / decrypt / rewrap

    def _encryption_key(self, name: str) -> KeyMeta:
        meta = self._maybe_auto_rotate(self._load_meta(name))
        if meta.type not in _keys.ENCRYPTION_TYPES:
            raise BadRequestError(
                f"key {name!r} is a {meta.type} key and cannot encrypt", code="unsupported_operation"
            )
        return meta

    def encrypt(self, caller: Caller, name: str, req: api.EncryptRequest) -> api.EncryptResponse:
        """``POST encrypt/{name}``."""
        with self._op(caller, "encrypt", f"encrypt/{name}", name, ("encrypt",)) as extra:
            meta = self._encryption_key(name)
            material = self._material_memo(meta)

            def one(item: Any) -> api.EncryptResult:
                if item.plaintext is None:
                    raise BadRequestError("plaintext: required", field="plaintext")
                v = self._encryption_version(meta, item.key_version)
                token = _keys.encrypt_token(name, material(v), item.plaintext, item.associated_data)
                # The validating constructor (pydantic-core, Rust) is about twice as fast as
                # model_construct (Python) for these three plain fields (hot batch path).
                return api.EncryptResult(
                    ciphertext=token, key_version=v, reference=getattr(item, "reference", None)
                )

            single, batch = self._batch(req, req.batch_input, ("plaintext",), one)
            extra["key_version"] = meta.latest
            if batch is not None:
                extra["batch"] = len(batch)
                return api.EncryptResponse(batch_results=batch)
            extra["ciphertext"] = self.audit.hmac(single.ciphertext)
            return api.EncryptResponse(ciphertext=single.ciphertext, key_version=single.key_version)
        raise AssertionError("unreachable")  # pragma: no cover

    def _decrypt_one(
        self,
        name: str,
        meta: KeyMeta,
        token: str,
        ad: bytes | None,
        material: Callable[[int], Material] | None = None,
    ) -> tuple[bytes, int]:
        header, blob = _keys.parse_token(token, meta.type)
        v = self._decryption_version(meta, header.key_version)
        m = material(v) if material is not None else self._material(meta, v)
        return _keys.decrypt_token(name, m, header, blob, ad), v

    def decrypt(self, caller: Caller, name: str, req: api.DecryptRequest) -> api.DecryptResponse:
        """``POST decrypt/{name}``."""
        with self._op(caller, "decrypt", f"decrypt/{name}", name, ("decrypt",)) as extra:
            meta = self._load_meta(name)
            if meta.type not in _keys.ENCRYPTION_TYPES:
                raise BadRequestError(
                    f"key {name!r} is a {meta.type} key and cannot decrypt", code="unsupported_operation"
                )
            material = self._material_memo(meta)

            def one(item: Any) -> api.DecryptResult:
                if item.ciphertext is None:
                    raise BadRequestError("ciphertext: required", field="ciphertext")
                pt, v = self._decrypt_one(name, meta, item.ciphertext, item.associated_data, material)
                return api.DecryptResult(
                    plaintext=pt, key_version=v, reference=getattr(item, "reference", None)
                )

            if req.ciphertext is not None:
                extra["ciphertext"] = self.audit.hmac(req.ciphertext)
            single, batch = self._batch(req, req.batch_input, ("ciphertext",), one)
            if batch is not None:
                extra["batch"] = len(batch)
                return api.DecryptResponse(batch_results=batch)
            extra["key_version"] = single.key_version
            return api.DecryptResponse(plaintext=single.plaintext, key_version=single.key_version)
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------ plain batches (HTTP fast path)
    #
    # encrypt()/decrypt() of a batch whose items are plain tuples, answering the JSON of
    # ``batch_results`` directly: no pydantic object per item in or out (at 1,000 items
    # per request that per-item work cost more than the cryptography).  Same checks, same
    # per-item errors in the same order, and the same single audit record per request as
    # the model-based methods; tests/kms/test_fast_routes.py compares the bytes.

    def _check_batch_size(self, n: int) -> None:
        # As _batch (the single-item fields are absent here by construction).
        if not n:
            raise BadRequestError("batch_input: must not be empty", field="batch_input")
        if n > self.config.max_batch_items:
            raise PayloadTooLargeError(
                f"batch_input: at most {self.config.max_batch_items} items",
                code="batch_too_large",
                field="batch_input",
            )

    def encrypt_batch_json(
        self, caller: Caller, name: str, items: Sequence[tuple[bytes, bytes | None, str | None]]
    ) -> bytes:
        """:meth:`encrypt` of ``batch_input`` given as ``(plaintext, associated_data,
        reference)`` items (no ``key_version``: the latest); returns the JSON array of
        ``batch_results`` exactly as :class:`~guomi.api.EncryptResponse` serialises it."""
        with self._op(caller, "encrypt", f"encrypt/{name}", name, ("encrypt",)) as extra:
            meta = self._encryption_key(name)
            self._check_batch_size(len(items))
            material = self._material_memo(meta)
            enc = _keys.encrypt_token_ascii
            parts: list[bytes] = []
            append = parts.append
            # All the batch's nonces in one os.urandom call (see encrypt_token_ascii).
            ns = NONCE_SIZE
            nonces = os.urandom(ns * len(items))
            for i, (pt, ad, ref) in enumerate(items):
                try:
                    v = self._encryption_version(meta, None)
                    tok = enc(name, material(v), pt, ad, nonces[i * ns : (i + 1) * ns])
                except (KMSError, InvalidTag, InvalidSignature) as exc:
                    append(_batch_error_json(exc, ref))
                    continue
                tail = b"}" if ref is None else b',"reference":' + _to_json(ref) + b"}"
                append(b'{"ciphertext":"' + tok + b'","key_version":%d' % v + tail)
            extra["key_version"] = meta.latest
            extra["batch"] = len(items)
            return b"[" + b",".join(parts) + b"]"
        raise AssertionError("unreachable")  # pragma: no cover

    def decrypt_batch_json(
        self, caller: Caller, name: str, items: Sequence[tuple[str, bytes | None, str | None]]
    ) -> bytes:
        """:meth:`decrypt` of ``batch_input`` given as ``(ciphertext, associated_data,
        reference)`` items; returns the JSON array of ``batch_results`` exactly as
        :class:`~guomi.api.DecryptResponse` serialises it."""
        with self._op(caller, "decrypt", f"decrypt/{name}", name, ("decrypt",)) as extra:
            meta = self._load_meta(name)
            if meta.type not in _keys.ENCRYPTION_TYPES:
                raise BadRequestError(
                    f"key {name!r} is a {meta.type} key and cannot decrypt", code="unsupported_operation"
                )
            self._check_batch_size(len(items))
            material = self._material_memo(meta)
            b64 = binascii.b2a_base64
            parts: list[bytes] = []
            append = parts.append
            for token, ad, ref in items:
                try:
                    pt, v = self._decrypt_one(name, meta, token, ad, material)
                except (KMSError, InvalidTag, InvalidSignature) as exc:
                    append(_batch_error_json(exc, ref))
                    continue
                tail = b"}" if ref is None else b',"reference":' + _to_json(ref) + b"}"
                append(b'{"plaintext":"' + b64(pt, newline=False) + b'","key_version":%d' % v + tail)
            extra["batch"] = len(items)
            return b"[" + b",".join(parts) + b"]"
        raise AssertionError("unreachable")  # pragma: no cover

    def rewrap(self, caller: Caller, name: str, req: api.RewrapRequest) -> api.RewrapResponse:
        """``POST rewrap/{name}``: decrypt and re-encrypt inside the service; plaintext never leaves."""
        with self._op(caller, "rewrap", f"rewrap/{name}", name, ("rewrap",)) as extra:
            meta = self._encryption_key(name)

            def one(item: Any) -> api.RewrapResult:
                if item.ciphertext is None:
                    raise BadRequestError("ciphertext: required", field="ciphertext")
                pt, _ = self._decrypt_one(name, meta, item.ciphertext, item.associated_data)
                v = self._encryption_version(meta, item.key_version)
                token = _keys.encrypt_token(name, self._material(meta, v), pt, item.associated_data)
                return api.RewrapResult(
                    ciphertext=token, key_version=v, reference=getattr(item, "reference", None)
                )

            single, batch = self._batch(req, req.batch_input, ("ciphertext",), one)
            extra["key_version"] = meta.latest
            if batch is not None:
                extra["batch"] = len(batch)
                return api.RewrapResponse(batch_results=batch)
            return api.RewrapResponse(ciphertext=single.ciphertext, key_version=single.key_version)
        raise AssertionError("unreachable")  # pragma: no cover

    def datakey(self, caller: Caller, name: str, kind: str, req: api.DatakeyRequest) -> api.DatakeyResponse:
        """``POST datakey/{plaintext|wrapped}/{name}``: a fresh 128-bit SM4 key.

        ``plaintext`` needs ``datakey`` and ``decrypt`` (it amounts to both)."""
        if kind not in ("plaintext", "wrapped"):
            raise NotFoundError("datakey kind must be 'plaintext' or 'wrapped'")
        need = ("datakey", "decrypt") if kind == "plaintext" else ("datakey",)
        with self._op(caller, f"datakey-{kind}", f"datakey/{kind}/{name}", name, need) as extra:
            meta = self._encryption_key(name)
            v = self._encryption_version(meta, None)
            dek = os.urandom(req.bits // 8)
            token = _keys.encrypt_token(name, self._material(meta, v), dek, req.associated_data)
            extra["key_version"] = v
            return api.DatakeyResponse(
                ciphertext=token, key_version=v, plaintext=dek if kind == "plaintext" else None
            )
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------ sign / verify / hmac

    def _typed_key(self, name: str, key_type: str, what: str, *, rotate: bool) -> KeyMeta:
        meta = self._load_meta(name)
        if meta.type != key_type:
            raise BadRequestError(
                f"key {name!r} is a {meta.type} key; {what} needs a {key_type} key",
                code="unsupported_operation",
            )
        return self._maybe_auto_rotate(meta) if rotate else meta

    def sign(self, caller: Caller, name: str, req: api.SignRequest) -> api.SignResponse:
        """``POST sign/{name}``: SM2 (GB/T 32918.2) with the request's or the default user ID."""
        with self._op(caller, "sign", f"sign/{name}", name, ("sign",)) as extra:
            meta = self._typed_key(name, "sm2-sign", "sign", rotate=True)

            def one(item: Any) -> api.SignResult:
                if item.input is None:
                    raise BadRequestError("input: required", field="input")
                v = self._encryption_version(meta, item.key_version)
                uid = _user_id(item.user_id if item.user_id is not None else getattr(req, "user_id", None))
                sig = _keys.sign_token(self._material(meta, v), item.input, uid)
                return api.SignResult(
                    signature=sig, key_version=v, reference=getattr(item, "reference", None)
                )

            if req.batch_input is not None and req.user_id is not None:
                # A top-level user_id applies to batch items that give none.
                for it in req.batch_input:
                    if it.user_id is None:
                        it.user_id = req.user_id
                req = req.model_copy(update={"user_id": None})
            single, batch = self._batch(req, req.batch_input, ("input",), one)
            extra["key_version"] = meta.latest
            if batch is not None:
                extra["batch"] = len(batch)
                return api.SignResponse(batch_results=batch)
            return api.SignResponse(signature=single.signature, key_version=single.key_version)
        raise AssertionError("unreachable")  # pragma: no cover

    def verify(self, caller: Caller, name: str, req: api.VerifyRequest) -> api.VerifyResponse:
        """``POST verify/{name}``: an SM2 ``signature`` or an HMAC-SM3 ``hmac``."""
        with self._op(caller, "verify", f"verify/{name}", name, ("verify",)) as extra:
            meta = self._load_meta(name)
            if meta.type not in ("sm2-sign", "hmac-sm3"):
                raise BadRequestError(
                    f"key {name!r} is a {meta.type} key and cannot verify", code="unsupported_operation"
                )
            default_uid = req.user_id

            def one(item: Any) -> api.VerifyResult:
                if item.input is None:
                    raise BadRequestError("input: required", field="input")
                if meta.type == "sm2-sign":
                    if item.signature is None or item.hmac is not None:
                        raise BadRequestError("signature: required for an sm2-sign key", field="signature")
                    v, der = _keys.parse_signature_token(item.signature, "sm2-sign", "signature")
                    if v > meta.latest or v < meta.min_decryption_version:
                        raise BadRequestError(
                            "signature: key version unavailable (below min_decryption_version or unknown)",
                            code="key_version_disabled",
                            field="signature",
                        )
                    m = self._material(meta, v)
                    uid = _user_id(item.user_id if item.user_id is not None else default_uid)
                    try:
                        m.public.verify(der, item.input, user_id=uid, encoding="der")
                        ok = True
                    except (InvalidSignature, GuomiError, ValueError):
                        ok = False
                else:
                    if item.hmac is None or item.signature is not None:
                        raise BadRequestError("hmac: required for an hmac-sm3 key", field="hmac")
                    v, tag = _keys.parse_signature_token(item.hmac, "hmac-sm3", "hmac")
                    if v > meta.latest or v < meta.min_decryption_version:
                        raise BadRequestError(
                            "hmac: key version unavailable (below min_decryption_version or unknown)",
                            code="key_version_disabled",
                            field="hmac",
                        )
                    m = self._material(meta, v)
                    ok = ct_equal(tag, hmac_sm3(m.secret, item.input))
                return api.VerifyResult(valid=ok, reference=getattr(item, "reference", None))

            single, batch = self._batch(req, req.batch_input, ("input", "signature", "hmac"), one)
            if batch is not None:
                extra["batch"] = len(batch)
                return api.VerifyResponse(batch_results=batch)
            extra["valid"] = single.valid
            return api.VerifyResponse(valid=single.valid)
        raise AssertionError("unreachable")  # pragma: no cover

    def hmac(self, caller: Caller, name: str, req: api.HmacRequest) -> api.HmacResponse:
        """``POST hmac/{name}``: HMAC-SM3 (GB/T 15852.2 / RFC 2104)."""
        with self._op(caller, "hmac", f"hmac/{name}", name, ("hmac",)) as extra:
            meta = self._typed_key(name, "hmac-sm3", "hmac", rotate=True)

            def one(item: Any) -> api.HmacResult:
                if item.input is None:
                    raise BadRequestError("input: required", field="input")
                v = self._encryption_version(meta, item.key_version)
                tag = _keys.hmac_token(self._material(meta, v), item.input)
                return api.HmacResult(hmac=tag, key_version=v, reference=getattr(item, "reference", None))

            single, batch = self._batch(req, req.batch_input, ("input",), one)
            extra["key_version"] = meta.latest
            if batch is not None:
                extra["batch"] = len(batch)
                return api.HmacResponse(batch_results=batch)
            return api.HmacResponse(hmac=single.hmac, key_version=single.key_version)
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------ random / hash

    def random(self, caller: Caller, n: int, req: api.RandomRequest) -> api.RandomResponse:
        """``POST random/{n}``: bytes from the OS CSPRNG."""
        with self._op(caller, "random", f"random/{n}", None, ()):
            if not 1 <= n <= _MAX_RANDOM:
                raise BadRequestError(f"n: must be between 1 and {_MAX_RANDOM}", field="n")
            data = os.urandom(n)
            text = data.hex() if req.format == "hex" else base64.b64encode(data).decode("ascii")
            return api.RandomResponse(random_bytes=text)
        raise AssertionError("unreachable")  # pragma: no cover

    def hash(self, caller: Caller, req: api.HashRequest) -> api.HashResponse:
        """``POST hash``: SM3 (GB/T 32905-2016)."""
        with self._op(caller, "hash", "hash", None, ()):
            d = sm3_digest(req.input)
            return api.HashResponse(
                sum=d.hex() if req.format == "hex" else base64.b64encode(d).decode("ascii")
            )
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------ tokens

    def _token_info(self, e: TokenEntry) -> api.TokenInfo:
        now = self.clock()
        return api.TokenInfo(
            accessor=e.accessor,
            policies=list(e.policies),
            display_name=e.display_name,
            creation_time=iso(e.created),
            expire_time=None if e.expires is None else iso(e.expires),
            ttl=0 if e.expires is None else max(0, int(e.expires - now)),
        )

    def create_token(self, caller: Caller, req: api.CreateTokenRequest) -> api.TokenResponse:
        """``POST auth/tokens``.  Non-root callers hand out subsets of their own policies only."""
        with self._op(caller, "create-token", "auth/tokens", None, ()) as extra:
            barrier = self._require_unsealed()
            keyring = self._keyring
            if keyring is None:  # sealed concurrently
                raise SealedError()
            for p in req.policies:
                if not api.is_valid_key_name(p):
                    raise BadRequestError("policies: invalid policy name", field="policies")
            now = self.clock()
            ttl = auth.parse_duration(req.ttl, field_name="ttl") if req.ttl is not None else 0
            if ttl == 0:
                ttl = self.config.default_token_ttl
            if ttl > self.config.max_token_ttl:
                raise BadRequestError(f"ttl: at most {self.config.max_token_ttl} seconds", field="ttl")
            expires = now + ttl
            if not caller.entry.is_root:
                if ROOT_POLICY in req.policies or not set(req.policies) <= set(caller.entry.policies):
                    raise ForbiddenError(
                        "permission denied: a token can only grant a subset of its own policies"
                    )
                if caller.entry.expires is not None:
                    expires = min(expires, caller.entry.expires)
            elif ROOT_POLICY in req.policies and len(req.policies) > 1:
                raise BadRequestError(
                    "policies: 'root' cannot be combined with other policies", field="policies"
                )
            token = auth.new_token()
            entry = TokenEntry(
                token_id=auth.hash_token(keyring.token_key, token),
                accessor=auth.new_accessor(),
                policies=tuple(dict.fromkeys(req.policies)),
                created=now,
                expires=expires,
                display_name=req.display_name,
            )
            barrier.commit(
                [
                    Put(f"auth/token/{entry.token_id}", entry.to_json(), 0),
                    Put(f"auth/accessor/{entry.accessor}", entry.token_id.encode(), 0),
                ]
            )
            extra["new_accessor"] = entry.accessor
            extra["policies"] = list(entry.policies)
            info = self._token_info(entry)
            return api.TokenResponse(token=token, **info.model_dump())
        raise AssertionError("unreachable")  # pragma: no cover

    def lookup_self(self, caller: Caller) -> api.TokenInfo:
        """``GET auth/tokens/self``."""
        with self._op(caller, "lookup-self", "auth/tokens/self", None, ()):
            return self._token_info(caller.entry)
        raise AssertionError("unreachable")  # pragma: no cover

    def revoke_token(self, caller: Caller, req: api.RevokeTokenRequest) -> None:
        """``POST auth/tokens/revoke``: the caller's own token, a token by value, or (root) by accessor."""
        with self._op(caller, "revoke-token", "auth/tokens/revoke", None, ()) as extra:
            barrier = self._require_unsealed()
            keyring = self._keyring
            if keyring is None:  # sealed concurrently
                raise SealedError()
            if req.token is not None and req.accessor is not None:
                raise BadRequestError("token: give token or accessor, not both", field="token")
            if req.token is not None:
                if not auth.looks_like_token(req.token):
                    raise BadRequestError("token: not a token", field="token")
                token_id = auth.hash_token(keyring.token_key, req.token)
            elif req.accessor is not None:
                if not caller.entry.is_root and req.accessor != caller.entry.accessor:
                    raise ForbiddenError("permission denied: revoking by accessor needs the root policy")
                rec = barrier.get(f"auth/accessor/{req.accessor}")
                if rec is None:
                    raise NotFoundError("no token with that accessor")
                token_id = rec.value.decode()
            else:
                token_id = caller.entry.token_id
            trec = barrier.get(f"auth/token/{token_id}")
            if trec is None:
                raise NotFoundError("no such token (already revoked or expired)")
            entry = TokenEntry.from_json(token_id, trec.value, trec.revision)
            barrier.commit([Delete(f"auth/token/{token_id}"), Delete(f"auth/accessor/{entry.accessor}")])
            extra["revoked_accessor"] = entry.accessor

    # ------------------------------------------------------------ policies

    def write_policy(self, caller: Caller, name: str, req: api.PolicyRequest) -> api.PolicyResponse:
        """``PUT policies/{name}`` (root)."""
        with self._op(caller, "write-policy", f"policies/{name}", None, ("root",)):
            policy = Policy.build(name, [(r.pattern, list(r.capabilities)) for r in req.rules])
            self._require_unsealed().commit([Put(f"policy/{name}", policy.to_json())])
            return api.PolicyResponse(name=name, rules=req.rules)
        raise AssertionError("unreachable")  # pragma: no cover

    def read_policy(self, caller: Caller, name: str) -> api.PolicyResponse:
        """``GET policies/{name}`` (root)."""
        with self._op(caller, "read-policy", f"policies/{name}", None, ("root",)):
            rec = self._require_unsealed().get(f"policy/{name}")
            if rec is None:
                raise NotFoundError(f"no policy named {name!r}")
            p = Policy.from_json(rec.value)
            return api.PolicyResponse(
                name=p.name,
                rules=[api.PolicyRule(pattern=pat, capabilities=sorted(c)) for pat, c in p.rules],  # type: ignore[arg-type]
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def list_policies(self, caller: Caller) -> api.PolicyListResponse:
        """``GET policies`` (root)."""
        with self._op(caller, "list-policies", "policies", None, ("root",)):
            return api.PolicyListResponse(policies=self._require_unsealed().list("policy/"))
        raise AssertionError("unreachable")  # pragma: no cover

    def delete_policy(self, caller: Caller, name: str) -> None:
        """``DELETE policies/{name}`` (root)."""
        with self._op(caller, "delete-policy", f"policies/{name}", None, ("root",)):
            barrier = self._require_unsealed()
            if barrier.get(f"policy/{name}") is None:
                raise NotFoundError(f"no policy named {name!r}")
            barrier.commit([Delete(f"policy/{name}")])


def _batch_error_json(exc: Exception, reference: str | None) -> bytes:
    """A failed item as :class:`~guomi.api.BatchItemError` serialises it (as in ``_batch``)."""
    code = exc.code if isinstance(exc, KMSError) else "invalid"
    msg = exc.message if isinstance(exc, KMSError) else "failed"
    tail = b"}" if reference is None else b',"reference":' + _to_json(reference) + b"}"
    return b'{"error":' + _to_json(msg) + b',"code":' + _to_json(code) + tail


def _check_key_name(name: str) -> None:
    if not api.is_valid_key_name(name):
        raise BadRequestError(
            "name: key names are 1-128 characters: letters, digits, '.', '_', '-', starting with a "
            "letter or digit",
            code="invalid_key_name",
            field="name",
        )


def _rotate_period(value: int | str | None) -> int:
    seconds = auth.parse_duration(value, field_name="auto_rotate_period")
    if 0 < seconds < 60:
        raise BadRequestError(
            "auto_rotate_period: 0 (off) or at least 60 seconds", field="auto_rotate_period"
        )
    return seconds


def _user_id(user_id: str | None) -> bytes:
    uid = (user_id if user_id is not None else api.DEFAULT_SM2_USER_ID).encode("utf-8")
    if len(uid) > 8191:
        raise BadRequestError("user_id: at most 8191 bytes", field="user_id")
    return uid
