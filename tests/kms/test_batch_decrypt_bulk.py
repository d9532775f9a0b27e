"""The bulk (Rust) path of ``decrypt`` batches answers exactly as the per-item model path.

A plain ``decrypt`` batch of an ``sm4-gcm`` key is opened in one Rust call
(``guomi.primitives.token_batch``); items it cannot open fall back to the
single-item path, which words their errors.  These tests feed it every kind of
token the single path refuses (malformed text in each of its checks, forged
bytes, wrong associated data, another key's or another type's tokens, versions
outside the decryption window) mixed with good ones, and require the HTTP reply
to be byte-for-byte the model path's.  They also pin the primitive itself:
constant-time base64 equal to the standard library's for every length, keys
hidden from ``repr``, and no item opened under a version ``resolve`` refused.
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guomi import api
from guomi.kms.http.encrypt import plain_batch
from guomi.kms.service import RequestContext
from guomi.primitives.token_batch import Sm4GcmTokenKey, sm4gcm_token_open_batch

from .test_routes import Stack, _b64, _model_path


@pytest.fixture
def stack() -> Stack:
    return Stack()


def _encrypt(stack: Stack, key: str, pt: bytes, ad: bytes | None = None) -> str:
    caller = stack.engine.authenticate(stack.root, RequestContext("setup"))
    tok = stack.engine.encrypt(caller, key, api.EncryptRequest(plaintext=pt, associated_data=ad)).ciphertext
    assert tok is not None
    return tok


def _flip(tok: str, i: int) -> str:
    """``tok`` with its character at ``i`` replaced by another base64url character."""
    c = tok[i]
    return tok[:i] + ("B" if c == "A" else "A") + tok[i + 1 :]


def _check_same_as_model_path(stack: Stack, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = json.dumps({"batch_input": items}).encode()
    assert plain_batch("ciphertext", False, body) is not None  # takes the bulk path
    r = stack.root_call("POST", "/v1/decrypt/orders", content=body)
    assert r.status_code == 200, r.text
    assert r.text == _model_path(stack, "decrypt", items)
    results: list[dict[str, Any]] = r.json()["data"]["batch_results"]
    return results


def test_every_refusal_of_the_single_path_is_kept(stack: Stack) -> None:
    caller = stack.engine.authenticate(stack.root, RequestContext("setup"))
    stack.engine.create_key(caller, "other", api.CreateKeyRequest())
    stack.engine.create_key(caller, "aes", api.CreateKeyRequest(type="aes-256-gcm"))
    v1 = _encrypt(stack, "orders", b"version one")
    v1_ad = _encrypt(stack, "orders", b"with ad", b"ctx")
    stack.engine.rotate_key(caller, "orders")
    v2 = _encrypt(stack, "orders", b"version two" * 50)
    empty = _encrypt(stack, "orders", b"")
    prefix, fmt, ver, data = v2.split(":")
    good_tail = ":".join((prefix, fmt, ver))
    bad_tokens = [
        v2 + ":",  # five parts
        "gumi:v1:2:" + data,
        "guomi:v2:2:" + data,
        "guomi:v1:02:" + data,  # leading zero
        "guomi:v1:3:" + data,  # text and binary versions differ
        "guomi:v1::" + data,
        "guomi:v1:12345678901:" + data,  # more than 10 digits
        "guomi:v1:\u0662:" + data,  # a non-ASCII digit
        good_tail + ":",  # empty body
        good_tail + ":" + data + "=",  # padded
        good_tail + ":" + data[:-1] + "+",  # standard alphabet
        good_tail + ":" + data + "A",  # impossible length
        good_tail + ":" + data[:-1] + ("B" if data[-1] == "A" else "A"),  # stray bits / tag
        good_tail + ":" + data[:8],  # truncated below nonce + commitment + tag
        good_tail + ":" + data[:2],  # shorter than the header
        v2[:-30] + "\u00e9" + v2[-29:],  # non-ASCII in the body
        _flip(v2, len(good_tail) + 12),  # header byte changed
        _flip(v2, len(good_tail) + 20),  # nonce
        _flip(v2, len(good_tail) + 40),  # commitment
        _flip(v2, len(v2) - 40),  # ciphertext
        _encrypt(stack, "other", b"another key's token"),
        _encrypt(stack, "aes", b"an aes-256-gcm token"),
        "not a token",
        "",
    ]
    items: list[dict[str, Any]] = [{"ciphertext": v1, "reference": "v1"}]
    items += [{"ciphertext": t, "reference": f"bad-{i}"} for i, t in enumerate(bad_tokens)]
    items += [
        {"ciphertext": v1_ad, "associated_data": _b64(b"ctx")},
        {"ciphertext": v1_ad, "associated_data": _b64(b"ctX"), "reference": "wrong ad"},
        {"ciphertext": v1_ad, "reference": "missing ad"},
        {"ciphertext": v1, "associated_data": _b64(b"extra"), "reference": "extra ad"},
        {"ciphertext": v1, "associated_data": "", "reference": "empty ad is no ad"},
        {"ciphertext": v2},
        {"ciphertext": empty, "reference": "empty plaintext"},
    ]
    res = _check_same_as_model_path(stack, items)
    assert res[0]["plaintext"] == _b64(b"version one") and res[0]["key_version"] == 1
    assert all("error" in r for r in res[1 : 1 + len(bad_tokens)])
    tail = res[1 + len(bad_tokens) :]
    assert [r.get("plaintext") for r in tail] == [
        _b64(b"with ad"),
        None,
        None,
        None,
        _b64(b"version one"),
        _b64(b"version two" * 50),
        "",
    ]
    assert tail[-2]["key_version"] == 2

    # Versions outside the window: above the latest, and below min_decryption_version.
    stack.engine.configure_key(caller, "orders", api.KeyConfigRequest(min_decryption_version=2))
    above = "guomi:v1:9:" + base64.urlsafe_b64encode(
        b"\x01\x01\x00\x00\x00\x09" + base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))[6:]
    ).decode().rstrip("=")
    res = _check_same_as_model_path(
        stack, [{"ciphertext": v1}, {"ciphertext": v2}, {"ciphertext": above}, {"ciphertext": v1_ad}]
    )
    assert [r.get("code") for r in res] == [
        "key_version_disabled",
        None,
        "key_version_disabled",
        "key_version_disabled",
    ]


def test_single_character_forgeries_never_open(stack: Stack) -> None:
    """Every position of a token changed in turn: each item fails alone, as on the model path."""
    good = _encrypt(stack, "orders", bytes(range(256)), b"ad")
    start = len("guomi:v1:1:")
    items: list[dict[str, Any]] = [
        {"ciphertext": _flip(good, i), "associated_data": _b64(b"ad"), "reference": str(i)}
        for i in range(start, len(good), 5)
    ]
    items.insert(3, {"ciphertext": good, "associated_data": _b64(b"ad")})
    res = _check_same_as_model_path(stack, items)
    assert [r.get("plaintext") is not None for r in res].count(True) == 1
    assert res[3]["plaintext"] == _b64(bytes(range(256)))


def test_aes_and_sm2_keys_take_the_single_path(stack: Stack) -> None:
    caller = stack.engine.authenticate(stack.root, RequestContext("setup"))
    for name, kind in (("aes", "aes-256-gcm"), ("sm2", "sm2-encrypt")):
        stack.engine.create_key(caller, name, api.CreateKeyRequest(type=kind))
        toks = [_encrypt(stack, name, b"x%d" % i) for i in range(3)]
        body = json.dumps({"batch_input": [{"ciphertext": t} for t in toks]}).encode()
        r = stack.root_call("POST", f"/v1/decrypt/{name}", content=body)
        assert [x["plaintext"] for x in r.json()["data"]["batch_results"]] == [
            _b64(b"x%d" % i) for i in range(3)
        ]


def test_base64_of_every_length_matches_the_standard_library(stack: Stack) -> None:
    pts = [bytes((i * 7 + j) % 256 for j in range(n)) for i, n in enumerate(range(0, 70))]
    toks = [_encrypt(stack, "orders", p) for p in pts]
    res = _check_same_as_model_path(stack, [{"ciphertext": t} for t in toks])
    assert [r["plaintext"] for r in res] == [base64.b64encode(p).decode() for p in pts]


def test_primitive_hides_keys_and_honours_refused_versions(stack: Stack) -> None:
    key = Sm4GcmTokenKey(b"k" * 16, b"c" * 32, b"head")
    assert "6b6b" not in repr(key) and "kkkk" not in repr(key) and "hidden" in repr(key)
    tok = _encrypt(stack, "orders", b"secret")
    asked: list[int] = []

    def refuse(v: int) -> None:
        asked.append(v)

    texts, versions = sm4gcm_token_open_batch([(tok, None, None)] * 3 + [("x", None, None)], refuse)
    assert texts == [None] * 4 and versions == [0] * 4
    assert asked == [1]  # once per distinct version
    # A key of the wrong version (its AD head names another header) opens nothing.
    texts, _ = sm4gcm_token_open_batch([(tok, None, None)], lambda v: key)
    assert texts == [None]
    with pytest.raises(TypeError):
        Sm4GcmTokenKey("not bytes", b"c" * 32, b"")  # type: ignore[arg-type]
    with pytest.raises(Exception, match="32 bytes"):
        Sm4GcmTokenKey(b"k" * 16, b"c" * 31, b"")


def test_whole_reply_written_in_rust_matches_the_adapter(stack: Stack) -> None:
    """Every item opens: the body is written in one Rust buffer; references of every kind
    of character (escapes, controls, non-ASCII, line separators) as the adapter writes them."""
    caller = stack.engine.authenticate(stack.root, RequestContext("setup"))
    pts = [b"v1-%d" % i for i in range(5)]
    toks = [_encrypt(stack, "orders", p, b"ad" if i % 2 else None) for i, p in enumerate(pts)]
    stack.engine.rotate_key(caller, "orders")
    pts.append(b"v2")
    toks.append(_encrypt(stack, "orders", b"v2", b"ad"))
    refs: list[str | None] = [
        'q"b\\s/',
        "".join(map(chr, range(32))) + "\x7f",
        None,
        "é中文😀",
        "\u2028\u2029",
        "",
    ]
    items: list[dict[str, Any]] = []
    for i, (t, ref) in enumerate(zip(toks, refs, strict=True)):
        item: dict[str, Any] = {"ciphertext": t}
        if i % 2:
            item["associated_data"] = _b64(b"ad")
        if ref is not None:
            item["reference"] = ref
        items.append(item)
    res = _check_same_as_model_path(stack, items)
    assert [r.get("plaintext") for r in res] == [_b64(p) for p in pts], res
    assert [r.get("reference") for r in res] == refs
    assert [r["key_version"] for r in res] == [1] * 5 + [2]
    # The engine's reply equals the adapter's serialisation of its item path.
    batch = [(t, b"ad" if i % 2 else None, ref) for i, (t, ref) in enumerate(zip(toks, refs, strict=True))]
    reply = stack.engine.decrypt_batch_reply(caller, "orders", batch)
    items_path = stack.engine.decrypt_batch(caller, "orders", batch)
    assert reply == api.DECRYPT_BATCH_REPLY.dump_json({"data": {"batch_results": items_path}})


@functools.cache
def _property_stack() -> tuple[Stack, str]:
    """One stack and token for every example (hypothesis does not mix with function fixtures)."""
    stack = Stack()
    return stack, _encrypt(stack, "orders", b"property plaintext", b"pad")


@settings(max_examples=300, deadline=None)
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from("ABab09-_+/=:.é\x00v1guomi")), max_size=3
    ),
    cut=st.integers(0, 10_000),
    ad=st.sampled_from([None, b"pad", b"", b"other"]),
)
def test_bulk_opens_exactly_what_the_single_path_opens(
    edits: list[tuple[int, str]], cut: int, ad: bytes | None
) -> None:
    """Random edits and truncations of a token: the Rust parser and opener accept a token iff
    the service's single-item path decrypts it, and then to the same plaintext."""
    stack, tok = _property_stack()
    for pos, ch in edits:
        at = pos % (len(tok) + 1)
        tok = tok[:at] + ch + tok[at + 1 :]
    if cut % 3 == 0:
        tok = tok[: cut % (len(tok) + 1)]
    engine = stack.engine
    meta, kt = engine._key_for("orders", "decrypt")
    material = engine._material_memo(meta)
    try:
        pt, _ = engine._decrypt_one(meta, kt, tok, ad, material)
        single: str | None = base64.b64encode(pt).decode()
    except Exception:
        single = None
    texts, _ = sm4gcm_token_open_batch([(tok, ad, None)], engine._opener(meta, "orders", material))
    bulk = None if texts[0] is None else texts[0].decode()
    assert bulk == single
