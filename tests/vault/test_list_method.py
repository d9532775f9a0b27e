"""Vault's ``LIST`` method over a real socket: httptools alone refuses it, guomi's protocol serves it."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import serve


def test_plain_httptools_refuses_list_and_guomis_protocol_serves_it(app_and_root: tuple[Any, str]) -> None:
    app, root = app_and_root
    headers = {"X-Vault-Token": root}
    for http, list_status in (("httptools", 400), ("auto", 200)):
        server, thread, url = serve(app, http)
        try:
            with httpx.Client(base_url=url, headers=headers) as c:
                assert c.post("/v1/transit/keys/k1", json={}).status_code == 200
                # Same keep-alive connection: POST, LIST, GET, LIST, POST.
                assert c.request("LIST", "/v1/transit/keys").status_code == list_status
                assert c.post("/v1/transit/encrypt/k1", json={"plaintext": "eA=="}).status_code == 200
                if list_status == 200:
                    assert c.request("LIST", "/v1/transit/keys").json()["data"]["keys"] == ["k1"]
                    assert c.request("LIST", "/v1/auth/token/accessors").status_code == 200
                assert c.get("/v1/transit/keys", params={"list": "true"}).status_code == 200
                c.delete("/v1/transit/keys/k1")
        finally:
            server.should_exit = True
            thread.join(timeout=10)
