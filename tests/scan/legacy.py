"""Legacy ciphertexts made with the real tools (pyca/cryptography, the openssl CLI), for scanner tests.

Shared by the scan and assess tests: each builder returns what the named tool writes
(Spark's ``aes_encrypt`` layouts are IV‖ciphertext‖tag for GCM, IV‖ciphertext for CBC,
bare ciphertext for ECB; MySQL's ``AES_ENCRYPT`` is AES-128-ECB with PKCS#7 padding).
"""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(area: str, birth: str, seq: int) -> str:
    """A resident ID number with its GB 11643-1999 check character."""
    body = f"{area}{birth}{seq:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]


def luhn_complete(prefix: str) -> str:
    """``prefix`` plus the Luhn check digit."""
    for d in "0123456789":
        digits = prefix + d
        total = 0
        for i, c in enumerate(reversed(digits)):
            v = int(c) * (2 if i % 2 else 1)
            total += v - 9 if v > 9 else v
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


def _pad(data: bytes) -> bytes:
    p = padding.PKCS7(128).padder()
    return p.update(data) + p.finalize()


def aes_ecb(key: bytes, data: bytes) -> bytes:
    """MySQL ``AES_ENCRYPT`` (block_encryption_mode aes-128-ecb) / Spark ``aes_encrypt(..., 'ECB')``."""
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(_pad(data)) + enc.finalize()


def spark_cbc(key: bytes, data: bytes) -> bytes:
    """Spark ``aes_encrypt(..., 'CBC')``: IV(16) || ciphertext."""
    iv = os.urandom(16)
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv + enc.update(_pad(data)) + enc.finalize()


def spark_gcm(key: bytes, data: bytes) -> bytes:
    """Spark ``aes_encrypt(..., 'GCM')`` (the default): IV(12) || ciphertext || tag(16)."""
    iv = os.urandom(12)
    return iv + AESGCM(key).encrypt(iv, data, None)


def b64_gcm(key: bytes, data: bytes) -> str:
    """Base64 of IV(12) || AES-GCM ciphertext || tag, as many applications store it."""
    return base64.b64encode(spark_gcm(key, data)).decode()


def fernet_tokens(values: list[bytes]) -> list[str]:
    f = Fernet(Fernet.generate_key())
    return [f.encrypt(v).decode() for v in values]


def rsa_wrapped_keys(tmp: Path, count: int, bits: int = 2048, oaep: bool = True) -> list[bytes]:
    """Data keys wrapped with ``openssl pkeyutl -encrypt`` (RSA-OAEP or PKCS#1 v1.5)."""
    key = tmp / f"rsa{bits}.pem"
    if not key.exists():
        subprocess.run(
            [
                "openssl",
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                f"rsa_keygen_bits:{bits}",
                "-out",
                str(key),
            ],
            check=True,
            capture_output=True,
        )
    out = []
    for i in range(count):
        dek = tmp / f"dek{i}.bin"
        dek.write_bytes(os.urandom(16))
        mode = ["-pkeyopt", "rsa_padding_mode:oaep"] if oaep else []
        res = subprocess.run(
            ["openssl", "pkeyutl", "-encrypt", "-inkey", str(key), "-in", str(dek), *mode],
            check=True,
            capture_output=True,
        )
        out.append(res.stdout)
    return out
