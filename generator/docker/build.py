"""Build an image with BuildKit: `docker buildx build` when the CLI has buildx, else the BuildKit
built into a CLI older than 23 (DOCKER_BUILDKIT=1 docker build).

python-on-whales runs both (through :class:`DockerClient`, so a deadline applies and a build
never outlives us); the engine cancels the build when the CLI goes away. What only buildx can
do — several platforms, pushing, exporting and importing cache, rewriting timestamps for a
reproducible image — is refused up front on the built-in path, with what to install.

With Podman the build is `podman build` (Buildah, which reads RUN --mount=type=cache and the
rest of the generated Dockerfile itself), in Docker's image format: Buildah's default, OCI,
drops SHELL and HEALTHCHECK. What needs BuildKit is refused up front there too.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from generator.docker.client import BUILDX_INSTALL, DockerClient, image_argument
from generator.docker.errors import BuilderMissing, BuildError, DockerError, DockerTimeout
from generator.docker.progress import BuildProgress, Vertex
from generator.docker.timeouts import BUILD_TIMEOUT

if TYPE_CHECKING:
    import python_on_whales
    from python_on_whales.client_config import Command


@dataclass(frozen=True)
class BuildOptions:
    tag: str
    #: target platforms (os/arch); empty: the engine's own
    platforms: tuple[str, ...] = ()
    no_cache: bool = False
    #: user build args, applied after (so they override) the metadata args
    build_args: Mapping[str, str] = field(default_factory=dict)
    network: str | None = None
    builder: str | None = None
    timeout: float = BUILD_TIMEOUT
    #: the Dockerfile's stage to build (default: the last)
    target: str | None = None
    #: push the result to the registry its tag names instead of (only) loading it
    push: bool = False
    #: buildx cache backends, e.g. ``type=local,src=DIR`` / ``type=registry,ref=HOST/NAME:cache``
    cache_from: tuple[str, ...] = ()
    cache_to: str | None = None
    #: set for a reproducible image: every timestamp in it becomes this (SOURCE_DATE_EPOCH)
    source_date_epoch: int | None = None

    def needs_buildx(self) -> list[str]:
        """What of these options the BuildKit built into an old CLI (or Podman) cannot do."""
        wanted = {
            "more than one platform": len(self.platforms) > 1,
            "--push": self.push,
            "--cache-from": bool(self.cache_from),
            "--cache-to": bool(self.cache_to),
            "--reproducible": self.source_date_epoch is not None,
            "--builder": bool(self.builder),
        }
        return [name for name, asked in wanted.items() if asked]


@dataclass(frozen=True)
class BuildResult:
    tag: str
    #: the image's id in the engine (its config digest), when the build loaded it
    image_id: str
    #: the pushed manifest (list) digest, when the build pushed
    digest: str
    mode: str
    seconds: float
    progress: BuildProgress
    #: what the build did differently from the Dockerfile as generated, and why
    notes: tuple[str, ...] = ()


def metadata_args(version: str, revision: str | None, created: str | None = None, *, epoch: int | None = None) -> dict[str, str]:
    """The build args the Dockerfile turns into OCI labels; with ``epoch`` (a reproducible
    build) the creation time is that moment and BuildKit gets SOURCE_DATE_EPOCH."""
    args = {
        "SANDBOX_VERSION": version,
        "SANDBOX_REVISION": revision or "unknown",
        "SANDBOX_CREATED": created or created_timestamp(epoch),
    }
    if epoch is not None:
        args["SOURCE_DATE_EPOCH"] = str(epoch)
    return args


def created_timestamp(epoch: int | None = None) -> str:
    """RFC 3339 UTC time: ``epoch``, else $SOURCE_DATE_EPOCH (read by generator.epoch: a bad
    value is a usage error, not silently now), else now."""
    from generator.epoch import source_date_epoch

    if epoch is not None:
        moment = datetime.fromtimestamp(epoch, timezone.utc)
    else:
        moment = source_date_epoch() or datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _git(directory: Path, *args: str) -> str | None:
    """What ``git -C directory ARGS`` prints, stripped; None when git is missing, fails or hangs."""
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def commit_epoch(directory: Path) -> int | None:
    """The commit time of HEAD in ``directory`` (a reproducible build's default moment)."""
    text = _git(directory, "log", "-1", "--format=%ct")
    return int(text) if text and text.isdigit() else None


def git_revision(directory: Path) -> str | None:
    """The commit checked out in ``directory``, if it is a git work tree and git exists."""
    return _git(directory, "rev-parse", "--verify", "--quiet", "HEAD") or None


#: where a reproducible build's OCI archive goes (in the build context directory, a private
#: temporary one), before it is loaded into the engine
OCI_ARCHIVE = ".image.oci.tar"


def _buildx(
    whales: python_on_whales.DockerClient, context_dir: Path, options: BuildOptions, args: Mapping[str, str], metadata_file: Path
) -> Iterable[str]:
    """`docker buildx build`, streamed; the result is loaded into the engine or pushed.

    A reproducible build is written as an OCI archive with every timestamp set to
    SOURCE_DATE_EPOCH (rewrite-timestamp) and without a provenance attestation (which records
    when the build ran); run_build loads it. A push carries BuildKit's provenance in full
    (mode=max: the build's arguments, its sources and every step), one attestation manifest
    per platform in the pushed index, which `sandbox verify` reads back. The image exporter of buildx's docker driver refuses
    rewrite-timestamp on Docker 26 ("conflicts with unpack"), the OCI exporter does not."""
    reproducible = options.source_date_epoch is not None
    output = {"type": "oci", "dest": str(context_dir / OCI_ARCHIVE), "rewrite-timestamp": "true"} if reproducible else {}
    # stream_logs=True (below) yields log lines; python-on-whales types the union of every mode's result
    return whales.buildx.build(  # type: ignore[return-value]
        context_dir,
        file=context_dir / "Dockerfile",
        tags=[image_argument(options.tag)],
        build_args=dict(args),
        platforms=list(options.platforms) or None,
        cache=not options.no_cache,
        network=options.network,
        target=options.target,
        builder=options.builder,
        load=not options.push and not reproducible,
        push=options.push and not reproducible,
        output=output,
        provenance=False if reproducible else {"mode": "max"} if options.push else None,
        cache_from=[_backend(value) for value in options.cache_from] or None,
        cache_to=_backend(options.cache_to) if options.cache_to else None,
        metadata_file=metadata_file,
        progress="plain",
        stream_logs=True,
    )


def _load_reproducible(client: DockerClient, context_dir: Path, options: BuildOptions, seconds: float) -> tuple[str, str]:
    """Load the reproducible build's OCI archive under its tag (pushing it when asked);
    (image id, pushed digest)."""
    tag = image_argument(options.tag)
    archive = context_dir / OCI_ARCHIVE
    client.call(lambda whales: whales.image.load(archive, quiet=True), timeout=seconds, default=BuildError)
    image_id = client.call(lambda whales: whales.image.inspect(tag).id, timeout=seconds, default=BuildError)
    digest = ""
    if options.push:
        client.call(lambda whales: whales.image.push(tag, quiet=True), timeout=seconds, default=BuildError)
        pushed = client.call(lambda whales: whales.image.inspect(tag).repo_digests, timeout=seconds, default=BuildError)
        digest = next((entry.partition("@")[2] for entry in pushed or [] if entry.partition("@")[0] == tag.rpartition(":")[0]), "")
    return image_id, digest


def _backend(value: str) -> dict[str, str]:
    """``type=local,dest=DIR`` as python-on-whales takes a cache backend (the command checked
    the form: no value holds a comma)."""
    return dict(item.split("=", 1) for item in value.split(","))


def _builtin(
    whales: python_on_whales.DockerClient, context_dir: Path, options: BuildOptions, args: Mapping[str, str], iidfile: Path
) -> Iterable[tuple[str, bytes]]:
    """DOCKER_BUILDKIT=1 `docker build`, streamed. python-on-whales' ``legacy_build`` cannot do
    this (it waits for the classic builder's "Successfully built" line, which BuildKit never
    prints), so the arguments are built here with its command builder and streamed with its
    streaming function."""
    from python_on_whales.utils import stream_stdout_and_stderr

    command = _build_command(whales, ["--progress=plain"], context_dir, options, args, iidfile)
    return stream_stdout_and_stderr(command, env={"DOCKER_BUILDKIT": "1"})


def _build_command(
    whales: python_on_whales.DockerClient,
    engine_options: list[str],
    context_dir: Path,
    options: BuildOptions,
    args: Mapping[str, str],
    iidfile: Path,
) -> Command:
    """`build` with the options both single-platform builders take (Docker's built-in
    BuildKit, Podman's Buildah), after ``engine_options``, built with python-on-whales'
    command builder."""
    command = whales.client_config.docker_cmd + ["build", *engine_options]
    command.add_simple_arg("--file", context_dir / "Dockerfile")
    command.add_simple_arg("--tag", image_argument(options.tag))
    command.add_simple_arg("--iidfile", iidfile)
    command.add_simple_arg("--platform", options.platforms[0] if options.platforms else None)
    command.add_flag("--no-cache", options.no_cache)
    command.add_simple_arg("--network", options.network)
    command.add_simple_arg("--target", options.target)
    command.add_args_mapping("--build-arg", args)
    command.append(context_dir)  # an absolute path: the one positional argument
    return command


#: what `sandbox build` cannot do with Podman, and why (said with the refusal)
PODMAN_CANNOT = (
    "Podman builds with Buildah, not BuildKit: several platforms in one build, BuildKit's cache "
    "export and import (--cache-to/--cache-from), --reproducible (SOURCE_DATE_EPOCH timestamps) and "
    "buildx builders are not available; build them with Docker and buildx (--engine docker)"
)
#: what Podman does itself of what needs buildx on Docker: --push (`podman push` after the build)
PODMAN_CAN = frozenset({"--push"})


def _podman_push(client: DockerClient, context_dir: Path, options: BuildOptions, seconds: float) -> str:
    """`podman push` of the built tag to the registry it names; the pushed manifest's digest."""
    digest_file = context_dir / ".pushed-digest"
    push = ["push", "--quiet", "--digestfile", str(digest_file), image_argument(options.tag)]
    client.run_cli(push, timeout=seconds, default=BuildError)
    return digest_file.read_text(encoding="utf-8").strip() if digest_file.is_file() else ""


#: Buildah before 1.29 never releases the lock of a RUN's first cache mount when that RUN has
#: several (it kept the last one's only), so the next RUN with ``sharing=locked`` on it waits
#: forever: buildah#4342, fixed by buildah#4349 in 1.29. Debian 12's Podman 4.3.1 has Buildah
#: 1.28.2, and every apt RUN of the generated Dockerfile mounts two locked caches.
BUILDAH_LOCK_FIXED = (1, 29)
_LOCKED = re.compile(r"(--mount=type=cache,[^\s]*)sharing=locked")


def _unlock_cache_mounts(context_dir: Path, buildah: tuple[int, int, int] | None) -> tuple[str, ...]:
    """On a Buildah with the cache-lock hang, the context's Dockerfile with ``sharing=shared``
    for ``sharing=locked``: Buildah runs the stages of one build one after another, so its
    own RUNs never share a cache at once; two builds at the same time may (apt then stops
    with "Could not get lock" rather than corrupting the cache). A note saying so, or none."""
    if buildah is None or buildah >= BUILDAH_LOCK_FIXED:
        return ()
    dockerfile = context_dir / "Dockerfile"
    text = dockerfile.read_text(encoding="utf-8")
    changed, count = _LOCKED.subn(r"\1sharing=shared", text)
    if not count:
        return ()
    dockerfile.write_text(changed, encoding="utf-8")
    shown = ".".join(map(str, buildah))
    return (
        f"Buildah {shown} (Podman's builder here) hangs on a second RUN --mount=type=cache,sharing=locked "
        f"(buildah#4342, fixed in 1.29): built with sharing=shared on {count} cache mount(s) instead; "
        "avoid two builds at the same time with this Podman",
    )


def _podman(
    whales: python_on_whales.DockerClient, context_dir: Path, options: BuildOptions, args: Mapping[str, str], iidfile: Path
) -> Iterable[tuple[str, bytes]]:
    """`podman build`, streamed: the arguments built with python-on-whales' command builder
    (its ``legacy_build`` waits for Docker's "Successfully built" line), in Docker's image
    format (OCI's drops SHELL and HEALTHCHECK, which the image's health check needs)."""
    from python_on_whales.utils import stream_stdout_and_stderr

    command = _build_command(whales, ["--format", "docker"], context_dir, options, args, iidfile)
    return stream_stdout_and_stderr(command)


def _interrupt_on_termination() -> Callable[[], None]:
    """Until the returned function is called, SIGTERM and SIGHUP (a closed terminal, a CI job
    cancelled) raise KeyboardInterrupt like Ctrl-C, so the build's own session is stopped
    instead of being left running without us."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def run_build(
    client: DockerClient,
    context_dir: Path,
    options: BuildOptions,
    metadata: Mapping[str, str],
    on_line: Callable[[str, BuildProgress, Vertex | None], None] | None = None,
    dockerfile_steps: int = 0,
) -> BuildResult:
    """Build ``context_dir`` and tag (or push) the result; raises BuildError, DockerTimeout,
    BuilderMissing, or the classified connection error. KeyboardInterrupt (also SIGTERM and
    SIGHUP while the build runs) stops the build before propagating."""
    mode = client.buildkit_mode()
    beyond_podman = [name for name in options.needs_buildx() if name not in PODMAN_CAN]
    if mode == "podman" and beyond_podman:
        raise BuilderMissing(f"{', '.join(beyond_podman)}: not with Podman; {PODMAN_CANNOT}")
    if mode == "builtin" and options.needs_buildx():
        raise BuilderMissing(
            f"{', '.join(options.needs_buildx())} need(s) buildx; this docker CLI builds with its built-in BuildKit; {BUILDX_INSTALL}"
        )
    notes = _unlock_cache_mounts(context_dir, client.buildah_version()) if mode == "podman" else ()
    args = {**metadata, **options.build_args}
    record = context_dir / (".build-metadata.json" if mode == "buildx" else ".iid")
    build = {"buildx": _buildx, "builtin": _builtin, "podman": _podman}[mode]
    started = time.monotonic()
    restore = _interrupt_on_termination()
    try:
        for attempt in range(1, _UNPACK_ATTEMPTS + 1):
            progress = BuildProgress(total=dockerfile_steps)
            try:
                lines = client.stream(
                    lambda whales: build(whales, context_dir, options, args, record), timeout=options.timeout, default=BuildError
                )
                for line in lines:
                    started_vertex = progress.feed(line)
                    if on_line:
                        on_line(line, progress, started_vertex)
                break
            except BuildError as exc:
                if attempt < _UNPACK_ATTEMPTS and _unpack_failed(progress):
                    continue  # every step is in the cache now: the next build only unpacks again
                raise _failure(exc, progress, options) from None
    except DockerTimeout:
        raise DockerTimeout(f"docker build of {options.tag}", options.timeout) from None
    finally:
        restore()
    image_id, digest = _recorded(record)
    if mode == "podman" and options.push:
        digest = _podman_push(client, context_dir, options, max(options.timeout - (time.monotonic() - started), 30.0))
    if options.source_date_epoch is not None:
        left = max(options.timeout - (time.monotonic() - started), 30.0)
        image_id, digest = _load_reproducible(client, context_dir, options, left)
    seconds = time.monotonic() - started
    return BuildResult(options.tag, image_id, digest, mode, seconds, progress, notes)


#: Docker's containerd image store sometimes fails to unpack an image BuildKit has just built
#: ("failed to prepare extraction snapshot ...: parent snapshot ... does not exist"), an engine
#: bug seen on Docker 26 to 29 (moby/buildkit#6521, open; seen here on 26.1). Every step
#: succeeded and is cached; the same build again unpacks it. One more attempt, for that only.
_UNPACK_ATTEMPTS = 2
_UNPACK_FAILURE = re.compile(r"failed to prepare extraction snapshot .*parent snapshot \S+ does not exist")


def _unpack_failed(progress: BuildProgress) -> bool:
    """Whether the build failed only in the engine's unpacking of the finished image."""
    failed = progress.failed
    return (
        failed is not None
        and failed.name.startswith("unpacking to ")
        and any(_UNPACK_FAILURE.search(line) for line in progress.failure_tail())
    )


def _recorded(record: Path) -> tuple[str, str]:
    """(image id, pushed digest) from the build's --iidfile or buildx's --metadata-file."""
    if not record.is_file():
        return "", ""
    text = record.read_text(encoding="utf-8").strip()
    if record.suffix != ".json":
        return text, ""
    data = json.loads(text or "{}")
    # the containerd image store names an image by its manifest (or index) digest, and buildx
    # then records no config digest
    digest = str(data.get("containerimage.digest", ""))
    return str(data.get("containerimage.config.digest") or digest), digest


def _failure(error: BuildError, progress: BuildProgress, options: BuildOptions) -> DockerError:
    failed = progress.failed
    if failed is not None:
        return BuildError(f"building {options.tag} failed", step=failed.name, log_tail=progress.failure_tail())
    # no step failed: the CLI itself or the engine refused (a bad flag, an unknown image)
    return BuildError(f"building {options.tag} failed: {error}")
