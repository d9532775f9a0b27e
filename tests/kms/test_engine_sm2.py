"""SM2 keys in the engine: sign/verify with user IDs, public keys in metadata, sm2-encrypt tokens.

The signature inside a token is plain DER that OpenSSL verifies with the PEM
public key from the key's metadata and the same distinguishing ID.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from guomi import api
from guomi.api import parse_text
from guomi.kms.errors import BadRequestError, DecryptionFailedError
from guomi.kms.service import Caller, Engine
from guomi.primitives import sm2
from guomi.primitives.serialization import load_pem_public_key


def _sig_der(token: str) -> bytes:
    _, blob = parse_text(token)
    return blob[6:]


def test_sign_verify_default_and_explicit_user_id(engine: Engine, root: Caller) -> None:
    info = engine.create_key(root, "signer", api.CreateKeyRequest(type="sm2-sign"))
    assert info.supports_signing and not info.supports_encryption
    pem = info.keys["1"].public_key
    assert pem is not None and pem.startswith("-----BEGIN PUBLIC KEY-----")
    s = engine.sign(root, "signer", api.SignRequest(input=b"message")).signature
    assert s is not None and s.startswith("guomi:v1:1:")
    assert engine.verify(root, "signer", api.VerifyRequest(input=b"message", signature=s)).valid
    assert not engine.verify(root, "signer", api.VerifyRequest(input=b"messagE", signature=s)).valid
    # The default ID is 1234567812345678 (GB/T 35276): an explicit one must match at verify.
    assert engine.verify(
        root, "signer", api.VerifyRequest(input=b"message", signature=s, user_id="1234567812345678")
    ).valid
    assert not engine.verify(
        root, "signer", api.VerifyRequest(input=b"message", signature=s, user_id="alice@bank")
    ).valid
    s2 = engine.sign(root, "signer", api.SignRequest(input=b"m", user_id="alice@bank")).signature
    assert s2 is not None
    assert engine.verify(
        root, "signer", api.VerifyRequest(input=b"m", signature=s2, user_id="alice@bank")
    ).valid
    assert not engine.verify(root, "signer", api.VerifyRequest(input=b"m", signature=s2)).valid
    # The DER verifies with the library's own public key object from the published PEM.
    pub = load_pem_public_key(pem.encode())
    assert isinstance(pub, sm2.SM2PublicKey)
    pub.verify(_sig_der(s2), b"m", user_id=b"alice@bank")


def test_sign_rotation_and_batch(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "signer", api.CreateKeyRequest(type="sm2-sign"))
    s1 = engine.sign(root, "signer", api.SignRequest(input=b"a")).signature
    engine.rotate_key(root, "signer")
    res = engine.sign(
        root,
        "signer",
        api.SignRequest(
            batch_input=[
                api.SignItem(input=b"x"),
                api.SignItem(input=b"y", key_version=1),
                api.SignItem(input=b"z", key_version=5),
            ]
        ),
    ).batch_results
    assert res is not None
    assert isinstance(res[0], api.SignResult) and res[0].key_version == 2
    assert isinstance(res[1], api.SignResult) and res[1].key_version == 1
    assert isinstance(res[2], api.BatchItemError)
    v = engine.verify(
        root,
        "signer",
        api.VerifyRequest(
            batch_input=[
                api.VerifyItem(input=b"x", signature=res[0].signature),
                api.VerifyItem(input=b"a", signature=s1),
                api.VerifyItem(input=b"wrong", signature=s1),
                api.VerifyItem(input=b"a", signature="guomi:v1:1:bad"),
            ]
        ),
    ).batch_results
    assert v is not None
    assert [getattr(r, "valid", None) for r in v[:3]] == [True, True, False]
    assert isinstance(v[3], api.BatchItemError)
    engine.configure_key(root, "signer", api.KeyConfigRequest(min_decryption_version=2))
    with pytest.raises(BadRequestError):
        engine.verify(root, "signer", api.VerifyRequest(input=b"a", signature=s1))


def test_sign_rejects_wrong_key_types(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "aead", api.CreateKeyRequest())
    engine.create_key(root, "enc2", api.CreateKeyRequest(type="sm2-encrypt"))
    for name in ("aead", "enc2"):
        with pytest.raises(BadRequestError):
            engine.sign(root, name, api.SignRequest(input=b"x"))


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_openssl_verifies_service_signature(engine: Engine, root: Caller, tmp_path: Path) -> None:
    info = engine.create_key(root, "signer", api.CreateKeyRequest(type="sm2-sign"))
    pem = info.keys["1"].public_key
    assert pem is not None
    msg = b"payment 42 CNY to account 6222"
    s = engine.sign(root, "signer", api.SignRequest(input=msg, user_id="1234567812345678")).signature
    assert s is not None
    (tmp_path / "pub.pem").write_text(pem)
    (tmp_path / "msg").write_bytes(msg)
    (tmp_path / "sig").write_bytes(_sig_der(s))
    out = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(tmp_path / "pub.pem"),
            "-rawin",
            "-digest",
            "sm3",
            "-in",
            str(tmp_path / "msg"),
            "-sigfile",
            str(tmp_path / "sig"),
            "-pkeyopt",
            "distid:1234567812345678",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr + out.stdout


def test_sm2_encrypt_tokens(engine: Engine, root: Caller) -> None:
    info = engine.create_key(root, "pke", api.CreateKeyRequest(type="sm2-encrypt"))
    assert info.supports_encryption and info.keys["1"].public_key
    ct = engine.encrypt(
        root, "pke", api.EncryptRequest(plaintext=b"card 6222", associated_data=b"row-9")
    ).ciphertext
    assert ct is not None and ct.startswith("guomi:v1:1:")
    _, blob = parse_text(ct)
    assert blob[1] == 0x03
    assert engine.decrypt(
        root, "pke", api.DecryptRequest(ciphertext=ct, associated_data=b"row-9")
    ).plaintext == (b"card 6222")
    with pytest.raises(DecryptionFailedError):
        engine.decrypt(root, "pke", api.DecryptRequest(ciphertext=ct, associated_data=b"row-8"))
    raw = bytearray(blob)
    raw[-1] ^= 1
    bad = "guomi:v1:1:" + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(DecryptionFailedError):
        engine.decrypt(root, "pke", api.DecryptRequest(ciphertext=bad, associated_data=b"row-9"))
    engine.create_key(root, "pke2", api.CreateKeyRequest(type="sm2-encrypt"))
    with pytest.raises(DecryptionFailedError):
        engine.decrypt(root, "pke2", api.DecryptRequest(ciphertext=ct, associated_data=b"row-9"))
    dk = engine.datakey(root, "pke", "plaintext", api.DatakeyRequest())
    assert engine.decrypt(root, "pke", api.DecryptRequest(ciphertext=dk.ciphertext)).plaintext == dk.plaintext
    engine.rotate_key(root, "pke")
    rw = engine.rewrap(root, "pke", api.RewrapRequest(ciphertext=ct, associated_data=b"row-9"))
    assert rw.key_version == 2


def test_sm2_backup_restore_keeps_keys(engine: Engine, root: Caller) -> None:
    engine.create_key(root, "signer", api.CreateKeyRequest(type="sm2-sign"))
    s = engine.sign(root, "signer", api.SignRequest(input=b"doc")).signature
    pem = engine.read_key(root, "signer").keys["1"].public_key
    blob = engine.backup_key(root, "signer").backup
    info = engine.restore_key(root, api.RestoreRequest(backup=blob, name="signer-copy"))
    assert info.keys["1"].public_key == pem
    assert engine.verify(root, "signer-copy", api.VerifyRequest(input=b"doc", signature=s)).valid
