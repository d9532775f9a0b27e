"""`guomi assess` at scale: a pack for 100 tables sampling 1,000 rows per column (issue 14, "Speed").

Builds a SQLite database of 100 tables x 1,000 rows with five columns each — an integer key,
guomi field values (``gm1.``), plaintext mobile numbers, AES-ECB card numbers (MySQL
``AES_ENCRYPT`` layout) and base64 AES-GCM memos — plus an in-process custody service with
keys and an audit log, then times the whole pack (scan, service, audit chain, analysis,
report.html, report.pdf with headless Chromium when installed, SM3 manifest + SM2 signature).

Same-run anchor: the I/O floor, i.e. reading the same samples with ``sqlite3`` and doing
nothing with them; the ratio says how much the classification and the pack cost on top.
Target: the whole pack in < 60 s on this 2-core machine.

    PYTHONPATH=src .venv/bin/python bench/bench_assess.py [--tables 100] [--rows 1000] [--no-pdf]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.scan.service: the in-process custody service

from cryptography.hazmat.primitives import padding  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from tests.scan.service import service  # noqa: E402

from guomi.assess import assess  # noqa: E402
from guomi.fields import Field, LocalKeyring  # noqa: E402
from guomi.keys import Keyset  # noqa: E402
from guomi.primitives import sm2  # noqa: E402
from guomi.primitives.serialization import Encoding, NoEncryption, PrivateFormat  # noqa: E402


def build_database(path: Path, tables: int, rows: int) -> None:
    field = Field("t", "id_no", LocalKeyring(Keyset.generate()))
    ecb = Cipher(algorithms.AES(os.urandom(16)), modes.ECB()).encryptor()  # the legacy format measured
    gcm = AESGCM(os.urandom(16))
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        for t in range(tables):
            conn.execute(
                f"CREATE TABLE t{t:03d} "
                "(id INTEGER PRIMARY KEY, id_no TEXT, mobile TEXT, card BLOB, memo TEXT)"
            )
            ids = field.encrypt_many([f"1101051980010{i:05d}" for i in range(rows)])
            data = []
            for i in range(rows):
                p = padding.PKCS7(128).padder()
                card = ecb.update(
                    p.update(f"622202{(t * rows + i) * 7919 % 10**12:012d}1".encode()) + p.finalize()
                )
                nonce = os.urandom(12)
                memo = base64.b64encode(nonce + gcm.encrypt(nonce, f"memo {i}".encode(), None)).decode()
                data.append((ids[i], f"138{(t * rows + i) % 10**8:08d}", card, memo))
            conn.executemany(f"INSERT INTO t{t:03d} (id_no, mobile, card, memo) VALUES (?, ?, ?, ?)", data)


def read_floor(path: Path, tables: int, rows: int) -> float:
    """The anchor: read every sample the scanner reads, with the same query, and nothing else."""
    start = time.perf_counter()
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        for t in range(tables):
            q = (
                f"SELECT * FROM t{t:03d} WHERE rowid IN "
                f"(SELECT rowid FROM t{t:03d} ORDER BY random() LIMIT ?)"
            )
            conn.execute(q, (rows,)).fetchall()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", type=int, default=100)
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--no-pdf", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="guomi-bench-assess-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        build_database(root / "bank.db", args.tables, args.rows)
        setup = time.perf_counter() - t0
        key = sm2.generate_private_key()
        (root / "signer.pem").write_bytes(
            key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        )
        (root / "app.properties").write_text(f"sm4.key={os.urandom(16).hex()}\n")
        with service(root / "audit.log") as svc:
            for name in ("pii", "cards", "archive"):
                svc.call("POST", f"keys/{name}", {})
            for i in range(300):
                svc.encrypt("pii", f"value {i}".encode())
            svc.call("POST", "keys/pii/rotate")
            token = svc.token(
                "audit", [{"pattern": "*", "capabilities": ["read", "list", "rewrap"]}], "assessor"
            )
            (root / "assess.toml").write_text(
                '[system]\nname = "bench"\nlevel = 3\n\n[service]\naddr = "http://guomi.test"\n'
                'audit_log = "audit.log"\n\n[[databases]]\nurl = "sqlite:///bank.db"\n\n'
                '[[files]]\npath = "app.properties"\n\n[signing]\nkey = "signer.pem"\n\n'
                f"[sampling]\nrows = {args.rows}\n",
                encoding="utf-8",
            )
            os.environ["GUOMI_TOKEN"] = token
            floor = read_floor(root / "bank.db", args.tables, args.rows)
            cpu0 = time.process_time()
            t1 = time.perf_counter()
            result = assess(root / "assess.toml", root / "pack", transport=svc.transport, pdf=not args.no_pdf)
            total = time.perf_counter() - t1
            cpu = time.process_time() - cpu0
        ev = result.evidence
        timings = ev["sources"]["timings"]
        values = args.tables * args.rows * 5
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(f"setup (not timed): {setup:.1f} s for {args.tables} tables x {args.rows} rows x 5 columns")
        print()
        print("| step | seconds |")
        print("|---|---:|")
        print(f"| anchor: read the samples with sqlite3 only | {floor:.2f} |")
        print(f"| scan (read + classify {values:,} values) | {timings['scan_seconds']:.2f} |")
        print(f"| custody service (keys) | {timings['service_seconds']:.2f} |")
        print(f"| audit log (chain + life cycles) | {timings['audit_seconds']:.2f} |")
        print(f"| **whole pack** (incl. report, PDF: {result.pdf_status.split(':')[0]}) | **{total:.2f}** |")
        print()
        print(
            f"values/s classified: {values / max(timings['scan_seconds'], 1e-9):,.0f}; "
            f"pack / read floor: {total / floor:.1f}x; process CPU {cpu:.1f} s; "
            f"findings {len(ev['findings'])}; target < 60 s: {'met' if total < 60 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
