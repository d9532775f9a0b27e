"""Migration from AES/RSA-era data: legacy values made by the real tools (pyca Fernet and
AES, openssl for RSA-wrapped keys), migrated to SM4 field values and re-wrapped to SM2."""

from __future__ import annotations

import base64
import csv
import os
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from guomi.bulk import BulkValueError, Job
from guomi.bulk.legacy import (
    AesGcmIv12Decryptor,
    FernetDecryptor,
    MySQLAesDecryptor,
    RsaToSm2Rewrapper,
    RsaWrappedKeyDecryptor,
    SparkAesDecryptor,
    VaultTransitDecryptor,
    mysql_fold_key,
)
from guomi.cli import cli
from guomi.fields import Field
from guomi.keys import Keyset
from guomi.primitives import sm2
from tests.bulk.conftest import PASSPHRASE, read_csv

PLAIN = [f"11010519491231{i:03d}X" for i in range(40)] + ["王小明", ""]


def _pad(data: bytes) -> bytes:
    p = padding.PKCS7(128).padder()
    return p.update(data) + p.finalize()


def _aes_ecb(key: bytes, data: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(_pad(data)) + enc.finalize()


def _write(path: Path, values: list[str]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "secret"])
        w.writerows([[i, v] for i, v in enumerate(values)])
    return path


def _migrate_and_check(tmp_path: Path, keyset: Keyset, legacy_values: list[str], decryptor) -> None:
    src = _write(tmp_path / "old.csv", legacy_values)
    out = tmp_path / "new.csv"
    summary = Job(src, out, columns=["secret"], operation="migrate", legacy=decryptor, keyring=keyset).run()
    assert summary.columns["secret"].processed == len(PLAIN)
    field = Field("dataset", "secret", keyset)
    rows = read_csv(out)
    assert [field.decrypt(r["secret"]) for r in rows] == PLAIN
    assert [r["id"] for r in rows] == [str(i) for i in range(len(PLAIN))]


def test_fernet(tmp_path: Path, keyset: Keyset) -> None:
    old, current = Fernet.generate_key(), Fernet.generate_key()
    values = [Fernet(old if i % 2 else current).encrypt(v.encode()).decode() for i, v in enumerate(PLAIN)]
    _migrate_and_check(tmp_path, keyset, values, FernetDecryptor([current, old]))


def test_aes_gcm_iv12_base64(tmp_path: Path, keyset: Keyset) -> None:
    key = AESGCM.generate_key(bit_length=256)
    values = []
    for v in PLAIN:
        iv = os.urandom(12)
        values.append(base64.b64encode(iv + AESGCM(key).encrypt(iv, v.encode(), None)).decode())
    _migrate_and_check(tmp_path, keyset, values, AesGcmIv12Decryptor(key))


def test_vault_transit_tokens(tmp_path: Path, keyset: Keyset) -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    values = []
    for i, v in enumerate(PLAIN):
        version, key = (1, k1) if i % 3 else (2, k2)
        nonce = os.urandom(12)
        values.append(
            f"vault:v{version}:"
            + base64.b64encode(nonce + AESGCM(key).encrypt(nonce, v.encode(), None)).decode()
        )
    _migrate_and_check(
        tmp_path, keyset, values, VaultTransitDecryptor({1: base64.b64encode(k1).decode(), 2: k2})
    )


def test_mysql_aes_encrypt_ecb_with_key_folding(tmp_path: Path, keyset: Keyset) -> None:
    key_string = b"a MySQL key string longer than sixteen bytes"
    folded = mysql_fold_key(key_string)
    assert folded != key_string[:16]
    values = [_aes_ecb(folded, v.encode()).hex().upper() for v in PLAIN]  # HEX(AES_ENCRYPT(...))
    _migrate_and_check(tmp_path, keyset, values, MySQLAesDecryptor(key_string, encoding="hex"))


def test_spark_cbc_and_ecb_binary_parquet(tmp_path: Path, keyset: Keyset) -> None:
    key = os.urandom(16)
    cbc = []
    for v in PLAIN:
        iv = os.urandom(16)
        enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        cbc.append(iv + enc.update(_pad(v.encode())) + enc.finalize())
    ecb = [_aes_ecb(key, v.encode()) for v in PLAIN]
    src = tmp_path / "old.parquet"
    pq.write_table(pa.table({"cbc": pa.array(cbc, pa.binary()), "ecb": pa.array(ecb, pa.binary())}), src)
    out = tmp_path / "new.parquet"
    legacy = {"cbc": SparkAesDecryptor(key, mode="CBC"), "ecb": SparkAesDecryptor(key, mode="ECB")}
    Job(src, out, columns=["cbc", "ecb"], operation="migrate", legacy=legacy, keyring=keyset).run()
    table = pq.read_table(out)
    for col in ("cbc", "ecb"):
        field = Field("dataset", col, keyset)
        assert [field.decrypt(v) for v in table.column(col).to_pylist()] == [v.encode() for v in PLAIN]


def test_wrong_legacy_key_names_row(tmp_path: Path, keyset: Keyset) -> None:
    values = [Fernet(Fernet.generate_key()).encrypt(v.encode()).decode() for v in PLAIN]
    src = _write(tmp_path / "old.csv", values)
    with pytest.raises(BulkValueError, match=r"old\.csv, row 1, column 'secret': fernet"):
        Job(
            src,
            tmp_path / "n.csv",
            columns=["secret"],
            operation="migrate",
            legacy=FernetDecryptor([Fernet.generate_key()]),
            keyring=keyset,
        ).run()
    assert not (tmp_path / "n.csv").exists()


def test_already_migrated_values_skipped(tmp_path: Path, keyset: Keyset) -> None:
    fkey = Fernet.generate_key()
    field = Field("dataset", "secret", keyset)
    values = [
        field.encrypt(v) if i < 10 else Fernet(fkey).encrypt(v.encode()).decode() for i, v in enumerate(PLAIN)
    ]
    src = _write(tmp_path / "old.csv", values)
    summary = Job(
        src,
        tmp_path / "n.csv",
        columns=["secret"],
        operation="migrate",
        legacy=FernetDecryptor([fkey]),
        keyring=keyset,
    ).run()
    assert summary.columns["secret"].skipped == 10
    assert [field.decrypt(r["secret"]) for r in read_csv(tmp_path / "n.csv")] == PLAIN


def test_cli_migrate_fernet(tmp_path: Path, keyset: Keyset) -> None:
    fkey = Fernet.generate_key()
    (tmp_path / "fernet.key").write_bytes(fkey)
    src = _write(tmp_path / "old.csv", [Fernet(fkey).encrypt(v.encode()).decode() for v in PLAIN])
    ks = tmp_path / "ks.json"
    ks.write_text(keyset.to_encrypted_json(passphrase=PASSPHRASE, iterations=100_000))
    result = CliRunner().invoke(
        cli,
        [
            "table",
            "migrate",
            str(src),
            str(tmp_path / "new.csv"),
            "-c",
            "secret",
            "--from",
            "fernet",
            "--legacy-key",
            str(tmp_path / "fernet.key"),
            "--keyset",
            str(ks),
        ],
        env={"GUOMI_PASSPHRASE": PASSPHRASE},
    )
    assert result.exit_code == 0, result.output
    field = Field("dataset", "secret", keyset)
    assert [field.decrypt(r["secret"]) for r in read_csv(tmp_path / "new.csv")] == PLAIN


@pytest.mark.interop
@pytest.mark.parametrize("mode", ["oaep", "pkcs1v15"])
def test_rsa_wrapped_keys_from_openssl_rewrapped_to_sm2(tmp_path: Path, mode: str) -> None:
    priv, pub = tmp_path / "rsa.pem", tmp_path / "rsa.pub"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(priv)],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["openssl", "pkey", "-in", str(priv), "-pubout", "-out", str(pub)], check=True, capture_output=True
    )
    data_keys = [os.urandom(32) for _ in range(5)]
    wrapped = []
    for i, dk in enumerate(data_keys):
        (tmp_path / f"dk{i}").write_bytes(dk)
        opts = (
            ["-pkeyopt", "rsa_padding_mode:oaep"]
            if mode == "oaep"
            else ["-pkeyopt", "rsa_padding_mode:pkcs1"]
        )
        out = subprocess.run(
            [
                "openssl",
                "pkeyutl",
                "-encrypt",
                "-pubin",
                "-inkey",
                str(pub),
                "-in",
                str(tmp_path / f"dk{i}"),
                *opts,
            ],
            check=True,
            capture_output=True,
        ).stdout
        wrapped.append(out)
    unwrap = RsaWrappedKeyDecryptor(priv.read_bytes(), padding=mode)
    assert [unwrap.decrypt(w) for w in wrapped] == data_keys
    sm2_key = sm2.generate_private_key()
    rewrapper = RsaToSm2Rewrapper(unwrap, sm2_key.public_key())
    rewrapped = rewrapper.rewrap_array(pa.array([*wrapped, None], pa.binary()))
    assert rewrapped.null_count == 1
    assert [sm2_key.decrypt(v) for v in rewrapped.to_pylist()[:5]] == data_keys
    if mode == "oaep":  # PKCS#1 v1.5 uses implicit rejection: a wrong key yields random bytes, not an error
        other = tmp_path / "other.pem"
        subprocess.run(
            [
                "openssl",
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                str(other),
            ],
            check=True,
            capture_output=True,
        )
        wrong = RsaToSm2Rewrapper(RsaWrappedKeyDecryptor(other.read_bytes()), sm2_key.public_key())
        with pytest.raises(BulkValueError, match=r"row 0.*RSA decryption failed"):
            wrong.rewrap_array(pa.array(wrapped[:1], pa.binary()))
