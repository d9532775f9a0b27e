"""CPU time of one 1 KiB encrypt through the service app in process (no HTTP server, no socket).

Vault lane: isolates what the app and the engine cost per request, e.g. the keyed audit
record, from HTTP parsing and the load generator.  Run it for two trees in turn:

    PYTHONPATH=/tmp/guomi-base/src python bench/bench_vault_inproc.py before
    PYTHONPATH=src python bench/bench_vault_inproc.py after
"""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from guomi.kms import Config, create_app

TMP = tempfile.mkdtemp()
APP = create_app(
    Config(storage_url=f"sqlite:///{TMP}/g.db", data_dir=Path(TMP), dev=True, auto_rotate_check_interval=0)
)
ROOT_TOKEN: str = APP.state.engine.dev_root_token
BODY = json.dumps({"plaintext": base64.b64encode(b"\xa5" * 1024).decode()}).encode()


async def call(method: str, path: str, body: bytes) -> int:
    """One request straight into the ASGI app; returns the status."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [
            (b"authorization", b"Bearer " + ROOT_TOKEN.encode()),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 1),
    }
    sent = False
    out: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(msg: dict[str, Any]) -> None:
        if msg["type"] == "http.response.start":
            out["status"] = msg["status"]

    await APP(scope, receive, send)
    return int(out["status"])


async def main() -> None:
    assert await call("POST", "/v1/keys/k", b"{}") == 200
    for _ in range(200):
        await call("POST", "/v1/encrypt/k", BODY)
    res = []
    for _ in range(5):
        n = 2000
        t = time.process_time()
        for _ in range(n):
            await call("POST", "/v1/encrypt/k", BODY)
        res.append((time.process_time() - t) / n * 1e6)
    label = sys.argv[1] if len(sys.argv) > 1 else ""
    print(label, "us CPU per encrypt (min/median):", round(min(res), 1), round(statistics.median(res), 1))


if __name__ == "__main__":
    asyncio.run(main())
