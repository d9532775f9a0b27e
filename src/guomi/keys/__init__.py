"""Keys and the protocols for using them: :class:`Aead`, :class:`Signer`, :class:`Verifier`, :class:`Mac`.

Layer: ``guomi.keys`` (above ``guomi.primitives``, below the wire formats, the service and
its SDK). The protocols are the seam between "what a key does" and "where it lives":
:class:`LocalAead` / :class:`LocalSigner` / :class:`LocalMac` hold key material in this
process; ``guomi.client.Client.aead(name)`` / ``.signer(name)`` return objects with the same
shape whose key never leaves the custody service.
"""

from guomi.keys._local import LocalAead, LocalMac, LocalSigner, LocalVerifier
from guomi.keys._protocols import Aead, Mac, Signer, Verifier
from guomi.keys.keyset import INSECURE_CLEARTEXT_KEYSET_ACCESS, Keyset, KeysetAead

__all__ = [
    "INSECURE_CLEARTEXT_KEYSET_ACCESS",
    "Aead",
    "Keyset",
    "KeysetAead",
    "LocalAead",
    "LocalMac",
    "LocalSigner",
    "LocalVerifier",
    "Mac",
    "Signer",
    "Verifier",
]
