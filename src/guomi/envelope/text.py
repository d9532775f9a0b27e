"""Text forms of ``guomi-stream/v1`` recipients and identities (``docs/spec/stream.md`` §8).

Layer: ``guomi.envelope``. The functions live in :mod:`guomi.envelope.stream.recipients`
beside the recipient and identity types they print and parse; this module keeps the
import path ``guomi.envelope.text`` that callers already use.
"""

from guomi.envelope.stream.recipients import (
    SM2_RECIPIENT_PREFIX,
    SM2_SECRET_PREFIX,
    format_identity_file,
    generate_identity,
    parse_identity_file,
    parse_sm2_recipient,
    sm2_recipient_string,
    sm2_secret_string,
)

__all__ = [
    "SM2_RECIPIENT_PREFIX",
    "SM2_SECRET_PREFIX",
    "format_identity_file",
    "generate_identity",
    "parse_identity_file",
    "parse_sm2_recipient",
    "sm2_recipient_string",
    "sm2_secret_string",
]
