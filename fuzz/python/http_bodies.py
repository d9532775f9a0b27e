"""Fuzz target: HTTP request bodies through the custody service's one HTTP stack.

The ASGI application of ``guomi.kms.app`` (guomi's route table and the Vault
surface, one :class:`~guomi.kms.http.Dispatcher`) on a dev configuration
(memory store, auto-unsealed) is driven in process, without sockets, as the
root caller. Input layout: byte 0 picks a route of the table, byte 1 its path
parameters (a fixture key of each type, a missing one, ...), the rest is the
request body, in which ``@CT@``, ``@SIG@``, ``@BACKUP@``, ... stand for valid
tokens of the current fixture keys. For every input the properties checked are:

* the application answers: no exception escapes it, exactly one response;
* the status is a documented one: 2xx or 4xx, and a 5xx only as 503 ``sealed``;
* an error body is JSON in the documented shape: ``{"errors": [{"code",
  "message"}]}`` on guomi's paths, Vault's ``{"errors": ["..."]}`` on
  ``/v1/transit`` and ``/v1/auth/token``; a 2xx JSON body parses;
* no key material (the fixture keys' secrets in hex / base64) and not the
  root token appears in an error body.

One application and one event loop serve every input; they are rebuilt every
``RESET_EVERY`` inputs so state the fuzzer creates (rotations, tokens, audit
records) stays small. Routes that end the session (seal, init, unseal,
revoke-self) are left out: they only change state, not what the bodies parse.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from typing import Any

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _harness import instrumented

with instrumented(__name__, ["guomi"]):
    from guomi.kms._build import build_engine
    from guomi.kms.app import ServiceApp
    from guomi.kms.config import Config
    from guomi.kms.service import Engine

#: The fixture keys, one per key type, created at every (re)build.
KEYS = {
    "fz-sm4": "sm4-gcm",
    "fz-sm2s": "sm2-sign",
    "fz-sm2e": "sm2-encrypt",
    "fz-hmac": "hmac-sm3",
    "fz-aes": "aes-256-gcm",
}
#: Values tried for each path parameter (byte 1 of the input picks one).
PARAM_VALUES: dict[str, tuple[str, ...]] = {
    "name": (*KEYS, "fz-missing", "fz-new"),
    "kind": ("plaintext", "wrapped", "bogus"),
    "n": ("32", "0", "-1", "99999999", "x"),
    "bytes": ("32", "0", "99999999", "x"),
    "source": ("platform", "all", "bogus"),
    "algorithm": ("sm3", "sha2-256", "sm2", "bogus"),
    "type": ("encryption-key", "signing-key", "hmac-key"),
    "version": ("1", "latest", "0", "x"),
    "role": ("fz-role", "x"),
}
#: (method, path) pairs never fuzzed: they end the session rather than parse a body.
SKIPPED = {
    ("POST", "/sys/seal"),
    ("POST", "/sys/init"),
    ("POST", "/sys/unseal"),
    ("POST", "/auth/token/revoke-self"),
}
VAULT_PREFIXES = ("/v1/transit", "/v1/auth/token/")
OK_STATUSES = frozenset({200, 204})
ERROR_STATUSES = frozenset({400, 401, 403, 404, 405, 409, 413, 429, 503})
RESET_EVERY = 2000
PLAINTEXT_B64 = base64.b64encode(b"hello fuzz").decode()
AD_B64 = base64.b64encode(b"ad").decode()


class _Service:
    """One application, its root token and the secrets no error may show."""

    def __init__(self) -> None:
        config = Config(storage_url="memory://", dev=True, auto_rotate_check_interval=0)
        self.engine: Engine = build_engine(config)
        self.token = self.engine.dev_init()
        self.app = ServiceApp(self.engine, config)
        self.routes = sorted(
            {(r.method, r.path, tuple(r.segments())) for r in self.app.routes}
            - {(m, p, tuple(p.strip("/").split("/"))) for m, p in SKIPPED}
        )
        self.loop = asyncio.new_event_loop()
        self.inputs = 0
        self.secrets: list[str] = [self.token]
        for name, key_type in KEYS.items():
            status, body = self.request("POST", f"/v1/keys/{name}", json.dumps({"type": key_type}).encode())
            assert status == 200, (status, body)
            raw = self.engine._material(self.engine._load_meta(name), 1).secret
            self.secrets += [raw.hex(), base64.b64encode(raw).decode()]
            self.secrets.append(base64.urlsafe_b64encode(raw).decode())

        # Valid tokens of this instance's keys (random per build): a body naming one of
        # these placeholders gets the token, so seeds reach the success paths of decrypt,
        # verify, rewrap and restore whatever keys the current build holds.
        self.fills: dict[bytes, bytes] = {}
        plain = {"plaintext": PLAINTEXT_B64, "associated_data": AD_B64}
        for placeholder, path, body, field in (
            (b"@CT@", "/v1/encrypt/fz-sm4", plain, "ciphertext"),
            (b"@CT2@", "/v1/encrypt/fz-sm2e", {"plaintext": PLAINTEXT_B64}, "ciphertext"),
            (b"@SIG@", "/v1/sign/fz-sm2s", {"input": PLAINTEXT_B64}, "signature"),
            (b"@MAC@", "/v1/hmac/fz-hmac", {"input": PLAINTEXT_B64}, "hmac"),
            (b"@VCT@", "/v1/transit/encrypt/fz-sm4", {"plaintext": PLAINTEXT_B64}, "ciphertext"),
            (b"@VSIG@", "/v1/transit/sign/fz-sm2s", {"input": PLAINTEXT_B64}, "signature"),
            (b"@BACKUP@", "/v1/keys/fz-sm4/backup", None, "backup"),
        ):
            method = "GET" if body is None else "POST"
            status, answer = self.request(method, path, b"" if body is None else json.dumps(body).encode())
            assert status == 200, (path, status, answer)
            self.fills[placeholder] = json.loads(answer)["data"][field].encode()

    def fill(self, body: bytes) -> bytes:
        """``body`` with the placeholders replaced by this instance's tokens."""
        if b"@" in body:
            for placeholder, token in self.fills.items():
                body = body.replace(placeholder, token)
        return body

    def close(self) -> None:
        self.loop.close()

    def request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        """One request through the ASGI application; the (status, body) it answered."""
        scope: dict[str, Any] = {
            "type": "http",
            "method": method,
            "path": path,
            "headers": [
                (b"authorization", b"Bearer " + self.token.encode()),
                (b"content-length", b"%d" % len(body)),
            ],
            "client": ("127.0.0.1", 1),
        }
        sent: list[dict[str, Any]] = []
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        try:
            self.loop.run_until_complete(self.app(scope, receive, send))
        except BaseException as exc:  # any escape is a finding, typed guomi errors included
            raise AssertionError(f"{method} {path}: {type(exc).__name__} escaped the application") from exc
        kinds = [m["type"] for m in sent]
        assert kinds == ["http.response.start", "http.response.body"], (method, path, kinds)
        return sent[0]["status"], sent[1].get("body", b"")


#: The one service of this process (a list: rebuilt in place every RESET_EVERY inputs).
_SERVICE: list[_Service] = []


def _current() -> _Service:
    if not _SERVICE or _SERVICE[0].inputs >= RESET_EVERY:
        if _SERVICE:
            _SERVICE.pop().close()
        _SERVICE.append(_Service())
    service = _SERVICE[0]
    service.inputs += 1
    return service


def _path(segments: tuple[str, ...], choice: int) -> str:
    out = []
    for i, seg in enumerate(segments):
        if seg.startswith("{") and seg.endswith("}"):
            values = PARAM_VALUES.get(seg[1:-1].split(":")[0], ("x",))
            out.append(values[(choice >> i) % len(values)])
        else:
            out.append(seg)
    return "/v1/" + "/".join(out)


def _check_error_body(path: str, status: int, body: bytes, secrets: list[str]) -> None:
    try:
        doc = json.loads(body)
    except ValueError:
        raise AssertionError(f"{path}: {status} with a non-JSON body {body[:80]!r}") from None
    assert isinstance(doc, dict), (path, doc)
    if path.startswith(VAULT_PREFIXES) and status == 400 and "errors" not in doc:
        # Vault answers a batch with a failed item with 400 and its usual envelope, each
        # failed item carrying its error (transit's batchRequestResponse).
        results = (doc.get("data") or {}).get("batch_results")
        assert isinstance(results, list) and all(isinstance(r, dict) for r in results), (path, doc)
        assert any(isinstance(r.get("error"), str) and r["error"] for r in results), (path, doc)
        _check_no_secret(path, body, secrets)
        return
    assert isinstance(doc.get("errors"), list) and doc["errors"], (path, doc)
    if path.startswith(VAULT_PREFIXES):
        assert all(isinstance(e, str) for e in doc["errors"]), (path, doc)
        messages = list(doc["errors"])
    else:
        for e in doc["errors"]:
            assert isinstance(e, dict) and set(e) == {"code", "message"}, (path, doc)
            assert isinstance(e["code"], str) and isinstance(e["message"], str), (path, doc)
        messages = [e["message"] for e in doc["errors"]]
    if status == 503:
        assert "sealed" in body.decode("utf-8", "replace"), (path, doc)
    assert all(messages), (path, doc)
    _check_no_secret(path, body, secrets)


def _check_no_secret(path: str, body: bytes, secrets: list[str]) -> None:
    text = body.decode("utf-8", "replace")
    for secret in secrets:
        assert secret not in text, f"{path}: key material or the root token in an error body"


def one_input(data: bytes) -> None:
    service = _current()
    if len(data) < 2:
        return
    method, _template, segments = service.routes[data[0] % len(service.routes)]
    path = _path(segments, data[1])
    status, body = service.request(method, path, service.fill(data[2:]))
    if status in OK_STATUSES:
        if body and body[:1] in (b"{", b"["):
            json.loads(body)
        return
    assert status in ERROR_STATUSES, f"{method} {path}: undocumented status {status}"
    _check_error_body(path, status, body, service.secrets)


if __name__ == "__main__":
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from _harness import run

    run(one_input)
