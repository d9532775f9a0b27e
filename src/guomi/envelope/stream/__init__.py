"""``guomi-stream/v1``: file encryption for recipients, in bounded memory (``docs/spec/stream.md``).

Layer: ``guomi.envelope``. Three modules, one job each:

- :mod:`~guomi.envelope.stream._format`: constants, KDF labels, the header codec;
- :mod:`~guomi.envelope.stream.recipients`: recipients and identities (SM2, passphrase,
  custody-service key) and their text forms (``sm2:...``, identity files);
- :mod:`~guomi.envelope.stream._io`: :func:`encrypt`, :func:`decrypt`, :func:`open_encrypted`.

>>> import io
>>> from guomi.primitives import sm2
>>> key = sm2.generate_private_key()
>>> sealed = io.BytesIO()
>>> encrypt(io.BytesIO(b"ledger"), sealed, [SM2Recipient(key.public_key())])
>>> out = io.BytesIO()
>>> _ = sealed.seek(0)
>>> decrypt(sealed, out, [SM2Identity(key)])
>>> out.getvalue()
b'ledger'
"""

from guomi.envelope.stream._format import (
    DEFAULT_ITERATIONS,
    DEFAULT_MAX_ITERATIONS,
    DEFAULT_SEGMENT_SIZE,
    MAGIC,
    MAX_ITERATIONS,
    MIN_ITERATIONS,
    Header,
    Stanza,
    read_header,
)
from guomi.envelope.stream._io import decrypt, encrypt, open_encrypted
from guomi.envelope.stream.recipients import (
    AeadProvider,
    Identity,
    KmsIdentity,
    KmsRecipient,
    PassphraseIdentity,
    PassphraseRecipient,
    Recipient,
    SM2Identity,
    SM2Recipient,
)

__all__ = [
    "DEFAULT_ITERATIONS",
    "DEFAULT_MAX_ITERATIONS",
    "DEFAULT_SEGMENT_SIZE",
    "MAGIC",
    "MAX_ITERATIONS",
    "MIN_ITERATIONS",
    "AeadProvider",
    "Header",
    "Identity",
    "KmsIdentity",
    "KmsRecipient",
    "PassphraseIdentity",
    "PassphraseRecipient",
    "Recipient",
    "SM2Identity",
    "SM2Recipient",
    "Stanza",
    "decrypt",
    "encrypt",
    "open_encrypted",
    "read_header",
]
