"""The barrier: SM4-GCM encryption of every record written to storage.

Layer: ``guomi.kms``.  Between the engine and the storage backend.  Nothing
the engine stores reaches the backend in the clear: each value is sealed as

    0x01 || term (u32 BE) || nonce (12) || SM4-GCM(K_barrier, nonce, value, AD)
    AD = "guomi/barrier/v1" || 0x00 || term || path

Binding the record's path into the AD means a storage-level attacker cannot
move a record (say, one token's policy list onto another token's path, or a
key version onto another key): it fails authentication.  Nonces are random
96-bit values (NIST SP 800-38D §8.2.2); the number of writes under one
barrier key stays far below the 2^32 bound.

The barrier key lives in the **keyring**, itself stored (as the only
encrypted-by-something-else record, next to the plaintext seal
configuration) under a key derived from the master key; the master key is
rebuilt from Shamir shares at unseal and never stored.

**Rotation** (``guomi operator rotate``) adds a barrier key of the next term without
touching the keyring: the new key is stored at ``core/keyring-upgrade/<term>``, sealed by
the barrier under the previous term's key, in one create-only write (a crash leaves the
old or the new key set, never neither).  A barrier walks these upgrade records when it is
built and whenever it meets a record of a term it does not know yet (another server
rotated), so every term stays readable (a keyring of versions) and new records are
sealed under the newest term.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from guomi.exceptions import GuomiError, InvalidTag
from guomi.kms._crypto import NONCE_SIZE, derive, sm4gcm
from guomi.kms.storage import Delete, Op, Put, Record, Storage

__all__ = ["KEYRING_PATH", "KEYRING_UPGRADE_PREFIX", "SEAL_CONFIG_PATH", "Barrier", "BarrierError", "Keyring"]

SEAL_CONFIG_PATH = "core/seal-config"
KEYRING_PATH = "core/keyring"
KEYRING_UPGRADE_PREFIX = "core/keyring-upgrade/"
_FORMAT = 1
_KEYRING_AD = b"guomi/keyring/v1"
_WRAP_LABEL = b"guomi/keyring/v1/wrap"
_BARRIER_AD = b"guomi/barrier/v1\x00"


class BarrierError(GuomiError):
    """A stored record failed authentication or is malformed (tampered or moved)."""


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


@dataclass(slots=True)
class Keyring:
    """The installation's working keys, unwrapped by the master key at unseal."""

    term: int
    barrier_key: bytes = field(repr=False)
    audit_key: bytes = field(repr=False)
    token_key: bytes = field(repr=False)
    backup_key: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"Keyring(term={self.term}, <secret keys hidden>)"

    @classmethod
    def generate(cls) -> Keyring:
        """Fresh keys from the OS CSPRNG."""
        return cls(
            term=1,
            barrier_key=os.urandom(16),
            audit_key=os.urandom(32),
            token_key=os.urandom(32),
            backup_key=os.urandom(16),
        )

    def wrap(self, master_key: bytes) -> bytes:
        """The keyring sealed under ``master_key`` for storage at :data:`KEYRING_PATH`."""
        body = json.dumps(
            {
                "term": self.term,
                "barrier_key": _b64(self.barrier_key),
                "audit_key": _b64(self.audit_key),
                "token_key": _b64(self.token_key),
                "backup_key": _b64(self.backup_key),
            }
        ).encode()
        nonce = os.urandom(NONCE_SIZE)
        kek = derive(master_key, _WRAP_LABEL, 16)
        return bytes([_FORMAT]) + nonce + sm4gcm(kek).encrypt(nonce, body, _KEYRING_AD)

    @classmethod
    def unwrap(cls, master_key: bytes, blob: bytes) -> Keyring:
        """Opens the stored keyring; :class:`BarrierError` if ``master_key`` is wrong.

        This authenticated decryption is how unseal checks the reconstructed
        master key (no hash of the master key is stored anywhere)."""
        if len(blob) < 1 + NONCE_SIZE + 16 or blob[0] != _FORMAT:
            raise BarrierError("stored keyring is malformed")
        kek = derive(master_key, _WRAP_LABEL, 16)
        try:
            body = sm4gcm(kek).decrypt(blob[1 : 1 + NONCE_SIZE], blob[1 + NONCE_SIZE :], _KEYRING_AD)
        except InvalidTag:
            raise BarrierError("master key does not open the keyring") from None
        d = json.loads(body)
        return cls(
            term=int(d["term"]),
            barrier_key=base64.b64decode(d["barrier_key"]),
            audit_key=base64.b64decode(d["audit_key"]),
            token_key=base64.b64decode(d["token_key"]),
            backup_key=base64.b64decode(d["backup_key"]),
        )


_HEAD = struct.Struct(">BI")


class Barrier:
    """A :class:`Storage` view that encrypts values on the way in and out."""

    def __init__(self, storage: Storage, keyring: Keyring) -> None:
        self.storage = storage
        self._ciphers = {keyring.term: sm4gcm(keyring.barrier_key)}
        self._set_newest(keyring.term)
        self._follow_upgrades()

    def __repr__(self) -> str:
        return f"Barrier(storage={self.storage.kind}, term={self._term})"

    @property
    def term(self) -> int:
        """The newest term: the one new records are sealed under."""
        return self._term

    def _set_newest(self, term: int) -> None:
        self._term = term
        self._cipher = self._ciphers[term]
        self._term_bytes = struct.pack(">I", term)

    def _follow_upgrades(self) -> None:
        """Learns the keys of later terms from their upgrade records (each sealed under the
        term before it), in order."""
        while True:
            nxt = self._term + 1
            path = f"{KEYRING_UPGRADE_PREFIX}{nxt}"
            rec = self.storage.get(path)
            if rec is None:
                return
            doc = json.loads(self.open(path, rec.value))
            if int(doc["term"]) != nxt:
                raise BarrierError(f"record {path!r} names the wrong term")
            self._ciphers[nxt] = sm4gcm(base64.b64decode(doc["barrier_key"]))
            self._set_newest(nxt)

    def rotate(self) -> int:
        """Adds a fresh barrier key of the next term (create-only write of its upgrade record);
        returns the new term.  :class:`~guomi.kms.storage.StorageConflict` if another server
        rotated at the same moment (nothing written; the caller may retry)."""
        self._follow_upgrades()
        nxt = self._term + 1
        path = f"{KEYRING_UPGRADE_PREFIX}{nxt}"
        key = os.urandom(16)
        body = json.dumps({"term": nxt, "barrier_key": _b64(key)}).encode()
        self.storage.commit([Put(path, self.seal(path, body), 0)])
        self._ciphers[nxt] = sm4gcm(key)
        self._set_newest(nxt)
        return nxt

    def _ad(self, path: str) -> bytes:
        return _BARRIER_AD + self._term_bytes + path.encode("utf-8")

    def seal(self, path: str, value: bytes) -> bytes:
        """The stored form of ``value`` at ``path``."""
        nonce = os.urandom(NONCE_SIZE)
        return _HEAD.pack(_FORMAT, self._term) + nonce + self._cipher.encrypt(nonce, value, self._ad(path))

    def open(self, path: str, blob: bytes) -> bytes:
        """The value of a stored record, or :class:`BarrierError`."""
        if len(blob) < _HEAD.size + NONCE_SIZE + 16:
            raise BarrierError(f"record {path!r} is truncated")
        fmt, term = _HEAD.unpack_from(blob)
        cipher = self._ciphers.get(term)
        if cipher is None and fmt == _FORMAT and term > self._term:
            self._follow_upgrades()  # another server rotated the barrier key
            cipher = self._ciphers.get(term)
        if fmt != _FORMAT or cipher is None:
            raise BarrierError(f"record {path!r} has an unknown format or keyring term")
        n = _HEAD.size
        ad = self._ad(path) if term == self._term else _BARRIER_AD + struct.pack(">I", term) + path.encode()
        try:
            return cipher.decrypt(blob[n : n + NONCE_SIZE], blob[n + NONCE_SIZE :], ad)
        except InvalidTag:
            raise BarrierError(f"record {path!r} failed authentication (tampered or moved)") from None

    def get(self, path: str) -> Record | None:
        """The decrypted record at ``path`` (with its storage revision), or ``None``."""
        rec = self.storage.get(path)
        if rec is None:
            return None
        return Record(self.open(path, rec.value), rec.revision)

    def list(self, prefix: str) -> list[str]:
        """As :meth:`Storage.list` (paths are not secret: key names, version numbers)."""
        return self.storage.list(prefix)

    def commit(self, ops: Sequence[Op]) -> int:
        """Encrypts each put's value, then commits atomically (CAS preserved)."""
        sealed: list[Op] = []
        for op in ops:
            if isinstance(op, Put):
                sealed.append(Put(op.path, self.seal(op.path, op.value), op.expected))
            else:
                sealed.append(Delete(op.path, op.expected))
        return self.storage.commit(sealed)
