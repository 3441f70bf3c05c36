"""attest and verify: what travels with a pushed image (its SBOM, a signature over its
digest, BuildKit's provenance) and the check of all of it, from the registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands.params import format_option, profile_option, sign_by_option
from generator.errors import FindingsError
from generator.project import Project

if TYPE_CHECKING:
    from generator.attest.verify import Report


def attach_to(image: str, sbom: str, sign_by: str | None) -> list[str]:
    """Attach ``sbom`` (and a signature with ``sign_by``) to ``image`` (NAME@DIGEST); what was done, a line each."""
    from generator.attest.attach import attach
    from generator.attest.registry import Pinned

    return [str(done) for done in attach(Pinned.parse(image), sbom, sign_by)]


def checked_sign_by(sign_by: str | None) -> str | None:
    """--sign-by's fingerprint, refused before any work when it is not one or skopeo is missing."""
    if sign_by is None:
        return None
    from generator.attest import signing

    signing.skopeo()
    return signing.checked_fingerprint(sign_by)


@click.command(short_help="Attach the SBOM and a signature to a pushed image.")
@click.argument("image", metavar="IMAGE@DIGEST")
@profile_option
@sign_by_option
@click.pass_context
def attest(ctx: click.Context, image: str, profile: str | None, sign_by: str | None) -> None:
    """Attach the spec's CycloneDX SBOM (as `sandbox sbom` writes it) to IMAGE@DIGEST in its
    registry, as an OCI artifact about that digest (tag sha256-HEX.sbom); with --sign-by, a
    signature over the digest too (tag sha256-HEX.simple-signing). `sandbox build --push` does
    this itself; this is for an image pushed otherwise (e.g. merged from per-platform builds)."""
    from generator.attest.registry import Pinned
    from generator.sbom.document import render

    pinned = Pinned.parse(image)
    fingerprint = checked_sign_by(sign_by)
    project = Project.load(ctx.obj["spec"])
    profile = project.profiles((profile,) if profile else ())[0]
    for line in attach_to(str(pinned), render(project.spec, project.lock, profile), fingerprint):
        click.echo(line)


@click.command(short_help="Check a pushed image's signature, provenance and SBOM.")
@click.argument("image", metavar="IMAGE@DIGEST")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    metavar="FILE",
    help="The OpenPGP public key (armored or binary) the signature must be made with.",
)
@click.option(
    "--no-provenance",
    "without_provenance",
    is_flag=True,
    help="Do not ask for BuildKit's provenance (a --reproducible push, or one of another tool, carries none).",
)
@format_option
def verify(image: str, key_file: Path, without_provenance: bool, output_format: str) -> None:
    """Read back from the registry what travels with IMAGE@DIGEST and check it: the signature
    over the digest (with --key, offline), BuildKit's provenance of each platform, and the
    attached SBOM against the image itself (its /etc/sandbox-release and SBOM, and its labels).
    Exit 1 when a check fails, 3 when the registry cannot be read."""
    from generator.attest.registry import Pinned
    from generator.attest.verify import verify as run_checks

    pinned = Pinned.parse(image, "IMAGE@DIGEST")
    report = run_checks(pinned, key_file, provenance=not without_provenance)
    if output_format == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
    elif output_format == "markdown":
        click.echo(_markdown(report), nl=False)
    else:
        _print(report)
    if report.failed:
        raise FindingsError(f"{len(report.failed)} of {len(report.checks)} check(s) failed for {pinned}")
    if output_format != "json":
        click.echo(f"all {len(report.checks)} checks passed for {pinned}")


def _markdown(report: Report) -> str:
    from generator.markdown import cell

    lines = [f"### sandbox verify {cell(report.image)}", "", "| check | result | detail |", "|---|---|---|"]
    lines += [f"| {cell(c.name)} | {'PASS' if c.passed else '**FAIL**'} | {cell(c.detail)} |" for c in report.checks]
    return "\n".join(lines) + "\n"


def _print(report: Report) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from generator.terminal import escape_controls

    console = Console(width=max(120, Console().width), soft_wrap=False)
    table = Table(title=f"sandbox verify {escape(escape_controls(report.image))}")
    for column in ("check", "result", "detail"):
        table.add_column(column, overflow="fold")
    for check in report.checks:
        # details quote what the registry sent: no escape sequence of its reaches the terminal
        passed = "[green]PASS[/]" if check.passed else "[red]FAIL[/]"
        table.add_row(escape(escape_controls(check.name)), passed, escape(escape_controls(check.detail)))
    console.print(table)


COMMANDS = [attest, verify]
