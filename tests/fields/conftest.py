"""Fixtures for the field-encryption tests: keysets, fields, the vector file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from guomi.fields import BlindIndex, Field
from guomi.keys import INSECURE_CLEARTEXT_KEYSET_ACCESS, Keyset

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "field" / "field_v1.json"


def load_vectors() -> dict[str, Any]:
    return json.loads(VECTORS.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def vector_keyset() -> Keyset:
    doc = load_vectors()["keyset_cleartext"]
    return Keyset.import_cleartext(json.dumps(doc), access=INSECURE_CLEARTEXT_KEYSET_ACCESS)


@pytest.fixture
def keyset() -> Keyset:
    return Keyset.generate()


@pytest.fixture
def email(keyset: Keyset) -> Field:
    return Field(
        "customer",
        "email",
        keyset,
        indexes=[BlindIndex("email_bidx", bits=16), BlindIndex("email_ci", "casefold", bits=16)],
    )
