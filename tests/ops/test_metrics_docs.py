"""Prometheus /v1/sys/metrics gated by a capability; /v1/docs served without any CDN."""

from __future__ import annotations

import re
from typing import Any

import httpx


def _dev(server_factory: Any) -> tuple[httpx.Client, str]:
    s = server_factory("--dev")
    root = re.search(r"GUOMI_TOKEN=(\S+)", s.output)
    assert root
    return httpx.Client(base_url=f"http://127.0.0.1:{s.port}/v1", timeout=10), root.group(1)


def test_metrics_gated_and_counting(server_factory: Any) -> None:
    c, root = _dev(server_factory)
    h = {"Authorization": f"Bearer {root}"}
    with c:
        assert c.get("sys/metrics").status_code == 401
        assert c.post("keys/orders", json={}, headers=h).status_code == 200
        for _ in range(3):
            assert c.post("encrypt/orders", json={"plaintext": "aGk="}, headers=h).status_code == 200
        assert c.post("encrypt/nope", json={"plaintext": "aGk="}, headers=h).status_code == 404
        # A token without the capability is refused; one with it reads the metrics.
        c.put("policies/app", json={"rules": [{"pattern": "orders", "capabilities": ["encrypt"]}]}, headers=h)
        c.put("policies/prom", json={"rules": [{"pattern": "*", "capabilities": ["metrics"]}]}, headers=h)
        app = c.post("auth/tokens", json={"policies": ["app"]}, headers=h).json()["data"]["token"]
        prom = c.post("auth/tokens", json={"policies": ["prom"]}, headers=h).json()["data"]["token"]
        r = c.get("sys/metrics", headers={"Authorization": f"Bearer {app}"})
        assert r.status_code == 403
        r = c.get("sys/metrics", headers={"Authorization": f"Bearer {prom}"})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = r.text
    assert 'guomi_requests_total{method="POST",route="encrypt",status="200"} 3' in text
    assert re.search(r'guomi_errors_total\{status="404",code="[a-z_]+"\} 1', text), text
    assert 'guomi_key_operations_total{operation="encrypt",outcome="ok"} 3' in text
    assert 'guomi_request_duration_seconds_count{route="encrypt"} 4' in text
    assert "guomi_sealed 0" in text
    assert "orders" not in text  # no key names in labels


def test_docs_page_is_served_offline(server_factory: Any) -> None:
    c, _ = _dev(server_factory)
    with c:
        page = c.get("docs")
        assert page.status_code == 200
        html = page.text
        # Every script and stylesheet comes from the service itself.
        refs = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert refs and all(r.startswith("/v1/docs/assets/") for r in refs), refs
        assert "cdn" not in html.lower() and "http://" not in html and "https://" not in html
        for ref in refs:
            assert c.get(ref.removeprefix("/v1/")).status_code == 200, ref
        js = c.get("docs/assets/swagger-ui-bundle.js")
        assert len(js.content) > 100_000  # the real Swagger UI, not a stub
        assert c.get("openapi.json").status_code == 200
        assert c.get("docs/assets/index.j2").status_code == 404
