"""Vault's transit engine, answered by guomi: ``/v1/transit/...`` as hvac and Vault scripts call it.

Layer: ``guomi.kms.vault`` (translation only).  Each handler reads Vault's
request fields, refuses clearly what has no meaning here (key derivation,
convergent encryption, RSA and ECDSA parameters, exportable keys), calls the
same engine method guomi's own route calls (so authorisation, audit and every
check are the engine's) and answers in Vault's envelope; errors take Vault's
shape through the routes' error style (:class:`~._shapes.VaultErrors`).

What differs from Vault, on purpose (``docs/vault-migration.md``): keys are
guomi's types (``sm4-gcm`` by default; Vault's ``aes256-gcm96`` maps to
``aes-256-gcm``), ciphertexts are guomi tokens (``guomi:v1:...``), ``hash``
defaults to SM3, HMACs are HMAC-SM3 on ``hmac-sm3`` keys, signatures are SM2
(hash SM3) on ``sm2-sign`` keys, data keys are 128-bit SM4 keys.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from guomi import api
from guomi.kms.errors import BadRequestError, ConflictError, NotFoundError
from guomi.kms.http._routes import Call, Reply, validation_error
from guomi.kms.vault._shapes import EMPTY_LIST, envelope, guomi_key_type, key_data, reject_unsupported

__all__ = ["VaultBody", "fields", "model", "reply"]

_NO_DERIVATION = "guomi keys have no key derivation (context) or convergent encryption"
_NOT_EXPORTABLE = "guomi keys never leave the service in the clear (use backup, sealed for this installation)"
_NO_PLAINTEXT_BACKUP = "backups are always sealed for this installation; plaintext backups do not exist"
_RSA_ONLY = "applies to Vault's RSA keys; guomi signs with SM2"
_ECDSA_MARSHAL = "SM2 signatures are DER (asn1) inside guomi's token framing; jws is not offered"


class VaultBody(BaseModel):
    """Any JSON object: Vault's endpoints take loose bodies and ignore what they do not know."""

    model_config = ConfigDict(extra="allow")


def fields(c: Call) -> dict[str, Any]:
    """The request body as a dict (``{}`` for an empty body)."""
    body = c.body
    if isinstance(body, BaseModel):
        return dict(body.model_extra or {})
    return dict(body or {})


def _unknown(body: dict[str, Any], known: set[str]) -> list[str] | None:
    extra = sorted(set(body) - known)
    return [f"Endpoint ignored these unrecognized parameters: {extra}"] if extra else None


def reply(c: Call, data: Any, *, status: int = 200, warnings: list[str] | None = None) -> Reply:
    """Vault's envelope around ``data``."""
    body = envelope(data, request_id=c.ctx.request_id, warnings=warnings)
    return Reply(status, json.dumps(body, separators=(",", ":")).encode())


def model(cls: type[BaseModel], data: dict[str, Any]) -> Any:
    """An ``api`` request model from guomi field names (400 naming the field when invalid)."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def _version(value: Any, fld: str = "key_version") -> int | None:
    # Vault: 0 (or absent) means "the latest".
    if value in (None, 0, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequestError(f"{fld}: must be an integer", field=fld)
    try:
        return int(value)
    except ValueError:
        raise BadRequestError(f"{fld}: must be an integer", field=fld) from None


def _present(value: Any) -> bool:
    return value not in (None, "")


def _batch(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    items = body.get("batch_input")
    if items is None:
        return None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadRequestError("batch_input: must be a list of objects", field="batch_input")
    if not items:
        raise BadRequestError("batch_input: missing batch input to process", field="batch_input")
    return items


def _item(src: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    reject_unsupported(src, context=_NO_DERIVATION, nonce=_NO_DERIVATION)
    # Empty strings are values (an empty message has an HMAC); only null means absent.
    out = {k: src[k] for k in names if src.get(k) is not None}
    if "key_version" in names:
        v = _version(src.get("key_version"))
        if v is None:
            out.pop("key_version", None)
        else:
            out["key_version"] = v
    if _present(src.get("reference")):
        out["reference"] = str(src["reference"])
    return out


def _item_error(exc: BadRequestError, src: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"error": exc.message, "code": exc.code}
    if _present(src.get("reference")):
        out["reference"] = str(src["reference"])
    return out


def _run_batch(
    c: Call,
    body: dict[str, Any],
    items: list[dict[str, Any]],
    spec: tuple[tuple[str, ...], type[BaseModel], type[BaseModel]],
    call: Callable[[Any], Any],
    *,
    keep: tuple[str, ...],
    **extra: Any,
) -> Reply:
    """Runs a ``batch_input``: a malformed item is reported in its place in
    ``batch_results`` (as Vault does) and the others still run."""
    names, item_cls, req_cls = spec
    valid: list[Any] = []
    slots: list[dict[str, Any] | None] = []
    for src in items:
        try:
            valid.append(item_cls.model_validate(_item(src, names)))
            slots.append(None)
        except ValidationError as exc:
            slots.append(_item_error(validation_error(exc), src))
        except BadRequestError as exc:
            slots.append(_item_error(exc, src))
    try:
        resp = call(model(req_cls, {"batch_input": valid, **extra}))
    except NotFoundError as exc:
        raise _crypto_key_missing(exc) from None
    except BadRequestError:
        if valid:
            raise
        # Every item was malformed (the engine refused the empty batch, and audited it).
        return _batch_results(c, [s for s in slots if s is not None], body, keep)
    done = iter(resp.batch_results)
    return _batch_results(c, [next(done) if s is None else s for s in slots], body, keep)


def _batch_results(c: Call, results: list[Any], body: dict[str, Any], keep: tuple[str, ...]) -> Reply:
    out: list[dict[str, Any]] = []
    failed = 0
    for r in results:
        d = r if isinstance(r, dict) else r.model_dump(mode="json", exclude_none=True)
        if "error" in d:
            failed += 1
            out.append(d)
        else:
            out.append({k: d[k] for k in (*keep, "reference") if k in d})
    status = 200
    if failed:
        # Vault: a batch with failed items answers 400, or the caller's
        # partial_failure_response_code when some items succeeded.
        partial = body.get("partial_failure_response_code")
        status = partial if isinstance(partial, int) and 200 <= partial < 600 and failed < len(out) else 400
    return reply(c, {"batch_results": out}, status=status)


def _crypto_key_missing(exc: NotFoundError) -> BadRequestError:
    # Vault answers 400 "encryption key not found" on the crypto paths (404 is for reads).
    return BadRequestError(f"encryption key not found ({exc.message})", code="not_found")


# ------------------------------------------------------------------ keys


def create_key(c: Call) -> Reply:
    """``POST transit/keys/:name``; an existing key is left as it is (Vault's upsert)."""
    body = fields(c)
    reject_unsupported(
        body,
        derived=_NO_DERIVATION,
        convergent_encryption=_NO_DERIVATION,
        exportable=_NOT_EXPORTABLE,
        allow_plaintext_backup=_NO_PLAINTEXT_BACKUP,
        key_size="guomi key sizes are fixed by the algorithm",
        managed_key_name="managed keys are not offered",
        managed_key_id="managed keys are not offered",
    )
    req: dict[str, Any] = {"type": guomi_key_type(body.get("type"))}
    for fld in ("auto_rotate_period", "deletion_allowed"):
        if body.get(fld) is not None:
            req[fld] = body[fld]
    try:
        info = c.engine.create_key(c.who, c.name, model(api.CreateKeyRequest, req))
    except ConflictError as exc:
        if exc.code != "key_exists":
            raise
        info = c.engine.read_key(c.who, c.name)
    known = {"type", "auto_rotate_period", "deletion_allowed", "derived", "convergent_encryption",
             "exportable", "allow_plaintext_backup", "key_size"}  # fmt: skip
    return reply(c, key_data(info), warnings=_unknown(body, known))


def read_key(c: Call) -> Reply:
    """``GET transit/keys/:name``."""
    return reply(c, key_data(c.engine.read_key(c.who, c.name)))


def list_keys(c: Call) -> Reply:
    """``LIST transit/keys`` or ``GET transit/keys?list=true``; none: 404 ``{"errors": []}``."""
    keys = c.engine.list_keys(c.who).keys
    if not keys:
        return Reply(404, EMPTY_LIST)
    return reply(c, {"keys": keys})


def delete_key(c: Call) -> Reply:
    """``DELETE transit/keys/:name``."""
    c.engine.delete_key(c.who, c.name)
    return Reply(204, b"")


def rotate_key(c: Call) -> Reply:
    """``POST transit/keys/:name/rotate``."""
    return reply(c, key_data(c.engine.rotate_key(c.who, c.name)))


def configure_key(c: Call) -> Reply:
    """``POST transit/keys/:name/config``: the fields whose meaning carries over."""
    body = fields(c)
    reject_unsupported(body, exportable=_NOT_EXPORTABLE, allow_plaintext_backup=_NO_PLAINTEXT_BACKUP)
    req: dict[str, Any] = {}
    for fld in ("min_decryption_version", "min_encryption_version", "deletion_allowed", "auto_rotate_period"):
        if body.get(fld) is not None:
            req[fld] = body[fld]
    if req.get("min_decryption_version") == 0:
        req.pop("min_decryption_version")  # Vault: 0 leaves it unchanged
    if "lower_min_decryption_version" in body:
        req["lower_min_decryption_version"] = body["lower_min_decryption_version"]
    info = c.engine.configure_key(c.who, c.name, model(api.KeyConfigRequest, req))
    known = {*req, "exportable", "allow_plaintext_backup"}
    return reply(c, key_data(info), warnings=_unknown(body, known))


def trim_key(c: Call) -> Reply:
    """``POST transit/keys/:name/trim``: destroys the versions below ``min_available_version``."""
    body = fields(c)
    if body.get("min_available_version") is None:
        raise BadRequestError("min_available_version: required", field="min_available_version")
    req = model(api.TrimKeyRequest, {"min_available_version": body["min_available_version"]})
    return reply(c, key_data(c.engine.trim_key(c.who, c.name, req)))


def backup_key(c: Call) -> Reply:
    """``GET transit/backup/:name``."""
    return reply(c, {"backup": c.engine.backup_key(c.who, c.name).backup})


def restore_key(c: Call) -> Reply:
    """``POST transit/restore`` and ``transit/restore/:name``."""
    body = fields(c)
    req: dict[str, Any] = {"backup": body.get("backup"), "force": bool(body.get("force", False))}
    name = c.params.get("name") or body.get("name")
    if name:
        req["name"] = name
    c.engine.restore_key(c.who, model(api.RestoreRequest, req))
    return Reply(204, b"")


def export_key(c: Call) -> Reply:
    """``GET transit/export/...``: refused (guomi keys do not leave the service)."""
    raise BadRequestError(f"export: {_NOT_EXPORTABLE}", code="unsupported_operation")


# ------------------------------------------------------------------ encryption


def _upsert(c: Call, body: dict[str, Any]) -> bool:
    """Vault creates a missing key on encrypt when the caller may create it."""
    if "create" not in c.engine.capabilities(c.who, c.name):
        return False
    reject_unsupported(body, convergent_encryption=_NO_DERIVATION)
    req = model(api.CreateKeyRequest, {"type": guomi_key_type(body.get("type"))})
    with contextlib.suppress(ConflictError):  # created meanwhile
        c.engine.create_key(c.who, c.name, req)
    return True


def encrypt(c: Call) -> Reply:
    """``POST transit/encrypt/:name`` (single, or ``batch_input`` with hvac's empty ``plaintext``)."""
    body = fields(c)
    reject_unsupported(body, padding_scheme=_RSA_ONLY)
    items = _batch(body)
    names = ("plaintext", "associated_data", "key_version")

    def run(req: Any) -> Any:
        try:
            return c.engine.encrypt(c.who, c.name, req)
        except NotFoundError as exc:
            if not _upsert(c, body):
                raise _crypto_key_missing(exc) from None
            return c.engine.encrypt(c.who, c.name, req)

    if items is not None:
        spec = (names, api.EncryptItem, api.EncryptRequest)
        return _run_batch(c, body, items, spec, run, keep=("ciphertext", "key_version"))
    if body.get("plaintext") is None:
        raise BadRequestError("plaintext: missing plaintext to encrypt", field="plaintext")
    resp = run(model(api.EncryptRequest, _item(body, names)))
    return reply(c, {"ciphertext": resp.ciphertext, "key_version": resp.key_version})


def decrypt(c: Call) -> Reply:
    """``POST transit/decrypt/:name``."""
    body = fields(c)
    reject_unsupported(body, padding_scheme=_RSA_ONLY)
    items = _batch(body)
    names = ("ciphertext", "associated_data")

    def run(req: Any) -> Any:
        return c.engine.decrypt(c.who, c.name, req)

    if items is not None:
        spec = (names, api.DecryptItem, api.DecryptRequest)
        return _run_batch(c, body, items, spec, run, keep=("plaintext",))
    if body.get("ciphertext") is None:
        raise BadRequestError("ciphertext: missing ciphertext to decrypt", field="ciphertext")
    try:
        resp = run(model(api.DecryptRequest, _item(body, names)))
    except NotFoundError as exc:
        raise _crypto_key_missing(exc) from None
    return reply(c, {"plaintext": resp.model_dump(mode="json")["plaintext"]})


def rewrap(c: Call) -> Reply:
    """``POST transit/rewrap/:name``."""
    body = fields(c)
    items = _batch(body)
    names = ("ciphertext", "associated_data", "key_version")

    def run(req: Any) -> Any:
        return c.engine.rewrap(c.who, c.name, req)

    if items is not None:
        spec = (names, api.RewrapItem, api.RewrapRequest)
        return _run_batch(c, body, items, spec, run, keep=("ciphertext", "key_version"))
    try:
        resp = run(model(api.RewrapRequest, _item(body, names)))
    except NotFoundError as exc:
        raise _crypto_key_missing(exc) from None
    return reply(c, {"ciphertext": resp.ciphertext, "key_version": resp.key_version})


def datakey(c: Call) -> Reply:
    """``POST transit/datakey/:plaintext|wrapped/:name``: a 128-bit SM4 data key."""
    body = fields(c)
    reject_unsupported(body, context=_NO_DERIVATION, nonce=_NO_DERIVATION, padding_scheme=_RSA_ONLY)
    bits = body.get("bits")
    if bits not in (None, 128):
        raise BadRequestError(
            "bits: guomi data keys are 128-bit SM4 keys (GB/T 32907); use 128 or leave it out",
            field="bits",
        )
    req: dict[str, Any] = {}
    if _present(body.get("associated_data")):
        req["associated_data"] = body["associated_data"]
    try:
        resp = c.engine.datakey(c.who, c.name, c.params["kind"], model(api.DatakeyRequest, req))
    except NotFoundError as exc:
        raise _crypto_key_missing(exc) from None
    out = resp.model_dump(mode="json", exclude_none=True)
    return reply(c, out)


# ------------------------------------------------------------------ signing and MACs

_SM3_NAMES = (None, "", "sm3")


def _sm3_only(value: Any, fld: str) -> None:
    if value not in _SM3_NAMES:
        raise BadRequestError(
            f"{fld}: {value!r} is not available; SM2 signatures and HMAC-SM3 use SM3 (GB/T 32905). "
            "Leave it out or use 'sm3'",
            code="unsupported_operation",
            field=fld,
        )


def _sign_options(c: Call, body: dict[str, Any]) -> bool:
    """Checks hvac's signing parameters; returns ``prehashed``."""
    _sm3_only(c.params.get("algorithm") or body.get("hash_algorithm"), "hash_algorithm")
    reject_unsupported(
        body,
        signature_algorithm=_RSA_ONLY,
        salt_length=_RSA_ONLY,
        context=_NO_DERIVATION,
        signature_context="Ed25519 contexts do not apply to SM2",
    )
    marshaling = body.get("marshaling_algorithm")
    if marshaling not in (None, "", "asn1"):
        raise BadRequestError(f"marshaling_algorithm: {_ECDSA_MARSHAL}", field="marshaling_algorithm")
    prehashed = body.get("prehashed", False)
    if not isinstance(prehashed, bool):
        raise BadRequestError("prehashed: must be a boolean", field="prehashed")
    return prehashed


def sign(c: Call) -> Reply:
    """``POST transit/sign/:name(/:hash_algorithm)``: SM2 with SM3, signature in guomi's token."""
    body = fields(c)
    prehashed = _sign_options(c, body)
    items = _batch(body)
    names = ("input", "user_id", "key_version")

    def run(req: Any) -> Any:
        return c.engine.sign(c.who, c.name, req)

    if items is not None:
        spec = (names, api.SignItem, api.SignRequest)
        return _run_batch(c, body, items, spec, run, keep=("signature", "key_version"), prehashed=prehashed)
    try:
        resp = run(model(api.SignRequest, {**_item(body, names), "prehashed": prehashed}))
    except NotFoundError as exc:
        raise _crypto_key_missing(exc) from None
    return reply(c, {"signature": resp.signature, "key_version": resp.key_version})


def verify(c: Call) -> Reply:
    """``POST transit/verify/:name(/:hash_algorithm)``: SM2 signatures and HMAC-SM3 tags."""
    body = fields(c)
    prehashed = _sign_options(c, body)
    items = _batch(body)
    names = ("input", "signature", "hmac", "user_id")

    def run(req: Any) -> Any:
        return c.engine.verify(c.who, c.name, req)

    if items is not None:
        spec = (names, api.VerifyItem, api.VerifyRequest)
        return _run_batch(c, body, items, spec, run, keep=("valid",), prehashed=prehashed)
    try:
        resp = run(model(api.VerifyRequest, {**_item(body, names), "prehashed": prehashed}))
    except NotFoundError as exc:
        raise _crypto_key_missing(exc) from None
    return reply(c, {"valid": resp.valid})


def hmac(c: Call) -> Reply:
    """``POST transit/hmac/:name(/:algorithm)``: HMAC-SM3 on ``hmac-sm3`` keys."""
    body = fields(c)
    _sm3_only(c.params.get("algorithm") or body.get("algorithm"), "algorithm")
    items = _batch(body)
    names = ("input", "key_version")

    def run(req: Any) -> Any:
        return c.engine.hmac(c.who, c.name, req)

    if items is not None:
        spec = (names, api.HmacItem, api.HmacRequest)
        return _run_batch(c, body, items, spec, run, keep=("hmac", "key_version"))
    try:
        resp = run(model(api.HmacRequest, _item(body, names)))
    except NotFoundError as exc:
        raise _crypto_key_missing(exc) from None
    return reply(c, {"hmac": resp.hmac, "key_version": resp.key_version})


# ------------------------------------------------------------------ utilities


def _int(value: Any, fld: str) -> int:
    if isinstance(value, bool):
        raise BadRequestError(f"{fld}: must be an integer", field=fld)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequestError(f"{fld}: must be an integer", field=fld) from None


def random(c: Call) -> Reply:
    """``POST transit/random(/:source)(/:bytes)``: ``bytes`` in the URL or the body (default 32)."""
    body = fields(c)
    source = c.params.get("source") or body.get("source") or "platform"
    if source not in ("platform", "all"):
        raise BadRequestError(
            f"source: {source!r}; guomi draws from the operating system's CSPRNG ('platform' or 'all')",
            field="source",
        )
    n = _int(c.params.get("bytes") or body.get("bytes") or 32, "bytes")
    req = model(api.RandomRequest, {"format": body.get("format") or "base64"})
    return reply(c, {"random_bytes": c.engine.random(c.who, n, req).random_bytes})


def hash_data(c: Call) -> Reply:
    """``POST transit/hash(/:algorithm)``: SM3 by default, Vault's SHA-2 and SHA-3 names too."""
    body = fields(c)
    algorithm = c.params.get("algorithm") or body.get("algorithm") or "sm3"
    req = model(
        api.HashRequest,
        {"input": body.get("input"), "algorithm": algorithm, "format": body.get("format") or "hex"},
    )
    return reply(c, {"sum": c.engine.hash(c.who, req).sum})
