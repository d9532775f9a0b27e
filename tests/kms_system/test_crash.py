"""Crash consistency: SIGKILL ``guomi server`` (SQLite) at seeded random points, restart, check.

A worker thread drives init, encrypt, rotate, config and restore through the SDK, one
request at a time, and records only what the server confirmed. The main thread kills the
server with SIGKILL after a random delay, so the kill lands before, during or after the
storage writes of whatever request is in flight. After a restart and unseal:

* every ciphertext confirmed before the kill still decrypts to its plaintext;
* every key is in its old or its new state: the latest version is the confirmed one or
  (when a rotate was in flight) one more, versions are exactly 1..latest, each config
  field has its old or new value, and a restored key is either absent or complete.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from guomi.client import Client
from guomi.exceptions import ServiceError
from guomi.kms.audit import verify_audit_log
from tests.kms_system.proc import ServerProcess

SEED = 20261124
KEYS = ("alpha", "beta")


@dataclass
class Ledger:
    """What the server confirmed, and what was in flight when it died."""

    tokens: list[tuple[str, str, bytes]] = field(default_factory=list)
    latest: dict[str, int] = field(default_factory=dict)
    deletion_allowed: dict[str, bool] = field(default_factory=dict)
    restored: list[str] = field(default_factory=list)
    in_flight: tuple[str, Any] | None = None
    confirmed: int = 0
    base_tokens: list[tuple[str, bytes]] = field(default_factory=list)
    backup: str = ""


def worker(client: Client, ledger: Ledger, rng: random.Random, stop: threading.Event, round_no: int) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        name = rng.choice(KEYS)
        op = rng.choice(["encrypt", "encrypt", "rotate", "config", "restore"])
        try:
            if op == "encrypt":
                pt = f"round {round_no} op {n}".encode()
                ledger.in_flight = ("encrypt", name)
                token = client.encrypt(name, pt)
                ledger.tokens.append((name, token, pt))
            elif op == "rotate":
                ledger.in_flight = ("rotate", name)
                client.rotate_key(name)
                ledger.latest[name] += 1
            elif op == "config":
                value = not ledger.deletion_allowed[name]
                ledger.in_flight = ("config", (name, value))
                client.configure_key(name, deletion_allowed=value, auto_rotate_period=0)
                ledger.deletion_allowed[name] = value
            else:
                target = f"restored-{round_no}-{n}"
                ledger.in_flight = ("restore", target)
                client.restore_key(ledger.backup, name=target)
                ledger.restored.append(target)
            ledger.in_flight = None
            ledger.confirmed += 1
        except ServiceError:
            return  # the server died under us: whatever was in flight stays in ledger.in_flight


def check(client: Client, ledger: Ledger) -> None:
    flight = ledger.in_flight
    for name in KEYS:
        info = client.read_key(name)
        allowed = {ledger.latest[name]}
        if flight == ("rotate", name):
            allowed.add(ledger.latest[name] + 1)
        assert info.latest_version in allowed, (name, info.latest_version, allowed)
        # GET keys/{name} lists the newest 100 versions (Config.key_info_versions): a fast
        # server rotates a key more than 100 times before the kill.
        first = max(1, info.latest_version - 99)
        assert set(info.keys) == {str(v) for v in range(first, info.latest_version + 1)}
        ledger.latest[name] = info.latest_version
        options = {ledger.deletion_allowed[name]}
        if flight is not None and flight[0] == "config" and flight[1][0] == name:
            options.add(flight[1][1])
        assert info.deletion_allowed in options
        ledger.deletion_allowed[name] = info.deletion_allowed
    for name in KEYS:
        mine = [(token, pt) for k, token, pt in ledger.tokens if k == name]
        if mine:
            results = client.decrypt_batch(name, [t for t, _ in mine])
            assert [r.unwrap() for r in results] == [pt for _, pt in mine], name
    names = set(client.list_keys())
    maybe = [flight[1]] if flight is not None and flight[0] == "restore" else []
    for target in ledger.restored + maybe:
        if target not in names:
            assert target not in ledger.restored, f"confirmed restore of {target} was lost"
            continue
        # Complete and usable: both versions present and working. (Tokens bind the key name,
        # so "base"'s tokens do not open under the new name; test_backup_restore covers
        # restoring under the same name.)
        info = client.read_key(target)
        assert info.latest_version == 2 and set(info.keys) == {"1", "2"}
        for version in (1, 2):
            token = client.encrypt(target, b"after restore", key_version=version)
            assert client.decrypt(target, token) == b"after restore"
        if target in maybe:
            ledger.restored.append(target)
    ledger.in_flight = None


def test_sigkill_during_rotate_config_restore(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    server = ServerProcess(tmp_path / "data").start()
    with server.client() as anonymous:
        init = anonymous.init(1, 1)
    shares, token = init.keys_base64, init.root_token
    server.unseal(shares)
    ledger = Ledger()
    with server.client(token) as c:
        for name in KEYS:
            c.create_key(name)
            ledger.latest[name] = 1
            ledger.deletion_allowed[name] = False
        c.create_key("base")
        ledger.base_tokens.append((c.encrypt("base", b"base v1"), b"base v1"))
        c.rotate_key("base")
        ledger.base_tokens.append((c.encrypt("base", b"base v2"), b"base v2"))
        ledger.backup = c.backup_key("base")
    try:
        for round_no in range(5):
            stop = threading.Event()
            with server.client(token, timeout=5) as c:
                t = threading.Thread(
                    target=worker, args=(c, ledger, random.Random(rng.random()), stop, round_no)
                )
                before = ledger.confirmed
                t.start()
                # Let a little work land first (slow CI machines), then kill at a random point.
                deadline = time.monotonic() + 10
                while ledger.confirmed < before + 2 and time.monotonic() < deadline:
                    time.sleep(0.005)
                time.sleep(rng.uniform(0.0, 0.4))
                server.kill()
                stop.set()
                t.join(timeout=10)
            server.start()
            server.unseal(shares)
            with server.client(token) as c:
                check(c, ledger)
        assert len(ledger.tokens) >= 5 and ledger.confirmed >= 10  # kills landed between real work
    finally:
        server.kill()
    # The audit log survived every kill as one unbroken SM3 chain.
    result = verify_audit_log(tmp_path / "data" / "audit.log")
    assert result.ok, (result.error, result.line)
    assert result.records > ledger.confirmed


@pytest.mark.parametrize("round_no", range(2))
def test_sigkill_during_init(tmp_path: Path, round_no: int) -> None:
    rng = random.Random(SEED + round_no)
    server = ServerProcess(tmp_path / "data").start()
    answer: dict[str, Any] = {}

    def do_init() -> None:
        try:
            with server.client(timeout=5) as c:
                answer.update(c.init(3, 2).model_dump())
        except ServiceError:
            pass

    try:
        t = threading.Thread(target=do_init)
        t.start()
        time.sleep(rng.uniform(0.0, 0.08))
        server.kill()
        t.join(timeout=10)
        server.start()
        with server.client() as c:
            health = c.health()
            if answer:
                # Confirmed: the shares that were handed out must open the store.
                assert health.initialized is True
                server.unseal(answer["keys_base64"][1:])
                with server.client(answer["root_token"]) as root:
                    root.create_key("after-crash")
                    assert root.decrypt("after-crash", root.encrypt("after-crash", b"x")) == b"x"
            elif health.initialized:
                # Committed but the answer was lost: a consistent, sealed, initialised store.
                assert health.sealed is True
                assert c.seal_status().t == 2
            else:
                # Not committed: a clean, uninitialised store that init can still set up.
                init = c.init(1, 1)
                server.unseal(init.keys_base64)
    finally:
        server.kill()
