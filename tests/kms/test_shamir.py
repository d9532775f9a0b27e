"""Shamir over GF(2^8): field arithmetic against a reference, every threshold subset, errors."""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guomi.exceptions import InvalidArgumentError
from guomi.kms.seal.shamir import combine, gf_inv, gf_mul, split


def _ref_mul(a: int, b: int) -> int:
    # Textbook polynomial multiplication then reduction (test-only reference, branches freely).
    p = 0
    for i in range(8):
        if (b >> i) & 1:
            p ^= a << i
    for bit in range(14, 7, -1):
        if (p >> bit) & 1:
            p ^= 0x11B << (bit - 8)
    return p


def test_gf_mul_matches_reference_on_all_pairs() -> None:
    for a in range(256):
        for b in range(256):
            assert gf_mul(a, b) == _ref_mul(a, b)


def test_gf_inverse_of_every_nonzero_element() -> None:
    for a in range(1, 256):
        assert gf_mul(a, gf_inv(a)) == 1


def test_known_product() -> None:
    # FIPS 197 §4.2: {57} * {83} = {c1}.
    assert gf_mul(0x57, 0x83) == 0xC1


@pytest.mark.parametrize(("n", "t"), [(1, 1), (2, 2), (3, 2), (5, 3), (7, 7)])
def test_every_threshold_subset_recovers(n: int, t: int) -> None:
    secret = os.urandom(32)
    shares = split(secret, n, t)
    assert len(shares) == n and all(len(s) == 33 for s in shares)
    assert sorted(s[0] for s in shares) == list(range(1, n + 1))
    for subset in itertools.combinations(shares, t):
        assert combine(list(subset)) == secret
        assert combine(list(reversed(subset))) == secret


def test_fewer_than_threshold_gives_a_wrong_secret() -> None:
    secret = os.urandom(32)
    shares = split(secret, 5, 3)
    for subset in itertools.combinations(shares, 2):
        assert combine(list(subset)) != secret


def test_shares_are_not_the_secret() -> None:
    secret = bytes(32)
    for s in split(secret, 5, 3):
        assert s[1:] != secret


@settings(derandomize=True, max_examples=40, deadline=None)
@given(st.binary(min_size=1, max_size=40), st.integers(1, 6), st.data())
def test_roundtrip_property(secret: bytes, t: int, data: st.DataObject) -> None:
    n = data.draw(st.integers(t, 8))
    shares = split(secret, n, t)
    picked = data.draw(st.permutations(shares))[:t]
    assert combine(picked) == secret


@pytest.mark.parametrize(("n", "t"), [(0, 0), (2, 3), (256, 2), (3, 0)])
def test_bad_parameters(n: int, t: int) -> None:
    with pytest.raises(InvalidArgumentError):
        split(b"x" * 32, n, t)


def test_combine_rejects_duplicate_or_zero_index_and_ragged_shares() -> None:
    shares = split(os.urandom(32), 3, 2)
    with pytest.raises(InvalidArgumentError):
        combine([shares[0], shares[0]])
    with pytest.raises(InvalidArgumentError):
        combine([b"\x00" + shares[0][1:], shares[1]])
    with pytest.raises(InvalidArgumentError):
        combine([shares[0], shares[1][:-1]])
    with pytest.raises(InvalidArgumentError):
        combine([])
