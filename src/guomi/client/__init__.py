"""The Python SDK of the guomi custody service: :class:`Client` and :class:`AsyncClient`.

Layer: ``guomi.client``; it never imports ``guomi.kms`` (the server). Address and token come
from the arguments or ``GUOMI_ADDR`` / ``GUOMI_TOKEN``. ``client.aead(name)`` and
``client.signer(name)`` return objects satisfying :class:`guomi.keys.Aead` and
:class:`guomi.keys.Signer`.
"""

from guomi.client._calls import BatchLimits, BatchResult, DataKey
from guomi.client._client import DEFAULT_ADDR, AsyncClient, Client
from guomi.client._keys import ServiceAead, ServiceSigner

__all__ = [
    "DEFAULT_ADDR",
    "AsyncClient",
    "BatchLimits",
    "BatchResult",
    "Client",
    "DataKey",
    "ServiceAead",
    "ServiceSigner",
]
