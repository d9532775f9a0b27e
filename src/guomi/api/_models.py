"""Request and response models of the custody service's HTTP API (``/v1``).

Layer: ``guomi.api`` (the wire contract), imported by both the server
(``guomi.kms``) and the SDK (``guomi.client``); it imports only pydantic and
the standard library.

Field names are HashiCorp Vault transit's wherever Vault has the operation
(``plaintext``, ``ciphertext``, ``associated_data``, ``input``,
``signature``, ``valid``, ``batch_input`` / ``batch_results``, ``hmac``,
``sum``, ``random_bytes``, ``key_version``), so a Vault user's scripts keep
working with a changed address.  Every successful response wraps its model
in ``{"data": ...}``; every error is ``{"errors": [{"code", "message"}]}``.
``docs/spec/http-api.md`` is the normative description.

Binary fields travel as standard base64 (RFC 4648 §4) in JSON.  In Python
they are ``bytes``: the :data:`B64Bytes` type decodes on input and encodes
when a model is dumped in JSON mode, so the SDK builds models from bytes and
the server receives bytes, and a field that is not valid base64 fails
validation naming that field.

All request models forbid unknown fields (a typo such as ``plaintxt`` is a
400, not a silently empty request) and are strict about JSON types.
"""

from __future__ import annotations

import binascii
import re
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

__all__ = [
    "API_VERSION",
    "CAPABILITIES",
    "DEFAULT_SM2_USER_ID",
    "KEY_NAME_PATTERN",
    "KEY_TYPES",
    "POLICY_NAME_PATTERN",
    "AuditCheckpoint",
    "AuditVerifyRequest",
    "AuditVerifyResponse",
    "B64Bytes",
    "BackupResponse",
    "BatchItemError",
    "Capability",
    "CreateKeyRequest",
    "CreateTokenRequest",
    "DataResponse",
    "DatakeyRequest",
    "DatakeyResponse",
    "DecryptItem",
    "DecryptRequest",
    "DecryptResponse",
    "DecryptResult",
    "Duration",
    "EncryptItem",
    "EncryptRequest",
    "EncryptResponse",
    "EncryptResult",
    "ErrorItem",
    "ErrorResponse",
    "HashAlgorithm",
    "HashRequest",
    "HashResponse",
    "HealthResponse",
    "HmacItem",
    "HmacRequest",
    "HmacResponse",
    "HmacResult",
    "InitRequest",
    "InitResponse",
    "KeyConfigRequest",
    "KeyInfo",
    "KeyListResponse",
    "KeyType",
    "KeyVersionInfo",
    "PolicyListResponse",
    "PolicyRequest",
    "PolicyResponse",
    "PolicyRule",
    "RandomRequest",
    "RandomResponse",
    "RestoreRequest",
    "RevokeTokenRequest",
    "RewrapItem",
    "RewrapRequest",
    "RewrapResponse",
    "RewrapResult",
    "SealStatus",
    "SignItem",
    "SignRequest",
    "SignResponse",
    "SignResult",
    "StorageState",
    "TokenInfo",
    "TokenListResponse",
    "TokenLookupRequest",
    "TokenResponse",
    "TrimKeyRequest",
    "UnsealRequest",
    "VerifyItem",
    "VerifyRequest",
    "VerifyResponse",
    "VerifyResult",
    "is_valid_key_name",
]

API_VERSION = "v1"

#: Key names: 1-128 characters, starting with a letter or digit, then letters,
#: digits, ``.``, ``_``, ``-``.  No ``/`` (names are path segments and storage
#: path components) and nothing that needs URL escaping.
KEY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
#: Policy names follow the same rule; ``root`` is reserved.
POLICY_NAME_PATTERN = KEY_NAME_PATTERN
_KEY_NAME_RE = re.compile(KEY_NAME_PATTERN)

#: The SM2 signer identity used when a request gives no ``user_id``
#: (GB/T 35276-2017 §5.1 / GM/T 0009-2012 §10: "1234567812345678").
DEFAULT_SM2_USER_ID = "1234567812345678"

KeyType = Literal["sm4-gcm", "sm2-sign", "sm2-encrypt", "hmac-sm3", "aes-256-gcm"]
KEY_TYPES: tuple[str, ...] = ("sm4-gcm", "sm2-sign", "sm2-encrypt", "hmac-sm3", "aes-256-gcm")

#: Capabilities a policy rule grants on the key names its pattern matches.
#: ``datakey`` allows ``datakey/wrapped``; ``datakey/plaintext`` needs both
#: ``datakey`` and ``decrypt`` (it is a data key plus its decryption).
#: ``backup`` (export of all versions, sealed for this installation) is kept
#: apart from ``read`` because a backup can resurrect a deleted key.
#: ``metrics`` (on any pattern, e.g. ``*``) reads ``GET sys/metrics``.
Capability = Literal[
    "encrypt",
    "decrypt",
    "rewrap",
    "datakey",
    "sign",
    "verify",
    "hmac",
    "read",
    "create",
    "rotate",
    "config",
    "delete",
    "list",
    "backup",
    "audit",
    "metrics",
]
CAPABILITIES: tuple[str, ...] = (
    "encrypt",
    "decrypt",
    "rewrap",
    "datakey",
    "sign",
    "verify",
    "hmac",
    "read",
    "create",
    "rotate",
    "config",
    "delete",
    "list",
    "backup",
    "audit",
    "metrics",
)


def is_valid_key_name(name: str) -> bool:
    """True when ``name`` is an acceptable key or policy name."""
    return _KEY_NAME_RE.fullmatch(name) is not None


def _b64_decode(value: Any) -> Any:
    # JSON callers pass base64 text (checked first: the hot path of every request and
    # every batch item); Python callers (the SDK) pass bytes.
    if type(value) is str:
        try:
            # strict_mode (C, Python 3.11+): standard alphabet only, correct padding, no
            # whitespace or trailing data -- what b64decode(validate=True) checks with a
            # regex.  A str argument must be ASCII (ValueError otherwise, as binascii.Error).
            return binascii.a2b_base64(value, strict_mode=True)
        except ValueError:
            raise ValueError("is not valid base64 (RFC 4648 standard alphabet, padded)") from None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if not isinstance(value, str):
        raise ValueError("must be a base64 string")
    return _b64_decode(str(value))  # a str subclass


def _b64_encode(value: bytes) -> str:
    # binascii directly: base64.b64encode adds a Python-level wrapper per call (hot in batches).
    return binascii.b2a_base64(value, newline=False).decode("ascii")


#: bytes in Python, standard padded base64 in JSON.
B64Bytes = Annotated[
    bytes,
    BeforeValidator(_b64_decode),
    PlainSerializer(_b64_encode, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]

#: A duration: integer seconds, or text such as ``"90s"``, ``"30m"``, ``"1h"``,
#: ``"7d"``, ``"1h30m"``.
Duration = int | str

T = TypeVar("T")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Response(BaseModel):
    # Responses are parsed by the SDK: tolerate fields added by newer servers.
    model_config = ConfigDict(extra="ignore")


class ErrorItem(_Response):
    """One error: a stable machine ``code`` and a human ``message`` (never a secret)."""

    code: str
    message: str


class ErrorResponse(_Response):
    """The body of every non-2xx response."""

    errors: list[ErrorItem]


class DataResponse(_Response, Generic[T]):
    """The body of every 2xx response: the result under ``data``."""

    data: T


class BatchItemError(_Response):
    """A failed batch item: ``error`` is the message, ``code`` as in :class:`ErrorItem`."""

    error: str
    code: str
    reference: str | None = None


# ---------------------------------------------------------------- sys


class InitRequest(_Request):
    """``POST /v1/sys/init``: split the new master key into ``secret_shares`` shares, any
    ``secret_threshold`` of which reconstruct it."""

    secret_shares: int = Field(default=5, ge=1, le=255)
    secret_threshold: int = Field(default=3, ge=1, le=255)


class InitResponse(_Response):
    """Returned once: the shares (base64, one per custodian) and the root token."""

    keys_base64: list[str]
    root_token: str
    secret_shares: int
    secret_threshold: int


class UnsealRequest(_Request):
    """``POST /v1/sys/unseal``: one share (``key``), or ``reset`` to discard progress."""

    key: B64Bytes | None = None
    reset: bool = False


class SealStatus(_Response):
    """``sys/unseal``, ``sys/seal``, ``GET sys/seal-status`` (Vault's names: t, n, progress)."""

    initialized: bool
    sealed: bool
    t: int
    n: int
    progress: int
    version: str


class StorageState(_Response):
    """``GET /v1/sys/state`` (root): the storage state's generation and digest
    (``docs/spec/storage.md``), to record outside the installation as an external anchor."""

    generation: int
    digest: str


class HealthResponse(_Response):
    """``GET /v1/sys/health``: 200 unsealed, 503 sealed, 501 not initialised (same body)."""

    initialized: bool
    sealed: bool
    version: str
    server_time_utc: int


# ---------------------------------------------------------------- keys


class CreateKeyRequest(_Request):
    """``POST /v1/keys/{name}``."""

    type: KeyType = "sm4-gcm"
    deletion_allowed: bool = False
    auto_rotate_period: Duration | None = None


class KeyConfigRequest(_Request):
    """``POST /v1/keys/{name}/config``: only the fields given are changed.

    ``auto_rotate_period`` 0 (or ``"0s"``) disables automatic rotation."""

    min_decryption_version: int | None = Field(default=None, ge=1)
    min_encryption_version: int | None = Field(default=None, ge=0)
    deletion_allowed: bool | None = None
    auto_rotate_period: Duration | None = None
    #: ``min_decryption_version`` only rises; lowering it takes root and this flag (audited).
    lower_min_decryption_version: bool = False


class TrimKeyRequest(_Request):
    """``POST /v1/keys/{name}/trim``: destroys every version below ``min_available_version``
    (at most ``min_decryption_version``, and at most ``min_encryption_version`` when set)."""

    min_available_version: int = Field(ge=1)


class KeyVersionInfo(_Response):
    """One version of a key: when it was created and, for SM2 keys, its public key."""

    creation_time: str
    public_key: str | None = None


class KeyInfo(_Response):
    """``GET /v1/keys/{name}``: metadata, never secret material.

    ``min_encryption_version`` 0 means "the latest"; ``auto_rotate_period`` is in
    seconds, 0 when disabled; ``keys`` maps each version (as a string, as Vault
    does) to its :class:`KeyVersionInfo`."""

    name: str
    type: KeyType
    latest_version: int
    min_decryption_version: int
    min_encryption_version: int
    min_available_version: int
    deletion_allowed: bool
    auto_rotate_period: int
    creation_time: str
    last_rotation_time: str
    supports_encryption: bool
    supports_decryption: bool
    supports_signing: bool
    supports_hmac: bool
    keys: dict[str, KeyVersionInfo]


class KeyListResponse(_Response):
    """``GET /v1/keys``."""

    keys: list[str]


class BackupResponse(_Response):
    """``GET /v1/keys/{name}/backup``: all versions, sealed for this installation."""

    backup: str


class RestoreRequest(_Request):
    """``POST /v1/keys/restore``: ``name`` renames the restored key; ``force``
    replaces an existing key of that name (needs ``delete`` on it too)."""

    backup: str
    name: str | None = None
    force: bool = False


# ---------------------------------------------------------------- encrypt / decrypt / rewrap


class EncryptItem(_Request):
    """One plaintext.  ``key_version`` picks an older version (>= ``min_encryption_version``);
    ``reference`` is echoed back in the batch result."""

    plaintext: B64Bytes
    associated_data: B64Bytes | None = None
    key_version: int | None = Field(default=None, ge=1)
    reference: str | None = None


class EncryptRequest(_Request):
    """``POST /v1/encrypt/{name}``: either the single-item fields or ``batch_input``."""

    plaintext: B64Bytes | None = None
    associated_data: B64Bytes | None = None
    key_version: int | None = Field(default=None, ge=1)
    batch_input: list[EncryptItem] | None = None


class EncryptResult(_Response):
    """A ciphertext token (``docs/spec/token.md``) and the key version that made it."""

    ciphertext: str
    key_version: int
    reference: str | None = None


class EncryptResponse(_Response):
    """Single: ``ciphertext`` + ``key_version``; batch: ``batch_results`` in input order."""

    ciphertext: str | None = None
    key_version: int | None = None
    batch_results: list[EncryptResult | BatchItemError] | None = None


class DecryptItem(_Request):
    """One ciphertext token and the associated data it was made with."""

    ciphertext: str
    associated_data: B64Bytes | None = None
    reference: str | None = None


class DecryptRequest(_Request):
    """``POST /v1/decrypt/{name}``."""

    ciphertext: str | None = None
    associated_data: B64Bytes | None = None
    batch_input: list[DecryptItem] | None = None


class DecryptResult(_Response):
    """The plaintext (base64 in JSON)."""

    plaintext: B64Bytes
    key_version: int | None = None
    reference: str | None = None


class DecryptResponse(_Response):
    """Single: ``plaintext``; batch: ``batch_results`` in input order."""

    plaintext: B64Bytes | None = None
    key_version: int | None = None
    batch_results: list[DecryptResult | BatchItemError] | None = None


class RewrapItem(_Request):
    """A token to re-encrypt under ``key_version`` (default: the latest)."""

    ciphertext: str
    associated_data: B64Bytes | None = None
    key_version: int | None = Field(default=None, ge=1)
    reference: str | None = None


class RewrapRequest(_Request):
    """``POST /v1/rewrap/{name}``: never returns plaintext."""

    ciphertext: str | None = None
    associated_data: B64Bytes | None = None
    key_version: int | None = Field(default=None, ge=1)
    batch_input: list[RewrapItem] | None = None


RewrapResult = EncryptResult


class RewrapResponse(_Response):
    """As :class:`EncryptResponse`."""

    ciphertext: str | None = None
    key_version: int | None = None
    batch_results: list[RewrapResult | BatchItemError] | None = None


class DatakeyRequest(_Request):
    """``POST /v1/datakey/{plaintext|wrapped}/{name}``: a fresh SM4 key (128 bits)."""

    bits: Literal[128] = 128
    associated_data: B64Bytes | None = None


class DatakeyResponse(_Response):
    """``ciphertext`` is the data key wrapped under the named key (a token);
    ``plaintext`` is present only on the ``plaintext`` path."""

    ciphertext: str
    key_version: int
    plaintext: B64Bytes | None = None


# ---------------------------------------------------------------- sign / verify / hmac


class SignItem(_Request):
    """``input`` is the message (SM2 hashes it with Z_A per GB/T 32918.2 §6.1);
    ``user_id`` defaults to :data:`DEFAULT_SM2_USER_ID`."""

    input: B64Bytes
    user_id: str | None = Field(default=None, max_length=8191)
    key_version: int | None = Field(default=None, ge=1)
    reference: str | None = None


class SignRequest(_Request):
    """``POST /v1/sign/{name}``.  ``prehashed``: ``input`` is already the 32-byte digest
    e = SM3(Z_A || M) of GB/T 32918.2 §6.1 (the caller computed Z_A for ``user_id``)."""

    input: B64Bytes | None = None
    user_id: str | None = Field(default=None, max_length=8191)
    key_version: int | None = Field(default=None, ge=1)
    batch_input: list[SignItem] | None = None
    prehashed: bool = False


class SignResult(_Response):
    """``signature`` is ``guomi:v1:<key_version>:<base64 DER>``."""

    signature: str
    key_version: int
    reference: str | None = None


class SignResponse(_Response):
    """Single: ``signature`` + ``key_version``; batch: ``batch_results``."""

    signature: str | None = None
    key_version: int | None = None
    batch_results: list[SignResult | BatchItemError] | None = None


class VerifyItem(_Request):
    """Give ``signature`` (sm2-sign keys) or ``hmac`` (hmac-sm3 keys)."""

    input: B64Bytes
    signature: str | None = None
    hmac: str | None = None
    user_id: str | None = Field(default=None, max_length=8191)
    reference: str | None = None


class VerifyRequest(_Request):
    """``POST /v1/verify/{name}``."""

    input: B64Bytes | None = None
    signature: str | None = None
    hmac: str | None = None
    user_id: str | None = Field(default=None, max_length=8191)
    batch_input: list[VerifyItem] | None = None
    #: As for sign: ``input`` is e = SM3(Z_A || M) (SM2 signatures only).
    prehashed: bool = False


class VerifyResult(_Response):
    """Whether the signature or MAC verified."""

    valid: bool
    reference: str | None = None


class VerifyResponse(_Response):
    """Single: ``valid``; batch: ``batch_results``."""

    valid: bool | None = None
    batch_results: list[VerifyResult | BatchItemError] | None = None


class HmacItem(_Request):
    """HMAC-SM3 of ``input`` under ``key_version`` (default: the latest)."""

    input: B64Bytes
    key_version: int | None = Field(default=None, ge=1)
    reference: str | None = None


class HmacRequest(_Request):
    """``POST /v1/hmac/{name}``."""

    input: B64Bytes | None = None
    key_version: int | None = Field(default=None, ge=1)
    batch_input: list[HmacItem] | None = None


class HmacResult(_Response):
    """``hmac`` is ``guomi:v1:<key_version>:<base64 tag>``."""

    hmac: str
    key_version: int
    reference: str | None = None


class HmacResponse(_Response):
    """Single: ``hmac`` + ``key_version``; batch: ``batch_results``."""

    hmac: str | None = None
    key_version: int | None = None
    batch_results: list[HmacResult | BatchItemError] | None = None


# ---------------------------------------------------------------- random / hash


class RandomRequest(_Request):
    """``POST /v1/random/{n}`` (1 <= n <= 1024 bytes from the OS CSPRNG)."""

    format: Literal["base64", "hex"] = "base64"


class RandomResponse(_Response):
    """The random bytes in the requested format."""

    random_bytes: str


HashAlgorithm = Literal[
    "sm3", "sha2-224", "sha2-256", "sha2-384", "sha2-512", "sha3-224", "sha3-256", "sha3-384", "sha3-512"
]


class HashRequest(_Request):
    """``POST /v1/hash``: SM3 (GB/T 32905-2016, the default) of ``input``, or one of Vault's
    SHA-2 / SHA-3 names."""

    input: B64Bytes
    algorithm: HashAlgorithm = "sm3"
    format: Literal["base64", "hex"] = "hex"


class HashResponse(_Response):
    """The digest in the requested format."""

    sum: str


# ---------------------------------------------------------------- auth / policies


class CreateTokenRequest(_Request):
    """``POST /v1/auth/tokens``: a token holding ``policies``, expiring after ``ttl``.

    A non-root caller may only hand out a subset of its own policies and a
    TTL that ends no later than its own token."""

    policies: list[str] = Field(min_length=1)
    ttl: Duration | None = None
    display_name: str | None = Field(default=None, max_length=128)
    #: Root only: the new token has no parent (revoking the caller leaves it).
    no_parent: bool = False
    #: Binds the token to a TLS client certificate subject (RFC 4514, as the server shows
    #: it, e.g. ``CN=app-a,O=bank``): presented over any other certificate, or none, it is refused.
    bound_cert_subject: str | None = Field(default=None, min_length=1, max_length=1024)


class TokenInfo(_Response):
    """What the service knows about a token (never the token itself).

    ``accessor`` names the token for revocation and audit without being usable
    as a credential; ``ttl`` is the remaining lifetime in seconds (0: none)."""

    accessor: str
    policies: list[str]
    display_name: str | None = None
    creation_time: str
    expire_time: str | None = None
    ttl: int
    #: Lifetime asked for at creation (seconds; 0: none).
    creation_ttl: int = 0
    #: Accessor of the token that created this one; ``None`` for an orphan.
    parent: str | None = None
    #: The client certificate subject the token is bound to, if any.
    bound_cert_subject: str | None = None


class TokenResponse(TokenInfo):
    """``POST /v1/auth/tokens``: the new ``token`` (shown once) and its info."""

    token: str


class RevokeTokenRequest(_Request):
    """``POST /v1/auth/tokens/revoke``: by ``token`` or ``accessor`` (with every token it
    created, recursively); neither revokes the caller.  ``orphan`` (root): the token's
    children stay, as orphans.  ``policy`` (root): every token holding that policy."""

    token: str | None = None
    accessor: str | None = None
    orphan: bool = False
    policy: str | None = None


class TokenLookupRequest(_Request):
    """``POST /v1/auth/tokens/lookup`` and ``.../renew``: a token by value or accessor
    (neither: the caller's own).  ``increment`` (renew): the new lifetime from now."""

    token: str | None = None
    accessor: str | None = None
    increment: Duration | None = None


class TokenListResponse(_Response):
    """``GET /v1/auth/tokens/accessors``: accessors of the live tokens."""

    accessors: list[str]


class AuditVerifyRequest(_Request):
    """``POST /v1/sys/audit/verify``: (SM3 of a record body, its MAC), hex, at most 4096."""

    records: list[tuple[str, str]] = Field(max_length=4096)


class AuditVerifyResponse(_Response):
    """Which MACs are genuine, the log's current head and the checkpoint public key."""

    valid: list[bool]
    head_seq: int
    head: str
    public_key: str


class AuditCheckpoint(_Response):
    """A signed statement of the audit log's head, for an external anchor."""

    head_seq: int
    head: str
    checkpoint_time: str
    signature: str
    public_key: str


class PolicyRule(_Request):
    """Capabilities granted on key names matching ``pattern`` (``*`` any run, ``?`` one char)."""

    pattern: str = Field(min_length=1, max_length=128)
    capabilities: list[Capability] = Field(min_length=1)


class PolicyRequest(_Request):
    """``PUT /v1/policies/{name}``."""

    rules: list[PolicyRule]


class PolicyResponse(_Response):
    """``GET /v1/policies/{name}``."""

    name: str
    rules: list[PolicyRule]


class PolicyListResponse(_Response):
    """``GET /v1/policies``."""

    policies: list[str]
