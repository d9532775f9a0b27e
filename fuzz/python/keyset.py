"""Fuzz target: keyset JSON, cleartext (``Keyset.import_cleartext``) and
encrypted (``Keyset.from_encrypted_json`` with a fixed local AEAD). An
accepted cleartext keyset must export back to JSON that imports to the same
keyset."""

from __future__ import annotations

import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _harness import instrumented

with instrumented(__name__):
    from guomi.keys import INSECURE_CLEARTEXT_KEYSET_ACCESS, Keyset, LocalAead

ACCESS = INSECURE_CLEARTEXT_KEYSET_ACCESS
AEAD = LocalAead(bytes(range(16)))


def one_input(data: bytes) -> None:
    try:
        ks = Keyset.import_cleartext(data, access=ACCESS)
    except Exception as exc:
        from guomi.exceptions import GuomiError  # noqa: PLC0415

        if not isinstance(exc, GuomiError):
            raise
    else:
        again = ks.export_cleartext(access=ACCESS)
        assert Keyset.import_cleartext(again, access=ACCESS).export_cleartext(access=ACCESS) == again
    Keyset.from_encrypted_json(data, aead=AEAD)


if __name__ == "__main__":
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from _harness import run

    run(one_input)
