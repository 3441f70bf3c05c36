"""Build an image with BuildKit: buildx when the CLI has it, else the BuildKit built into a
CLI older than 23 (DOCKER_BUILDKIT=1).

The CLI runs in its own session so that a timeout or Ctrl-C can stop it together with the
buildx plugin it starts; the engine cancels the build when the client goes away.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from generator.docker import classify as _classify
from generator.docker.client import BUILD_TIMEOUT, DockerClient, image_argument
from generator.docker.errors import BuildError, CliMissing, DockerError, TimeoutError
from generator.docker.progress import BuildProgress, Vertex
from generator.errors import UsageError

#: how long the CLI gets to exit after SIGTERM before it is killed
TERMINATE_GRACE = 5.0


@dataclass(frozen=True)
class BuildOptions:
    tag: str
    platform: str | None = None
    no_cache: bool = False
    #: user build args, applied after (so they override) the metadata args
    build_args: Mapping[str, str] = field(default_factory=dict)
    network: str | None = None
    builder: str | None = None
    timeout: float = BUILD_TIMEOUT
    #: the Dockerfile's stage to build (default: the last)
    target: str | None = None


@dataclass(frozen=True)
class BuildResult:
    tag: str
    image_id: str
    mode: str
    seconds: float
    progress: BuildProgress


def metadata_args(version: str, revision: str | None, created: str | None = None) -> dict[str, str]:
    """The build args the Dockerfile turns into OCI labels."""
    return {
        "SANDBOX_VERSION": version,
        "SANDBOX_REVISION": revision or "unknown",
        "SANDBOX_CREATED": created or created_timestamp(),
    }


def created_timestamp() -> str:
    """RFC 3339 UTC time; SOURCE_DATE_EPOCH wins, for reproducible builds."""
    from generator.epoch import source_date_epoch

    moment = source_date_epoch() or datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def git_revision(directory: Path) -> str | None:
    """The commit checked out in ``directory``, if it is a git work tree and git exists."""
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "--verify", "--quiet", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    revision = result.stdout.strip()
    return revision if result.returncode == 0 and revision else None


def build_command(mode: str, context_dir: Path, options: BuildOptions, iidfile: Path, args: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The docker arguments (after the CLI and its host/context flags) and extra environment."""
    if mode == "buildx":
        command = ["buildx", "build", "--load"]
        if options.builder:
            command.append(f"--builder={options.builder}")
        env: dict[str, str] = {}
    else:
        if options.builder:
            raise UsageError("--builder needs the buildx plugin; this docker CLI builds with its built-in BuildKit")
        command = ["build"]
        env = {"DOCKER_BUILDKIT": "1"}
    # every value given by a user is joined to its option (--tag=VALUE): whatever it starts
    # with, docker cannot read it as an option of its own
    command += [
        "--progress=plain",
        f"--file={context_dir / 'Dockerfile'}",
        f"--tag={image_argument(options.tag)}",
        f"--iidfile={iidfile}",
    ]
    if options.platform:
        command.append(f"--platform={options.platform}")
    if options.no_cache:
        command.append("--no-cache")
    if options.network:
        command.append(f"--network={options.network}")
    if options.target:
        command.append(f"--target={options.target}")
    for key, value in args.items():
        command.append(f"--build-arg={key}={value}")
    command.append(str(context_dir))  # an absolute path: the one positional argument
    return command, env


def stop_process_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the CLI's whole session (the CLI, buildx, helpers), SIGKILL what is left."""
    for sig, grace in ((signal.SIGTERM, TERMINATE_GRACE), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
        # the leader is gone; helpers it started may still be in the group
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return


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
    """Build ``context_dir`` and tag the result; raises BuildError, TimeoutError, BuilderMissing,
    or the classified connection error. KeyboardInterrupt stops the build before propagating."""
    mode = client.buildkit_mode()
    iidfile = context_dir / ".iid"
    args = {**metadata, **options.build_args}
    docker_args, extra_env = build_command(mode, context_dir, options, iidfile, args)
    env = client.env()
    env.update(extra_env)
    command = client.base_command() + docker_args
    progress = BuildProgress(total=dockerfile_steps)
    started = time.monotonic()
    deadline = started + options.timeout
    try:
        proc = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
    except FileNotFoundError:
        raise CliMissing(f"docker CLI not found at {command[0]!r}") from None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.put(_classify.decode(raw).rstrip("\r\n"))
        lines.put(None)

    reader = threading.Thread(target=pump, name="docker-build-output", daemon=True)
    reader.start()
    restore = _interrupt_on_termination()
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                stop_process_group(proc)
                raise TimeoutError(f"docker build of {options.tag}", options.timeout)
            try:
                line = lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                if on_line:
                    on_line("", progress, None)
                continue
            if line is None:
                break
            started_vertex = progress.feed(line)
            if on_line:
                on_line(line, progress, started_vertex)
        proc.wait()
    except BaseException:
        stop_process_group(proc)
        raise
    finally:
        restore()
        reader.join(timeout=5)
        if proc.stdout:
            proc.stdout.close()
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise _failure(client, progress, options)
    image_id = iidfile.read_text(encoding="utf-8").strip() if iidfile.exists() else ""
    return BuildResult(options.tag, image_id, mode, seconds, progress)


def _failure(client: DockerClient, progress: BuildProgress, options: BuildOptions) -> Exception:
    failed = progress.failed
    if failed is not None:
        return BuildError(f"building {options.tag} failed", step=failed.name, log_tail=progress.failure_tail())
    # no step failed: the CLI itself or the engine refused (connection, bad flag, unknown image)
    error = client.classify("\n".join(progress.other))
    if type(error) is DockerError:
        return BuildError(f"building {options.tag} failed: {error}")
    return error
