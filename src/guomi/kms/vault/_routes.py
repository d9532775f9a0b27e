"""The Vault-compatible route table and how it joins guomi's own.

Layer: ``guomi.kms.vault``.  :data:`ROUTES` serves Vault's transit paths
(``/v1/transit/...``) and token paths (``/v1/auth/token/...``) with Vault's
request fields, envelope, statuses and error bodies (:class:`VaultErrors`);
they are left out of the OpenAPI document, which describes guomi's own API.
:func:`with_vault` builds the service's table: these routes first, then
guomi's routes without their old ``/transit`` aliases (one Vault surface,
not two), plus ``LIST`` on every listing route (Vault clients list with it;
``GET ...?list=true`` reaches the ``GET`` route, the query being ignored).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from guomi.kms.errors import BadRequestError, NotFoundError
from guomi.kms.http._routes import Call, ErrorStyle, Reply, Route
from guomi.kms.vault import _token as tok
from guomi.kms.vault import _transit as tr
from guomi.kms.vault._shapes import VaultErrors

__all__ = ["HEADER_ERRORS", "LISTING_PATHS", "PREFIX_ERRORS", "ROUTES", "VAULT_ERRORS", "with_vault"]

#: The error style of every Vault route (and of unknown paths under the Vault mounts).
VAULT_ERRORS: ErrorStyle = VaultErrors()
#: Unknown paths and methods under these prefixes answer in Vault's error style.
PREFIX_ERRORS: tuple[tuple[str, ErrorStyle], ...] = (
    ("/v1/transit", VAULT_ERRORS),
    ("/v1/auth/token/", VAULT_ERRORS),
)
#: A request from a Vault client (hvac and the Vault CLI send ``X-Vault-Request: true``) gets
#: Vault's error bodies and statuses on every path, so no error crashes inside the client.
HEADER_ERRORS: tuple[tuple[bytes, ErrorStyle], ...] = ((b"x-vault-request", VAULT_ERRORS),)
#: guomi's own listing routes, also served with ``LIST``.
LISTING_PATHS = frozenset({"/keys", "/policies", "/auth/tokens/accessors"})


def _v(method: str, path: str, handler: Callable[[Call], Any], *, write: bool = False, **kw: Any) -> Route:
    return Route(
        method,
        path,
        handler,
        tr.VaultBody,
        tag="vault",
        body_required=False,
        inline=not write,
        errors=VAULT_ERRORS,
        documented=False,
        **kw,
    )


def _datakey(c: Call) -> Reply:
    if c.params["kind"] not in ("plaintext", "wrapped"):
        raise NotFoundError("datakey: the type is 'plaintext' or 'wrapped'")
    return tr.datakey(c)


def _tidy(c: Call) -> Reply:
    return tr.reply(c, None, warnings=["guomi revokes tokens at once; there is nothing to tidy"])


def _role_write(c: Call) -> Reply:
    raise BadRequestError("token roles are not offered; give policies and ttl", code="unsupported_operation")


_T = "/transit"
_A = "/auth/token"

ROUTES: tuple[Route, ...] = (
    # transit: hot paths first
    _v("POST", f"{_T}/encrypt/{{name}}", tr.encrypt),
    _v("POST", f"{_T}/decrypt/{{name}}", tr.decrypt),
    _v("POST", f"{_T}/rewrap/{{name}}", tr.rewrap),
    _v("POST", f"{_T}/sign/{{name}}", tr.sign),
    _v("POST", f"{_T}/sign/{{name}}/{{algorithm}}", tr.sign),
    _v("POST", f"{_T}/verify/{{name}}", tr.verify),
    _v("POST", f"{_T}/verify/{{name}}/{{algorithm}}", tr.verify),
    _v("POST", f"{_T}/hmac/{{name}}", tr.hmac),
    _v("POST", f"{_T}/hmac/{{name}}/{{algorithm}}", tr.hmac),
    _v("POST", f"{_T}/datakey/{{kind}}/{{name}}", _datakey),
    _v("POST", f"{_T}/random", tr.random),
    _v("POST", f"{_T}/random/{{bytes}}", tr.random),
    _v("POST", f"{_T}/random/{{source}}/{{bytes}}", tr.random),
    _v("POST", f"{_T}/hash", tr.hash_data),
    _v("POST", f"{_T}/hash/{{algorithm}}", tr.hash_data),
    # transit: keys
    _v("LIST", f"{_T}/keys", tr.list_keys),
    _v("GET", f"{_T}/keys", tr.list_keys),
    _v("POST", f"{_T}/keys/{{name}}", tr.create_key, write=True),
    _v("PUT", f"{_T}/keys/{{name}}", tr.create_key, write=True),
    _v("GET", f"{_T}/keys/{{name}}", tr.read_key),
    _v("DELETE", f"{_T}/keys/{{name}}", tr.delete_key, write=True),
    _v("POST", f"{_T}/keys/{{name}}/config", tr.configure_key, write=True),
    _v("POST", f"{_T}/keys/{{name}}/rotate", tr.rotate_key, write=True),
    _v("POST", f"{_T}/keys/{{name}}/trim", tr.trim_key, write=True),
    _v("GET", f"{_T}/backup/{{name}}", tr.backup_key),
    _v("POST", f"{_T}/restore", tr.restore_key, write=True),
    _v("POST", f"{_T}/restore/{{name}}", tr.restore_key, write=True),
    _v("GET", f"{_T}/export/{{type}}/{{name}}", tr.export_key),
    _v("GET", f"{_T}/export/{{type}}/{{name}}/{{version}}", tr.export_key),
    # tokens
    _v("GET", f"{_A}/lookup-self", tok.lookup_self),
    _v("POST", f"{_A}/lookup-self", tok.lookup_self),
    _v("POST", f"{_A}/create", tok.create, write=True),
    _v("POST", f"{_A}/create/{{role}}", tok.create, write=True),
    _v("POST", f"{_A}/create-orphan", tok.create_orphan, write=True),
    _v("POST", f"{_A}/lookup", tok.lookup),
    _v("POST", f"{_A}/lookup-accessor", tok.lookup_accessor),
    _v("POST", f"{_A}/renew-self", tok.renew_self, write=True),
    _v("POST", f"{_A}/renew", tok.renew, write=True),
    _v("POST", f"{_A}/renew-accessor", tok.renew_accessor, write=True),
    _v("POST", f"{_A}/revoke-self", tok.revoke_self, write=True),
    _v("POST", f"{_A}/revoke", tok.revoke, write=True),
    _v("POST", f"{_A}/revoke-accessor", tok.revoke_accessor, write=True),
    _v("POST", f"{_A}/revoke-orphan", tok.revoke_orphan, write=True),
    _v("LIST", f"{_A}/accessors", tok.list_accessors),
    _v("GET", f"{_A}/accessors", tok.list_accessors),
    _v("LIST", f"{_A}/roles", tok.no_roles),
    _v("GET", f"{_A}/roles", tok.no_roles),
    _v("GET", f"{_A}/roles/{{role}}", tok.no_roles),
    _v("DELETE", f"{_A}/roles/{{role}}", tok.no_roles),
    _v("POST", f"{_A}/roles/{{role}}", _role_write),
    _v("POST", f"{_A}/tidy", _tidy),
)


def with_vault(routes: Iterable[Route]) -> tuple[Route, ...]:
    """The service's table: the Vault routes, then ``routes`` without ``/transit`` aliases,
    plus ``LIST`` variants of guomi's listing routes."""
    own = [replace(r, aliases=tuple(a for a in r.aliases if a != _T)) for r in routes]
    listing = [
        replace(r, method="LIST", documented=False)
        for r in own
        if r.method == "GET" and r.path in LISTING_PATHS
    ]
    return (*ROUTES, *own, *listing)
