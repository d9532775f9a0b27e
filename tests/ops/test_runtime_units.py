"""Small pieces of the server runtime: metric labels, certificate subjects, URL redaction,
NOTIFY payloads, the TLS context."""

from __future__ import annotations

import ssl

import pytest

from guomi.cli._server import redact_url
from guomi.kms.config import ConfigError, ServerSettings
from guomi.kms.runtime import Metrics, route_family, server_ssl_context, subject_name
from guomi.kms.storage._pgcache import payloads

from .conftest import Certs


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/v1/encrypt/orders", "encrypt"),
        ("/v1/keys/orders/rotate", "keys"),
        ("/v1/sys/unseal", "sys/unseal"),
        ("/v1/sys/generate-root/update", "sys/generate-root"),
        ("/v1/sys/whatever-an-attacker-sends", "sys"),
        ("/v1/no-such-family/x", "other"),
        ("/metrics", "other"),
    ],
)
def test_route_family_is_bounded(path: str, family: str) -> None:
    assert route_family(path) == family


def test_metrics_render_histogram_is_cumulative() -> None:
    m = Metrics()
    for seconds in (0.0001, 0.003, 0.003, 7.0):
        m.observe("POST", "encrypt", 200, seconds, None)
    m.observe("POST", "encrypt", 403, 0.001, "forbidden")
    text = m.render(sealed=True, initialized=True)
    assert 'guomi_request_duration_seconds_bucket{route="encrypt",le="0.0005"} 1' in text
    assert 'guomi_request_duration_seconds_bucket{route="encrypt",le="0.005"} 4' in text
    assert 'guomi_request_duration_seconds_bucket{route="encrypt",le="+Inf"} 5' in text
    assert 'guomi_errors_total{status="403",code="forbidden"} 1' in text
    assert 'guomi_key_operations_total{operation="encrypt",outcome="error"} 1' in text
    assert "guomi_sealed 1" in text


def test_subject_name_rfc4514() -> None:
    cert = {"subject": ((("organizationName", "bank, ltd"),), (("commonName", "app-a"),))}
    assert subject_name(cert) == "CN=app-a,O=bank\\, ltd"
    assert subject_name(None) is None
    assert subject_name({}) is None


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://guomi:s3cret@db:5432/guomi", "postgresql://guomi:***@db:5432/guomi"),
        (
            "postgresql://db/guomi?password=s3cret&sslmode=require",
            "postgresql://db/guomi?password=***&sslmode=require",
        ),
        ("storage postgresql://u:p@h/d unreachable", "storage postgresql://u:***@h/d unreachable"),
        ("sqlite:///var/lib/guomi/guomi.db", "sqlite:///var/lib/guomi/guomi.db"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_notify_payloads_stay_under_the_limit() -> None:
    paths = [f"keys/key-{i:05d}/v/{i}" for i in range(2000)]
    out = payloads(paths)
    assert len(out) > 1 and all(len(p.encode()) < 8000 for p in out)
    assert [p for chunk in out for p in chunk.split("\n")] == paths


def test_tls_context_is_hardened(certs: Certs) -> None:
    s = ServerSettings(tls_cert=certs.server_cert, tls_key=certs.server_key, tls_client_ca=certs.ca)
    ctx = server_ssl_context(s)
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.options & ssl.OP_NO_COMPRESSION and ctx.options & ssl.OP_NO_TICKET
    assert all("GCM" in c["name"] or "CHACHA20" in c["name"] for c in ctx.get_ciphers())
    s13 = ServerSettings(tls_cert=certs.server_cert, tls_key=certs.server_key, tls_min_version="1.3")
    assert server_ssl_context(s13).minimum_version == ssl.TLSVersion.TLSv1_3
    bad = ServerSettings(tls_cert=certs.server_cert, tls_key=certs.client_key)  # key of another cert
    with pytest.raises(ConfigError) as exc:
        server_ssl_context(bad)
    assert str(certs.client_key) in str(exc.value) and "BEGIN" not in str(exc.value)
