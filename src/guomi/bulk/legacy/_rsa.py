"""RSA-era wrapped data keys: unwrap (RSA-OAEP or PKCS#1 v1.5) and re-wrap to SM2.

Layer: ``guomi.bulk.legacy``. Envelope encryption of the AES/RSA era stored a data key
wrapped by an RSA public key next to (or in front of) the payload. GB/T 39786 judges the
key-protection algorithm separately from the data algorithm: moving the wrap to SM2 is a
change of the wrapped keys only (:class:`RsaToSm2Rewrapper`), the payload is not touched.
Payloads encrypted with AES still need re-encrypting to SM4 (``migrate``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pyarrow as pa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from guomi.bulk._errors import BulkValueError
from guomi.bulk.legacy._base import Encoding, LegacyDecryptor, LegacyFormatError
from guomi.primitives.sm2 import SM2PublicKey

__all__ = ["RsaToSm2Rewrapper", "RsaWrappedKeyDecryptor"]

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class RsaWrappedKeyDecryptor(LegacyDecryptor):
    """Unwraps RSA-wrapped data keys: ``padding`` ``"oaep"`` (``oaep_hash``: sha1 as OpenSSL's
    default, or sha256/384/512) or ``"pkcs1v15"``; ``private_key`` PEM (optionally ``password``).

    PKCS#1 v1.5 decryption uses implicit rejection (OpenSSL 3.2+, the Marvin-attack fix): a
    wrong key or a damaged value gives random bytes rather than an error, so check unwrapped
    keys against their payload (decrypt one value) before re-wrapping a whole column.
    """

    name = "rsa-wrapped key"

    def __init__(
        self,
        private_key: bytes,
        padding: Literal["oaep", "pkcs1v15"] = "oaep",
        oaep_hash: str = "sha1",
        password: bytes | None = None,
        encoding: Encoding | None = None,
    ) -> None:
        super().__init__(encoding)
        # kept to rebuild the key in another process (Spark/Dask tasks carry the decryptor in
        # their closure, as they carry a job's local keyset); never shown (repr hides the key)
        self._pem, self._password = bytes(private_key), password
        self._padding_name, self._oaep_hash = padding, oaep_hash
        try:
            key = serialization.load_pem_private_key(private_key, password=password)
        except (ValueError, TypeError):
            raise LegacyFormatError("not an RSA private key in PEM (or a wrong password)") from None
        if not isinstance(key, RSAPrivateKey):
            raise LegacyFormatError("not an RSA private key")
        self._key = key
        if padding == "oaep":
            if oaep_hash not in _HASHES:
                raise LegacyFormatError(f"unknown OAEP hash {oaep_hash!r}")
            digest = _HASHES[oaep_hash]()
            self._padding: rsa_padding.AsymmetricPadding = rsa_padding.OAEP(
                mgf=rsa_padding.MGF1(digest), algorithm=digest, label=None
            )
        elif padding == "pkcs1v15":
            self._padding = rsa_padding.PKCS1v15()
        else:
            raise LegacyFormatError("padding is oaep or pkcs1v15")
        self.name = f"rsa-{padding} wrapped key"

    def __getstate__(self) -> dict[str, object]:
        """Picklable (pyca key objects are not): the PEM and settings, the key rebuilt on load."""
        return {
            "pem": self._pem,
            "password": self._password,
            "padding": self._padding_name,
            "oaep_hash": self._oaep_hash,
            "encoding": self.encoding,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["pem"],
            padding=state["padding"],
            oaep_hash=state["oaep_hash"],
            password=state["password"],
            encoding=state["encoding"],
        )

    @property
    def modulus_bytes(self) -> int:
        """The size of every value this key wrapped (the RSA modulus, in bytes)."""
        return int(self._key.key_size // 8)

    def decrypt_bytes(self, raw: bytes) -> bytes:
        if len(raw) != self._key.key_size // 8:
            raise LegacyFormatError("length is not the RSA modulus size")
        try:
            return self._key.decrypt(raw, self._padding)
        except ValueError:
            raise LegacyFormatError("RSA decryption failed") from None


class RsaToSm2Rewrapper:
    """Re-wraps RSA-wrapped data keys to SM2 (GB/T 32918.4 encryption, DER layout by default).

    Pass one as ``legacy=`` to ``Job(..., operation="rewrap")`` (``guomi table rewrap``) to
    re-wrap whole columns: text columns keep the encoding of the unwrap decryptor (base64 by
    default, or hex), binary columns hold the raw SM2 ciphertext. Values that already are SM2
    ciphertexts (not the RSA modulus size, and shaped as the layout says) are skipped and
    counted, so a re-run never fails on what an earlier run did.
    """

    def __init__(
        self, unwrap: RsaWrappedKeyDecryptor, sm2_public_key: SM2PublicKey, layout: str = "der"
    ) -> None:
        if layout not in ("der", "c1c3c2", "c1c2c3"):
            raise LegacyFormatError(f"unknown SM2 ciphertext layout {layout!r} (der, c1c3c2 or c1c2c3)")
        self.unwrap = unwrap
        self.public_key = sm2_public_key
        self.layout = layout

    def __getstate__(self) -> dict[str, object]:
        """Picklable for Spark/Dask tasks: the SM2 public key as its encoded point."""
        return {"unwrap": self.unwrap, "point": self.public_key.public_bytes_raw(), "layout": self.layout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.unwrap = state["unwrap"]
        self.public_key = SM2PublicKey.from_encoded_point(state["point"])
        self.layout = state["layout"]

    def is_rewrapped(self, raw: bytes) -> bool:
        """True when ``raw`` (decoded) is shaped as an SM2 ciphertext of this layout, not an
        RSA-wrapped value (those are exactly the modulus size)."""
        if len(raw) == self.unwrap.modulus_bytes:
            return False
        if self.layout != "der":
            return len(raw) > 97 and raw[0] == 0x04  # C1 uncompressed point, then C3/C2
        return _der_sequence_spans(raw)

    def rewrap(self, wrapped: str | bytes) -> bytes:
        """The SM2 ciphertext of the data key inside ``wrapped``."""
        return self.public_key.encrypt(self.unwrap.decrypt(wrapped), self.layout)  # type: ignore[arg-type]

    def rewrap_bytes(self, raw: bytes) -> bytes:
        """The SM2 ciphertext of the data key in the decoded RSA-wrapped value ``raw``."""
        return self.public_key.encrypt(self.unwrap.decrypt_bytes(raw), self.layout)  # type: ignore[arg-type]

    def rewrap_array(self, array: pa.Array, *, first_row: int = 0, column: str | None = None) -> pa.Array:
        """A binary array of SM2-wrapped keys for an array of RSA-wrapped ones (nulls kept)."""
        keys = self.unwrap.decrypt_array(array, first_row=first_row, column=column)
        out = []
        for i, key in enumerate(keys.to_pylist()):
            try:
                out.append(None if key is None else self.public_key.encrypt(key, self.layout))  # type: ignore[arg-type]
            except ValueError as exc:
                raise BulkValueError(f"SM2 wrap failed: {exc}", row=first_row + i, column=column) from None
        return pa.array(out, type=pa.binary())


def _der_sequence_spans(raw: bytes) -> bool:
    """A DER SEQUENCE whose length field covers exactly ``raw`` (the SM2 ``der`` layout)."""
    if len(raw) < 2 or raw[0] != 0x30:
        return False
    first = raw[1]
    if first < 0x80:
        return 2 + first == len(raw)
    count = first & 0x7F
    if count == 0 or count > 4 or len(raw) < 2 + count:
        return False
    return 2 + count + int.from_bytes(raw[2 : 2 + count], "big") == len(raw)
