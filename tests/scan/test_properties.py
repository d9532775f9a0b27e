"""Properties of the PII detectors (hypothesis, derandomized): the check characters catch what
they must, and ciphertext of any plaintext is never mistaken for plaintext PII."""

from __future__ import annotations

import datetime as dt
import os

from hypothesis import given
from hypothesis import strategies as st

from guomi.scan import Kind, classify_value, is_bank_card, is_resident_id, luhn_ok
from tests.scan import legacy

_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))
_areas = st.integers(min_value=110000, max_value=829999).map(str)


@given(_areas, _dates, st.integers(min_value=0, max_value=999))
def test_valid_resident_ids_are_found(area: str, birth: dt.date, seq: int) -> None:
    number = legacy.resident_id(area, birth.strftime("%Y%m%d"), seq)
    assert is_resident_id(number)
    assert classify_value(number).kind is Kind.PII_RESIDENT_ID


@given(
    _areas,
    _dates,
    st.integers(min_value=0, max_value=999),
    st.integers(min_value=0, max_value=16),
    st.integers(1, 9),
)
def test_any_single_digit_change_breaks_the_check_character(
    area: str, birth: dt.date, seq: int, pos: int, delta: int
) -> None:
    number = legacy.resident_id(area, birth.strftime("%Y%m%d"), seq)
    changed = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1 :]
    # ISO 7064 MOD 11-2 detects every single substitution (the date may also become invalid).
    assert not is_resident_id(changed)


@given(st.text(alphabet="0123456789", min_size=14, max_size=17))
def test_luhn_completion_passes_and_one_change_fails(prefix: str) -> None:
    card = legacy.luhn_complete("6" + prefix)
    assert luhn_ok(card) and is_bank_card(card)
    last = str((int(card[-1]) + 1) % 10)
    assert not luhn_ok(card[:-1] + last)


@given(st.binary(min_size=0, max_size=200))
def test_ciphertext_is_never_plaintext_pii(plaintext: bytes) -> None:
    key = os.urandom(16)
    for value in (
        legacy.spark_gcm(key, plaintext),
        legacy.b64_gcm(key, plaintext),
        legacy.aes_ecb(key, plaintext),
    ):
        assert classify_value(value).kind not in (Kind.PII_RESIDENT_ID, Kind.PII_MOBILE, Kind.PII_BANK_CARD)
