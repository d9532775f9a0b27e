"""Seal state and keyring: health, init, unseal, seal.

Layer: ``guomi.kms.service`` (internal).  The master key exists only while
shares are combined at unseal; it unwraps the keyring (barrier, audit, token
and backup keys), and the authenticated decryption of the keyring is the only
check of the reconstructed master key (no stored hash of it).
"""

from __future__ import annotations

import base64
import json
import logging
import os

from guomi import __version__, api
from guomi.api import ErrorCode
from guomi.kms import auth
from guomi.kms.auth import ROOT_POLICY, TokenEntry
from guomi.kms.barrier import KEYRING_PATH, SEAL_CONFIG_PATH, Barrier, BarrierError, Keyring, State
from guomi.kms.errors import BadRequestError, ConflictError, NotInitializedError, StorageIntegrityError
from guomi.kms.seal import shamir
from guomi.kms.service._context import Caller, RequestContext
from guomi.kms.service._core import EngineCore
from guomi.kms.storage import Put, StorageConflict

__all__ = ["SealOps"]

log = logging.getLogger("guomi.kms")

_MASTER_KEY_SIZE = 32


class SealOps(EngineCore):
    """``sys/*``: health, seal status, init, unseal, seal."""

    def _seal_config(self) -> dict[str, int]:
        rec = self.storage.get(SEAL_CONFIG_PATH)
        if rec is None:
            raise NotInitializedError("the service is not initialised (POST /v1/sys/init)")
        d: dict[str, int] = json.loads(rec.value)
        return d

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
            raise ConflictError("the service is already initialised", code=ErrorCode.ALREADY_INITIALIZED)
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
        self._audit_plain(
            "sys/init",
            "sys/init",
            ctx,
            root_accessor=entry.accessor,
            secret_shares=req.secret_shares,
            secret_threshold=req.secret_threshold,
        )
        try:
            self.storage.commit(
                [
                    Put(SEAL_CONFIG_PATH, seal_cfg, 0),
                    Put(KEYRING_PATH, keyring.wrap(master), 0),
                    *barrier.genesis([Put(tpath, entry.to_json()), Put(apath, entry.token_id.encode())]),
                ]
            )
        except StorageConflict:
            raise ConflictError(
                "the service is already initialised", code=ErrorCode.ALREADY_INITIALIZED
            ) from None
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
            given = self._unseal_shares
            if any(s[0] == share[0] for s in given):
                raise BadRequestError("key: this share was already given", field="key")
            given.append(bytes(share))
            if len(given) < threshold:
                return api.SealStatus(
                    initialized=True,
                    sealed=True,
                    t=threshold,
                    n=int(cfg["shares"]),
                    progress=len(given),
                    version=__version__,
                )
            shares, self._unseal_shares = list(given), []
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
                    code=ErrorCode.UNSEAL_FAILED,
                    field="key",
                ) from None
            finally:
                del master
            barrier = Barrier(self._reads, keyring)
            self._check_storage_state(barrier)
            self._install(keyring, barrier)
        self._audit_plain("sys/unseal", "sys/unseal", ctx)
        return self.seal_status()

    def _install(self, keyring: Keyring, barrier: Barrier) -> None:
        self._decoded.clear()
        self._keyring = keyring
        self.audit.set_key(keyring.audit_key)
        barrier.on_commit = self._save_anchor
        self._barrier = barrier

    def _check_storage_state(self, barrier: Barrier) -> State:
        """Unseal refuses a store that fails the state check (docs/spec/storage.md): every
        record against the sealed state record, the state against the local anchor and the
        operator's external anchor.  The service stays sealed, with a clear message."""
        try:
            state = barrier.verify()
            anchor = self.state_anchor.load() if self.state_anchor is not None else None
        except (BarrierError, ValueError) as exc:
            log.error("refusing to unseal: %s", exc)
            raise StorageIntegrityError(f"refusing to unseal: {exc}") from None
        problem = None
        if state.generation < self.min_state_generation:
            problem = (
                f"the storage state is at generation {state.generation}, below the external anchor "
                f"{self.min_state_generation}: the database was rolled back"
            )
        elif anchor is not None and state.generation < anchor[0]:
            problem = (
                f"the storage state is at generation {state.generation}, older than generation {anchor[0]} "
                f"recorded in {self.state_anchor.path if self.state_anchor else ''}: the database was "
                "rolled back (restored from an older copy)"
            )
        elif anchor is not None and state.generation == anchor[0] and state.digest_hex != anchor[1]:
            problem = "the storage state differs from the anchor's at the same generation (database replaced)"
        if problem is not None:
            log.error("refusing to unseal: %s", problem)
            raise StorageIntegrityError(f"refusing to unseal: {problem}")
        self._save_anchor(state)
        return state

    def _save_anchor(self, state: State) -> None:
        if self.state_anchor is not None:
            self.state_anchor.save(state.generation, state.digest_hex)

    def verify_storage(self) -> bool:
        """Background check of every record against the state record (and the anchor).

        On a failure the service seals itself (it must not serve from a store it cannot
        trust) and logs why; returns whether the store passed."""
        barrier = self._barrier
        if barrier is None:
            return True
        try:
            state = barrier.verify()
        except BarrierError as exc:
            log.error("storage integrity check failed, sealing: %s", exc)
            self._audit_write(
                operation="verify-storage", result="error", status=500, error_code="storage_integrity"
            )
            self._drop_keys()
            return False
        self._save_anchor(state)
        return True

    def storage_state(self, caller: Caller) -> api.StorageState:
        """``GET sys/state`` (root): the generation and digest to record as an external anchor."""
        with self._op(caller, "storage-state", "sys/state", None, ("root",)):
            state = self._require_unsealed().read_state()
            if state is None:
                raise StorageIntegrityError("the storage state record is missing")
            return api.StorageState(generation=state.generation, digest=state.digest_hex)

    def seal(self, caller: Caller) -> api.SealStatus:
        """Drops every key from memory (root only)."""
        with self._op(caller, "seal", "sys/seal", None, ("root",)):
            pass
        self._drop_keys()
        return self.seal_status()

    def _drop_keys(self) -> None:
        with self._lock:
            self._barrier = None
            self._keyring = None
            self._unseal_shares.clear()
        self.audit.set_key(None)
        self._forget_keys()

    def dev_init(self) -> str:
        """Dev mode: initialise with one share, unseal, return the root token."""
        resp = self.init(api.InitRequest(secret_shares=1, secret_threshold=1))
        self.unseal(api.UnsealRequest(key=base64.b64decode(resp.keys_base64[0])))
        self.dev_root_token = resp.root_token
        return resp.root_token
