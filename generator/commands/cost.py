"""cost: build the image and say what each tool costs in build time and image bytes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands.build import BuildDisplay, build_options, fresh_output, parse_build_args, parse_platforms, sandbox_version
from generator.commands.docker import checked_argument, client_from, docker_options
from generator.commands.params import NO_CACHE_HELP, format_options, report_options
from generator.errors import UsageError
from generator.output import COST_REPORT, write_atomic

if TYPE_CHECKING:
    from generator.docker.client import DockerClient
from generator.project import Project


@click.command(short_help="Build the image and report what each tool costs.")
@build_options
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    metavar="OS/ARCH",
    help="Build and measure the image for this platform, e.g. linux/arm64 (emulated when foreign; "
    "default: the engine's own). One platform per report: bytes and times differ per platform.",
)
@click.option("--no-cache", is_flag=True, help=NO_CACHE_HELP)
@format_options
@report_options("sandbox cost")
@docker_options
@click.pass_context
def cost(
    ctx: click.Context,
    /,
    tag: str | None,
    profile: str | None,
    platforms: tuple[str, ...],
    no_cache: bool,
    build_args: tuple[str, ...],
    network: str | None,
    timeout: float,
    regenerate: bool,
    output_format: str,
    compare_with: Path | None,
    save: Path | None,
    **docker: str | None,
) -> None:
    """Build the image and report, per tool, the build time of its steps and the bytes it adds
    to the image, with shared steps shown as shared. The build is for the engine's own
    platform unless --platform names one; the report names it, and --compare refuses a report
    of another platform. Cached steps count 0 s (the report says so; --no-cache for the times of a cold build)."""
    from rich.console import Console

    from generator.cost import report as reports, show
    from generator.cost.attribute import LayoutMismatch, StepTime, attribute
    from generator.docker.build import BuildOptions, git_revision, metadata_args, run_build
    from generator.docker.context import build_context_directory
    from generator.docker.errors import BuildError
    from generator.docker.history import image_layers, image_size, unpack
    from generator.docker.progress import count_steps
    from generator.fields import ImageReference
    from generator.render import layout
    from generator.sbom.document import render as render_sbom

    checked_argument(tag, ImageReference, "--tag")
    old = reports.load(compare_with) if compare_with else None
    project = Project.load(ctx.obj["spec"])
    # before the build: a report that cannot be saved is found out now, not after minutes of building
    save_to = project.writable(save, "--save", COST_REPORT, anywhere=True) if save else None
    platform = _one_platform(parse_platforms(platforms, project.spec.platforms))
    client = client_from(docker)
    if old is not None and compare_with is not None:
        # before the build: minutes spent for a comparison that will be refused are wasted
        reports.refuse_other_platform(old, compare_with, platform or _engine_platform(client))
    profile = project.profiles((profile,) if profile else ())[0]
    output = fresh_output(project, profile, regenerate)
    spec = project.spec
    spec_dir = project.spec_path.resolve().parent
    options = BuildOptions(
        tag=tag or f"{spec.image.name}:{spec.image.tag}",
        platforms=(platform,) if platform else (),
        no_cache=no_cache,
        build_args=parse_build_args(build_args),
        network=network,
        timeout=timeout,
    )
    meta = metadata_args(sandbox_version(), git_revision(spec_dir))
    sbom = render_sbom(spec, project.lock, profile)
    with (
        build_context_directory(spec, output.text, spec_dir, sbom) as context_dir,
        BuildDisplay(options.tag, sys.stderr.isatty(), err=True) as display,
    ):
        result = run_build(client, context_dir, options, meta, on_line=display, dockerfile_steps=count_steps(output.text))
    steps = [StepTime(v.name, v.state, v.seconds or 0.0) for v in (result.progress.vertices[n] for n in result.progress.order)]
    store = client.image_store() or "unknown"
    if platform and store == "containerd":
        unpack(client, options.tag, platform)
    layers = image_layers(client, options.tag)
    image_id, size, built_for = image_size(client, options.tag)
    if platform and not reports.same_platform(built_for, platform):
        raise BuildError(f"building {options.tag} for {platform} left an image for {built_for} under that tag")
    if old is not None and compare_with is not None:
        reports.refuse_other_platform(old, compare_with, built_for)
    try:
        parts, unattributed, warnings = attribute(layout(spec, profile, project.lock), steps, layers)
    except LayoutMismatch as exc:
        raise UsageError(f"{options.tag} does not have the layers {output.path} describes: {exc}") from None
    found = reports.CostReport(
        tag=options.tag,
        image_id=image_id or result.image_id,
        profile=profile,
        mode=result.mode,
        image_store=store,
        image_bytes=size,
        wall_seconds=result.seconds,
        no_cache=no_cache,
        parts=parts,
        unattributed_bytes=unattributed,
        warnings=tuple(warnings),
        platform=built_for,
    )
    if save_to:
        write_atomic(save_to, found.to_json())
    changes = reports.compare(old, found.as_dict()) if old else None
    note = reports.compare_note(old, found) if old else ""
    old_bytes = sum(part["bytes"] for part in old["parts"]) if old else 0
    if output_format == "json":
        data = found.as_dict()
        if changes is not None:
            data["compare"] = {"old": str(compare_with), "note": note, "changes": [c.as_dict() for c in changes]}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    elif output_format == "markdown":
        if changes is not None:
            # what changed first: in a pull request body the reader came for that
            click.echo(show.compare_markdown(changes, old_bytes, found.total_bytes, found.platform, note))
        click.echo(show.markdown(found), nl=False)
    else:
        console = Console(width=max(120, Console().width), soft_wrap=False)
        show.table(found, console)
        if changes is not None:
            show.compare_table(changes, old_bytes, found.total_bytes, found.platform, console)
            if note:
                console.print(f"- {note}", markup=False)


def _one_platform(wanted: tuple[str, ...]) -> str | None:
    """The one platform a report measures. Several are refused rather than reported side by
    side: each platform is its own build with its own layers, the engines here have no
    `docker history --platform` to read one platform of a multi-platform image, and the
    classic image store cannot hold one; one `sandbox cost --platform X --save X.json` per
    platform gives the same answer with nothing hidden."""
    if len(wanted) > 1:
        runs = " and ".join(f"`sandbox cost --platform {name}`" for name in wanted)
        raise click.UsageError(f"one platform per cost report (bytes and times differ per platform), not {', '.join(wanted)}: run {runs}")
    return wanted[0] if wanted else None


def _engine_platform(client: DockerClient) -> str:
    """os/arch of the engine (what a build without --platform is for)."""
    server = client.call(lambda whales: whales.version().server)
    return f"{server.os}/{server.arch}" if server is not None and server.os and server.arch else ""


COMMANDS = [cost]
