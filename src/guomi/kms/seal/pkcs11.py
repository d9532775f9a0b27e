"""The ``pkcs11`` seal: the master key wrapped by a key that never leaves a PKCS#11 token (an HSM).

Layer: ``guomi.kms.seal``.  Banks' key-management rules put the root of trust in a certified
cryptographic device.  With this seal, ``sys/init`` still creates the master key and splits
it into Shamir shares (they become **recovery shares**, kept by custodians for the day the
device is lost), and the master key is also encrypted inside the token, under a
non-extractable key (``CKM_AES_GCM``, 96-bit random IV, AD = the record's path and format),
and stored at :data:`WRAPPED_MASTER_PATH`.  At every start the server asks the token to
decrypt it and unseals itself; if the token is missing, locked or refuses, the server says so
in one line and stays sealed (custodians can still unseal with the recovery shares).

Certified devices (GM/T 0018 "SDF" cards and network HSMs) are reached through the vendor's
PKCS#11 module; see docs/operations.md.  Tested against SoftHSM2 (Debian's ``softhsm2``).

The binding is ``python-pkcs11`` (pinned in the ``hsm`` extra), imported only when this seal
is used.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path
from typing import Any

from guomi.exceptions import GuomiError
from guomi.kms.seal import shamir

__all__ = ["WRAPPED_MASTER_PATH", "Pkcs11Seal", "SealDeviceError", "auto_unseal", "store_wrapped_master"]

#: Storage record of the token-wrapped master key (not barrier-encrypted: the token's key is
#: its protection, as the keyring's is the master key).
WRAPPED_MASTER_PATH = "core/seal-pkcs11"
_FORMAT = 1
_AD = b"guomi/seal/pkcs11/v1\x00" + WRAPPED_MASTER_PATH.encode()
_IV_SIZE = 12


class SealDeviceError(GuomiError):
    """The PKCS#11 module, token or key is unavailable or refused; the message says which
    (never the PIN)."""


class Pkcs11Seal:
    """Wraps and unwraps the master key with a secret key inside a PKCS#11 token."""

    def __init__(self, *, module: Path | str, token_label: str, pin: str | None, key_label: str) -> None:
        self.module = str(module)
        self.token_label = token_label
        self._pin = pin
        self.key_label = key_label
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Pkcs11Seal(module={self.module!r}, token={self.token_label!r}, key={self.key_label!r})"

    def _session(self) -> Any:
        try:
            import pkcs11  # noqa: PLC0415 - the hsm extra, only for this seal
        except ImportError:
            raise SealDeviceError('the pkcs11 seal needs python-pkcs11: pip install "guomi[hsm]"') from None
        if not Path(self.module).is_file():
            raise SealDeviceError(f"PKCS#11 module {self.module} not found")
        try:
            lib = pkcs11.lib(self.module)
        except Exception as exc:
            raise SealDeviceError(f"cannot load PKCS#11 module {self.module}: {type(exc).__name__}") from None
        try:
            token = lib.get_token(token_label=self.token_label)
        except pkcs11.exceptions.NoSuchToken:
            raise SealDeviceError(f"no PKCS#11 token labelled {self.token_label!r} is present") from None
        except pkcs11.exceptions.PKCS11Error as exc:
            raise SealDeviceError(f"token {self.token_label!r} unavailable: {type(exc).__name__}") from None
        if not self._pin:
            raise SealDeviceError("no PIN for the PKCS#11 token (pkcs11_pin_file or GUOMI_PKCS11_PIN)")
        try:
            return token.open(user_pin=self._pin, rw=True)
        except pkcs11.exceptions.PinIncorrect:
            raise SealDeviceError(f"token {self.token_label!r} refused the PIN") from None
        except pkcs11.exceptions.PKCS11Error as exc:
            raise SealDeviceError(
                f"cannot open a session on {self.token_label!r}: {type(exc).__name__}"
            ) from None

    def _key(self, session: Any, *, create: bool) -> Any:
        import pkcs11  # noqa: PLC0415

        try:
            return session.get_key(
                object_class=pkcs11.ObjectClass.SECRET_KEY, key_type=pkcs11.KeyType.AES, label=self.key_label
            )
        except pkcs11.exceptions.NoSuchKey:
            if not create:
                raise SealDeviceError(
                    f"no key labelled {self.key_label!r} in token {self.token_label!r}"
                ) from None
        except pkcs11.exceptions.MultipleObjectsReturned:
            raise SealDeviceError(f"several keys labelled {self.key_label!r}: keep exactly one") from None
        # A fresh AES-256 key, generated inside the token, never extractable.
        attr = pkcs11.Attribute
        return session.generate_key(
            pkcs11.KeyType.AES,
            256,
            label=self.key_label,
            store=True,
            template={
                attr.SENSITIVE: True,
                attr.EXTRACTABLE: False,
                attr.ENCRYPT: True,
                attr.DECRYPT: True,
                attr.TOKEN: True,
            },
        )

    def wrap(self, master: bytes) -> bytes:
        """The stored form of ``master`` (creates the token key on first use)."""
        import pkcs11  # noqa: PLC0415

        iv = os.urandom(_IV_SIZE)
        with self._lock, self._session() as session:
            key = self._key(session, create=True)
            try:
                sealed = key.encrypt(
                    master, mechanism=pkcs11.Mechanism.AES_GCM, mechanism_param=pkcs11.GCMParams(iv, _AD, 128)
                )
            except pkcs11.exceptions.PKCS11Error as exc:
                raise SealDeviceError(f"the token refused to encrypt: {type(exc).__name__}") from None
        return json.dumps(
            {"format": _FORMAT, "key_label": self.key_label, "iv": _b64(iv), "sealed": _b64(bytes(sealed))}
        ).encode()

    def unwrap(self, blob: bytes) -> bytes:
        """The master key from its stored form; :class:`SealDeviceError` if the token cannot."""
        import pkcs11  # noqa: PLC0415

        try:
            doc = json.loads(blob)
            if doc["format"] != _FORMAT:
                raise ValueError
            iv, sealed = base64.b64decode(doc["iv"]), base64.b64decode(doc["sealed"])
        except (ValueError, KeyError, TypeError):
            raise SealDeviceError(f"{WRAPPED_MASTER_PATH} is malformed") from None
        with self._lock, self._session() as session:
            key = self._key(session, create=False)
            try:
                return bytes(
                    key.decrypt(
                        sealed,
                        mechanism=pkcs11.Mechanism.AES_GCM,
                        mechanism_param=pkcs11.GCMParams(iv, _AD, 128),
                    )
                )
            except pkcs11.exceptions.PKCS11Error as exc:
                raise SealDeviceError(
                    f"the token's key {self.key_label!r} does not open the stored master key "
                    f"({type(exc).__name__}): wrong token or key"
                ) from None


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def store_wrapped_master(storage: Any, seal: Pkcs11Seal, shares_b64: list[str], threshold: int) -> None:
    """After ``sys/init``: rebuild the master key from ``threshold`` of the fresh shares,
    have the token wrap it, store the result (create-only: never over an existing one)."""
    from guomi.kms.storage import Put  # noqa: PLC0415

    shares = [base64.b64decode(s) for s in shares_b64[:threshold]]
    master = shamir.combine(shares)
    try:
        blob = seal.wrap(master)
    finally:
        del master
    storage.commit([Put(WRAPPED_MASTER_PATH, blob, 0)])


def auto_unseal(engine: Any, seal: Pkcs11Seal) -> bool:
    """Unseals ``engine`` with the token; False when there is nothing to unseal with
    (not initialised, or initialised without the HSM), :class:`SealDeviceError` when the
    token cannot (the engine stays sealed)."""
    from guomi import api  # noqa: PLC0415

    if not engine.is_initialized() or not engine.sealed:
        return False
    rec = engine.storage.get(WRAPPED_MASTER_PATH)
    if rec is None:
        return False
    master = seal.unwrap(rec.value)
    status = engine.seal_status()
    threshold = int(status.t)
    # Any `threshold` points of ANY polynomial whose constant term is the master key
    # rebuild it, so fresh shares of it drive the ordinary unseal (which verifies the key by
    # opening the keyring, as for custodians' shares).
    fresh = shamir.split(master, max(threshold, 1), threshold)
    del master
    engine.unseal(api.UnsealRequest(reset=True))
    for share in fresh:
        result = engine.unseal(api.UnsealRequest(key=share))
        if not result.sealed:
            return True
    raise SealDeviceError("the token's master key does not open this installation's keyring")
