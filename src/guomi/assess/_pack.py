"""Build and verify the evidence pack directory.

Layer: ``guomi.assess``. Order: collect facts, analyse, write ``evidence.json`` and
``report.html``, print ``report.pdf``, then write ``manifest.json`` (SM3 of every file) and
sign it. The output directory must be new or empty, so a pack never mixes two runs; files
are written under a temporary name and renamed, so a crash leaves no half-written file
under a final name.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from guomi.assess._analysis import analyse
from guomi.assess._browser import render_pdf
from guomi.assess._collect import collect
from guomi.assess._config import AssessConfig, ConfigError, load_config
from guomi.assess._manifest import write_manifest
from guomi.assess._report import render_html
from guomi.primitives import sm2
from guomi.primitives.serialization import load_pem_private_key

__all__ = ["PackResult", "assess"]


@dataclass(frozen=True, slots=True)
class PackResult:
    """What :func:`assess` wrote."""

    out: Path
    evidence: dict[str, Any]
    pdf_status: str
    manifest_sm3_public_key: str


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _signing_key(config: AssessConfig) -> sm2.SM2PrivateKey:
    try:
        pem = config.signing_key.read_bytes()
    except OSError as exc:
        raise ConfigError(f"signing.key: cannot read {config.signing_key} ({exc.strerror or exc})") from None
    try:
        return load_pem_private_key(pem, config.signing_passphrase)
    except (ValueError, TypeError) as exc:  # TypeError: encrypted key, no passphrase (pyca style)
        raise ConfigError(
            f"signing.key: {config.signing_key} is not a usable SM2 private key ({exc}); "
            "an encrypted key's passphrase comes from GUOMI_SIGNING_PASSPHRASE"
        ) from None


def assess(
    config: AssessConfig | str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    transport: httpx.BaseTransport | None = None,
    pdf: bool = True,
) -> PackResult:
    """Builds the evidence pack for ``config`` (an :class:`AssessConfig` or a TOML path) in ``out``.

    Raises :class:`ConfigError` for a bad configuration, signing key or output directory, and
    :class:`~guomi.assess.ServiceAccessError` when the service refuses the token; an
    unreachable service or database becomes a finding."""
    cfg = config if isinstance(config, AssessConfig) else load_config(config)
    out_dir = Path(out)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ConfigError(
            f"--out {out_dir}: exists and is not an empty directory (a pack never mixes two runs)"
        )
    key = _signing_key(cfg)  # before any work: a wrong key fails fast
    facts = collect(cfg, transport=transport)
    evidence = analyse(facts)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write(
        out_dir / "evidence.json", (json.dumps(evidence, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    )
    _write(out_dir / "report.html", render_html(evidence).encode("utf-8"))
    pdf_status = (
        render_pdf(out_dir / "report.html", out_dir / "report.pdf") if pdf else "not rendered: disabled"
    )
    write_manifest(
        out_dir,
        key,
        {
            "system": evidence["system"]["name"],
            "level": evidence["system"]["level"],
            "generated_at": evidence["generated_at"],
            "report_pdf": pdf_status,
        },
    )
    from guomi.primitives import sm3  # noqa: PLC0415

    return PackResult(out_dir, evidence, pdf_status, sm3.digest(key.public_key().public_bytes_raw()).hex())
