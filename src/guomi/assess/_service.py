"""The one module that talks to the custody service: its public HTTP API, JSON in and out.

Layer: ``guomi.assess``. Only the documented JSON shapes of ``docs/spec/http-api.md`` are
used (``sys/health``, ``auth/tokens/self``, ``keys``, ``keys/{name}``, and ``rewrap`` when
``check_decrypt`` asks for proof that samples open), never the SDK's Python return types,
so a change of the SDK does not touch the assessment. The token needs ``list`` and
``read`` on the keys (a dedicated read-only ``audit`` policy); ``rewrap`` only for
``check_decrypt`` — rewrap proves a ciphertext opens without ever returning plaintext.

Errors: the service not answering is :class:`ServiceUnreachable` (the pack records it as
a finding); a missing, invalid or under-privileged token is :class:`ServiceAccessError`
(the run stops with a message saying what the token lacks).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from guomi.exceptions import GuomiError, InvalidTag

__all__ = ["HttpAead", "KeyRecord", "ServiceAccessError", "ServiceReader", "ServiceUnreachable"]

_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
_REWRAP_BATCH = 1000
_AUDIT_CHUNK = 4096
_AUDIT_CHUNK = 4096


class ServiceUnreachable(GuomiError):
    """The custody service did not answer (connection refused, timeout, 5xx, not JSON)."""


class ServiceAccessError(GuomiError):
    """The token is missing, invalid, expired, or lacks a capability the assessment needs."""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A key as ``GET keys/{name}`` describes it (times as seconds since the epoch)."""

    name: str
    type: str
    latest_version: int
    min_decryption_version: int
    min_encryption_version: int
    min_available_version: int
    deletion_allowed: bool
    auto_rotate_period: int
    creation_time: float
    last_rotation_time: float
    versions: dict[int, float]
    raw: dict[str, Any]


def _epoch(value: Any) -> float:
    """RFC 3339 text or a number into seconds since the epoch (0.0 when absent)."""
    import datetime as dt  # noqa: PLC0415 (small, only here)

    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return 0.0


class ServiceReader:
    """Read-only access to the custody service for one assessment run."""

    def __init__(self, addr: str, token: str | None, *, transport: httpx.BaseTransport | None = None) -> None:
        if not token:
            raise ServiceAccessError(
                "no token: set GUOMI_TOKEN to a token with list+read on the keys "
                "(e.g. a dedicated audit policy)"
            )
        self.addr = addr.rstrip("/")
        self._http = httpx.Client(
            base_url=self.addr + "/v1/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=_TIMEOUT,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ServiceReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, body: Any = None, *, allow: tuple[int, ...] = ()) -> Any:
        try:
            r = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ServiceUnreachable(f"{self.addr}: {type(exc).__name__}: {exc}") from None
        if r.status_code in allow:
            return None
        if r.status_code == 401:
            raise ServiceAccessError(
                f"the service refused the token ({method} {path}: 401 {_message(r)}); "
                "set GUOMI_TOKEN to a valid token with list+read on the keys"
            )
        if r.status_code == 403:
            raise ServiceAccessError(f"{method} {path}: 403 {_message(r)}")
        if r.status_code >= 500 or (r.status_code >= 400 and r.status_code != 404):
            raise ServiceUnreachable(f"{method} {path}: HTTP {r.status_code} {_message(r)}")
        if r.status_code == 404:
            return None
        try:
            return r.json() if r.content else None
        except ValueError:
            raise ServiceUnreachable(f"{method} {path}: answer is not JSON") from None

    def health(self) -> dict[str, Any]:
        """``GET sys/health`` (top-level fields; a sealed service answers 503 with the same body)."""
        try:
            r = self._http.get("sys/health")
            data: dict[str, Any] = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ServiceUnreachable(f"{self.addr}: {type(exc).__name__}: {exc}") from None
        if data.get("sealed"):
            raise ServiceUnreachable(f"{self.addr}: the service is sealed")
        return data

    def token_info(self) -> dict[str, Any]:
        """``GET auth/tokens/self``: accessor, policies, display name, expiry of the assessment token."""
        data = self._request("GET", "auth/tokens/self")
        return dict(data["data"]) if data else {}

    def key_names(self) -> list[str]:
        """``GET keys`` (only the names the token may list)."""
        data = self._request("GET", "keys")
        return list(data["data"]["keys"]) if data else []

    def key(self, name: str) -> KeyRecord | None:
        """``GET keys/{name}``; ``None`` for an unknown key; ServiceAccessError without ``read``."""
        try:
            data = self._request("GET", f"keys/{name}")
        except ServiceAccessError as exc:
            raise ServiceAccessError(
                f"the token cannot read key {name!r} ({exc}); the assessment token needs `read` "
                "and `list` on every key (e.g. policy rules [{pattern: '*', capabilities: [read, list]}])"
            ) from None
        if data is None:
            return None
        d = data["data"]
        versions = {int(v): _epoch(info.get("creation_time")) for v, info in (d.get("keys") or {}).items()}
        return KeyRecord(
            name=d["name"],
            type=d["type"],
            latest_version=int(d["latest_version"]),
            min_decryption_version=int(d.get("min_decryption_version", 1)),
            min_encryption_version=int(d.get("min_encryption_version", 0)),
            min_available_version=int(d.get("min_available_version", 0)),
            deletion_allowed=bool(d.get("deletion_allowed", False)),
            auto_rotate_period=int(d.get("auto_rotate_period", 0)),
            creation_time=_epoch(d.get("creation_time")),
            last_rotation_time=_epoch(d.get("last_rotation_time")),
            versions=versions,
            raw=d,
        )

    def check_opens(
        self, key: str, ciphertexts: list[str], associated_data: bytes | None = None
    ) -> list[str | None]:
        """Per ciphertext: ``None`` if it opens under ``key`` (proved by ``rewrap``, which never
        returns plaintext), else the service's error code. Needs the ``rewrap`` capability."""
        out: list[str | None] = []
        extra = {"associated_data": base64.b64encode(associated_data).decode()} if associated_data else {}
        for start in range(0, len(ciphertexts), _REWRAP_BATCH):
            chunk = ciphertexts[start : start + _REWRAP_BATCH]
            try:
                data = self._request(
                    "POST", f"rewrap/{key}", {"batch_input": [{"ciphertext": c, **extra} for c in chunk]}
                )
            except ServiceAccessError as exc:
                raise ServiceAccessError(
                    f"check_decrypt needs the `rewrap` capability on key {key!r} ({exc})"
                ) from None
            if data is None:
                out.extend(["not_found"] * len(chunk))
                continue
            for item in data["data"]["batch_results"]:
                out.append(None if "ciphertext" in item else str(item.get("code") or "decryption_failed"))
        return out

    def decrypt(self, key: str, token: str, associated_data: bytes) -> bytes:
        """``POST decrypt/{key}`` (needs ``decrypt``): used only to open a column's keyset document."""
        body: dict[str, Any] = {"ciphertext": token}
        if associated_data:
            body["associated_data"] = base64.b64encode(associated_data).decode()
        try:
            data = self._request("POST", f"decrypt/{key}", body, allow=(400,))
        except ServiceAccessError as exc:
            raise ServiceAccessError(f"opening the keyset needs `decrypt` on key {key!r} ({exc})") from None
        if data is None:
            raise InvalidTag("the service could not open the keyset document")
        return base64.b64decode(data["data"]["plaintext"])

    def audit_probe(self) -> str:
        """Whether the service checks audit-record MACs for this token: ``"ok"``, ``"unsupported"``
        (no ``sys/audit/verify``: an unkeyed log), or ``"forbidden"`` (the token lacks ``audit``)."""
        try:
            r = self._http.post("sys/audit/verify", json={"records": []})
        except httpx.HTTPError as exc:
            raise ServiceUnreachable(f"{self.addr}: {type(exc).__name__}: {exc}") from None
        if r.status_code == 200:
            return "ok"
        return "forbidden" if r.status_code in (401, 403) else "unsupported"

    def audit_macs(self, items: Sequence[tuple[bytes, str]]) -> list[bool]:
        """``POST sys/audit/verify``: which (SM3(record body), MAC) pairs are genuine."""
        out: list[bool] = []
        for start in range(0, len(items), _AUDIT_CHUNK):
            chunk = items[start : start + _AUDIT_CHUNK]
            data = self._request("POST", "sys/audit/verify", {"records": [[d.hex(), m] for d, m in chunk]})
            out += [bool(v) for v in (data or {}).get("data", {}).get("valid", [False] * len(chunk))]
        return out


class HttpAead:
    """A :class:`guomi.keys.Aead` over one service key, for opening a field keyset document
    written with ``Keyset.to_encrypted_json(aead=client.aead(name))`` (same token bytes)."""

    def __init__(self, reader: ServiceReader, key: str) -> None:
        self._reader = reader
        self.name = key

    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> bytes:
        raise NotImplementedError("the assessment never encrypts")

    def decrypt(self, ciphertext: bytes, associated_data: bytes = b"") -> bytes:
        return self._reader.decrypt(self.name, ciphertext.decode("ascii", "replace"), associated_data)

    def __repr__(self) -> str:
        return f"HttpAead({self.name!r})"


def _message(r: httpx.Response) -> str:
    try:
        errors = r.json().get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or r.reason_phrase
    except ValueError:
        return r.reason_phrase
