"""``guomi audit verify`` against the service: the keyed chain's MACs are checked by the server.

Layer: ``guomi.cli``.  The audit log's MACs are keyed with a key only the
unsealed service holds (``guomi.kms.audit``).  With ``GUOMI_ADDR`` and
``GUOMI_TOKEN`` of root or of a token whose policy grants ``audit``, the CLI
sends the service (SM3 of each record body, MAC) pairs -- 64 bytes per record,
never the log -- and the service answers which MACs are genuine
(``POST /v1/sys/audit/verify``).  The same call returns the service's current
head (sequence number and SM3 of its last record), which the file must
contain: records cut off the end, or a log rewritten without MACs, fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

__all__ = ["ServiceAudit"]

_CHUNK = 4096


class ServiceAudit:
    """The audit endpoints of a running service."""

    def __init__(self, addr: str, token: str, transport: httpx.BaseTransport | None = None) -> None:
        self._client = httpx.Client(
            base_url=addr.rstrip("/") + "/v1",
            headers={"Authorization": f"Bearer {token}"},
            transport=transport,
            timeout=60,
        )

    def __enter__(self) -> ServiceAudit:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = self._client.post(path, json=body)
        data = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
        if resp.status_code != 200:
            errors = data.get("errors") or [{"message": resp.text}]
            first = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
            raise ValueError(f"the service refused ({resp.status_code}): {first.get('message')}")
        out: dict[str, Any] = data["data"]
        return out

    def head(self) -> dict[str, Any]:
        """The service's current head (``head_seq``, ``head``) and checkpoint ``public_key``."""
        return self._post("sys/audit/verify", {"records": []})

    def check(self, items: Sequence[tuple[bytes, str]]) -> list[bool]:
        """A :data:`guomi.kms.audit.MacChecker` backed by the service."""
        out: list[bool] = []
        for start in range(0, len(items), _CHUNK):
            chunk = items[start : start + _CHUNK]
            data = self._post("sys/audit/verify", {"records": [[d.hex(), m] for d, m in chunk]})
            out += [bool(v) for v in data["valid"]]
        return out

    def checkpoint(self) -> dict[str, Any]:
        """A freshly signed head checkpoint (to copy to an external anchor)."""
        return self._post("sys/audit/checkpoint", {})
