"""The pack's manifest: SM3 digests of every file, signed with SM2; and its verification.

Layer: ``guomi.assess``. ``manifest.json`` lists every other file of the pack with its size
and SM3 digest (GB/T 32905), plus the signer's public key fingerprint; ``manifest.json.sig``
is the DER SM2 signature (GB/T 32918.2, SM3 with Z_A over the default user ID
``1234567812345678``) over the exact bytes of ``manifest.json``, so

    openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:1234567812345678 \\
        -pubin -inkey pub.pem -in manifest.json -sigfile manifest.json.sig

checks it. :func:`verify_pack` checks the signature and then every digest, and refuses any
file in the directory that the manifest does not list.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guomi.exceptions import InvalidSignature
from guomi.primitives import sm2, sm3
from guomi.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

__all__ = ["MANIFEST", "PUBLIC_KEY", "SIGNATURE", "USER_ID", "VerifyResult", "verify_pack", "write_manifest"]

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
PUBLIC_KEY = "pub.pem"
USER_ID = b"1234567812345678"


def _sm3_file(path: Path) -> str:
    h = sm3.SM3()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _pack_files(out: Path) -> list[Path]:
    return sorted(
        p
        for p in out.rglob("*")
        if p.is_file() and p.relative_to(out).as_posix() not in (MANIFEST, SIGNATURE)
    )


def write_manifest(out: Path, key: sm2.SM2PrivateKey, extra: dict[str, Any]) -> bytes:
    """Writes ``pub.pem``, ``manifest.json`` (digests of every file in ``out``) and its signature."""
    pub_pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    (out / PUBLIC_KEY).write_bytes(pub_pem)
    files = [
        {"path": p.relative_to(out).as_posix(), "size": p.stat().st_size, "sm3": _sm3_file(p)}
        for p in _pack_files(out)
    ]
    manifest = {
        "format": "guomi-assess-manifest/v1",
        "digest": "SM3 (GB/T 32905)",
        "signature": {
            "algorithm": "SM2 with SM3 (GB/T 32918.2), DER",
            "user_id": USER_ID.decode(),
            "file": SIGNATURE,
            "public_key": PUBLIC_KEY,
            "public_key_sm3": sm3.digest(key.public_key().public_bytes_raw()).hex(),
        },
        **extra,
        "files": files,
    }
    data = (json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
    (out / MANIFEST).write_bytes(data)
    (out / SIGNATURE).write_bytes(key.sign(data, user_id=USER_ID))
    return data


@dataclass(slots=True)
class VerifyResult:
    """Outcome of :func:`verify_pack`: ``ok`` only if the signature and every digest hold."""

    ok: bool
    signature_ok: bool
    files_checked: int = 0
    problems: list[str] = field(default_factory=list)
    public_key_sm3: str | None = None


def verify_pack(directory: str | os.PathLike[str], public_key_pem: bytes | None = None) -> VerifyResult:
    """Checks a pack. ``public_key_pem`` pins the signer; without it the pack's own ``pub.pem`` is
    used (then compare the printed fingerprint with the one the signer published)."""
    out = Path(directory)
    problems: list[str] = []
    try:
        data = (out / MANIFEST).read_bytes()
        sig = (out / SIGNATURE).read_bytes()
        pem = public_key_pem if public_key_pem is not None else (out / PUBLIC_KEY).read_bytes()
        pub = load_pem_public_key(pem)
    except (OSError, ValueError) as exc:
        return VerifyResult(False, False, problems=[f"cannot read the manifest, signature or key: {exc}"])
    fingerprint = sm3.digest(pub.public_bytes_raw()).hex()
    try:
        pub.verify(sig, data, user_id=USER_ID)
        signature_ok = True
    except (InvalidSignature, ValueError):
        signature_ok = False
        problems.append(f"{SIGNATURE}: the SM2 signature over {MANIFEST} does not verify")
    try:
        manifest = json.loads(data)
        listed = {f["path"]: f for f in manifest["files"]}
    except (ValueError, KeyError, TypeError):
        return VerifyResult(False, signature_ok, problems=[*problems, f"{MANIFEST}: not a guomi manifest"])
    checked = 0
    for rel, entry in listed.items():
        p = out / rel
        if ".." in Path(rel).parts or not p.is_file():
            problems.append(f"{rel}: listed in the manifest but missing")
            continue
        checked += 1
        if _sm3_file(p) != entry.get("sm3") or p.stat().st_size != entry.get("size"):
            problems.append(f"{rel}: SM3 digest differs from the manifest (file changed)")
    for p in _pack_files(out):
        rel = p.relative_to(out).as_posix()
        if rel not in listed:
            problems.append(f"{rel}: not listed in the manifest (file added)")
    return VerifyResult(not problems and signature_ok, signature_ok, checked, problems, fingerprint)
