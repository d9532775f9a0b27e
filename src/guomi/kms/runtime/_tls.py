"""The server's TLS context: TLS 1.2/1.3 only, forward-secret AEAD suites, optional client certificates.

Layer: ``guomi.kms.runtime``.  Built once from :class:`~guomi.kms.config.ServerSettings` and
handed to uvicorn (``ssl_context_factory``), so the TLS of ``guomi server`` is this context
and nothing else: no TLS 1.0/1.1, no compression, no renegotiation, no session tickets
(they would outlive a key rotation of the server's certificate), ECDHE key exchange with
AES-GCM or ChaCha20-Poly1305 only (OpenSSL's TLS 1.3 suites are all AEAD).  With a client
CA, every connection must present a certificate that chains to it (``CERT_REQUIRED``): the
handshake fails otherwise, before any HTTP is read.
"""

from __future__ import annotations

import ssl

from guomi.kms.config import ConfigError, ServerSettings

__all__ = ["TLS12_CIPHERS", "server_ssl_context"]

#: TLS 1.2 suites: ECDHE (forward secrecy) with an AEAD, nothing else.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!MD5:!SHA1:!DSS"


def server_ssl_context(settings: ServerSettings) -> ssl.SSLContext:
    """A hardened server context for ``settings.tls_cert`` / ``tls_key`` (and ``tls_client_ca``)."""
    if settings.tls_cert is None or settings.tls_key is None:
        raise ConfigError("TLS needs both tls_cert and tls_key")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = (
        ssl.TLSVersion.TLSv1_3 if settings.tls_min_version == "1.3" else ssl.TLSVersion.TLSv1_2
    )
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_TICKET
    ctx.options |= getattr(ssl, "OP_NO_RENEGOTIATION", 0)
    try:
        ctx.load_cert_chain(str(settings.tls_cert), str(settings.tls_key))
    except (OSError, ssl.SSLError) as exc:
        # The message names the files, never their content (the key file holds a secret).
        raise ConfigError(
            f"tls_cert/tls_key: cannot load {settings.tls_cert} with {settings.tls_key} "
            f"({getattr(exc, 'reason', None) or type(exc).__name__})"
        ) from None
    if settings.tls_client_ca is not None:
        try:
            ctx.load_verify_locations(cafile=str(settings.tls_client_ca))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"tls_client_ca: cannot load {settings.tls_client_ca} "
                f"({getattr(exc, 'reason', None) or type(exc).__name__})"
            ) from None
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
