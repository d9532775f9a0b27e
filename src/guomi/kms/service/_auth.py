"""Tokens and policies: ``auth/tokens*`` and ``policies*``.

Layer: ``guomi.kms.service`` (internal).  Authentication and the capability
check themselves run in the request pipeline (:mod:`._core`); this module
creates, looks up and revokes tokens and manages the policies they name.
"""

from __future__ import annotations

from guomi import api
from guomi.kms import auth
from guomi.kms.auth import ROOT_POLICY, Policy, TokenEntry, iso
from guomi.kms.errors import BadRequestError, ForbiddenError, NotFoundError
from guomi.kms.service._context import Caller
from guomi.kms.service._core import EngineCore
from guomi.kms.storage import Delete, Put

__all__ = ["TokenOps"]


class TokenOps(EngineCore):
    """Token life cycle and the policy store."""

    def _token_info(self, e: TokenEntry) -> api.TokenInfo:
        now = self.clock()
        return api.TokenInfo(
            accessor=e.accessor,
            policies=list(e.policies),
            display_name=e.display_name,
            creation_time=iso(e.created),
            expire_time=None if e.expires is None else iso(e.expires),
            ttl=0 if e.expires is None else max(0, int(e.expires - now)),
            bound_cert_subject=e.bound_cert_subject,
        )

    def create_token(self, caller: Caller, req: api.CreateTokenRequest) -> api.TokenResponse:
        """``POST auth/tokens``.  Non-root callers hand out subsets of their own policies only."""
        with self._op(caller, "create-token", "auth/tokens", None, ()) as extra:
            barrier = self._require_unsealed()
            keyring = self._require_keyring()
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
                bound_cert_subject=req.bound_cert_subject,
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

    def lookup_self(self, caller: Caller) -> api.TokenInfo:
        """``GET auth/tokens/self``."""
        with self._op(caller, "lookup-self", "auth/tokens/self", None, ()):
            return self._token_info(caller.entry)

    def revoke_token(self, caller: Caller, req: api.RevokeTokenRequest) -> None:
        """``POST auth/tokens/revoke``: the caller's own token, a token by value, or (root) by accessor."""
        with self._op(caller, "revoke-token", "auth/tokens/revoke", None, ()) as extra:
            barrier = self._require_unsealed()
            keyring = self._require_keyring()
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

    def write_policy(self, caller: Caller, name: str, req: api.PolicyRequest) -> api.PolicyResponse:
        """``PUT policies/{name}`` (root)."""
        with self._op(caller, "write-policy", f"policies/{name}", None, ("root",)):
            policy = Policy.build(name, [(r.pattern, list(r.capabilities)) for r in req.rules])
            self._require_unsealed().commit([Put(f"policy/{name}", policy.to_json())])
            return api.PolicyResponse(name=name, rules=req.rules)

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

    def list_policies(self, caller: Caller) -> api.PolicyListResponse:
        """``GET policies`` (root)."""
        with self._op(caller, "list-policies", "policies", None, ("root",)):
            return api.PolicyListResponse(policies=self._require_unsealed().list("policy/"))

    def delete_policy(self, caller: Caller, name: str) -> None:
        """``DELETE policies/{name}`` (root)."""
        with self._op(caller, "delete-policy", f"policies/{name}", None, ("root",)):
            barrier = self._require_unsealed()
            if barrier.get(f"policy/{name}") is None:
                raise NotFoundError(f"no policy named {name!r}")
            barrier.commit([Delete(f"policy/{name}")])
