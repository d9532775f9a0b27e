"""CPU time of one 1 KiB encrypt through the service app in process (no HTTP server, no socket).

Vault lane: isolates what the app and the engine cost per request, e.g. the keyed audit
record, from HTTP parsing and the load generator.  Run it for two trees in turn:

    PYTHONPATH=/tmp/guomi-base/src python bench/bench_vault_inproc.py before
    PYTHONPATH=src python bench/bench_vault_inproc.py after
"""

import asyncio
import base64
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from guomi.kms import Config, create_app

tmp = tempfile.mkdtemp()
app = create_app(
    Config(storage_url=f"sqlite:///{tmp}/g.db", data_dir=Path(tmp), dev=True, auto_rotate_check_interval=0)
)
root = app.state.engine.dev_root_token
body = json.dumps({"plaintext": base64.b64encode(b"\xa5" * 1024).decode()}).encode()


async def call(method, path, body):
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(b"authorization", b"Bearer " + root.encode()), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
    }
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    out = {}

    async def send(m):
        if m["type"] == "http.response.start":
            out["status"] = m["status"]

    await app(scope, receive, send)
    return out["status"]


async def main():
    assert await call("POST", "/v1/keys/k", b"{}") == 200
    for _ in range(200):
        await call("POST", "/v1/encrypt/k", body)
    res = []
    for r in range(5):
        n = 2000
        t = time.process_time()
        for _ in range(n):
            await call("POST", "/v1/encrypt/k", body)
        res.append((time.process_time() - t) / n * 1e6)
    print(
        sys.argv[1], "us CPU per encrypt (min/median):", round(min(res), 1), round(statistics.median(res), 1)
    )


asyncio.run(main())
