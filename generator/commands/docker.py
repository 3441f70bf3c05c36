"""doctor, pull: the commands that ask a Docker engine or a registry something.

``docker_options`` and ``client_from`` are shared with the other Docker commands (build, test),
so every one of them picks the binary and the engine the same way.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from generator.commands.params import Seconds, format_options, not_an_option, tag_option
from generator.errors import FindingsError
from generator.terminal import escape_controls

if TYPE_CHECKING:  # the client is imported where it is used: it loads python-on-whales
    from generator.docker.client import DockerClient


def docker_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--engine, --docker-cli, --docker-host, --context; read them back with :func:`client_from`."""

    @click.option(
        "--engine",
        "engine",
        type=click.Choice(["docker", "podman"]),
        envvar="SANDBOX_ENGINE",
        show_envvar=True,
        default="docker",
        show_default=True,
        help="The container engine: Docker, or Podman (its CLI, podman on PATH, unless --docker-cli names one).",
    )
    @click.option(
        "--docker-cli",
        "docker_cli",
        metavar="PATH",
        default=None,
        help="The engine's CLI binary (default: $SANDBOX_DOCKER_CLI, else docker on PATH; with --engine podman: podman on PATH).",
    )
    @click.option(
        "--docker-host",
        "docker_host",
        metavar="URL",
        default=None,
        callback=not_an_option,
        help="The engine, e.g. unix:///var/run/docker.sock or ssh://me@box (default: $DOCKER_HOST / the context).",
    )
    @click.option(
        "--context",
        "docker_context",
        metavar="NAME",
        default=None,
        callback=not_an_option,
        help="A docker context to use instead of --docker-host.",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


def checked_argument(value: str | None, field_type: Any, name: str) -> str | None:
    """``value`` of a command-line argument that reaches docker, validated against a type
    of generator.fields (an image reference never starts with '-'); UsageError naming the
    argument otherwise."""
    if value is None:
        return None
    from pydantic import TypeAdapter, ValidationError

    from generator.errors import UsageError

    try:
        checked: str = TypeAdapter(field_type).validate_python(value)
        return checked
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise UsageError(f"{name}: {message}") from None


def client_from(options: dict[str, Any], *, timeout: float | None = None) -> DockerClient:
    """A DockerClient for the values of :func:`docker_options` (popped from ``options``)."""
    from generator.docker.client import DockerClient
    from generator.docker.timeouts import DEFAULT_TIMEOUT

    return DockerClient(
        cli=options.pop("docker_cli", None),
        host=options.pop("docker_host", None),
        context=options.pop("docker_context", None),
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        engine=options.pop("engine", None) or "docker",
    )


@click.command(short_help="Check that this machine can build the image.")
@docker_options
@format_options
def doctor(output_format: str, **options: Any) -> None:
    """Check that an image can be built here: CLI, engine, versions, BuildKit path, disk.

    Exits 1 when a check fails; each failure says how to fix it.
    """
    from generator.docker.doctor import diagnose

    report = diagnose(client_from(options))
    if output_format == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        lines = report.markdown() if output_format == "markdown" else report.lines()
        for line in lines:
            # a summary quotes the --docker-host or --docker-cli given and what docker answered
            click.echo(escape_controls(line, keep="\n"))
    # the verdict, said once, last: what a build will use, or (exit 1) why none can work
    if not report.ok:
        failed = ", ".join(c.name for c in report.failures)
        raise FindingsError(f"a build cannot work here; failed check(s): {failed}")
    if output_format != "json":
        # (after a blank line in Markdown: a line right below a table would be read as its last row)
        click.echo(("\n" if output_format == "markdown" else "") + escape_controls(f"a build will use: {report.build_path}"))


@click.command(short_help="Pull the image from Docker Hub or a mirror.")
@docker_options
@tag_option(" TAG alone: image.name:TAG.")
@click.option("--tries", default=3, show_default=True, type=click.IntRange(1, 10), help="Attempts per registry.")
@click.option(
    "--retry-delay",
    default=2.0,
    show_default=True,
    type=Seconds(0, 60),
    metavar="SECONDS",
    help="First backoff delay; it doubles per retry (jittered, at most 30 s).",
)
@click.pass_context
def pull(ctx: click.Context, /, tag: str | None, tries: int, retry_delay: float, **options: Any) -> None:
    """Pull the image: Docker Hub first, then each mirror of the spec; retries rate limits,
    server errors and timeouts; refuses a digest other than image.digest when the spec pins one.
    --tag names one of the spec's names (image.name or a mirror): it is tried first, then the others.

    Progress goes to stderr; the registry that served the image and its digest to stdout.
    """
    from generator import load_spec
    from generator.docker.pull import PULL_TIMEOUT, Backoff, pull_image
    from generator.docker.pull_progress import pull_reporter
    from generator.fields import ImageReference

    checked_argument(tag, ImageReference, "--tag")
    spec = load_spec(ctx.obj["spec"])
    names, image_tag = pull_names(tag, spec.image.name, spec.image.mirrors, spec.image.tag)
    client = client_from(options, timeout=PULL_TIMEOUT)
    with pull_reporter(tty=sys.stderr.isatty()) as report:
        result = pull_image(
            client,
            names,
            image_tag,
            expected_digest=spec.image.digest,
            tries=tries,
            backoff=Backoff(base=retry_delay),
            on_event=report,
        )
    click.echo(f"pulled {result.reference} from {result.registry} ({result.digest})")


def pull_names(tag: str | None, name: str, mirrors: list[str], default_tag: str) -> tuple[list[str], str]:
    """The names to pull from, in order, and the tag, for pull's --tag: NAME:TAG (NAME one of
    the spec's names: it comes first, the others follow), TAG alone (image.name:TAG), or none
    (image.name:image.tag). A NAME without a TAG, or a digest, is refused: exit 2."""
    from generator.errors import UsageError
    from generator.fields import ImageTag

    spec_names = [name, *mirrors]
    if tag is None:
        return spec_names, default_tag
    if "@" in tag:
        raise UsageError(f"--tag {tag}: pull takes NAME:TAG or TAG, not a digest (the spec's image.digest pins one)")
    wanted, colon, image_tag = tag.rpartition(":")
    if not colon or "/" in image_tag:
        if "/" in tag:
            raise UsageError(f"--tag {tag}: expected NAME:TAG or TAG, e.g. {name}:{default_tag} or {default_tag}")
        wanted, image_tag = name, tag
    checked_argument(image_tag, ImageTag, "--tag")
    if wanted not in spec_names:
        raise UsageError(
            f"--tag {tag}: {wanted} is neither the spec's image.name nor one of its mirrors "
            f"({', '.join(spec_names)}); sandbox pull pulls the spec's image"
        )
    return [wanted, *(other for other in spec_names if other != wanted)], image_tag


COMMANDS = [doctor, pull]
