"""Signing and MACs: sign (SM2), verify (SM2 or HMAC-SM3), hmac (HMAC-SM3).

Layer: ``guomi.kms.service`` (internal).  What a key can do and which request
field ``verify`` checks come from its type (:mod:`._keytypes`).
"""

from __future__ import annotations

from typing import Any

from guomi import api
from guomi.api import ErrorCode
from guomi.kms.errors import BadRequestError
from guomi.kms.service import _token
from guomi.kms.service._context import Caller
from guomi.kms.service._keys import KeyOps

__all__ = ["SigningOps"]

#: GB/T 32918.2 leaves ENTL as 16 bits: the user ID is at most 8191 bytes.
_MAX_USER_ID = 8191


def _user_id(user_id: str | None) -> bytes:
    uid = (user_id if user_id is not None else api.DEFAULT_SM2_USER_ID).encode("utf-8")
    if len(uid) > _MAX_USER_ID:
        raise BadRequestError(f"user_id: at most {_MAX_USER_ID} bytes", field="user_id")
    return uid


class SigningOps(KeyOps):
    """``sign``, ``verify``, ``hmac``."""

    def sign(self, caller: Caller, name: str, req: api.SignRequest) -> api.SignResponse:
        """``POST sign/{name}``: SM2 (GB/T 32918.2) with the request's or the default user ID."""
        with self._op(caller, "sign", f"sign/{name}", name, ("sign",)) as extra:
            meta, _ = self._key_for(name, "sign", rotate=True)
            material = self._material_memo(meta)
            # A top-level user_id applies to batch items that give none.
            default_uid = req.user_id

            def one(item: Any) -> api.SignResult:
                if item.input is None:
                    raise BadRequestError("input: required", field="input")
                v = self._encryption_version(meta, item.key_version)
                uid = _user_id(item.user_id if item.user_id is not None else default_uid)
                sig = material(v).sign(item.input, uid)
                return api.SignResult(
                    signature=sig, key_version=v, reference=getattr(item, "reference", None)
                )

            single_fields = ("input",)
            single, batch = self._batch(req, req.batch_input, single_fields, one)
            extra["key_version"] = meta.latest
            if batch is not None:
                extra["batch"] = len(batch)
                return api.SignResponse(batch_results=batch)
            assert single is not None
            return api.SignResponse(signature=single.signature, key_version=single.key_version)

    def verify(self, caller: Caller, name: str, req: api.VerifyRequest) -> api.VerifyResponse:
        """``POST verify/{name}``: an SM2 ``signature`` or an HMAC-SM3 ``hmac``, as the key's type says."""
        with self._op(caller, "verify", f"verify/{name}", name, ("verify",)) as extra:
            meta, kt = self._key_for(name, "verify")
            material = self._material_memo(meta)
            tag_field = kt.verify_field or "signature"
            other_field = "hmac" if tag_field == "signature" else "signature"
            default_uid = req.user_id

            def one(item: Any) -> api.VerifyResult:
                if item.input is None:
                    raise BadRequestError("input: required", field="input")
                text = getattr(item, tag_field)
                if text is None or getattr(item, other_field) is not None:
                    raise BadRequestError(f"{tag_field}: required for an {kt.name} key", field=tag_field)
                v, tag = _token.parse_signature(text, kt.name, tag_field)
                if v > meta.latest or v < meta.min_decryption_version:
                    raise BadRequestError(
                        f"{tag_field}: key version unavailable (below min_decryption_version or unknown)",
                        code=ErrorCode.KEY_VERSION_DISABLED,
                        field=tag_field,
                    )
                uid = _user_id(item.user_id if item.user_id is not None else default_uid)
                ok = material(v).verify(tag, item.input, uid)
                return api.VerifyResult(valid=ok, reference=getattr(item, "reference", None))

            single, batch = self._batch(req, req.batch_input, ("input", "signature", "hmac"), one)
            if batch is not None:
                extra["batch"] = len(batch)
                return api.VerifyResponse(batch_results=batch)
            assert single is not None
            extra["valid"] = single.valid
            return api.VerifyResponse(valid=single.valid)

    def hmac(self, caller: Caller, name: str, req: api.HmacRequest) -> api.HmacResponse:
        """``POST hmac/{name}``: HMAC-SM3 (GB/T 15852.2 / RFC 2104)."""
        with self._op(caller, "hmac", f"hmac/{name}", name, ("hmac",)) as extra:
            meta, _ = self._key_for(name, "hmac", rotate=True)
            material = self._material_memo(meta)

            def one(item: Any) -> api.HmacResult:
                if item.input is None:
                    raise BadRequestError("input: required", field="input")
                v = self._encryption_version(meta, item.key_version)
                return api.HmacResult(
                    hmac=material(v).mac(item.input),
                    key_version=v,
                    reference=getattr(item, "reference", None),
                )

            single, batch = self._batch(req, req.batch_input, ("input",), one)
            extra["key_version"] = meta.latest
            if batch is not None:
                extra["batch"] = len(batch)
                return api.HmacResponse(batch_results=batch)
            assert single is not None
            return api.HmacResponse(hmac=single.hmac, key_version=single.key_version)
