"""A custody service in process, driven through its public HTTP API only (the stable JSON contract).

Used by the scan and assess tests. The engine gets a settable clock, so a test can create
keys "a year ago" and rotate one of them later; the audit log goes to a real file.
"""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from guomi.kms.app import create_app
from guomi.kms.audit import AuditLog, FileSink, MemorySink
from guomi.kms.config import Config
from guomi.kms.service import Engine
from guomi.kms.storage import MemoryStorage
from tests.client.asgi import SyncASGITransport

BASE = "http://guomi.test"


class Clock:
    """The service's clock, settable (seconds since the epoch)."""

    def __init__(self, t: float | None = None) -> None:
        self.t = time.time() if t is None else t

    def __call__(self) -> float:
        return self.t


class Service:
    """An initialised, unsealed service: ``call`` sends one request with a token."""

    def __init__(self, transport: SyncASGITransport, root_token: str, clock: Clock) -> None:
        self.transport = transport
        self.root_token = root_token
        self.clock = clock

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        with httpx.Client(base_url=BASE, transport=self.transport) as http:
            r = http.request(
                method,
                f"/v1/{path}",
                json=body,
                headers={"Authorization": f"Bearer {token or self.root_token}"},
            )
        if r.status_code >= 400:
            raise AssertionError(f"{method} {path}: {r.status_code} {r.text}")
        return r.json()["data"] if r.content else None

    def encrypt(self, key: str, plaintext: bytes, associated_data: bytes = b"") -> str:
        body = {"plaintext": base64.b64encode(plaintext).decode()}
        if associated_data:
            body["associated_data"] = base64.b64encode(associated_data).decode()
        return str(self.call("POST", f"encrypt/{key}", body)["ciphertext"])

    def decrypt(self, key: str, token: str, associated_data: bytes = b"") -> bytes:
        body = {"ciphertext": token}
        if associated_data:
            body["associated_data"] = base64.b64encode(associated_data).decode()
        return base64.b64decode(self.call("POST", f"decrypt/{key}", body)["plaintext"])

    def aead(self, key: str) -> ServiceAead:
        return ServiceAead(self, key)

    def token(self, policy: str, rules: list[dict[str, Any]], display_name: str) -> str:
        self.call("PUT", f"policies/{policy}", {"rules": rules})
        return str(
            self.call("POST", "auth/tokens", {"policies": [policy], "display_name": display_name})["token"]
        )


class ServiceAead:
    """A guomi.keys.Aead over a service key, in the SDK's byte format (token text as ASCII)."""

    def __init__(self, svc: Service, key: str) -> None:
        self.svc, self.key = svc, key

    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> bytes:
        return self.svc.encrypt(self.key, plaintext, associated_data).encode("ascii")

    def decrypt(self, ciphertext: bytes, associated_data: bytes = b"") -> bytes:
        return self.svc.decrypt(self.key, ciphertext.decode("ascii"), associated_data)


@contextlib.contextmanager
def service(audit_path: Path | None = None, clock: Clock | None = None) -> Iterator[Service]:
    clock = clock or Clock()
    sink = FileSink(audit_path) if audit_path is not None else MemorySink()
    engine = Engine(MemoryStorage(), AuditLog(sink), Config(auto_rotate_check_interval=0), clock=clock)
    transport = SyncASGITransport(create_app(engine=engine))
    try:
        with httpx.Client(base_url=BASE, transport=transport) as http:
            init = http.post("/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}).json()
            http.post("/v1/sys/unseal", json={"key": init["data"]["keys_base64"][0]}).raise_for_status()
        yield Service(transport, init["data"]["root_token"], clock)
    finally:
        transport.shutdown()
