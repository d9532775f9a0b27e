"""The barrier: SM4-GCM encryption of every record written to storage.

Layer: ``guomi.kms``.  Between the engine and the storage backend.  Nothing
the engine stores reaches the backend in the clear: each value is sealed as

    0x02 || term (u32 BE) || generation (u64 BE) || nonce (12) || SM4-GCM(K_barrier, nonce, value, AD)
    AD = "guomi/barrier/v1" || 0x00 || term || generation || path

Binding the record's path into the AD means a storage-level attacker cannot
move a record (say, one token's policy list onto another token's path, or a
key version onto another key): it fails authentication.  The generation (the
number of the commit that wrote it) and the sealed state record
(:data:`STATE_PATH`: the generation of the last commit and a keyed digest of
every record) make replaying an older record, deleting one or rolling the
whole store back detectable; ``docs/spec/storage.md`` gives the design and
what it cannot detect.  Records of format 1 (no generation) still open.  Nonces are random
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
sealed under the newest term.  Like the keyring, upgrade records live under ``core/``,
outside the state digest (generation 0).
"""

from __future__ import annotations

import base64
import json
import os
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from guomi.exceptions import GuomiError, InvalidTag
from guomi.kms._crypto import NONCE_SIZE, derive, hmac_sm3, sm4gcm
from guomi.kms.storage import Delete, Op, Put, Record, Storage, StorageConflict

__all__ = [
    "KEYRING_PATH",
    "KEYRING_UPGRADE_PREFIX",
    "SEAL_CONFIG_PATH",
    "STATE_PATH",
    "Barrier",
    "BarrierError",
    "Keyring",
    "State",
]

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


_HEAD_V1 = struct.Struct(">BI")
_FORMAT_V2 = 2
_HEAD = struct.Struct(">BIQ")
#: The authenticated high-water mark: generation and digest of every barrier record.
STATE_PATH = "core/state"
_STATE_LABEL = b"guomi/state/v1"
_DIGEST_MOD = 1 << 256
_TAG_SIZE = 16
_STATE_RETRIES = 64


@dataclass(frozen=True, slots=True)
class State:
    """The sealed state record: the generation of the last commit and the digest of the
    set of (path, generation, tag) of every barrier record (docs/spec/storage.md)."""

    generation: int
    digest: int
    revision: int = 0

    def to_json(self) -> bytes:
        """Storage form (inside the barrier)."""
        return json.dumps({"generation": self.generation, "digest": f"{self.digest:064x}"}).encode()

    @classmethod
    def from_json(cls, blob: bytes, revision: int) -> State:
        """From the storage form."""
        d = json.loads(blob)
        return cls(int(d["generation"]), int(d["digest"], 16), revision)

    @property
    def digest_hex(self) -> str:
        """The digest as 64 hex digits (what an operator records as an external anchor)."""
        return f"{self.digest:064x}"


class Barrier:
    """A :class:`Storage` view that encrypts values on the way in and out, and keeps the
    authenticated high-water mark (:data:`STATE_PATH`) that makes a replayed, deleted or
    rolled-back record detectable (docs/spec/storage.md)."""

    def __init__(self, storage: Storage, keyring: Keyring) -> None:
        self.storage = storage
        #: SM4-GCM of every known term (the keyring of versions); new records use the newest.
        self._ciphers = {keyring.term: sm4gcm(keyring.barrier_key)}
        self._set_newest(keyring.term)
        # The state key stays the keyring's (rotation does not change the keyring record).
        self._state_key = derive(keyring.barrier_key, _STATE_LABEL, 32)
        #: The highest generation this process has seen in the state record or written.
        self.high_water = 0
        #: Called with the new state after every commit (the engine advances its anchor).
        self.on_commit: Callable[[State], None] | None = None
        self._follow_upgrades()

    def __repr__(self) -> str:
        return f"Barrier(storage={self.storage.kind}, term={self._term}, generation={self.high_water})"

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
            value, _ = self.open_record(path, rec.value)
            doc = json.loads(value)
            if int(doc["term"]) != nxt:
                raise BarrierError(f"record {path!r} names the wrong term")
            self._ciphers[nxt] = sm4gcm(base64.b64decode(doc["barrier_key"]))
            self._set_newest(nxt)

    def rotate(self) -> int:
        """Adds a fresh barrier key of the next term (create-only write of its upgrade record,
        generation 0: outside the state digest, as the keyring); returns the new term.
        :class:`~guomi.kms.storage.StorageConflict` if another server rotated at the same
        moment (nothing written; the caller may retry)."""
        self._follow_upgrades()
        nxt = self._term + 1
        path = f"{KEYRING_UPGRADE_PREFIX}{nxt}"
        key = os.urandom(16)
        body = json.dumps({"term": nxt, "barrier_key": _b64(key)}).encode()
        self.storage.commit([Put(path, self.seal(path, body, 0), 0)])
        self._ciphers[nxt] = sm4gcm(key)
        self._set_newest(nxt)
        return nxt

    def _ad(self, path: str, generation: int | None, term_bytes: bytes | None = None) -> bytes:
        tb = self._term_bytes if term_bytes is None else term_bytes
        if generation is None:  # format 1: no generation
            return _BARRIER_AD + tb + path.encode("utf-8")
        return _BARRIER_AD + tb + generation.to_bytes(8, "big") + path.encode("utf-8")

    def seal(self, path: str, value: bytes, generation: int) -> bytes:
        """The stored form of ``value`` at ``path`` written by commit ``generation``."""
        nonce = os.urandom(NONCE_SIZE)
        head = _HEAD.pack(_FORMAT_V2, self._term, generation)
        return head + nonce + self._cipher.encrypt(nonce, value, self._ad(path, generation))

    def open_record(self, path: str, blob: bytes) -> tuple[bytes, int]:
        """(value, generation) of a stored record, or :class:`BarrierError`; format-1 records
        (written before generations existed) have generation 0."""
        if len(blob) < _HEAD_V1.size + NONCE_SIZE + _TAG_SIZE:
            raise BarrierError(f"record {path!r} is truncated")
        fmt, term = _HEAD_V1.unpack_from(blob)
        cipher = self._ciphers.get(term)
        if cipher is None and term > self._term and fmt in (_FORMAT, _FORMAT_V2):
            self._follow_upgrades()  # another server rotated the barrier key
            cipher = self._ciphers.get(term)
        if cipher is None or fmt not in (_FORMAT, _FORMAT_V2):
            raise BarrierError(f"record {path!r} has an unknown format or keyring term")
        term_bytes = None if term == self._term else struct.pack(">I", term)
        generation: int | None = None
        n = _HEAD_V1.size
        if fmt == _FORMAT_V2:
            if len(blob) < _HEAD.size + NONCE_SIZE + _TAG_SIZE:
                raise BarrierError(f"record {path!r} is truncated")
            generation = _HEAD.unpack_from(blob)[2]
            n = _HEAD.size
        try:
            value = cipher.decrypt(
                blob[n : n + NONCE_SIZE], blob[n + NONCE_SIZE :], self._ad(path, generation, term_bytes)
            )
        except InvalidTag:
            raise BarrierError(f"record {path!r} failed authentication (tampered or moved)") from None
        return value, generation or 0

    def open(self, path: str, blob: bytes) -> bytes:
        """The value of a stored record, or :class:`BarrierError`."""
        value, generation = self.open_record(path, blob)
        self.check_generation(path, generation)
        return value

    def check_generation(self, path: str, generation: int) -> None:
        """A record may not come from a generation the state record never reached (a record
        forged from the future, or the state rolled back under this running server)."""
        if generation > self.high_water:
            self.read_state()
            if generation > self.high_water:
                raise BarrierError(f"record {path!r} is newer than the storage state (rolled back?)")

    def element(self, path: str, generation: int, blob: bytes) -> int:
        """One record's term in the state digest: HMAC-SM3 over its path, generation and GCM tag."""
        mac = hmac_sm3(
            self._state_key,
            path.encode("utf-8") + b"\x00" + generation.to_bytes(8, "big") + blob[-_TAG_SIZE:],
        )
        return int.from_bytes(mac, "big")

    # ------------------------------------------------------------ the state record

    def read_state(self, *, again: bool = True) -> State | None:
        """The state record (``None`` on a store written before it existed); raises
        :class:`BarrierError` if it went backwards under this process."""
        floor = self.high_water
        rec = self.storage.get(STATE_PATH)
        if rec is None:
            if self.high_water:
                raise BarrierError("the storage state record was deleted")
            return None
        value, generation = self.open_record(STATE_PATH, rec.value)
        state = State.from_json(value, rec.revision)
        if state.generation != generation:
            raise BarrierError("the storage state record is inconsistent")
        if state.generation < floor:
            if again:  # a concurrent commit of this process may have raised the floor meanwhile
                return self.read_state(again=False)
            raise BarrierError(
                f"storage rolled back: generation {state.generation} is older than {floor}, "
                "already seen by this server"
            )
        self.high_water = max(self.high_water, state.generation)
        return state

    def genesis(self, puts: Sequence[Put]) -> list[Op]:
        """The ops that create an installation's first records and its state (generation 1)."""
        ops: list[Op] = []
        digest = 0
        for op in puts:
            blob = self.seal(op.path, op.value, 1)
            digest = (digest + self.element(op.path, 1, blob)) % _DIGEST_MOD
            ops.append(Put(op.path, blob, 0))
        ops.append(Put(STATE_PATH, self.seal(STATE_PATH, State(1, digest).to_json(), 1), 0))
        return ops

    def scan(self) -> tuple[State | None, int, int]:
        """(state record, digest of the stored records, highest generation among them): every
        record is read and authenticated."""
        state = self.read_state()
        paths = [p for p in self.storage.list("") if not p.startswith("core/")]
        digest = 0
        top = 0
        for path, rec in zip(paths, self.storage.get_many(paths), strict=True):
            if rec is None:
                continue
            _, generation = self.open_record(path, rec.value)
            digest = (digest + self.element(path, generation, rec.value)) % _DIGEST_MOD
            top = max(top, generation)
        return state, digest, top

    def verify(self) -> State:
        """Checks every stored record against the state record (at unseal and periodically).

        A store written before the state record existed gets one now (its digest over the
        records as they are: the versioned-format migration of docs/spec/storage.md §5)."""
        state, digest, top = self.scan()
        if state is None:
            state = State(max(top, 0) + 1, digest)
            try:
                self.storage.commit(
                    [Put(STATE_PATH, self.seal(STATE_PATH, state.to_json(), state.generation), 0)]
                )
            except StorageConflict:  # another server migrated at the same moment: check against its
                return self.verify()
            self.high_water = state.generation
            return state
        if top > state.generation:
            raise BarrierError(
                f"storage integrity: a record claims generation {top}, beyond the state's {state.generation}"
            )
        if digest != state.digest:
            raise BarrierError(
                "storage integrity: the stored records do not match the state record "
                "(a record was replayed, deleted, inserted or edited)"
            )
        return state

    # ------------------------------------------------------------ Storage view

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
        """Encrypts each put's value under a new generation and commits it atomically with the
        new state record (compare-and-set on the state; the caller's own expectations kept)."""
        for _ in range(_STATE_RETRIES):
            state = self.read_state()
            if state is None:
                # An empty store (the engine runs verify() at unseal first, which gives a
                # store with older records its state record before any commit).
                state = State(0, 0, 0)
            generation = state.generation + 1
            final: dict[str, Op] = {}
            for op in ops:
                final[op.path] = op  # the store applies ops in order: the last one decides
            digest = state.digest
            touched = list(final)
            for path, old in zip(touched, self.storage.get_many(touched), strict=True):
                if old is not None:
                    _, old_generation = self.open_record(path, old.value)
                    digest -= self.element(path, old_generation, old.value)
            sealed: list[Op] = []
            for op in ops:
                if isinstance(op, Put):
                    blob = self.seal(op.path, op.value, generation)
                    sealed.append(Put(op.path, blob, op.expected))
                    if final[op.path] is op:
                        digest += self.element(op.path, generation, blob)
                else:
                    sealed.append(Delete(op.path, op.expected))
            new_state = State(generation, digest % _DIGEST_MOD)
            sealed.append(
                Put(STATE_PATH, self.seal(STATE_PATH, new_state.to_json(), generation), state.revision)
            )
            try:
                revision = self.storage.commit(sealed)
            except StorageConflict:
                current = self.storage.get(STATE_PATH)
                if current is not None and current.revision != state.revision:
                    continue  # another commit went first: recompute on its state
                raise
            self.high_water = max(self.high_water, generation)
            if self.on_commit is not None:
                self.on_commit(new_state)
            return revision
        raise StorageConflict("the storage state is changing too fast; retry")
