"""Fuzz target: guomi-stream files (header, stanzas, header MAC, segments)
through ``guomi.envelope.decrypt`` with a fixed SM2 identity. (A passphrase
identity is left out: a header may demand up to the format's maximum PBKDF2
work, seconds per input, which the stream lane's work-factor cap addresses.)
Nothing the fuzzer writes can be a valid file for these keys, so
decryption must fail, and only with a typed error; no plaintext may be
released before the failure."""

from __future__ import annotations

import io
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _harness import instrumented

with instrumented(__name__):
    from guomi.envelope import SM2Identity, decrypt
    from guomi.exceptions import GuomiError
    from guomi.primitives import sm2

IDENTITIES = [SM2Identity(sm2.SM2PrivateKey.from_private_value(0x0102030405060708090A0B0C0D0E0F10))]


# A signed file (version 2) must also be refused when a signature is demanded (spec §6).
VERIFY_KEY = sm2.SM2PrivateKey.from_private_value(0x1112131415161718191A1B1C1D1E1F20).public_key()


def one_input(data: bytes) -> None:
    for verify in (None, VERIFY_KEY):
        out = io.BytesIO()
        try:
            decrypt(io.BytesIO(data), out, IDENTITIES, verify_key=verify)
        except GuomiError:  # the only failure allowed; any other exception escapes
            continue
        finally:
            assert out.getvalue() == b"", "plaintext released for a file no identity can open"
        raise AssertionError("a fuzzed stream file decrypted")


if __name__ == "__main__":
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from _harness import run

    run(one_input)
