"""Configuration of one custody-service process.

Layer: ``guomi.kms``.  Plain data; the CLI (``guomi server``) and tests build it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Config"]


@dataclass(slots=True)
class Config:
    """Everything a server needs to start.

    ``storage_url``: ``memory://``, ``sqlite:///PATH`` or ``postgresql://...``;
    ``None`` means ``sqlite:///<data_dir>/guomi.db``.  ``audit_path`` defaults to
    ``<data_dir>/audit.log`` (``None`` with no data directory keeps records in
    memory, for tests and ``--dev`` only).
    """

    storage_url: str | None = None
    data_dir: Path | None = None
    audit_path: Path | None = None
    #: fsync the audit log after every record (durable, slower).
    audit_fsync: bool = False
    #: Largest request body accepted (HTTP 413 above).
    max_body_bytes: int = 4 * 1024 * 1024
    #: Largest ``batch_input`` accepted (HTTP 413 above).
    max_batch_items: int = 10_000
    #: TTL of tokens created without one, and the largest TTL accepted (seconds).
    default_token_ttl: int = 32 * 86400
    max_token_ttl: int = 366 * 86400
    #: Versions listed by ``GET keys/{name}`` (newest first window; older ones are
    #: still usable, they are just not listed).
    key_info_versions: int = 100
    #: Seconds between background scans for keys whose ``auto_rotate_period``
    #: elapsed (0: only the lazy rotation on use).
    auto_rotate_check_interval: float = 300.0
    #: Dev mode: initialise with one share and unseal automatically (loud warning).
    dev: bool = False
    #: Decoded key versions kept in memory per process (versions never change once
    #: written; the metadata read on every request says which still exist).
    material_cache_size: int = 4096

    def resolved_storage_url(self) -> str:
        """The storage URL after defaults."""
        if self.storage_url:
            return self.storage_url
        if self.data_dir is not None:
            return f"sqlite:///{Path(self.data_dir).resolve() / 'guomi.db'}"
        return "memory://"

    def resolved_audit_path(self) -> Path | None:
        """The audit log file after defaults (``None``: in memory)."""
        if self.audit_path is not None:
            return Path(self.audit_path)
        if self.data_dir is not None:
            return Path(self.data_dir) / "audit.log"
        return None
