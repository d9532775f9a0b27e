"""Personal data in plaintext: Chinese resident ID numbers, mobile numbers, bank card numbers.

Layer: ``guomi.scan``. Each detector checks structure, not just digits: a resident ID
number (GB 11643-1999) must have a valid birth date and ISO 7064 MOD 11-2 check
character, a card number must pass the Luhn check, a mobile number must have a
mainland operator prefix. Random digit strings therefore rarely match (a random
18-digit string passes the ID check with probability ~1/11 and also needs a real date).
"""

from __future__ import annotations

import datetime as _dt
import re

__all__ = ["is_bank_card", "is_mobile", "is_resident_id", "luhn_ok", "resident_id_check_char"]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})(\d{4})(\d{2})(\d{2})\d{3}[0-9Xx](?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[- ]?)?1[3-9]\d{9}(?!\d)")
_CARD_RE = re.compile(r"(?<!\d)(?:\d[ -]?){15,18}\d(?!\d)")


def resident_id_check_char(first17: str) -> str:
    """The GB 11643-1999 check character for the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_resident_id(text: str) -> bool:
    """Whether ``text`` contains an 18-character resident ID number with a valid date and check character."""
    for m in _ID_RE.finditer(text):
        number = m.group(0).upper()
        year, month, day = int(m.group(2)), int(m.group(3)), int(m.group(4))
        if not 1900 <= year <= 2100:
            continue
        try:
            _dt.date(year, month, day)
        except ValueError:
            continue
        if resident_id_check_char(number[:17]) == number[17]:
            return True
    return False


def luhn_ok(digits: str) -> bool:
    """The Luhn (ISO/IEC 7812-1) check over a string of digits."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = ord(c) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def is_bank_card(text: str) -> bool:
    """Whether ``text`` contains a 16-19 digit card number (spaces/dashes allowed) that passes Luhn."""
    for m in _CARD_RE.finditer(text):
        digits = re.sub(r"[ -]", "", m.group(0))
        if 16 <= len(digits) <= 19 and digits[0] in "3456" and luhn_ok(digits):
            return True
    return False


def is_mobile(text: str) -> bool:
    """Whether ``text`` contains a mainland mobile number (1[3-9]xxxxxxxxx, optional +86)."""
    return _MOBILE_RE.search(text) is not None
