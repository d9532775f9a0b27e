"""Encrypting data at rest: the ``guomi-stream/v1`` file format with recipients.

Layer: ``guomi.envelope`` (above ``guomi.primitives`` and ``guomi.keys``; uses
``guomi.client`` only when a recipient is a key in the custody service, and only through
objects the caller passes in). :mod:`guomi.envelope.stream` encrypts a byte stream of any
size for one or more recipients (SM2 public keys, passphrases, custody-service keys) in
bounded memory; the normative format is ``docs/spec/stream.md``.
"""

from guomi.envelope.stream import (
    Identity,
    KmsIdentity,
    KmsRecipient,
    PassphraseIdentity,
    PassphraseRecipient,
    Recipient,
    SM2Identity,
    SM2Recipient,
    decrypt,
    encrypt,
    open_encrypted,
)

__all__ = [
    "Identity",
    "KmsIdentity",
    "KmsRecipient",
    "PassphraseIdentity",
    "PassphraseRecipient",
    "Recipient",
    "SM2Identity",
    "SM2Recipient",
    "decrypt",
    "encrypt",
    "open_encrypted",
]
