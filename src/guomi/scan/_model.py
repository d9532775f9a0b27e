"""What the scanner reports: value kinds and the findings for a column, a table, a file.

Layer: ``guomi.scan`` (plain data, no I/O). Every finding is a frozen dataclass with a
``to_dict()`` giving JSON-ready values (the assessment pack's ``evidence.json`` stores
them as they are). No finding ever carries a sampled value: examples are redacted to a
prefix and a length, so a scan report can be shared with an assessor without leaking
the plaintext it found.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "KIND_INFO",
    "ColumnFinding",
    "DatabaseFinding",
    "FileFinding",
    "FileItem",
    "Kind",
    "KindInfo",
    "TableFinding",
    "ValueFinding",
]


class Kind(enum.StrEnum):
    """What one sampled value holds (the ``kind`` names in reports are these values)."""

    EMPTY = "empty"
    #: plaintext that looks like personal data
    PII_RESIDENT_ID = "pii-resident-id"
    PII_MOBILE = "pii-mobile"
    PII_BANK_CARD = "pii-bank-card"
    PLAINTEXT = "plaintext"
    #: guomi's own ciphertexts
    GUOMI_FIELD = "guomi-field"
    GUOMI_TOKEN = "guomi-token"  # noqa: S105 (a kind name, not a credential)
    GUOMI_INVALID = "guomi-invalid"
    #: legacy (AES/RSA-era) formats
    FERNET = "fernet"
    VAULT_TRANSIT = "vault-transit"
    AES_GCM = "aes-gcm"
    AES_CBC = "aes-cbc"
    AES_ECB = "aes-ecb"
    RSA_WRAPPED = "rsa-wrapped"
    #: an unkeyed hash (MD5 / SHA-1 / SHA-256 / SM3) stored as a "protected" value
    UNKEYED_DIGEST = "unkeyed-digest"
    UNKNOWN_BINARY = "unknown-binary"


@dataclass(frozen=True, slots=True)
class KindInfo:
    """How a kind counts in an assessment."""

    label_en: str
    label_zh: str
    #: the value is ciphertext of some kind (not readable as stored)
    encrypted: bool
    #: the value is protected with the national algorithms in a sound mode
    compliant: bool
    #: the value is plaintext personal data
    pii: bool = False
    #: algorithm / mode as an algorithm table shows it
    algorithm: str = ""
    #: weaknesses an assessor flags (ECB, static IV, RSA wrap, AES-only ...)
    flags: tuple[str, ...] = ()


KIND_INFO: dict[Kind, KindInfo] = {
    Kind.EMPTY: KindInfo("empty / NULL", "空值", encrypted=False, compliant=False),
    Kind.PII_RESIDENT_ID: KindInfo(
        "plaintext resident ID number (GB 11643 check digit valid)",
        "明文居民身份证号",
        encrypted=False,
        compliant=False,
        pii=True,
        algorithm="none",
    ),
    Kind.PII_MOBILE: KindInfo(
        "plaintext mobile number", "明文手机号", encrypted=False, compliant=False, pii=True, algorithm="none"
    ),
    Kind.PII_BANK_CARD: KindInfo(
        "plaintext bank card number (Luhn valid)",
        "明文银行卡号",
        encrypted=False,
        compliant=False,
        pii=True,
        algorithm="none",
    ),
    Kind.PLAINTEXT: KindInfo("plaintext", "明文", encrypted=False, compliant=False, algorithm="none"),
    Kind.GUOMI_FIELD: KindInfo(
        "guomi field ciphertext", "guomi 字段密文", encrypted=True, compliant=True, algorithm="SM4-GCM"
    ),
    Kind.GUOMI_TOKEN: KindInfo(
        "guomi service token", "guomi 密钥服务密文", encrypted=True, compliant=True, algorithm="SM4-GCM"
    ),
    Kind.GUOMI_INVALID: KindInfo(
        "malformed guomi ciphertext", "格式错误的 guomi 密文", encrypted=True, compliant=False
    ),
    Kind.FERNET: KindInfo(
        "Fernet token (AES-128-CBC + HMAC-SHA256)",
        "Fernet 密文 (AES-128-CBC)",
        encrypted=True,
        compliant=False,
        algorithm="AES-128-CBC + HMAC-SHA256",
        flags=("aes-only",),
    ),
    Kind.VAULT_TRANSIT: KindInfo(
        "HashiCorp Vault transit token",
        "Vault transit 密文",
        encrypted=True,
        compliant=False,
        algorithm="AES-256-GCM (Vault transit default)",
        flags=("aes-only",),
    ),
    Kind.AES_GCM: KindInfo(
        "AES-GCM with a 12-byte IV prefix (Spark aes_encrypt GCM / base64 AES-GCM)",
        "AES-GCM (12 字节 IV 前缀)",
        encrypted=True,
        compliant=False,
        algorithm="AES-GCM",
        flags=("aes-only",),
    ),
    Kind.AES_CBC: KindInfo(
        "AES-CBC with an IV prefix (Spark aes_encrypt CBC)",
        "AES-CBC (IV 前缀)",
        encrypted=True,
        compliant=False,
        algorithm="AES-CBC",
        flags=("aes-only", "no-integrity"),
    ),
    Kind.AES_ECB: KindInfo(
        "AES-ECB (MySQL AES_ENCRYPT default / Spark aes_encrypt ECB)",
        "AES-ECB (MySQL AES_ENCRYPT 默认)",
        encrypted=True,
        compliant=False,
        algorithm="AES-ECB",
        flags=("aes-only", "ecb", "no-integrity"),
    ),
    Kind.RSA_WRAPPED: KindInfo(
        "RSA-wrapped key (OAEP / PKCS#1 v1.5, by length)",
        "RSA 封装的密钥",
        encrypted=True,
        compliant=False,
        algorithm="RSA",
        flags=("rsa-wrapped",),
    ),
    Kind.UNKEYED_DIGEST: KindInfo(
        "unkeyed digest (MD5 / SHA-1 / SHA-256 / SM3; dictionary-attackable)",
        "无密钥摘要 (可被字典攻击)",
        encrypted=False,
        compliant=False,
        algorithm="unkeyed hash",
        flags=("unkeyed-digest",),
    ),
    Kind.UNKNOWN_BINARY: KindInfo(
        "unrecognised binary (random-looking)",
        "无法识别的二进制数据",
        encrypted=True,
        compliant=False,
        algorithm="unknown",
    ),
}


@dataclass(frozen=True, slots=True)
class ValueFinding:
    """One value's classification.

    ``key_id`` names the key where the format carries one (``field:<hex id>``,
    ``token:<algorithm>:v<version>``, ``vault:v<version>``); ``encoding`` is how the bytes
    were stored (``text``, ``bytes``, ``hex``, ``base64``, ``base64url``); ``shape`` is the
    structural guess for binary values before the column-level decision (``gcm``, ``block``,
    ``rsa``); ``confidence`` is in [0, 1]."""

    kind: Kind
    confidence: float
    key_id: str | None = None
    suite: str | None = None
    encoding: str = "text"
    shape: str | None = None
    length: int = 0
    repeated_blocks: bool = False
    #: the first 16 bytes of a block-shaped value (an IV is public): a repeated one is a static IV
    head: bytes | None = None
    #: the 16-byte blocks after the first (ECB repeats them across values; random-IV modes never do)
    tail: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class ColumnFinding:
    """What a column's sampled values hold.

    ``kind`` is the dominant kind over the non-empty values, ``confidence`` how sure the
    scanner is of it (share of values of that kind times the per-value confidence).
    ``counts`` has every kind seen; ``key_ids`` counts guomi / Vault key identifiers;
    ``details`` says why (duplicates seen, lengths, ...). ``examples`` are redacted."""

    kind: Kind
    label: str
    confidence: float
    sampled: int
    empty: int
    counts: dict[str, int]
    key_ids: dict[str, int] = field(default_factory=dict)
    suites: dict[str, int] = field(default_factory=dict)
    details: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    duplicates: int = 0
    #: weaknesses seen in this column (``ecb``, ``static-iv``, ``md5``, ``sha1``, ``aes-only`` ...)
    flags: tuple[str, ...] = ()
    #: largest bit length when every non-empty value is an integer (a blind-index column's width)
    int_bits: int | None = None

    @property
    def non_empty(self) -> int:
        """Values that were not NULL or empty."""
        return self.sampled - self.empty

    def share(self, *kinds: Kind) -> float:
        """Share of the non-empty values whose kind is one of ``kinds`` (0.0 for no values)."""
        if self.non_empty <= 0:
            return 0.0
        return sum(self.counts.get(k.value, 0) for k in kinds) / self.non_empty

    @property
    def guomi_share(self) -> float:
        """Share of non-empty values that parse as guomi ciphertext (field or token)."""
        return self.share(Kind.GUOMI_FIELD, Kind.GUOMI_TOKEN)

    @property
    def pii_share(self) -> float:
        """Share of non-empty values that are plaintext personal data."""
        return self.share(Kind.PII_RESIDENT_ID, Kind.PII_MOBILE, Kind.PII_BANK_CARD)

    @property
    def legacy_share(self) -> float:
        """Share of non-empty values in a recognised legacy (non-SM) encrypted format."""
        return self.share(
            Kind.FERNET, Kind.VAULT_TRANSIT, Kind.AES_GCM, Kind.AES_CBC, Kind.AES_ECB, Kind.RSA_WRAPPED
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind.value
        d["details"] = list(self.details)
        d["examples"] = list(self.examples)
        d["flags"] = list(self.flags)
        d["guomi_share"] = round(self.guomi_share, 4)
        d["pii_share"] = round(self.pii_share, 4)
        d["legacy_share"] = round(self.legacy_share, 4)
        return d


@dataclass(frozen=True, slots=True)
class TableFinding:
    """A sampled table: its row count and one finding per column (``error`` if unreadable)."""

    name: str
    rows: int | None
    columns: dict[str, ColumnFinding]
    error: str | None = None
    #: how the sampled rows were drawn (``guomi.scan._sampling``), e.g. "random rows (...)"
    sampling: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": self.rows,
            "sampling": self.sampling,
            "error": self.error,
            "columns": {k: v.to_dict() for k, v in self.columns.items()},
        }


@dataclass(frozen=True, slots=True)
class DatabaseFinding:
    """A scanned database (``url`` with any password removed; ``error`` if unreachable)."""

    url: str
    tables: list[TableFinding]
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "error": self.error, "tables": [t.to_dict() for t in self.tables]}


@dataclass(frozen=True, slots=True)
class FileItem:
    """Something found in a file: key material, a private key, a credential, or a data column."""

    kind: str
    line: int | None
    name: str
    detail: str
    confidence: float
    high_risk: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class FileFinding:
    """A scanned file: the items found in it, data columns for CSV files, or an ``error``."""

    path: str
    size: int | None
    items: list[FileItem]
    columns: dict[str, ColumnFinding] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": self.size,
            "error": self.error,
            "items": [i.to_dict() for i in self.items],
            "columns": {k: v.to_dict() for k, v in self.columns.items()},
        }
