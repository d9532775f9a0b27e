"""The root and seal life cycle: a new root token from a quorum, new shares, a new barrier key.

Layer: ``guomi.kms.seal``.  Three operations, as HashiCorp Vault has them, each audited and
crash-safe (every change of stored state is ONE atomic commit guarded by compare-and-set, so
a SIGKILL at any step leaves the old or the new state, never neither):

* **generate-root** — an attempt is started (``start``), which gives the initiator a one-time
  pad (OTP, as long as a token); custodians submit unseal shares (``update``); when the
  threshold is reached the shares are combined and checked by authenticated decryption of the
  keyring (no stored hash), a new root token is written (one commit: token record + accessor
  record) and returned only as ``base64(token XOR otp)``, so it never travels in clear; the
  initiator decodes it with the pad (``decode_root_token``).  A wrong share anywhere ends the
  attempt with nothing changed.
* **rekey** — new shares and threshold for the same keyring, old quorum required.  The old
  quorum yields the keyring; a new master key wraps it; the wrapped keyring and the new seal
  configuration are stored as a *pending* record and the new shares returned.  Nothing is
  switched until a quorum of the NEW shares is submitted back (``rekey_verify``): then one
  commit replaces keyring and seal configuration (CAS on both) and deletes the pending record.
  A crash before that commit leaves the old shares valid; after it, the new ones (and the new
  shares were proven to work before the old ones stopped working).
* **rotate** — a new barrier key (``Barrier.rotate``: one create-only record); records sealed
  under older terms stay readable through the keyring of versions.

Progress of an attempt is kept in memory (shares never touch storage); nonces bind updates to
the attempt they belong to.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from guomi.api import ErrorCode
from guomi.kms import auth
from guomi.kms.auth import ROOT_POLICY, TokenEntry
from guomi.kms.barrier import KEYRING_PATH, SEAL_CONFIG_PATH, Barrier, BarrierError, Keyring
from guomi.kms.errors import BadRequestError, ConflictError, NotFoundError
from guomi.kms.seal import shamir
from guomi.kms.seal._shares import share_check_record, share_is_known
from guomi.kms.storage import Delete, Put, StorageConflict

__all__ = ["REKEY_PENDING_PATH", "SealLifecycle", "decode_root_token"]

REKEY_PENDING_PATH = "core/rekey-pending"
_MASTER_KEY_SIZE = 32
_TOKEN_LEN = 47  # "gmt." + 43 base64url characters

#: Extra storage writes to make in the rekey commit for a new master key (the PKCS#11 seal
#: re-wraps it), given the new master key.
MasterHook = Callable[[bytes], list[Put]]


def decode_root_token(encoded_b64: str, otp_b64: str) -> str:
    """The root token from generate-root's ``encoded_token`` and the attempt's ``otp``."""
    try:
        enc = base64.b64decode(encoded_b64, validate=True)
        otp = base64.b64decode(otp_b64, validate=True)
    except ValueError:
        raise BadRequestError("encoded token and OTP must be base64") from None
    if len(enc) != len(otp):
        raise BadRequestError("encoded token and OTP differ in length (wrong OTP?)")
    token = bytes(a ^ b for a, b in zip(enc, otp, strict=True))
    try:
        text = token.decode("ascii")
    except UnicodeDecodeError:
        raise BadRequestError("the OTP does not decode this token (wrong OTP?)") from None
    if not auth.looks_like_token(text):
        raise BadRequestError("the OTP does not decode this token (wrong OTP?)")
    return text


@dataclass
class _Attempt:
    nonce: str
    shares: list[bytes] = field(default_factory=list, repr=False)
    otp: bytes = field(default=b"", repr=False)
    new_shares: int = 0
    new_threshold: int = 0


def _new_nonce() -> str:
    return os.urandom(16).hex()


class SealLifecycle:
    """generate-root, rekey and rotate over one engine (see the module docstring)."""

    def __init__(self, engine: Any, *, master_hook: MasterHook | None = None) -> None:
        self.engine = engine
        self.master_hook = master_hook
        self._lock = threading.Lock()
        self._root: _Attempt | None = None
        self._rekey: _Attempt | None = None
        self._verify: _Attempt | None = None

    def __repr__(self) -> str:
        return f"SealLifecycle(root={self._root is not None}, rekey={self._rekey is not None})"

    # ------------------------------------------------------------ shared

    def _config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = self.engine._seal_config()
        return cfg

    def _audit(self, operation: str, ctx: Any, result: str, **fields: Any) -> None:
        self.engine._audit_write(
            operation=operation,
            path=operation,
            request_id=getattr(ctx, "request_id", None) or None,
            remote_addr=getattr(ctx, "remote_addr", None),
            result=result,
            status=200 if result == "ok" else 400,
            **fields,
        )

    @staticmethod
    def _check_nonce(attempt: _Attempt | None, nonce: str | None, what: str) -> _Attempt:
        if attempt is None:
            raise NotFoundError(f"no {what} attempt in progress", code=ErrorCode.NO_ATTEMPT)
        if not nonce or not hmac.compare_digest(nonce.encode(), attempt.nonce.encode()):
            raise BadRequestError("nonce: does not match the attempt in progress", field="nonce")
        return attempt

    def _add_current_share(self, attempt: _Attempt, share: bytes | None) -> None:
        """A share of the CURRENT seal: checked against the stored commitments first."""
        if share is not None and share_is_known(self.engine.storage, share) is False:
            raise BadRequestError(
                "key: not a share of this installation (nothing was added to the attempt)", field="key"
            )
        self._add_share(attempt, share)

    @staticmethod
    def _add_share(attempt: _Attempt, share: bytes | None) -> None:
        if share is None or len(share) != 1 + _MASTER_KEY_SIZE or share[0] == 0:
            raise BadRequestError("key: not a share of this installation (wrong length)", field="key")
        if any(s[0] == share[0] for s in attempt.shares):
            raise BadRequestError("key: this share was already given", field="key")
        attempt.shares.append(bytes(share))

    def _keyring_from(self, shares: list[bytes]) -> tuple[Keyring, int]:
        """The keyring the shares open, and its record's revision; BadRequest if they do not."""
        master = shamir.combine(shares)
        rec = self.engine.storage.get(KEYRING_PATH)
        try:
            if rec is None:
                raise BarrierError("no keyring")
            return Keyring.unwrap(master, rec.value), rec.revision
        except BarrierError:
            raise BadRequestError(
                "key: the shares do not reconstruct this installation's master key; the attempt was "
                "cancelled and nothing changed",
                code=ErrorCode.SHARES_INVALID,
                field="key",
            ) from None
        finally:
            del master

    # ------------------------------------------------------------ generate-root

    def root_status(self) -> dict[str, Any]:
        """Progress of the generate-root attempt."""
        cfg = self._config()
        with self._lock:
            a = self._root
            return {
                "started": a is not None,
                "nonce": a.nonce if a else "",
                "progress": len(a.shares) if a else 0,
                "required": int(cfg["threshold"]),
                "complete": False,
            }

    def root_start(self, ctx: Any = None) -> dict[str, Any]:
        """Starts an attempt; the answer holds the OTP (shown once, to the initiator)."""
        cfg = self._config()
        with self._lock:
            if self._root is not None:
                raise ConflictError("a generate-root attempt is already in progress (cancel it first)")
            self._root = _Attempt(nonce=_new_nonce(), otp=os.urandom(_TOKEN_LEN))
            attempt = self._root
        self._audit("sys/generate-root/attempt", ctx, "ok")
        return {
            "started": True,
            "nonce": attempt.nonce,
            "otp": base64.b64encode(attempt.otp).decode("ascii"),
            "otp_length": _TOKEN_LEN,
            "progress": 0,
            "required": int(cfg["threshold"]),
            "complete": False,
        }

    def root_cancel(self, ctx: Any = None) -> None:
        """Drops the attempt and its shares."""
        with self._lock:
            self._root = None
        self._audit("sys/generate-root/cancel", ctx, "ok")

    def root_update(self, nonce: str | None, share: bytes | None, ctx: Any = None) -> dict[str, Any]:
        """One share; at the threshold, the new root token (encoded with the OTP)."""
        threshold = int(self._config()["threshold"])
        with self._lock:
            attempt = self._check_nonce(self._root, nonce, "generate-root")
            self._add_current_share(attempt, share)
            if len(attempt.shares) < threshold:
                return {
                    "started": True,
                    "nonce": attempt.nonce,
                    "progress": len(attempt.shares),
                    "required": threshold,
                    "complete": False,
                }
            self._root = None  # complete or failed: either way the attempt ends here
        try:
            keyring, _rev = self._keyring_from(attempt.shares)
        except BadRequestError:
            self._audit("sys/generate-root", ctx, "shares_invalid")
            raise
        finally:
            attempt.shares.clear()
        token = auth.new_token()
        entry = TokenEntry(
            token_id=auth.hash_token(keyring.token_key, token),
            accessor=auth.new_accessor(),
            policies=(ROOT_POLICY,),
            created=self.engine.clock(),
            expires=None,
            display_name="root (generate-root)",
        )
        barrier = Barrier(self.engine.storage, keyring)
        tpath, apath = f"auth/token/{entry.token_id}", f"auth/accessor/{entry.accessor}"
        # Audited before the commit (fail closed: no token exists whose creation went unrecorded).
        self._audit("sys/generate-root", ctx, "ok", root_accessor=entry.accessor)
        barrier.commit([Put(tpath, entry.to_json(), 0), Put(apath, entry.token_id.encode(), 0)])
        encoded = bytes(a ^ b for a, b in zip(token.encode("ascii"), attempt.otp, strict=True))
        return {
            "started": False,
            "nonce": attempt.nonce,
            "progress": threshold,
            "required": threshold,
            "complete": True,
            "encoded_token": base64.b64encode(encoded).decode("ascii"),
            "accessor": entry.accessor,
        }

    # ------------------------------------------------------------ rekey

    def rekey_status(self) -> dict[str, Any]:
        """Progress of the rekey attempt and of its verification."""
        cfg = self._config()
        pending = self._pending()
        with self._lock:
            a, v = self._rekey, self._verify
            return {
                "started": a is not None,
                "nonce": a.nonce if a else "",
                "progress": len(a.shares) if a else 0,
                "required": int(cfg["threshold"]),
                "secret_shares": a.new_shares if a else 0,
                "secret_threshold": a.new_threshold if a else 0,
                "verification_pending": pending is not None,
                "verification_nonce": pending["nonce"] if pending else "",
                "verification_progress": len(v.shares) if v else 0,
                "verification_required": int(pending["threshold"]) if pending else 0,
            }

    def rekey_start(self, secret_shares: int, secret_threshold: int, ctx: Any = None) -> dict[str, Any]:
        """Starts a rekey to ``secret_shares`` shares, ``secret_threshold`` of them needed."""
        if not 1 <= secret_threshold <= secret_shares <= 255:
            raise BadRequestError(
                "need 1 <= secret_threshold <= secret_shares <= 255", field="secret_threshold"
            )
        if secret_shares > 1 and secret_threshold < 2:
            raise BadRequestError(
                "secret_threshold: must be at least 2 when there are several shares", field="secret_threshold"
            )
        cfg = self._config()
        with self._lock:
            if self._rekey is not None:
                raise ConflictError("a rekey attempt is already in progress (cancel it first)")
            self._rekey = _Attempt(
                nonce=_new_nonce(), new_shares=secret_shares, new_threshold=secret_threshold
            )
            nonce = self._rekey.nonce
        self._audit(
            "sys/rekey/init", ctx, "ok", secret_shares=secret_shares, secret_threshold=secret_threshold
        )
        return {
            "started": True,
            "nonce": nonce,
            "progress": 0,
            "required": int(cfg["threshold"]),
            "secret_shares": secret_shares,
            "secret_threshold": secret_threshold,
        }

    def rekey_cancel(self, ctx: Any = None) -> None:
        """Drops the attempt and any pending (unverified) new shares: the old shares stay valid."""
        with self._lock:
            self._rekey = None
            self._verify = None
        rec = self.engine.storage.get(REKEY_PENDING_PATH)
        if rec is not None:
            with contextlib.suppress(StorageConflict):
                self.engine.storage.commit([Delete(REKEY_PENDING_PATH, rec.revision)])
        self._audit("sys/rekey/cancel", ctx, "ok")

    def rekey_update(self, nonce: str | None, share: bytes | None, ctx: Any = None) -> dict[str, Any]:
        """One OLD share; at the threshold, the new shares (to be verified before they count)."""
        threshold = int(self._config()["threshold"])
        with self._lock:
            attempt = self._check_nonce(self._rekey, nonce, "rekey")
            self._add_current_share(attempt, share)
            if len(attempt.shares) < threshold:
                return {
                    "started": True,
                    "nonce": attempt.nonce,
                    "progress": len(attempt.shares),
                    "required": threshold,
                    "complete": False,
                }
            self._rekey = None
            self._verify = None
        try:
            keyring, keyring_rev = self._keyring_from(attempt.shares)
        except BadRequestError:
            self._audit("sys/rekey/update", ctx, "shares_invalid")
            raise
        finally:
            attempt.shares.clear()
        cfg_rec = self.engine.storage.get(SEAL_CONFIG_PATH)
        master = os.urandom(_MASTER_KEY_SIZE)
        try:
            shares = shamir.split(master, attempt.new_shares, attempt.new_threshold)
            extra = self.master_hook(master) if self.master_hook is not None else []
            extra.append(share_check_record(shares))  # the new shares' commitments, same commit
            pending = {
                "nonce": _new_nonce(),
                "shares": attempt.new_shares,
                "threshold": attempt.new_threshold,
                "keyring": base64.b64encode(keyring.wrap(master)).decode("ascii"),
                "keyring_revision": keyring_rev,
                "seal_config_revision": cfg_rec.revision if cfg_rec else 0,
                "extra": [
                    {"path": p.path, "value": base64.b64encode(p.value).decode("ascii")} for p in extra
                ],
            }
        finally:
            del master
        # Unconditional: a stale pending record of an abandoned rekey is replaced.
        self.engine.storage.commit([Put(REKEY_PENDING_PATH, json.dumps(pending).encode())])
        self._audit(
            "sys/rekey/update",
            ctx,
            "ok",
            secret_shares=attempt.new_shares,
            secret_threshold=attempt.new_threshold,
            verification="required",
        )
        return {
            "complete": True,
            "keys_base64": [base64.b64encode(s).decode("ascii") for s in shares],
            "secret_shares": attempt.new_shares,
            "secret_threshold": attempt.new_threshold,
            "verification_required": True,
            "verification_nonce": pending["nonce"],
        }

    def _pending(self) -> dict[str, Any] | None:
        rec = self.engine.storage.get(REKEY_PENDING_PATH)
        if rec is None:
            return None
        doc: dict[str, Any] = json.loads(rec.value)
        doc["_revision"] = rec.revision
        return doc

    def rekey_verify(self, nonce: str | None, share: bytes | None, ctx: Any = None) -> dict[str, Any]:
        """One NEW share; at the new threshold the switch happens, in one commit."""
        pending = self._pending()
        if pending is None:
            raise NotFoundError("no rekey waiting for verification", code=ErrorCode.NO_ATTEMPT)
        threshold = int(pending["threshold"])
        with self._lock:
            if self._verify is None or self._verify.nonce != pending["nonce"]:
                self._verify = _Attempt(nonce=str(pending["nonce"]))
            attempt = self._check_nonce(self._verify, nonce, "rekey verification")
            self._add_share(attempt, share)
            if len(attempt.shares) < threshold:
                return {
                    "nonce": attempt.nonce,
                    "progress": len(attempt.shares),
                    "required": threshold,
                    "complete": False,
                }
            self._verify = None
        blob = base64.b64decode(pending["keyring"])
        master = shamir.combine(attempt.shares)
        attempt.shares.clear()
        try:
            Keyring.unwrap(master, blob)
        except BarrierError:
            self._audit("sys/rekey/verify", ctx, "shares_invalid")
            raise BadRequestError(
                "key: these are not the new shares; verification progress was reset and nothing changed",
                code=ErrorCode.SHARES_INVALID,
                field="key",
            ) from None
        finally:
            del master
        old_cfg = self._config()
        new_cfg = dict(
            old_cfg,
            shares=int(pending["shares"]),
            threshold=int(pending["threshold"]),
            rekeyed=self.engine.clock(),
        )
        ops: list[Put | Delete] = [
            Put(KEYRING_PATH, blob, int(pending["keyring_revision"])),
            Put(SEAL_CONFIG_PATH, json.dumps(new_cfg).encode(), int(pending["seal_config_revision"])),
            Delete(REKEY_PENDING_PATH, int(pending["_revision"])),
        ]
        ops += [Put(e["path"], base64.b64decode(e["value"])) for e in pending.get("extra", [])]
        self._audit(
            "sys/rekey/verify",
            ctx,
            "ok",
            secret_shares=new_cfg["shares"],
            secret_threshold=new_cfg["threshold"],
        )
        try:
            self.engine.storage.commit(ops)
        except StorageConflict:
            raise ConflictError(
                "the keyring or seal configuration changed since this rekey started; cancel and start again"
            ) from None
        return {
            "nonce": attempt.nonce,
            "complete": True,
            "secret_shares": new_cfg["shares"],
            "secret_threshold": new_cfg["threshold"],
        }

    # ------------------------------------------------------------ rotate

    def rotate(self, ctx: Any = None) -> dict[str, Any]:
        """A new barrier key (root only; the caller checks the token)."""
        barrier = self.engine._require_unsealed()
        for _ in range(8):
            try:
                term = int(barrier.rotate())
                break
            except StorageConflict:
                continue  # another server rotated at the same moment: follow and retry
        else:
            raise ConflictError("the barrier key is being rotated by other servers; retry")
        self._audit("sys/rotate", ctx, "ok", term=term)
        return {"term": term}
