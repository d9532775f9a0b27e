"""A slow, generic, affine-coordinate SM2 over any prime curve, FOR TESTS ONLY.

Used to check the standard's annex examples on the old TEST curve, which the
Rust core (specialised to sm2p256v1) cannot run, and to cross-check guomi on
random inputs. Plain Python integers: not constant time, never ship this.
SM3 and the KDF come from guomi (themselves checked against their vectors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guomi import _rust

Point = tuple[int, int] | None


@dataclass(frozen=True)
class Curve:
    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int

    @classmethod
    def from_hex(cls, c: dict[str, Any]) -> Curve:
        return cls(*(int(c[k], 16) for k in ("p", "a", "b", "gx", "gy", "n")))

    @property
    def g(self) -> Point:
        return (self.gx, self.gy)

    def add(self, p1: Point, p2: Point) -> Point:
        if p1 is None:
            return p2
        if p2 is None:
            return p1
        (x1, y1), (x2, y2) = p1, p2
        if x1 == x2 and (y1 + y2) % self.p == 0:
            return None
        if p1 == p2:
            lam = (3 * x1 * x1 + self.a) * pow(2 * y1, -1, self.p) % self.p
        else:
            lam = (y2 - y1) * pow(x2 - x1, -1, self.p) % self.p
        x3 = (lam * lam - x1 - x2) % self.p
        return (x3, (lam * (x1 - x3) - y1) % self.p)

    def mul(self, k: int, pt: Point) -> Point:
        acc: Point = None
        for bit in bin(k)[2:]:
            acc = self.add(acc, acc)
            if bit == "1":
                acc = self.add(acc, pt)
        return acc

    def on_curve(self, pt: Point) -> bool:
        if pt is None:
            return False
        x, y = pt
        return (y * y - x * x * x - self.a * x - self.b) % self.p == 0

    def encode(self, pt: Point) -> bytes:
        assert pt is not None
        return b"\x04" + pt[0].to_bytes(32, "big") + pt[1].to_bytes(32, "big")

    def decode(self, data: bytes) -> Point:
        assert len(data) == 65 and data[0] == 4
        return (int.from_bytes(data[1:33], "big"), int.from_bytes(data[33:], "big"))


def _b32(x: int) -> bytes:
    return x.to_bytes(32, "big")


def za(c: Curve, uid: bytes, pub: Point) -> bytes:
    assert pub is not None
    entl = (len(uid) * 8).to_bytes(2, "big")
    data = entl + uid + b"".join(_b32(v) for v in (c.a, c.b, c.gx, c.gy, pub[0], pub[1]))
    return _rust.sm3_digest(data)


def sign(c: Curve, d: int, uid: bytes, msg: bytes, k: int) -> tuple[int, int]:
    pub = c.mul(d, c.g)
    e = int.from_bytes(_rust.sm3_digest(za(c, uid, pub) + msg), "big")
    p1 = c.mul(k, c.g)
    assert p1 is not None
    r = (e + p1[0]) % c.n
    s = pow(1 + d, -1, c.n) * (k - r * d) % c.n
    return r, s


def verify(c: Curve, pub: Point, uid: bytes, msg: bytes, r: int, s: int) -> bool:
    if not (1 <= r < c.n and 1 <= s < c.n):
        return False
    t = (r + s) % c.n
    if t == 0:
        return False
    e = int.from_bytes(_rust.sm3_digest(za(c, uid, pub) + msg), "big")
    pt = c.add(c.mul(s, c.g), c.mul(t, pub))
    return pt is not None and (e + pt[0]) % c.n == r


def encrypt(c: Curve, pub: Point, msg: bytes, k: int) -> bytes:
    c1 = c.mul(k, c.g)
    s = c.mul(k, pub)
    assert c1 is not None and s is not None
    x2, y2 = _b32(s[0]), _b32(s[1])
    t = _rust.sm3_kdf(x2 + y2, len(msg)) if msg else b""
    c2 = bytes(m ^ k_ for m, k_ in zip(msg, t, strict=True))
    c3 = _rust.sm3_digest(x2 + msg + y2)
    return c.encode(c1) + c3 + c2


def decrypt(c: Curve, d: int, ct: bytes) -> bytes:
    c1 = c.decode(ct[:65])
    assert c.on_curve(c1)
    s = c.mul(d, c1)
    assert s is not None
    x2, y2 = _b32(s[0]), _b32(s[1])
    c3, c2 = ct[65:97], ct[97:]
    t = _rust.sm3_kdf(x2 + y2, len(c2)) if c2 else b""
    msg = bytes(x ^ y for x, y in zip(c2, t, strict=True))
    assert _rust.sm3_digest(x2 + msg + y2) == c3
    return msg


def _xbar(x: int) -> int:
    return (1 << 127) + (x & ((1 << 127) - 1))


def key_exchange(c: Curve, v: dict[str, Any]) -> tuple[bytes, bytes, bytes]:
    """A's side of GB/T 32918.3 from the vector's keys; returns (K, S_B, S_A)."""
    h = bytes.fromhex
    da, ra = int(v["a_private_key"], 16), int(v["a_ephemeral_private_key"], 16)
    pb, rb = c.decode(h(v["b_public_key"])), c.decode(h(v["b_ephemeral_public_key"]))
    pa, rpa = c.mul(da, c.g), c.mul(ra, c.g)
    assert rpa is not None and pb is not None and rb is not None
    z_a = za(c, h(v["a_user_id"]), pa)
    z_b = za(c, h(v["b_user_id"]), pb)
    t = (da + _xbar(rpa[0]) * ra) % c.n
    u = c.mul(t, c.add(pb, c.mul(_xbar(rb[0]), rb)))
    assert u is not None
    xu, yu = _b32(u[0]), _b32(u[1])
    key = _rust.sm3_kdf(xu + yu + z_a + z_b, v["klen"])
    inner = _rust.sm3_digest(xu + z_a + z_b + _b32(rpa[0]) + _b32(rpa[1]) + _b32(rb[0]) + _b32(rb[1]))
    return key, _rust.sm3_digest(b"\x02" + yu + inner), _rust.sm3_digest(b"\x03" + yu + inner)
