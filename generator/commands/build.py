"""build and test: the commands that turn the spec into an image and check that image."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from generator.commands.attest import attach_to, checked_sign_by
from generator.commands.docker import checked_argument, client_from, docker_options
from generator.commands.params import (
    NO_CACHE_HELP,
    Seconds,
    format_options,
    not_an_option,
    profile_option,
    report_options,
    sign_by_option,
    tag_option,
)
from generator.docker.timeouts import BUILD_TIMEOUT
from generator.errors import FindingsError
from generator.output import drift
from generator.project import Output, Project

if TYPE_CHECKING:
    from generator.docker.progress import BuildProgress, Vertex
    from generator.docker.smoke import SmokeReport
    from generator.smoke_diff import RowChange

_BUILD_ARG = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)


def parse_build_args(values: tuple[str, ...]) -> dict[str, str]:
    args: dict[str, str] = {}
    for value in values:
        match = _BUILD_ARG.fullmatch(value)
        if not match:
            raise click.BadParameter(f"{value!r}: expected KEY=VALUE with KEY a variable name", param_hint="--build-arg")
        args[match[1]] = match[2]
    return args


_PLATFORM = re.compile(r"[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?")
_CACHE_BACKEND = re.compile(r"type=[a-z0-9-]+(,[A-Za-z0-9_.-]+=[^,\s]*)*")


def parse_platforms(values: tuple[str, ...], spec_platforms: list[str]) -> tuple[str, ...]:
    """--platform values (repeated or comma-separated; 'spec' for the spec's platforms)."""
    wanted: list[str] = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            names = list(spec_platforms) if item == "spec" else [item]
            for name in names:
                if not _PLATFORM.fullmatch(name):
                    raise click.BadParameter(f"{name!r}: expected OS/ARCH such as linux/arm64, or 'spec'", param_hint="--platform")
                if name not in wanted:
                    wanted.append(name)
    return tuple(wanted)


def _cache_backend(value: str, option: str) -> str:
    if not _CACHE_BACKEND.fullmatch(value):
        raise click.BadParameter(f"{value!r}: expected type=NAME[,KEY=VALUE...], e.g. type=local,src=DIR", param_hint=option)
    return value


def _source_date_epoch(spec_dir: Path) -> int:
    """SOURCE_DATE_EPOCH from the environment, else the spec's last commit time."""
    from generator.docker.build import commit_epoch
    from generator.epoch import source_date_epoch

    moment = source_date_epoch()  # read one way for every command (a bad value: exit 2)
    if moment is not None:
        return int(moment.timestamp())
    epoch = commit_epoch(spec_dir)
    if epoch is None:
        raise click.BadParameter(
            "needs SOURCE_DATE_EPOCH or a git work tree with a commit to take the time from", param_hint="--reproducible"
        )
    return epoch


def fresh_output(project: Project, profile: str, regenerate: bool) -> Output:
    """The profile's Dockerfile, refusing one that no longer matches the spec."""
    output = project.outputs((profile,))[0]
    if drift(output.path, output.text):
        if not regenerate:
            raise FindingsError(
                f"{output.path} is out of date with {project.spec_path} (or missing); "
                f"run: sandbox --spec {project.spec_path} generate (or pass --regenerate)"
            )
        project.write([output])
        click.echo(f"regenerated {output.path} (profile {profile})", err=True)
    return output


def sandbox_version() -> str:
    """This package's installed version, for the image's labels ("dev" from a bare checkout)."""
    try:
        return metadata.version("opencode-sandbox")
    except metadata.PackageNotFoundError:
        return "dev"


class BuildDisplay:
    """A live status line on a terminal; one line per step otherwise (CI logs)."""

    def __init__(self, tag: str, live: bool, err: bool = False) -> None:
        self.tag = tag
        #: the step lines go to stderr (when stdout carries a report)
        self.err = err
        self.started = time.monotonic()
        self.live = live
        self.status = None
        if live:
            from rich.console import Console

            self.status = Console(stderr=True).status(f"building {tag}")

    def __enter__(self) -> BuildDisplay:
        if self.status:
            self.status.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.status:
            self.status.__exit__(*exc)

    def __call__(self, line: str, progress: BuildProgress, started: Vertex | None) -> None:
        elapsed = time.monotonic() - self.started
        if self.status is not None:
            from rich.markup import escape

            current = progress.current
            name = " ".join(current.name.split()) if current else "waiting for the engine"
            self.status.update(
                f"[bold]{escape(self.tag)}[/] {progress.done}/{progress.total_steps} steps, {elapsed:.0f} s: {escape(name[:70])}"
            )
        elif started is not None and started.numbered:
            click.echo(f"[{elapsed:6.1f}s] step {len(progress.steps)}/{progress.total_steps}: {started.name[:160]}", err=self.err)


def build_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--tag, --profile, --build-arg, --network, --timeout and --regenerate: what every command
    that builds the image (build, cost) takes alike."""
    options = [
        tag_option(),
        profile_option,
        click.option("--build-arg", "build_args", multiple=True, metavar="KEY=VALUE", help="Extra build argument (repeatable)."),
        click.option("--network", default=None, metavar="MODE", callback=not_an_option, help="Network for RUN steps (e.g. host)."),
        click.option(
            "--timeout",
            type=Seconds(0, 86400, low_open=True),
            default=BUILD_TIMEOUT,
            show_default=True,
            help="Stop the build after this many seconds.",
        ),
        click.option("--regenerate", is_flag=True, help="Rewrite a stale Dockerfile first instead of refusing to build."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command(short_help="Build the image with BuildKit.")
@build_options
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    metavar="OS/ARCH",
    help="Target platform, e.g. linux/arm64; repeatable or comma-separated (linux/amd64,linux/arm64); 'spec' for the "
    "spec's platforms (more than one needs buildx and an engine with the containerd image store, or --push).",
)
@click.option("--no-cache", is_flag=True, help=NO_CACHE_HELP)
@click.option("--builder", default=None, metavar="NAME", callback=not_an_option, help="buildx builder instance (buildx only).")
@click.option(
    "--push", is_flag=True, help="Push the image (all platforms, as one manifest list) to the registry its tag names (buildx, or Podman)."
)
@click.option(
    "--cache-from",
    "cache_from",
    multiple=True,
    metavar="TYPE=...,KEY=VALUE",
    help="Import build cache, e.g. type=local,src=DIR or type=registry,ref=HOST/NAME:cache (buildx; repeatable).",
)
@click.option(
    "--cache-to",
    "cache_to",
    default=None,
    metavar="TYPE=...,KEY=VALUE",
    help="Export build cache, e.g. type=local,dest=DIR,mode=max or type=registry,ref=HOST/NAME:cache,mode=max (buildx).",
)
@click.option(
    "--reproducible",
    is_flag=True,
    help="Same inputs, same image digest: every timestamp becomes SOURCE_DATE_EPOCH (default: the spec's last commit) (buildx).",
)
@sign_by_option
@docker_options
@click.pass_context
def build(
    ctx: click.Context,
    /,
    tag: str | None,
    profile: str | None,
    platforms: tuple[str, ...],
    no_cache: bool,
    build_args: tuple[str, ...],
    network: str | None,
    timeout: float,
    builder: str | None,
    push: bool,
    cache_from: tuple[str, ...],
    cache_to: str | None,
    reproducible: bool,
    regenerate: bool,
    sign_by: str | None,
    **docker: str | None,
) -> None:
    """Build the image with BuildKit from the generated Dockerfile (buildx, or the BuildKit
    built into a docker CLI older than 23), or with Podman's Buildah (--engine podman). With
    --push the image carries BuildKit's provenance (but a --reproducible one: it records when
    the build ran; none from Podman) and gets the spec's SBOM attached in the registry, and with
    --sign-by a signature over its digest (see `sandbox verify`)."""
    from generator.docker.build import BuildOptions, git_revision, metadata_args, run_build
    from generator.docker.context import build_context_directory
    from generator.docker.progress import count_steps
    from generator.fields import ImageReference
    from generator.sbom.document import render as render_sbom

    checked_argument(tag, ImageReference, "--tag")
    if sign_by and not push:
        raise click.BadParameter("signs what is pushed: give --push too", param_hint="--sign-by")
    fingerprint = checked_sign_by(sign_by)
    extra_args = parse_build_args(build_args)
    project = Project.load(ctx.obj["spec"])
    profile = project.profiles((profile,) if profile else ())[0]
    output = fresh_output(project, profile, regenerate)
    spec = project.spec
    spec_dir = project.spec_path.resolve().parent
    epoch = _source_date_epoch(spec_dir) if reproducible else None
    options = BuildOptions(
        tag=tag or f"{spec.image.name}:{spec.image.tag}",
        platforms=parse_platforms(platforms, spec.platforms),
        no_cache=no_cache,
        build_args=extra_args,
        network=network,
        builder=builder,
        timeout=timeout,
        push=push,
        cache_from=tuple(_cache_backend(value, "--cache-from") for value in cache_from),
        cache_to=_cache_backend(cache_to, "--cache-to") if cache_to else None,
        source_date_epoch=epoch,
    )
    client = client_from(docker)
    meta = metadata_args(sandbox_version(), git_revision(spec_dir), epoch=epoch)
    sbom = render_sbom(spec, project.lock, profile)
    with (
        build_context_directory(spec, output.text, spec_dir, sbom) as context_dir,
        BuildDisplay(options.tag, sys.stderr.isatty()) as display,
    ):
        result = run_build(client, context_dir, options, meta, on_line=display, dockerfile_steps=count_steps(output.text))
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    made = f"pushed {result.tag}@{result.digest}" if push and result.digest else f"built {result.tag} ({result.image_id or 'no image id'})"
    where = f" for {', '.join(options.platforms)}" if options.platforms else ""
    # (Podman's build log is not BuildKit's: no steps counted there)
    steps = result.progress
    cache = "" if result.mode == "podman" else f" ({len(steps.executed)} step(s) run, {len(steps.cached)} from the cache)"
    click.echo(f"{made}{where} from {output.path} in {result.seconds:.1f} s with {result.mode}{cache}")
    if push and result.digest:
        for line in attach_to(f"{repository_of(result.tag)}@{result.digest}", sbom, fingerprint):
            click.echo(line)


def repository_of(tag: str) -> str:
    """NAME of NAME:TAG (a registry's port is not a tag: NAME has no '/' after it)."""
    name, colon, rest = tag.rpartition(":")
    return name if colon and "/" not in rest else tag


@click.command(name="test", short_help="Smoke-test an image against the spec.")
@click.argument("image")
@profile_option
@click.option(
    "--stand-in/--no-stand-in",
    default=False,
    envvar="SANDBOX_SMOKE_STAND_IN",
    show_envvar=True,
    help="Run a tiny web server instead of the image's command (which may need the network).",
)
@click.option(
    "--health-timeout",
    type=Seconds(0, 3600, low_open=True),
    default=120.0,
    show_default=True,
    help="Seconds to wait for the HEALTHCHECK to pass.",
)
@click.option("--health-interval", default=None, metavar="DURATION", help="Override the image's health-check interval (e.g. 2s).")
@click.option(
    "--platform",
    default=None,
    metavar="OS/ARCH",
    help="Run the image's variant for this platform (e.g. linux/arm64, emulated when foreign).",
)
@click.option(
    "--agent",
    is_flag=True,
    help="Run the tool checks and everyday tasks (git, Python, Node, Go, Rust, shell) through a real opencode "
    "session driven by a scripted model on 127.0.0.1; needs an engine on this machine (host network).",
)
@click.option(
    "--hardened",
    is_flag=True,
    help="Run the container as runtime.hardening says (read-only root and tmpfs, capabilities dropped, "
    "no new privileges without sudo, pids and memory limits) and check that it does.",
)
@click.option(
    "--agent-timeout",
    type=Seconds(0, 3600, low_open=True),
    default=600.0,
    show_default=True,
    help="Seconds one agent session may take (--agent).",
)
@format_options
@report_options("sandbox test")
@docker_options
@click.pass_context
def test(
    ctx: click.Context,
    /,
    image: str,
    profile: str | None,
    stand_in: bool,
    health_timeout: float,
    health_interval: str | None,
    platform: str | None,
    agent: bool,
    hardened: bool,
    agent_timeout: float,
    output_format: str,
    compare_with: Path | None,
    save: Path | None,
    **docker: str | None,
) -> None:
    """Smoke-test IMAGE against the spec: tool checks as the user, uid, sudo, setuid files,
    HEALTHCHECK; with --agent, the tool checks and everyday tasks through opencode's own tools.
    Exit 1 when a check fails; the container is always removed."""
    from generator import smoke_diff
    from generator.docker.smoke import SmokeTest, health_interval_of, remote_engine
    from generator.fields import ImageReference
    from generator.markdown import cell
    from generator.output import TEST_REPORT, write_atomic
    from generator.terminal import escape_controls

    checked_argument(image, ImageReference, "IMAGE")
    if health_interval is not None:
        try:
            health_interval_of(health_interval)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--health-interval") from None
    old = smoke_diff.load(compare_with) if compare_with else None
    project = Project.load(ctx.obj["spec"])
    # before the run: a report that cannot be saved is found out now
    save_to = project.writable(save, "--save", TEST_REPORT, anywhere=True) if save else None
    profile = project.profiles((profile,) if profile else ())[0]
    platforms = parse_platforms((platform,), project.spec.platforms) if platform else ()
    if len(platforms) > 1:
        # one container runs one variant; naming several would test only the first
        raise click.BadParameter(f"one platform per run, not {', '.join(platforms)}", param_hint="--platform")
    platform = platforms[0] if platforms else None
    if agent and stand_in:
        raise click.BadParameter("the agent needs the image's own opencode server, not a stand-in", param_hint="--agent")
    client = client_from(docker)
    if agent and remote_engine(client.host):
        # opencode in the container and the scripted model here meet on one loopback
        raise click.BadParameter(
            f"the engine at {escape_controls(client.host or '')} is on another machine; the agent check needs one on this machine",
            param_hint="--agent",
        )
    smoke = SmokeTest(
        client,
        image,
        project.spec,
        profile,
        stand_in=stand_in,
        health_timeout=health_timeout,
        health_interval=health_interval,
        platform=platform,
        agent=agent,
        agent_timeout=agent_timeout,
        hardened=hardened,
    )
    report = smoke.run()
    found = report.as_dict()
    if save_to:
        write_atomic(save_to, json.dumps(found, indent=2) + "\n")
    # what changed since --compare's report: the rows, and the line that sums them up
    changes, summary = None, ""
    if old is not None:
        changes = smoke_diff.compare(old, found)
        summary = smoke_diff.summary(changes, old, found)
    if output_format == "json":
        if changes is not None:
            found["compare"] = {"old": str(compare_with), "summary": summary, "changes": [change.as_dict() for change in changes]}
        click.echo(json.dumps(found, indent=2))
    elif output_format == "markdown":
        if changes is not None and old is not None:
            click.echo(f"### Compared with {cell(str(compare_with))}\n\n" + smoke_diff.markdown(changes, old, found))
        click.echo(_report_markdown(report, profile, platform), nl=False)
    else:
        _print_report(report, profile, platform)
        if changes is not None:
            _print_changes(changes, summary, compare_with)
    if report.failed:
        raise FindingsError(f"{len(report.failed)} of {len(report.results)} smoke check(s) failed for {image}")
    if output_format != "json":
        click.echo(f"all {len(report.results)} smoke checks passed for {image}")


def _report_markdown(report: SmokeReport, profile: str, platform: str | None) -> str:
    from generator.markdown import cell

    lines = [f"### sandbox test {cell(report.image)} (profile {cell(profile)}{', ' + cell(platform) if platform else ''})", ""]
    lines += ["| check | result | seconds | detail |", "|---|---|---:|---|"]
    for row in report.results:
        seconds = "" if row.seconds is None else f"{row.seconds:.1f}"
        lines.append(f"| {cell(row.name)} | {'PASS' if row.passed else '**FAIL**'} | {seconds} | {cell(row.detail)} |")
    return "\n".join(lines) + "\n"


def _print_changes(changes: list[RowChange], summary: str, compare_with: Path | None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from generator import smoke_diff
    from generator.terminal import escape_controls

    console = Console(width=max(120, Console().width), soft_wrap=False)
    table = Table(title=f"compared with {escape(escape_controls(str(compare_with)))}", caption=escape(summary))
    for column in ("change", "check", "before", "after", "detail"):
        table.add_column(column, overflow="fold")
    for change in changes:
        table.add_row(*(escape(escape_controls(text)) for text in smoke_diff.cells(change)))
    console.print(table)


def _print_report(report: SmokeReport, profile: str, platform: str | None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from generator.terminal import escape_controls

    image = report.image
    console = Console(width=max(120, Console().width), soft_wrap=False)
    if report.stand_in:
        console.print(report.stand_in, style="bold yellow", markup=False)
    table = Table(
        title=f"sandbox test {image} (profile {profile}{', ' + platform if platform else ''})",
        caption="STAND-IN server used" if report.stand_in else None,
    )
    for column in ("check", "result", "s", "detail"):
        table.add_column(column, overflow="fold", justify="right" if column == "s" else "left")
    for row in report.results:
        # a detail quotes what the container printed: no escape sequence of its reaches the terminal
        passed = "[green]PASS[/]" if row.passed else "[red]FAIL[/]"
        seconds = "" if row.seconds is None else f"{row.seconds:.1f}"
        table.add_row(escape(escape_controls(row.name)), passed, seconds, escape(escape_controls(row.detail)))
    console.print(table)


COMMANDS = [build, test]
