"""A small "bank" to assess: a SQLite database, a custody service with an audit log, a config file.

* ``customers.id_no`` — resident ID numbers in the guomi field format (``gm1.``), the column's
  keyset wrapped by service key ``accounts`` (one stored value damaged: fails to decrypt);
* ``accounts.account_no`` — account numbers as guomi service tokens under key ``accounts``
  (versions 1 and 2; one stored token damaged so it fails to decrypt);
* ``customers.mobile`` — plaintext mobile numbers (PII);
* ``cards.card_no`` — card numbers with MySQL ``AES_ENCRYPT`` (AES-128-ECB);
* ``notes.memo`` — Fernet tokens (pyca/cryptography);
* keys: ``accounts`` rotated 10 days ago, ``archive`` created 400 days ago and never rotated;
* ``app.properties`` with an SM4 key in it; the assessor's SM2 key made by ``openssl``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from guomi.fields import Field, ServiceKeyring
from tests.scan import legacy
from tests.scan.service import Clock, Service, service

DAY = 86400
ROWS = 200


@dataclass
class Bank:
    root: Path
    db: Path
    config: Path
    audit_log: Path
    signing_key: Path
    public_key: Path
    service: Service
    token: str


def _openssl_sm2(path: Path) -> Path:
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", str(path)],
        check=True,
        capture_output=True,
    )
    pub = path.with_name("assessor-pub.pem")
    subprocess.run(
        ["openssl", "pkey", "-in", str(path), "-pubout", "-out", str(pub)], check=True, capture_output=True
    )
    return pub


def _damage(token: str) -> str:
    """Change one character inside the ciphertext body (still canonical base64url, still parses)."""
    sep = ":" if token.startswith("guomi:") else "."
    head, body = token.rsplit(sep, 1) if sep == ":" else token.split(".", 1)
    i = len(body) // 2
    return f"{head}{sep}{body[:i]}{'A' if body[i] != 'A' else 'B'}{body[i + 1 :]}"


def _database(path: Path, svc: Service, rotated_at_row: int, keyset_path: Path) -> None:
    ecb_key = os.urandom(16)
    keyring = ServiceKeyring.create(svc.aead("accounts"))
    id_field = Field("customers", "id_no", keyring)
    ids = [id_field.encrypt(legacy.resident_id("110105", "19800101", i)) for i in range(ROWS)]
    ids[3] = _damage(ids[3])
    tokens = []
    for i in range(ROWS):
        if i == rotated_at_row:
            svc.call("POST", "keys/accounts/rotate")
        tokens.append(svc.encrypt("accounts", f"6217{i:015d}".encode()))
    tokens[7] = _damage(tokens[7])
    # After the service key's rotation the keyset document is re-wrapped (rows untouched).
    keyset_path.write_text(keyring.rewrap(), encoding="utf-8")
    # Distinct UnionPay numbers (BIN 622202): ECB shows in the repeated last block (last digits + padding).
    cards = [
        legacy.luhn_complete(f"622202{int.from_bytes(os.urandom(6), 'big') % 10**12:012d}")
        for _ in range(ROWS)
    ]
    memos = legacy.fernet_tokens([f"memo {i}".encode() for i in range(ROWS)])
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, id_no TEXT, mobile TEXT)")
        conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, customer_id INTEGER, account_no TEXT)")
        conn.execute("CREATE TABLE cards (id INTEGER PRIMARY KEY, customer_id INTEGER, card_no BLOB)")
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, memo TEXT)")
        conn.executemany(
            "INSERT INTO customers (name, id_no, mobile) VALUES (?, ?, ?)",
            [(f"客户{i}", ids[i], f"13{8 + i % 2}{i:08d}") for i in range(ROWS)],
        )
        conn.executemany(
            "INSERT INTO accounts (customer_id, account_no) VALUES (?, ?)",
            [(i, tokens[i]) for i in range(ROWS)],
        )
        conn.executemany(
            "INSERT INTO cards (customer_id, card_no) VALUES (?, ?)",
            [(i, legacy.aes_ecb(ecb_key, card.encode())) for i, card in enumerate(cards)],
        )
        conn.executemany("INSERT INTO notes (memo) VALUES (?)", [(m,) for m in memos])


CONFIG = """\
[system]
name = "核心账务 Core banking (test)"
level = 3
owners = ["张三 <zhangsan@bank.example>"]
rotation_period = "365d"

[[system.important_data]]
name = "customer ID numbers 身份证号"
database = "sqlite:///bank.db"
table = "customers"
column = "id_no"
key = "accounts"
keyset = "customers.keyset.json"

[[system.important_data]]
name = "account numbers 账号"
database = "sqlite:///bank.db"
table = "accounts"
column = "account_no"
key = "accounts"
suite = "sm4-gcm"

[[system.important_data]]
name = "customer mobile numbers 手机号"
database = "sqlite:///bank.db"
table = "customers"
column = "mobile"

[[system.important_data]]
name = "card numbers 银行卡号"
database = "sqlite:///bank.db"
table = "cards"
column = "card_no"

[[system.products]]
name = "XX 服务器密码机 (HSM)"
certificate = "GM003312220230001"
kind = "hsm"

[service]
addr = "http://guomi.test"
audit_log = "audit.log"
check_decrypt = true

[[databases]]
url = "sqlite:///bank.db"

[[files]]
path = "app.properties"

[signing]
key = "assessor.pem"
"""


@contextlib.contextmanager
def build_bank(root: Path) -> Iterator[Bank]:
    """The bank under ``root``, its service running in process until the block ends."""
    clock = Clock(time.time() - 400 * DAY)
    audit = root / "audit.log"
    with service(audit, clock) as svc:
        svc.call("POST", "keys/accounts", {})
        svc.call("POST", "keys/archive", {})
        svc.call("GET", "keys/accounts/backup")
        clock.t = time.time() - 10 * DAY
        db = root / "bank.db"
        _database(db, svc, rotated_at_row=ROWS // 2, keyset_path=root / "customers.keyset.json")
        svc.call("POST", "keys/accounts/config", {"min_decryption_version": 1, "deletion_allowed": False})
        clock.t = time.time()
        # read + list: the key table; rewrap: prove sampled tokens open without seeing plaintext;
        # decrypt on `accounts` only: open the customers keyset to try every sampled field value.
        rules = [
            {"pattern": "*", "capabilities": ["read", "list", "rewrap"]},
            {"pattern": "accounts", "capabilities": ["decrypt"]},
        ]
        try:
            # `audit` lets the service check the keyed audit chain's record MACs (where the
            # service has that capability; older services refuse the unknown name).
            token = svc.token("audit", [*rules, {"pattern": "*", "capabilities": ["audit"]}], "assessor")
        except AssertionError:
            token = svc.token("audit", rules, display_name="assessor")
        (root / "app.properties").write_text(
            f"db.url=jdbc:sqlite:bank.db\ncrypto.sm4.key={os.urandom(16).hex()}\nlog.level=INFO\n"
        )
        key = root / "assessor.pem"
        pub = _openssl_sm2(key)
        config = root / "assess.toml"
        config.write_text(CONFIG, encoding="utf-8")
        yield Bank(root, db, config, audit, key, pub, svc, token)
