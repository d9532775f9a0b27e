"""hvac's ``auth.token`` against guomi (issue 15) and tokens as a tree (issue 10, finding 1)."""

from __future__ import annotations

import hvac
import hvac.exceptions as hx
import pytest


def as_token(vault: hvac.Client, token: str) -> hvac.Client:
    return hvac.Client(url=vault.url, token=token, session=vault.session)


def test_create_lookup_renew_revoke(vault: hvac.Client) -> None:
    tok = vault.auth.token
    created = tok.create(policies=["app"], ttl="1h", display_name="billing", meta={"team": "pay"})
    auth = created["auth"]
    assert auth["client_token"].startswith("gmt.") and auth["policies"] == ["app"]
    assert auth["lease_duration"] == 3600 and auth["renewable"] and auth["orphan"] is False
    assert created["data"] is None and created["lease_id"] == ""
    child = as_token(vault, auth["client_token"])
    assert child.is_authenticated()
    me = child.auth.token.lookup_self()["data"]
    assert me["accessor"] == auth["accessor"] and me["display_name"] == "billing"
    assert me["policies"] == ["app"] and me["ttl"] <= 3600 and me["id"] == auth["client_token"]
    assert tok.lookup(auth["client_token"])["data"]["accessor"] == auth["accessor"]
    assert tok.lookup_accessor(auth["accessor"])["data"]["id"] == ""
    assert auth["accessor"] in tok.list_accessors()["data"]["keys"]
    renewed = child.auth.token.renew_self(increment="30m")["auth"]
    assert renewed["lease_duration"] == 1800
    assert tok.renew(auth["client_token"], increment="2h")["auth"]["lease_duration"] == 7200
    assert tok.renew_accessor(auth["accessor"])["auth"]["accessor"] == auth["accessor"]
    child.auth.token.revoke_self()
    assert not child.is_authenticated()


def test_revoking_a_parent_revokes_its_children(vault: hvac.Client) -> None:
    # Issue 10 finding 1: a child minted by a leaked token must die with it.
    parent_tok = vault.auth.token.create(policies=["app"], ttl="1h")["auth"]["client_token"]
    parent = as_token(vault, parent_tok)
    child_tok = parent.auth.token.create(policies=["app"], ttl="1h")["auth"]["client_token"]
    grandchild_tok = as_token(vault, child_tok).auth.token.create(ttl="1h")["auth"]["client_token"]
    vault.auth.token.revoke(parent_tok)
    for t in (parent_tok, child_tok, grandchild_tok):
        assert not as_token(vault, t).is_authenticated()


def test_revoke_by_accessor_and_orphan(vault: hvac.Client) -> None:
    tok = vault.auth.token
    a = tok.create(policies=["app"], ttl="1h")["auth"]
    child = as_token(vault, a["client_token"]).auth.token.create(ttl="1h")["auth"]
    tok.revoke_and_orphan_children(a["client_token"])
    assert not as_token(vault, a["client_token"]).is_authenticated()
    kept = as_token(vault, child["client_token"])
    assert kept.is_authenticated() and kept.auth.token.lookup_self()["data"]["orphan"] is True
    tok.revoke_accessor(child["accessor"])
    assert not kept.is_authenticated()


def test_orphans_are_roots_alone(vault: hvac.Client) -> None:
    orphan = vault.auth.token.create_orphan(policies=["app"], ttl="1h")["auth"]
    assert orphan["orphan"] is True
    app = as_token(vault, orphan["client_token"])
    with pytest.raises(hx.Forbidden):
        app.auth.token.create_orphan(policies=["app"])
    with pytest.raises(hx.Forbidden):
        app.auth.token.revoke_and_orphan_children(orphan["client_token"])
    with pytest.raises(hx.Forbidden):
        app.auth.token.list_accessors()
    # A non-root token cannot mint policies it does not hold.
    with pytest.raises(hx.Forbidden):
        app.auth.token.create(policies=["admin"])


def test_roles_and_unsupported_options_are_refused_clearly(vault: hvac.Client) -> None:
    tok = vault.auth.token
    with pytest.raises(hx.InvalidPath):
        tok.list_roles()
    with pytest.raises(hx.InvalidPath):
        tok.read_role("web")
    with pytest.raises(hx.InvalidRequest, match="roles"):
        tok.create_or_update_role("web", allowed_policies=["app"])
    with pytest.raises(hx.InvalidRequest, match="num_uses"):
        tok.create(policies=["app"], num_uses=3)
    with pytest.raises(hx.InvalidRequest, match="period"):
        tok.create(policies=["app"], period="1h")


def test_vault_headers_are_tolerated(vault: hvac.Client) -> None:
    ns = hvac.Client(url=vault.url, token=vault.token, session=vault.session, namespace="ns1/")
    assert ns.is_authenticated()  # X-Vault-Namespace and X-Vault-Request (hvac sends both)
