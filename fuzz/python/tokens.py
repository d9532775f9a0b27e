"""Fuzz target: the KMS ciphertext token text form and binary header
(``guomi.api.parse_text``, ``TokenHeader.decode``). An accepted text token
must format back to exactly itself (one canonical spelling per token)."""

from __future__ import annotations

import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _harness import instrumented

with instrumented(__name__):
    from guomi.api._token import TokenHeader, format_text, parse_text


def one_input(data: bytes) -> None:
    try:
        TokenHeader.decode(data)
    except Exception as exc:
        from guomi.exceptions import GuomiError  # noqa: PLC0415

        if not isinstance(exc, GuomiError):
            raise
    text = data.decode("utf-8", "replace")
    header, blob = parse_text(text)
    assert format_text(header, blob) == text, "a text token with two spellings was accepted"
    assert TokenHeader.decode(blob) == header


if __name__ == "__main__":
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from _harness import run

    run(one_input)
