"""Concurrency: many workers doing random encrypt/decrypt/rotate/rewrap/config on shared keys.

In process (one application, requests interleaved by asyncio and the server's thread pool)
and across two ``guomi server`` processes sharing one PostgreSQL database. For a fixed
short time each; afterwards:

* zero lost versions: every key's versions are exactly 1..latest, and latest is 1 + the
  number of rotations the service confirmed (two servers rotating one key at once give
  two consecutive versions, never one);
* zero undecryptable ciphertexts: every token any worker received decrypts, on every
  server, to its plaintext (a server sees the other's new versions without restart).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from guomi.client import AsyncClient
from guomi.exceptions import ServiceError
from tests.client.asgi import make_app
from tests.kms_system.proc import BOOTSTRAP_TOKEN, ServerProcess
from tests.postgres import fresh_schema_url

KEYS = ("shared-a", "shared-b", "shared-c")
SEED = 7


@dataclass
class Tally:
    rotations: Counter[str] = field(default_factory=Counter)
    tokens: list[tuple[str, str, bytes]] = field(default_factory=list)
    ops: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


async def worker(clients: list[AsyncClient], tally: Tally, seed: int, until: float) -> None:
    rng = random.Random(seed)
    n = 0
    while time.monotonic() < until:
        n += 1
        c = rng.choice(clients)
        name = rng.choice(KEYS)
        op = rng.choices(["encrypt", "decrypt", "rotate", "rewrap", "config"], [5, 4, 1, 2, 1])[0]
        try:
            if op == "encrypt" or (op in ("decrypt", "rewrap") and not tally.tokens):
                pt = f"{seed}/{n}".encode()
                tally.tokens.append((name, await c.encrypt(name, pt, associated_data=name.encode()), pt))
            elif op == "decrypt":
                k, token, pt = rng.choice(tally.tokens)
                if await c.decrypt(k, token, associated_data=k.encode()) != pt:
                    tally.failures.append(f"decrypt gave a wrong plaintext for {token}")
            elif op == "rotate":
                await c.rotate_key(name)
                tally.rotations[name] += 1
            elif op == "rewrap":
                k, token, pt = rng.choice(tally.tokens)
                tally.tokens.append((k, await c.rewrap(k, token, associated_data=k.encode()), pt))
            else:
                await c.configure_key(name, deletion_allowed=rng.random() < 0.5, min_encryption_version=0)
            tally.ops[op] += 1
        except ServiceError as exc:
            tally.failures.append(f"{op} {name}: {exc}")


async def check(clients: list[AsyncClient], tally: Tally) -> None:
    assert not tally.failures, tally.failures[:5]
    for c in clients:
        for name in KEYS:
            info = await c.read_key(name)
            latest = info.latest_version
            assert latest == 1 + tally.rotations[name], (name, latest, tally.rotations[name])
            assert set(info.keys) == {str(v) for v in range(1, latest + 1)}
        # Every token from any worker on any server decrypts here, in batches.
        for name in KEYS:
            mine = [(t, pt) for k, t, pt in tally.tokens if k == name]
            for i in range(0, len(mine), 500):
                chunk = mine[i : i + 500]
                results = await c.decrypt_batch(name, [t for t, _ in chunk], associated_data=name.encode())
                assert [r.unwrap() for r in results] == [pt for _, pt in chunk]


async def scenario(clients: list[AsyncClient], workers: int, seconds: float) -> Tally:
    for name in KEYS:
        await clients[0].create_key(name)
    tally = Tally()
    until = time.monotonic() + seconds
    await asyncio.gather(*(worker(clients, tally, SEED * 100 + i, until) for i in range(workers)))
    assert tally.ops["rotate"] >= 2 and tally.ops["encrypt"] >= 10, tally.ops
    await check(clients, tally)
    return tally


def test_in_process_workers() -> None:
    # List every version (GET keys/{name} shows the newest 100 by default): a fast run
    # rotates a key more than 100 times in 2 s, and check() compares the full list.
    app = make_app(key_info_versions=1_000_000)

    async def go() -> Tally:
        transport = httpx.ASGITransport(app=app)
        async with AsyncClient("http://guomi.test", transport=transport) as anonymous:
            init = await anonymous.init(1, 1)
            await anonymous.unseal(init.keys_base64[0])
        async with AsyncClient("http://guomi.test", init.root_token, transport=transport) as c:
            return await scenario([c], workers=12, seconds=2.0)

    tally = asyncio.run(go())
    assert sum(tally.rotations.values()) == tally.ops["rotate"]


def test_two_servers_one_postgres(tmp_path: Path) -> None:
    url = fresh_schema_url()
    a = ServerProcess(tmp_path / "a", storage=url).start()
    b = ServerProcess(tmp_path / "b", storage=url).start()
    try:

        async def go() -> Tally:
            async with AsyncClient(a.addr, BOOTSTRAP_TOKEN) as anonymous:
                init = await anonymous.init(1, 1)
            a.unseal(init.keys_base64)
            b.unseal(init.keys_base64)
            token = init.root_token
            async with AsyncClient(a.addr, token) as ca, AsyncClient(b.addr, token) as cb:
                return await scenario([ca, cb], workers=8, seconds=3.0)

        asyncio.run(go())
    finally:
        a.kill()
        b.kill()
