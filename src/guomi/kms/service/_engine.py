"""The custody engine: every operation of the service, with no HTTP in sight.

Layer: ``guomi.kms.service``.  :class:`Engine` is assembled from one class per
concern, each in its own module (mirroring ``guomi.kms.http``):

* :mod:`._core` -- state, record reads, authentication, authorisation, audit,
  and the :class:`~._core.Operation` scope every operation runs in;
* :mod:`._seal` -- seal state and keyring (health, init, unseal, seal);
* :mod:`._auth` -- tokens and policies;
* :mod:`._keys` -- key life cycle (CRUD, compare-and-set, rotation, backup, restore);
* :mod:`._transit` -- encrypt, decrypt, rewrap, datakey;
* :mod:`._sign` -- sign, verify, hmac;
* :mod:`._util` -- random, hash.

Key types and their operations are the registry of :mod:`._keytypes`; ciphertext
tokens are built and opened by :mod:`._token`.  The HTTP routes
(``guomi.kms.http``) parse a request into a ``guomi.api`` model, call one
method here and serialise what it returns; tests call the same methods directly.
"""

from __future__ import annotations

from guomi.kms.service._auth import TokenOps
from guomi.kms.service._seal import SealOps
from guomi.kms.service._sign import SigningOps
from guomi.kms.service._transit import TransitOps
from guomi.kms.service._util import UtilityOps

__all__ = ["Engine"]


class Engine(TransitOps, SigningOps, TokenOps, SealOps, UtilityOps):
    """The transport-free custody service."""
