"""Transport: TLS 1.2/1.3 through the server's own TLS, client certificates, limits."""

from __future__ import annotations

import re
import socket
import ssl
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from guomi.cli import cli

from .conftest import Certs, run_cli


def _ctx(
    certs: Certs, *, cert: str | None = None, key: str | None = None, version: Any = None
) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(certs.ca))
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    return ctx


def _health(port: int, ctx: ssl.SSLContext) -> int:
    with httpx.Client(verify=ctx, timeout=10) as c:
        return c.get(f"https://127.0.0.1:{port}/v1/sys/health").status_code


def test_dev_with_tls(server_factory: Any, certs: Certs) -> None:
    s = server_factory("--dev", "--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key))
    assert re.search(rf"export GUOMI_ADDR=https://127.0.0.1:{s.port} ", s.output)
    assert f"listening on https://127.0.0.1:{s.port}" in s.output
    assert _health(s.port, _ctx(certs)) == 200
    assert _health(s.port, _ctx(certs, version=ssl.TLSVersion.TLSv1_2)) == 200
    assert _health(s.port, _ctx(certs, version=ssl.TLSVersion.TLSv1_3)) == 200
    # The CLI over TLS, trusting the CA through SSL_CERT_FILE (as the SDK does).
    root = re.search(r"GUOMI_TOKEN=(\S+)", s.output)
    assert root
    env = {
        "GUOMI_ADDR": f"https://127.0.0.1:{s.port}",
        "GUOMI_TOKEN": root.group(1),
        "SSL_CERT_FILE": str(certs.ca),
    }
    r = CliRunner().invoke(cli, ["key", "create", "orders"], env=env)
    assert r.exit_code == 0, r.output
    # Plain HTTP to the TLS port gets no HTTP answer.
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{s.port}/v1/sys/health", timeout=5)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_old_tls_versions_refused(server_factory: Any, certs: Certs) -> None:
    s = server_factory("--dev", "--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(certs.ca))
    try:
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as raw, pytest.raises(ssl.SSLError):
        ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def test_client_certificate_required(server_factory: Any, certs: Certs) -> None:
    s = server_factory(
        "--dev",
        "--tls-cert",
        str(certs.server_cert),
        "--tls-key",
        str(certs.server_key),
        "--tls-client-ca",
        str(certs.ca),
    )
    assert "client certificates required" in s.output
    assert _health(s.port, _ctx(certs, cert=str(certs.client_cert), key=str(certs.client_key))) == 200
    # No certificate: the handshake (or the first read after it, in TLS 1.3) fails.
    with pytest.raises((httpx.HTTPError, ssl.SSLError)):
        _health(s.port, _ctx(certs))
    # A certificate with the same subject from another CA: refused the same way.
    with pytest.raises((httpx.HTTPError, ssl.SSLError)):
        _health(s.port, _ctx(certs, cert=str(certs.rogue_cert), key=str(certs.rogue_key)))


def test_plain_http_refused_off_loopback_at_start(certs: Certs) -> None:
    r = run_cli("server", "--dev", "--listen", "0.0.0.0:18299")
    assert r.returncode == 2
    assert "non-loopback" in r.stderr and "--insecure-no-tls" in r.stderr
    assert "listening" not in r.stderr


def _closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(30)  # generous: only "closed or not" is asserted, never how fast
    try:
        data = sock.recv(65536)
    except (ConnectionResetError, TimeoutError):
        return True
    while data:
        if b"\r\n\r\n" in data and not data.startswith(b"HTTP/1.1 408"):
            return False
        data = sock.recv(65536)
    return True


def test_slow_client_is_cut_off(server_factory: Any) -> None:
    s = server_factory("--dev", "--read-timeout", "0.5")
    with socket.create_connection(("127.0.0.1", s.port)) as sock:
        sock.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n")  # the headers never end
        assert _closed_by_server(sock)
    with socket.create_connection(("127.0.0.1", s.port)) as sock:  # connects, sends nothing
        assert _closed_by_server(sock)
    # A whole request is answered as usual.
    assert httpx.get(f"http://127.0.0.1:{s.port}/v1/sys/health").status_code == 200


def test_connection_limit(server_factory: Any) -> None:
    s = server_factory("--dev", "--max-connections", "2", "--read-timeout", "30")
    held = []
    try:
        for _ in range(2):
            c = socket.create_connection(("127.0.0.1", s.port))
            c.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert c.recv(4096).startswith(b"HTTP/1.1 200")
            held.append(c)
        with socket.create_connection(("127.0.0.1", s.port)) as third:
            third.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _closed_by_server(third)
    finally:
        for c in held:
            c.close()
    assert httpx.get(f"http://127.0.0.1:{s.port}/v1/sys/health").status_code == 200


def test_token_bound_to_a_certificate_is_refused_over_another(server_factory: Any, certs: Certs) -> None:
    s = server_factory(
        "--dev",
        "--tls-cert",
        str(certs.server_cert),
        "--tls-key",
        str(certs.server_key),
        "--tls-client-ca",
        str(certs.ca),
    )
    root = re.search(r"GUOMI_TOKEN=(\S+)", s.output)
    assert root
    a = _ctx(certs, cert=str(certs.client_cert), key=str(certs.client_key))
    b = _ctx(certs, cert=str(certs.other_client_cert), key=str(certs.other_client_key))
    base = f"https://127.0.0.1:{s.port}/v1"
    h = {"Authorization": f"Bearer {root.group(1)}"}
    with (
        httpx.Client(verify=a, base_url=base, timeout=10) as ca,
        httpx.Client(verify=b, base_url=base, timeout=10) as cb,
    ):
        assert ca.post("keys/orders", json={}, headers=h).status_code == 200
        r = ca.post(
            "auth/tokens", headers=h, json={"policies": ["root"], "bound_cert_subject": "CN=app-a,O=bank"}
        )
        assert r.status_code == 200, r.text
        bound = {"Authorization": f"Bearer {r.json()['data']['token']}"}
        assert r.json()["data"]["bound_cert_subject"] == "CN=app-a,O=bank"
        assert ca.post("encrypt/orders", json={"plaintext": "aGk="}, headers=bound).status_code == 200
        r = cb.post("encrypt/orders", json={"plaintext": "aGk="}, headers=bound)
        assert r.status_code == 401
        assert r.json()["errors"][0]["code"] == "token_bound_elsewhere"
        # Unbound tokens work over either certificate.
        assert cb.post("encrypt/orders", json={"plaintext": "aGk="}, headers=h).status_code == 200


def test_token_bound_to_a_certificate_is_refused_without_tls(server_factory: Any) -> None:
    s = server_factory("--dev")
    root = re.search(r"GUOMI_TOKEN=(\S+)", s.output)
    assert root
    with httpx.Client(base_url=f"http://127.0.0.1:{s.port}/v1") as c:
        h = {"Authorization": f"Bearer {root.group(1)}"}
        c.post("keys/orders", json={}, headers=h)
        r = c.post("auth/tokens", headers=h, json={"policies": ["root"], "bound_cert_subject": "CN=app-a"})
        bound = {"Authorization": f"Bearer {r.json()['data']['token']}"}
        r = c.post("encrypt/orders", json={"plaintext": "aGk="}, headers=bound)
        assert r.status_code == 401 and r.json()["errors"][0]["code"] == "token_bound_elsewhere"
