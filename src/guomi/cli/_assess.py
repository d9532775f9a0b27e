"""``guomi assess``: build and verify the 密评 assessment evidence pack.

Layer: ``guomi.cli``. ``guomi assess --config FILE --out DIR`` builds a pack
(:func:`guomi.assess.assess`); ``guomi assess verify DIR`` checks one (exit 0 only if the
SM2 signature and every SM3 digest hold). The service token comes from ``GUOMI_TOKEN``;
tests hand an in-process transport through the click context object (``obj.transport``),
as for the other service commands.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

__all__ = ["assess_group"]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@click.group("assess", invoke_without_command=True)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Assessment configuration (TOML): [system], [service], [[databases]], [[files]], [signing].",
)
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="New directory for the pack."
)
@click.option("--no-pdf", is_flag=True, help="Skip report.pdf (no headless Chromium).")
@click.pass_context
def assess_group(ctx: click.Context, config_path: Path | None, out_dir: Path | None, no_pdf: bool) -> None:
    """Build the 密评 (GB/T 39786) evidence pack: report.html/.pdf, evidence.json, signed manifest.

    \b
    guomi assess --config assess.toml --out pack/     (token from GUOMI_TOKEN)
    guomi assess verify pack/                         (exit 0 only if everything holds)
    """
    if ctx.invoked_subcommand is not None:
        return
    if config_path is None or out_dir is None:
        raise click.UsageError("guomi assess needs --config FILE and --out DIR (or: guomi assess verify DIR)")
    from guomi.assess import ConfigError, ServiceAccessError, assess  # noqa: PLC0415 (loaded when run)

    transport = getattr(ctx.obj, "transport", None)
    try:
        result = assess(config_path, out_dir, transport=transport, pdf=not no_pdf)
    except (ConfigError, ServiceAccessError) as exc:
        err.print(f"[bold red]error:[/] {exc}", markup=True)
        sys.exit(1)
    ev = result.evidence
    high = [f for f in ev["findings"] if f["severity"] == "high"]
    out.print(f"Evidence pack written to {result.out}")
    out.print(f"  findings: {len(ev['findings'])} ({len(high)} high risk)")
    for f in high:
        out.print(f"    [red]HIGH[/] {f['title_en']} — {f['source']}", markup=True)
    out.print(f"  report.pdf: {result.pdf_status}")
    score = ev["scores"]["overall"]
    out.print(f"  self-assessment score (aid, not an assessment): {score if score is not None else '-'}")
    out.print(f"  signer public key SM3: {result.manifest_sm3_public_key}")


@assess_group.command("verify")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--pubkey",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Signer's public key (PEM) to pin; default: the pack's own pub.pem (compare its fingerprint).",
)
def verify_command(directory: Path, pubkey: Path | None) -> None:
    """Check pack DIRECTORY: the SM2 signature over manifest.json and the SM3 digest of every file."""
    from guomi.assess import verify  # noqa: PLC0415

    result = verify(directory, pubkey.read_bytes() if pubkey is not None else None)
    for problem in result.problems:
        err.print(f"[bold red]FAIL[/] {problem}", markup=True)
    if result.ok:
        out.print(
            f"[green]OK[/]: signature valid, {result.files_checked} files match the manifest", markup=True
        )
        out.print(f"signer public key SM3: {result.public_key_sm3}")
    sys.exit(0 if result.ok else 1)
