"""Tokens and policies: ``auth/tokens*`` and ``policies*``.

Layer: ``guomi.kms.service`` (internal).  Authentication and the capability
check themselves run in the request pipeline (:mod:`._core`); this module
creates, looks up and revokes tokens and manages the policies they name.
"""

from __future__ import annotations

import math

from guomi import api
from guomi.kms import auth
from guomi.kms._token_tree import TokenTree
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
            ttl=0 if e.expires is None else max(0, math.ceil(e.expires - now)),
            creation_ttl=e.ttl,
            parent=e.parent,
            bound_cert_subject=e.bound_cert_subject,
        )

    def _tree(self) -> TokenTree:
        return TokenTree(self._require_unsealed())

    def create_token(self, caller: Caller, req: api.CreateTokenRequest) -> api.TokenResponse:
        """``POST auth/tokens``.  Non-root callers hand out subsets of their own policies only.

        The new token is the caller's child (revoked with it), unless root asks for an
        orphan (``no_parent``)."""
        with self._op(caller, "create-token", "auth/tokens", None, ()) as extra:
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
                if req.no_parent:
                    raise ForbiddenError("permission denied: orphan tokens are root's to create")
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
            parent = None if req.no_parent else caller.entry
            entry = TokenEntry(
                token_id=auth.hash_token(keyring.token_key, token),
                accessor=auth.new_accessor(),
                policies=tuple(dict.fromkeys(req.policies)),
                created=now,
                expires=expires,
                display_name=req.display_name,
                parent=None if parent is None else parent.accessor,
                ttl=ttl,
                bound_cert_subject=req.bound_cert_subject,
            )
            self._tree().create(entry, parent)
            extra["new_accessor"] = entry.accessor
            extra["parent_accessor"] = entry.parent
            extra["policies"] = list(entry.policies)
            info = self._token_info(entry)
            return api.TokenResponse(token=token, **info.model_dump())

    def lookup_self(self, caller: Caller) -> api.TokenInfo:
        """``GET auth/tokens/self``."""
        with self._op(caller, "lookup-self", "auth/tokens/self", None, ()):
            return self._token_info(caller.entry)

    def _is_descendant(self, tree: TokenTree, entry: TokenEntry, ancestor: str) -> bool:
        seen = 0
        node: TokenEntry | None = entry
        while node is not None and node.parent is not None and seen < 1024:
            if node.parent == ancestor:
                return True
            node = tree.by_accessor(node.parent)
            seen += 1
        return False

    def _target(self, caller: Caller, token: str | None, accessor: str | None) -> TokenEntry:
        """The token a lookup, renewal or revocation names: the caller's own when neither
        is given; another only for root, or when it descends from the caller."""
        keyring = self._require_keyring()
        tree = self._tree()
        if token is not None and accessor is not None:
            raise BadRequestError("token: give token or accessor, not both", field="token")
        if token is None and accessor is None:
            entry = tree.get(caller.entry.token_id)
        elif token is not None:
            if not auth.looks_like_token(token):
                raise BadRequestError("token: not a token", field="token")
            entry = tree.get(auth.hash_token(keyring.token_key, token))
        else:
            entry = tree.by_accessor(str(accessor))
        if entry is None or entry.expired(self.clock()):
            raise NotFoundError("no such token (revoked or expired)")
        own = entry.token_id == caller.entry.token_id
        if not (caller.entry.is_root or own or self._is_descendant(tree, entry, caller.entry.accessor)):
            raise ForbiddenError("permission denied: only root, or the token itself or its ancestors")
        return entry

    def lookup_token(
        self, caller: Caller, *, token: str | None = None, accessor: str | None = None
    ) -> api.TokenInfo:
        """``POST auth/tokens/lookup``: a token by value or accessor (root, the token itself,
        or one of its ancestors)."""
        with self._op(caller, "lookup-token", "auth/tokens/lookup", None, ()) as extra:
            entry = self._target(caller, token, accessor)
            extra["target_accessor"] = entry.accessor
            return self._token_info(entry)

    def renew_token(
        self,
        caller: Caller,
        *,
        token: str | None = None,
        accessor: str | None = None,
        increment: int | str | None = None,
    ) -> api.TokenInfo:
        """``POST auth/tokens/renew``: a new expiry ``increment`` (default: the token's own TTL)
        from now, never past ``max_token_ttl`` nor past its parent's expiry.  Tokens without
        expiry (root) are unchanged."""
        with self._op(caller, "renew-token", "auth/tokens/renew", None, ()) as extra:
            entry = self._target(caller, token, accessor)
            extra["target_accessor"] = entry.accessor
            if entry.expires is None:
                return self._token_info(entry)
            seconds = auth.parse_duration(increment, field_name="increment") if increment else 0
            seconds = min(seconds or entry.ttl or self.config.default_token_ttl, self.config.max_token_ttl)
            expires = self.clock() + seconds
            if entry.parent is not None:
                parent = self._tree().by_accessor(entry.parent)
                if parent is None:
                    raise NotFoundError("the token's parent was revoked")
                if parent.expires is not None:
                    expires = min(expires, parent.expires)
            renewed = self._tree().renew(entry, expires)
            return self._token_info(renewed)

    def list_token_accessors(self, caller: Caller, policy: str | None = None) -> list[str]:
        """``GET auth/tokens/accessors`` (root): accessors of live tokens (holding ``policy``)."""
        path = "auth/tokens/accessors" if policy is None else f"auth/tokens/policy/{policy}"
        with self._op(caller, "list-tokens", path, None, ("root",)):
            tree = self._tree()
            if policy is None:
                return tree.accessors()
            return sorted(e.accessor for e in tree.with_policy(policy))

    def revoke_token(self, caller: Caller, req: api.RevokeTokenRequest) -> None:
        """``POST auth/tokens/revoke``: a token with every token it created, recursively.

        The caller's own token when neither ``token`` nor ``accessor`` is given; by
        accessor, root or the caller's own; ``orphan`` (root) keeps the children as
        orphans; ``policy`` (root) revokes every token holding that policy."""
        with self._op(caller, "revoke-token", "auth/tokens/revoke", None, ()) as extra:
            keyring = self._require_keyring()
            tree = self._tree()
            given = [f for f in (req.token, req.accessor, req.policy) if f is not None]
            if len(given) > 1:
                raise BadRequestError("token: give one of token, accessor or policy", field="token")
            if (req.orphan or req.policy is not None) and not caller.entry.is_root:
                raise ForbiddenError("permission denied: orphan and by-policy revocation need root")
            if req.policy is not None:
                revoked: list[str] = []
                for e in tree.with_policy(req.policy):
                    try:
                        revoked += tree.revoke(e.token_id)
                    except NotFoundError:
                        continue  # already revoked as a descendant of an earlier one
                extra["revoked_accessors"] = revoked
                return
            if req.token is not None:
                if not auth.looks_like_token(req.token):
                    raise BadRequestError("token: not a token", field="token")
                token_id = auth.hash_token(keyring.token_key, req.token)
            elif req.accessor is not None:
                if not caller.entry.is_root and req.accessor != caller.entry.accessor:
                    raise ForbiddenError("permission denied: revoking by accessor needs the root policy")
                target = tree.by_accessor(req.accessor)
                if target is None:
                    raise NotFoundError("no token with that accessor")
                token_id = target.token_id
            else:
                token_id = caller.entry.token_id
            revoked = tree.revoke(token_id, orphan_children=req.orphan)
            extra["revoked_accessor"] = revoked[0]
            if len(revoked) > 1:
                extra["revoked_descendants"] = revoked[1:]

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
