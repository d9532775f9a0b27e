"""The engine's request pipeline: state, record reads, authentication, authorisation, audit.

Layer: ``guomi.kms.service`` (internal).  :class:`EngineCore` holds what every
concern shares: the storage (behind a read-ahead layer), the audit log, the
barrier and keyring while unsealed, and a cache of decoded records.  Every
operation of the other modules runs inside one :class:`Operation` scope::

    with self._op(caller, "encrypt", f"encrypt/{name}", name, ("encrypt",)) as audit:
        ...                      # the work; may add fields to ``audit``
        return result

The scope requires the unsealed state (503 otherwise), checks the key name
and the caller's capabilities (403, audited, nothing changed), and on leaving
writes exactly one audit record for the outcome; storage and barrier failures
become :class:`StorageUnavailableError` / :class:`StorageIntegrityError`.
If the final audit write fails, its :class:`AuditUnavailableError` replaces the
result (fail closed).  ``__exit__`` returns ``None``: it never swallows an
exception, so the type checker knows the body's ``return`` is the only exit.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from guomi import api
from guomi.api import ErrorCode
from guomi.kms import auth
from guomi.kms.audit import AuditLog
from guomi.kms.auth import Policy, TokenEntry
from guomi.kms.barrier import SEAL_CONFIG_PATH, Barrier, BarrierError, Keyring
from guomi.kms.config import Config
from guomi.kms.errors import (
    AuditUnavailableError,
    BadRequestError,
    ForbiddenError,
    KMSError,
    NotInitializedError,
    SealedError,
    StorageIntegrityError,
    StorageUnavailableError,
    UnauthorizedError,
)
from guomi.kms.service._anchor import StateAnchor
from guomi.kms.service._context import Caller, RequestContext
from guomi.kms.service._keyrecords import meta_path
from guomi.kms.storage import ReadAheadStorage, Storage, StorageError

__all__ = ["EngineCore", "Operation"]

log = logging.getLogger("guomi.kms")

T = TypeVar("T")
#: Decoded token / policy / key-metadata records kept (emptied when full).
_DECODED_CACHE_MAX = 8192


def _now() -> float:
    return time.time()


class EngineCore:
    """State and the request pipeline shared by every concern of the engine."""

    def __init__(
        self,
        storage: Storage,
        audit: AuditLog,
        config: Config | None = None,
        *,
        clock: Callable[[], float] = _now,
        state_anchor: Path | None = None,
        min_state_generation: int = 0,
    ) -> None:
        self.storage = storage
        self.audit = audit
        self.config = config or Config()
        self.clock = clock
        #: Reads go through here: a request may fetch its records ahead (see :meth:`read_ahead`).
        self._reads = ReadAheadStorage(storage)
        self._lock = threading.Lock()
        self._barrier: Barrier | None = None
        self._keyring: Keyring | None = None
        self._unseal_shares: list[bytes] = []
        self._initialized = False
        #: Dev mode only: the root token of the installation :meth:`dev_init` created.
        self.dev_root_token: str | None = None
        #: The local anchor of the storage state (docs/spec/storage.md), if any.
        self.state_anchor = StateAnchor(state_anchor) if state_anchor is not None else None
        #: An external anchor: unseal refuses a store whose state generation is lower.
        self.min_state_generation = min_state_generation
        # path -> (stored sealed bytes, revision, decoded object) of token, policy and key
        # metadata records: see _read_decoded.
        # (stored bytes, revision, decoded object, record generation, state generation when read)
        self._decoded: dict[str, tuple[bytes, int, Any, int, int]] = {}

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

    def _require_unsealed(self) -> Barrier:
        barrier = self._barrier
        if barrier is None:
            if not self.is_initialized():
                raise NotInitializedError("the service is not initialised (POST /v1/sys/init)")
            raise SealedError()
        return barrier

    def _require_keyring(self) -> Keyring:
        keyring = self._keyring
        if keyring is None:
            self._require_unsealed()
            raise SealedError()  # sealed concurrently
        return keyring

    def _forget_keys(self) -> None:
        """Drops what was decoded under the keyring (at seal; concerns that cache more extend it)."""
        self._decoded.clear()

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
        seen_at = barrier.high_water  # before the read: what the state had reached by then
        rec = barrier.storage.get(path)
        hit = self._decoded.get(path)
        if rec is None:
            if hit is not None:
                # Gone since last read: only a commit (a newer generation) may delete it.
                del self._decoded[path]
                state = barrier.read_state()
                if state is not None and state.generation <= hit[4]:
                    raise BarrierError(f"record {path!r} vanished without a commit (deleted in storage)")
            return None
        if hit is not None and hit[1] == rec.revision and hit[0] == rec.value:
            obj: T = hit[2]
            return obj
        value, generation = barrier.open_record(path, rec.value)
        barrier.check_generation(path, generation)
        if hit is not None and generation < hit[3]:
            # docs/spec/storage.md: a record never goes back to an older generation.  (A read
            # that raced a newer one of another thread is stale, not replayed: read again.)
            again = barrier.storage.get(path)
            if again is None or barrier.open_record(path, again.value)[1] < hit[3]:
                raise BarrierError(f"record {path!r} was replaced by an older one (replayed)")
            return self._read_decoded(path, decode)
        obj = decode(value, rec.revision)
        if len(self._decoded) >= _DECODED_CACHE_MAX:
            self._decoded.clear()
        self._decoded[path] = (rec.value, rec.revision, obj, generation, seen_at)
        return obj

    def read_ahead(self, token: str | None, key_names: Sequence[str]) -> Any:
        """A ``with`` block in which the token's record and the keys' metadata, read in
        ONE storage round trip, answer the first reads of those paths (for networked
        stores; see :class:`~guomi.kms.storage.ReadAheadStorage`)."""
        keyring = self._keyring
        paths: list[str] = []
        if keyring is not None and token and auth.looks_like_token(token):
            paths.append(f"auth/token/{auth.hash_token(keyring.token_key, token)}")
            paths += [meta_path(n) for n in key_names]
        return self._reads.read_ahead(paths)

    # ------------------------------------------------------------ authentication

    def authenticate(self, token: str | None, ctx: RequestContext, path: str = "") -> Caller:
        """The caller behind a bearer token; 401 (audited) when absent, unknown, expired or revoked."""
        keyring = self._require_keyring()
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
            raise UnauthorizedError("token expired", code=ErrorCode.TOKEN_EXPIRED)
        bound = entry.bound_cert_subject
        if bound is not None and not hmac.compare_digest(
            bound.encode("utf-8"), (ctx.client_cert_subject or "").encode("utf-8")
        ):
            # Bound to a client certificate: over another certificate (or none) it is refused.
            self._audit_denied(token_hmac, ctx, path, 401, "token_bound_elsewhere", accessor=entry.accessor)
            raise UnauthorizedError(
                "this token is bound to another client certificate", code=ErrorCode.TOKEN_BOUND_ELSEWHERE
            )
        return Caller(entry=entry, ctx=ctx, token_hmac=token_hmac)

    # ------------------------------------------------------------ audit

    def _audit_write(self, **fields: Any) -> None:
        self.audit.record(type="request", **fields)

    def _audit_plain(self, operation: str, path: str, ctx: RequestContext | None, **extra: Any) -> None:
        c = ctx or RequestContext()
        self._audit_write(
            operation=operation,
            path=path,
            request_id=c.request_id or None,
            remote_addr=c.remote_addr,
            **extra,
            result="ok",
            status=200,
        )

    def _audit_denied(
        self, token_hmac: str | None, ctx: RequestContext, path: str, status: int, code: str, **extra: Any
    ) -> None:
        # Unauthenticated failures are rate limited (burst, then counted in one
        # denied-summary record): a stranger cannot grow the log without bound.
        self.audit.record_denied(
            code,
            type="request",
            operation="authenticate",
            path=path or None,
            request_id=ctx.request_id or None,
            remote_addr=ctx.remote_addr,
            token=token_hmac,
            result="denied",
            status=status,
            **extra,
        )

    def _audit_outcome(self, op: Operation, exc: KMSError | None) -> None:
        caller = op.caller
        fields: dict[str, Any] = {
            "operation": op.operation,
            "path": op.path,
            "key": op.key,
            "request_id": caller.ctx.request_id or None,
            "remote_addr": caller.ctx.remote_addr,
            "token": caller.token_hmac,
            "accessor": caller.entry.accessor,
        }
        if exc is None:
            self._audit_write(**fields, result="ok", status=200, **op.extra)
        else:
            result = "denied" if isinstance(exc, ForbiddenError) else "error"
            self._audit_write(**fields, result=result, status=exc.status, error_code=exc.code)

    # ------------------------------------------------------------ authorisation

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

    def _op(
        self, caller: Caller, operation: str, path: str, key: str | None, need: Sequence[str]
    ) -> Operation:
        """The scope of one audited operation (see the module docstring)."""
        return Operation(self, caller, operation, path, key, need=need)


class Operation:
    """Unsealed check, key-name check, authorisation on entry; one audit record on exit.

    Entering yields a dict the body fills with extra audit fields."""

    __slots__ = ("caller", "engine", "extra", "key", "need", "operation", "path")

    def __init__(
        self,
        engine: EngineCore,
        caller: Caller,
        operation: str,
        path: str,
        key: str | None,
        *,
        need: Sequence[str],
    ) -> None:
        self.engine = engine
        self.caller = caller
        self.operation = operation
        self.path = path
        self.key = key
        self.need = need
        self.extra: dict[str, Any] = {}

    def __enter__(self) -> dict[str, Any]:
        self.engine._require_unsealed()
        try:
            if self.key is not None:
                check_key_name(self.key)
            self.engine._check_access(self.caller, self.key, self.need)
        except BaseException as exc:
            self.__exit__(type(exc), exc, None)
            raise
        return self.extra

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        audit = self.engine._audit_outcome
        if exc is None:
            audit(self, None)
            return
        if isinstance(exc, KMSError):
            if not isinstance(exc, AuditUnavailableError):
                audit(self, exc)
            return
        if isinstance(exc, StorageError):
            failure: KMSError = StorageUnavailableError("storage unavailable")
        elif isinstance(exc, BarrierError):
            log.error(
                "a stored record failed authentication during %s (tampering or corruption)", self.operation
            )
            failure = StorageIntegrityError("a stored record failed its integrity check")
        elif isinstance(exc, Exception):
            # A bug, not bad input: still one audit record (status 500) for the request.
            log.error("internal error during %s: %s", self.operation, type(exc).__name__)
            audit(self, KMSError("internal error"))
            return
        else:
            return
        audit(self, failure)
        raise failure from None


def check_key_name(name: str) -> None:
    """400 ``invalid_key_name`` unless ``name`` is an acceptable key name."""
    if not api.is_valid_key_name(name):
        raise BadRequestError(
            "name: key names are 1-128 characters: letters, digits, '.', '_', '-', starting with a "
            "letter or digit",
            code=ErrorCode.INVALID_KEY_NAME,
            field="name",
        )
