"""Route-table entries of the root and seal life cycle (Vault's paths): ``sys/generate-root/*``,
``sys/rekey/*``, ``sys/rotate``.

Layer: ``guomi.kms.runtime``.  Translation only: each :class:`~guomi.kms.http.Route` parses
its body with the models below and calls :class:`~guomi.kms.seal.SealLifecycle`.
generate-root and rekey are gated by unseal shares (as in Vault; they are throttled with the
unseal submissions by :class:`~guomi.kms.runtime.OperationsGuard`); cancelling needs the
attempt's nonce; ``sys/rotate`` needs a root token.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from guomi import api
from guomi.kms.errors import BadRequestError, ForbiddenError
from guomi.kms.http import Call, Reply, Route

__all__ = [
    "LIFECYCLE_PATHS",
    "NonceRequest",
    "RekeyInitRequest",
    "ShareRequest",
    "lifecycle_routes",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NonceRequest(_Body):
    """Cancels the attempt with this nonce."""

    nonce: str = Field(min_length=1, max_length=64)


class ShareRequest(_Body):
    """One share (base64) for the attempt with this nonce."""

    nonce: str = Field(min_length=1, max_length=64)
    key: api.B64Bytes


class RekeyInitRequest(_Body):
    """New number of shares and threshold."""

    secret_shares: int = Field(ge=1, le=255)
    secret_threshold: int = Field(ge=1, le=255)


class LifecycleStatus(BaseModel):
    """Progress of an attempt (fields as Vault's; only those that apply are present)."""

    model_config = ConfigDict(extra="allow")
    started: bool | None = None
    nonce: str | None = None
    progress: int | None = None
    required: int | None = None
    complete: bool | None = None
    #: generate-root, at the start only: the one-time pad (base64), shown to the initiator.
    otp: str | None = None
    #: generate-root, when complete: base64(new root token XOR otp).
    encoded_token: str | None = None
    #: rekey, when the old quorum is complete: the NEW shares, to be verified.
    keys_base64: list[str] | None = None
    verification_nonce: str | None = None
    #: rotate: the new barrier key's term.
    term: int | None = None


def _data(result: dict[str, Any]) -> Reply:
    return Reply(200, json.dumps({"data": result}, separators=(",", ":")).encode())


LIFECYCLE_PATHS = frozenset(
    {
        "/v1/sys/generate-root/attempt",
        "/v1/sys/generate-root/update",
        "/v1/sys/rekey/init",
        "/v1/sys/rekey/update",
        "/v1/sys/rekey/verify",
        "/v1/sys/rotate",
    }
)


def lifecycle_routes(lifecycle: Any) -> tuple[Route, ...]:
    """The routes over one :class:`~guomi.kms.seal.SealLifecycle`."""
    life = lifecycle

    def root_cancel(c: Call) -> Reply:
        life._check_nonce(life._root, c.body.nonce, "generate-root")
        life.root_cancel(c.ctx)
        return _data(life.root_status())

    def rekey_cancel(c: Call) -> Reply:
        status = life.rekey_status()
        if c.body.nonce not in (status["nonce"], status["verification_nonce"]):
            raise BadRequestError("nonce: does not match the rekey in progress", field="nonce")
        life.rekey_cancel(c.ctx)
        return _data(life.rekey_status())

    def rotate(c: Call) -> Reply:
        if not c.who.entry.is_root:
            raise ForbiddenError("permission denied: sys/rotate needs the root policy")
        return _data(life.rotate(c.ctx))

    common: dict[str, Any] = {"response": LifecycleStatus, "tag": "sys", "inline": False}
    open_: dict[str, Any] = {**common, "auth": False}
    return (
        Route(
            "GET",
            "/sys/generate-root/attempt",
            lambda c: _data(life.root_status()),
            summary="Progress of the generate-root attempt.",
            body_required=False,
            **open_,
        ),
        Route(
            "POST",
            "/sys/generate-root/attempt",
            lambda c: _data(life.root_start(c.ctx)),
            summary="Starts generate-root; the answer holds the one-time pad (otp), shown once.",
            body_required=False,
            **open_,
        ),
        Route(
            "DELETE",
            "/sys/generate-root/attempt",
            root_cancel,
            NonceRequest,
            summary="Cancels the attempt (its nonce required).",
            **open_,
        ),
        Route(
            "POST",
            "/sys/generate-root/update",
            lambda c: _data(life.root_update(c.body.nonce, c.body.key, c.ctx)),
            ShareRequest,
            summary="One unseal share; at the threshold, encoded_token = base64(root token XOR otp).",
            **open_,
        ),
        Route(
            "GET",
            "/sys/rekey/init",
            lambda c: _data(life.rekey_status()),
            summary="Progress of the rekey and of its verification.",
            body_required=False,
            **open_,
        ),
        Route(
            "POST",
            "/sys/rekey/init",
            lambda c: _data(life.rekey_start(c.body.secret_shares, c.body.secret_threshold, c.ctx)),
            RekeyInitRequest,
            summary="Starts a rekey to new shares and threshold.",
            **open_,
        ),
        Route(
            "DELETE",
            "/sys/rekey/init",
            rekey_cancel,
            NonceRequest,
            summary="Cancels the rekey (its nonce required); the old shares stay valid.",
            **open_,
        ),
        Route(
            "POST",
            "/sys/rekey/update",
            lambda c: _data(life.rekey_update(c.body.nonce, c.body.key, c.ctx)),
            ShareRequest,
            summary="One OLD share; at the threshold, the new shares (keys_base64), not yet in force.",
            **open_,
        ),
        Route(
            "POST",
            "/sys/rekey/verify",
            lambda c: _data(life.rekey_verify(c.body.nonce, c.body.key, c.ctx)),
            ShareRequest,
            summary="One NEW share; at the new threshold the new shares replace the old, in one commit.",
            **open_,
        ),
        Route(
            "POST",
            "/sys/rotate",
            rotate,
            capability=("root",),
            body_required=False,
            summary="A new barrier key; records under older keys stay readable.",
            **common,
        ),
    )
