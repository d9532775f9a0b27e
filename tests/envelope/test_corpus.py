"""The failure corpus tests/vectors/stream/: every damaged file fails, by name, and writes nothing.

Regenerate with ``python -m tests.vectors.stream.generate`` (deterministic; this test also
checks that the committed files are what the generator produces).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from guomi import exceptions
from guomi.envelope.stream import PassphraseIdentity, decrypt, open_encrypted
from guomi.envelope.text import parse_identity_file
from guomi.primitives.serialization import load_pem_public_key
from guomi.primitives.sm3 import digest as sm3

CORPUS = Path(__file__).parents[1] / "vectors" / "stream"
MANIFEST: dict[str, dict[str, Any]] = json.loads((CORPUS / "manifest.json").read_text())


def identities(names: list[str]) -> list[Any]:
    out: list[Any] = []
    for name in names:
        if name.startswith("passphrase:"):
            out.append(PassphraseIdentity(name.removeprefix("passphrase:")))
        else:
            out.extend(parse_identity_file((CORPUS / name).read_text()))
    return out


def test_corpus_covers_the_issue_list() -> None:
    required = {
        "truncated_at_segment_boundary",
        "truncated_mid_segment",
        "last_flag_missing",
        "segments_swapped",
        "segment_duplicated",
        "header_mac_bad",
        "stanza_for_other_key",
        "trailing_garbage",
        "empty_file",
        "bad_magic",
        "unknown_version",
        "passphrase_with_other_stanzas",
        "iterations_too_low",
    }
    assert required <= set(MANIFEST)
    assert {p.stem for p in CORPUS.glob("*.gms")} == set(MANIFEST)


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_vector(name: str) -> None:
    entry = MANIFEST[name]
    blob = (CORPUS / f"{name}.gms").read_bytes()
    ids = identities(entry["identities"])
    verify: dict[str, Any] = {}
    if "verify_key" in entry:  # a signed-file vector (spec §6): the reader demands this signer
        verify["verify_key"] = load_pem_public_key((CORPUS / entry["verify_key"]).read_bytes())
    out = io.BytesIO()
    if entry["error"] is None:
        decrypt(io.BytesIO(blob), out, ids, **verify)
        assert sm3(out.getvalue()).hex() == entry["plaintext_sm3"]
        return
    error = getattr(exceptions, entry["error"])
    with pytest.raises(error) as info:
        decrypt(io.BytesIO(blob), out, ids, **verify)
    assert re.search(entry["match"], str(info.value)), str(info.value)
    assert out.getvalue() == b"", "plaintext was written before the failure was detected"
    # The readable stream fails the same way (at open or at the first read), never silently.
    with pytest.raises(error):
        open_encrypted(io.BytesIO(blob), ids, **verify).read()


def test_generator_is_deterministic_and_matches_the_committed_files(tmp_path: Path, monkeypatch: Any) -> None:
    from tests.vectors.stream import generate  # noqa: PLC0415

    monkeypatch.setattr(generate, "HERE", tmp_path)
    for name in ("identity.txt", "other_identity.txt", "signer.pem", "other_signer.pem"):
        (tmp_path / name).write_text((CORPUS / name).read_text())
    manifest = generate.build()
    assert manifest == MANIFEST
    for name in manifest:
        assert (tmp_path / f"{name}.gms").read_bytes() == (CORPUS / f"{name}.gms").read_bytes(), name
