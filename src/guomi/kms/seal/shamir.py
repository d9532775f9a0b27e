"""Shamir's secret sharing over GF(2^8), with constant-time field arithmetic.

Layer: ``guomi.kms.seal``.  Splits the 32-byte master key into ``n`` shares,
any ``t`` of which reconstruct it (A. Shamir, "How to share a secret", CACM
1979), byte by byte over GF(2^8) with the AES polynomial x^8+x^4+x^3+x+1
(the same field HashiCorp Vault's shamir package uses).

Why no log/exp tables: a table indexed by a share or coefficient byte leaks
that byte through the cache.  Multiplication here is a carry-less
shift-and-add whose every step is selected with an all-ones/all-zeros mask
derived arithmetically from the bit (no branch on a secret), and inversion
is a^254 by a fixed square-and-multiply chain.  Only the share indices
(x = 1..n, public) drive control flow.

A share is encoded as ``x (1 byte) || y (len(secret) bytes)``.
"""

from __future__ import annotations

import os

from guomi.exceptions import InvalidArgumentError

__all__ = ["combine", "gf_inv", "gf_mul", "split"]

_MAX_SHARES = 255


def gf_mul(a: int, b: int) -> int:
    """a * b in GF(2^8) mod x^8+x^4+x^3+x+1, without secret-dependent branches or lookups."""
    r = 0
    for _ in range(8):
        # mask = 0xFF if the low bit of b is set else 0x00, computed arithmetically.
        r ^= a & -(b & 1) & 0xFF
        # xtime: multiply a by x, reducing by 0x1B when the top bit falls off.
        a = ((a << 1) ^ (0x1B & -((a >> 7) & 1))) & 0xFF
        b >>= 1
    return r


def gf_inv(a: int) -> int:
    """a^-1 = a^254 in GF(2^8) (a != 0), a fixed chain of 7 squarings and 6 products."""
    # 254 = 0b11111110: a^2, a^4, ..., a^128 multiplied together.
    r = 1
    sq = a
    for _ in range(7):
        sq = gf_mul(sq, sq)
        r = gf_mul(r, sq)
    return r


def split(secret: bytes, shares: int, threshold: int) -> list[bytes]:
    """``shares`` shares of ``secret``; any ``threshold`` of them give it back."""
    if not 1 <= threshold <= shares <= _MAX_SHARES:
        raise InvalidArgumentError("need 1 <= secret_threshold <= secret_shares <= 255")
    if not secret:
        raise InvalidArgumentError("secret must not be empty")
    # One random polynomial of degree t-1 per secret byte, constant term = the byte.
    coeffs = [os.urandom(len(secret)) for _ in range(threshold - 1)]
    out = []
    for x in range(1, shares + 1):
        y = bytearray(len(secret))
        for i, s in enumerate(secret):
            # Horner: (((c_{t-1} x + c_{t-2}) x + ...) x + s).
            acc = 0
            for c in reversed(coeffs):
                acc = gf_mul(acc ^ c[i], x)
            y[i] = acc ^ s
        out.append(bytes([x]) + bytes(y))
    return out


def combine(shares: list[bytes]) -> bytes:
    """The secret from ``threshold`` (or more) distinct shares.

    With too few or wrong shares the result is a wrong secret, not an error:
    the caller verifies it (the unseal does so by authenticated decryption)."""
    if not shares:
        raise InvalidArgumentError("no shares given")
    length = len(shares[0])
    if length < 2 or any(len(s) != length for s in shares):
        raise InvalidArgumentError("shares differ in length or are too short")
    xs = [s[0] for s in shares]
    if 0 in xs or len(set(xs)) != len(xs):
        raise InvalidArgumentError("shares must have distinct non-zero indices")
    # Lagrange basis at 0: l_j = prod_{m != j} x_m / (x_m - x_j); subtraction is XOR.
    basis = []
    for j, xj in enumerate(xs):
        num, den = 1, 1
        for m, xm in enumerate(xs):
            if m != j:
                num = gf_mul(num, xm)
                den = gf_mul(den, xm ^ xj)
        basis.append(gf_mul(num, gf_inv(den)))
    secret = bytearray(length - 1)
    for share, lj in zip(shares, basis, strict=True):
        for i in range(length - 1):
            secret[i] ^= gf_mul(share[i + 1], lj)
    return bytes(secret)
