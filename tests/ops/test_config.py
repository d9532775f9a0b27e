"""Settings of `guomi server`: TOML file, GUOMI_* environment, flags, --check-config."""

from __future__ import annotations

from pathlib import Path

import pytest

from guomi.cli._server import server
from guomi.kms.config import ConfigError, ServerSettings, resolve_settings

from .conftest import run_cli, server_env


def test_every_flag_is_a_config_key() -> None:
    flags = {p.name for p in server.params} - {"config_file", "check_config", "help"}
    assert flags == set(ServerSettings.field_names()) - {"pkcs11_pin"}


def test_precedence_file_env_flags(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text(
        'listen = "127.0.0.1:9000"\nread_timeout = 3.5\nmax_connections = 7\n[server]\nseal = "shamir"\n'
    )
    s = resolve_settings(config_file=f, environ={"GUOMI_READ_TIMEOUT": "2", "GUOMI_DEV": "true"}, flags={})
    assert (s.listen, s.read_timeout, s.max_connections, s.dev) == ("127.0.0.1:9000", 2.0, 7, True)
    s = resolve_settings(config_file=f, environ={"GUOMI_READ_TIMEOUT": "2"}, flags={"read_timeout": 1.0})
    assert s.read_timeout == 1.0


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('lisen = "x"\n', "unknown setting 'lisen'"),
        ("max_connections = 'many'\n", "'max_connections' must be a int"),
        ("dev = 3\n", "'dev' must be a bool"),
        ("listen = \n", "not valid TOML"),
    ],
)
def test_bad_config_file_is_named(tmp_path: Path, content: str, fragment: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(content)
    with pytest.raises(ConfigError, match=None) as exc:
        resolve_settings(config_file=f, environ={}, flags={})
    assert fragment in str(exc.value)
    assert str(f) in str(exc.value)


def test_check_config_ok(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text(f'storage = "sqlite:///{tmp_path}/x.db"\nunseal_rate_per_minute = 5\n')
    r = run_cli("server", "--config", str(f), "--check-config")
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stderr
    assert not (tmp_path / "x.db").exists()  # checking opens nothing


def test_check_config_via_env(tmp_path: Path) -> None:
    r = run_cli("server", "--check-config", env=server_env(GUOMI_LISTEN="0.0.0.0:8200"))
    assert r.returncode == 2
    assert "plain HTTP on a non-loopback address is refused" in r.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--listen", "0.0.0.0:8200"], "non-loopback address is refused"),
        (["--listen", "nonsense"], "expected HOST:PORT"),
        (["--tls-cert", "/nonexistent.pem"], "tls_cert and tls_key go together"),
        (["--tls-client-ca", "/etc/hostname"], "tls_client_ca needs tls_cert"),
        (["--seal", "pkcs11"], "seal pkcs11 needs pkcs11_module"),
        (["--storage", "mysql://x"], "unknown scheme"),
    ],
)
def test_check_config_refuses(args: list[str], fragment: str) -> None:
    r = run_cli("server", *args, "--check-config")
    assert r.returncode == 2, r.stderr
    assert fragment in r.stderr


def test_insecure_no_tls_allows_plain_http_off_loopback() -> None:
    r = run_cli(
        "server", "--listen", "0.0.0.0:8200", "--insecure-no-tls", "--storage", "memory://", "--check-config"
    )
    assert r.returncode == 0, r.stderr
