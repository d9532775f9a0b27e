"""The 密评 (GB/T 39786) assessment evidence pack: ``guomi assess --config FILE --out DIR``.

Layer: ``guomi.assess`` (top, under the CLI). From facts guomi holds — the custody service's
keys and audit log, sampled database columns and files (:mod:`guomi.scan`) — it writes a
directory with ``report.html`` (self-contained, bilingual), ``report.pdf`` (headless
Chromium), ``evidence.json`` (every finding with its source), ``manifest.json`` (SM3 of
every file) and ``manifest.json.sig`` (SM2, user ID ``1234567812345678``).

* :func:`assess` — build a pack from a config (TOML path or :class:`AssessConfig`);
* :func:`verify` — check a pack's signature and every digest (``guomi assess verify DIR``);
* :func:`load_config` — read and check the TOML configuration.

The scores are a self-assessment aid, not an assessment.
"""

from guomi.assess._audit import ChainResult, verify_chain
from guomi.assess._config import AssessConfig, ConfigError, load_config
from guomi.assess._manifest import VerifyResult
from guomi.assess._manifest import verify_pack as verify
from guomi.assess._pack import PackResult, assess
from guomi.assess._service import ServiceAccessError, ServiceUnreachable

__all__ = [
    "AssessConfig",
    "ChainResult",
    "ConfigError",
    "PackResult",
    "ServiceAccessError",
    "ServiceUnreachable",
    "VerifyResult",
    "assess",
    "load_config",
    "verify",
    "verify_chain",
]
