"""The pkcs11 seal against SoftHSM2 (Debian's softhsm2, installed by scripts/install-softhsm.sh):
the master key wrapped inside the token, automatic unseal at start, and a missing token
reported in one clear line with the server kept sealed."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from guomi.kms.seal.pkcs11 import Pkcs11Seal, SealDeviceError

from .conftest import server_env

_MODULES = (
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"),
)
PIN = "246810"
INIT = {"secret_shares": 3, "secret_threshold": 2}


@dataclass
class SoftHSM:
    module: Path
    env: dict[str, str]
    pin_file: Path


@pytest.fixture
def softhsm(tmp_path: Path) -> SoftHSM:
    pytest.importorskip("pkcs11", reason='python-pkcs11 is in the "hsm" and "test" extras')
    module = next((m for m in _MODULES if m.exists()), None)
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        pytest.fail("SoftHSM2 is missing: scripts/install-softhsm.sh (make test runs it) installs it")
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = server_env(SOFTHSM2_CONF=str(conf))
    subprocess.run(
        [util, "--init-token", "--free", "--label", "guomi", "--pin", PIN, "--so-pin", "13579"],
        env=env,
        check=True,
        capture_output=True,
    )
    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN + "\n")
    return SoftHSM(module, env, pin_file)


def _args(hsm: SoftHSM, data: Path, label: str = "guomi") -> list[str]:
    return [
        "--data-dir",
        str(data),
        "--seal",
        "pkcs11",
        "--pkcs11-module",
        str(hsm.module),
        "--pkcs11-token-label",
        label,
        "--pkcs11-pin-file",
        str(hsm.pin_file),
    ]


def test_hsm_seal_unseals_at_start(server_factory: Any, softhsm: SoftHSM, tmp_path: Path) -> None:
    data = tmp_path / "data"
    s = server_factory(*_args(softhsm, data), env=softhsm.env)
    token = re.search(r"bootstrap token: (\S+)", s.output)
    assert token
    base = f"http://127.0.0.1:{s.port}/v1"
    r = httpx.post(f"{base}/sys/init", json=INIT, headers={"X-Guomi-Bootstrap-Token": token.group(1)})
    assert r.status_code == 200, r.text
    root = r.json()["data"]["root_token"]
    h = {"Authorization": f"Bearer {root}"}
    # Unsealed by the token right after init: no custodian needed.
    assert httpx.get(f"{base}/sys/health").status_code == 200
    assert httpx.post(f"{base}/keys/orders", json={}, headers=h).status_code == 200
    ct = httpx.post(f"{base}/encrypt/orders", json={"plaintext": "aGk="}, headers=h).json()["data"][
        "ciphertext"
    ]
    s.stop()
    # Restart: unsealed automatically, the old ciphertext still opens.
    s2 = server_factory(*_args(softhsm, data), env=softhsm.env)
    assert "unsealed" in s2.output
    base = f"http://127.0.0.1:{s2.port}/v1"
    assert httpx.get(f"{base}/sys/health").status_code == 200
    r = httpx.post(f"{base}/decrypt/orders", json={"ciphertext": ct}, headers=h)
    assert r.json()["data"]["plaintext"] == "aGk="
    # The token-wrapped master key is in storage (as a record of its own).
    with sqlite3.connect(data / "guomi.db") as db:
        (value,) = db.execute("SELECT value FROM guomi_kv WHERE path = 'core/seal-pkcs11'").fetchone()
    assert b'"key_label": "guomi-seal"' in bytes(value)


def test_hsm_token_missing_keeps_server_sealed(server_factory: Any, softhsm: SoftHSM, tmp_path: Path) -> None:
    data = tmp_path / "data"
    s = server_factory(*_args(softhsm, data), env=softhsm.env)
    token = re.search(r"bootstrap token: (\S+)", s.output)
    assert token
    r = httpx.post(
        f"http://127.0.0.1:{s.port}/v1/sys/init",
        json=INIT,
        headers={"X-Guomi-Bootstrap-Token": token.group(1)},
    )
    shares = r.json()["data"]["keys_base64"]
    s.stop()
    s2 = server_factory(*_args(softhsm, data, label="not-plugged-in"), env=softhsm.env)
    lines = [ln for ln in s2.output.splitlines() if "PKCS#11" in ln]
    assert len(lines) == 1, s2.output
    assert "no PKCS#11 token labelled 'not-plugged-in' is present" in lines[0]
    assert "stays sealed" in lines[0]
    assert PIN not in s2.output
    base = f"http://127.0.0.1:{s2.port}/v1"
    assert httpx.get(f"{base}/sys/health").status_code == 503
    # The recovery shares still unseal it by hand.
    for share in shares[:2]:
        httpx.post(f"{base}/sys/unseal", json={"key": share})
    assert httpx.get(f"{base}/sys/health").status_code == 200


def test_wrong_pin_is_named_without_the_pin(softhsm: SoftHSM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOFTHSM2_CONF", softhsm.env["SOFTHSM2_CONF"])
    seal = Pkcs11Seal(module=softhsm.module, token_label="guomi", pin="999999", key_label="k")
    with pytest.raises(SealDeviceError, match="refused the PIN") as exc:
        seal.wrap(b"\x01" * 32)
    assert "999999" not in str(exc.value)
    good = Pkcs11Seal(module=softhsm.module, token_label="guomi", pin=PIN, key_label="k")
    blob = good.wrap(b"\x02" * 32)
    assert b"\x02" * 32 not in blob
    assert good.unwrap(blob) == b"\x02" * 32
    other = Pkcs11Seal(module=softhsm.module, token_label="guomi", pin=PIN, key_label="other")
    other.wrap(b"\x03" * 32)  # creates a second key
    with pytest.raises(SealDeviceError, match="does not open"):
        other.unwrap(blob)
