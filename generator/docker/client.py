"""The one way this project runs the docker CLI: which binary, which engine, how long, and
what a failure means.

python-on-whales is only reached through :attr:`DockerClient.inner` and imported there, so
importing this module stays cheap.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Literal

from generator.docker import classify as _classify
from generator.docker.errors import (
    BuilderMissing,
    CliMissing,
    ConnectionError,
    DockerError,
    TimeoutError,
)

if TYPE_CHECKING:
    import python_on_whales

DEFAULT_TIMEOUT = 120.0
BUILD_TIMEOUT = 600.0
#: a reachable engine answers `docker version` in well under a second; a hung TCP host should
#: not make `doctor` wait the full default timeout
CONNECT_TIMEOUT = 30.0

CLI_ENV = "SANDBOX_DOCKER_CLI"
CLI_HINT = "install Docker, or name the binary with --docker-cli PATH or the environment variable SANDBOX_DOCKER_CLI"
#: the first CLI release whose `docker build` needs the buildx plugin for BuildKit
BUILDX_REQUIRED_FROM = 23
#: the first CLI release with BuildKit built in (DOCKER_BUILDKIT=1)
BUILDKIT_FROM = (18, 9)

BUILDX_INSTALL = (
    "install the buildx plugin: Docker's apt/dnf repository package 'docker-buildx-plugin', "
    "Debian/Ubuntu's 'docker-buildx', or a release binary from https://github.com/docker/buildx/releases "
    "saved as ~/.docker/cli-plugins/docker-buildx (chmod +x); "
    "or point --docker-cli / SANDBOX_DOCKER_CLI at a docker CLI older than 23, which has BuildKit built in"
)

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) from 'Docker version 28.2.2, build e6534b4' or '20.10.24+dfsg1'."""
    match = _VERSION.search(text)
    if not match:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def image_argument(reference: str) -> str:
    """An image reference as a positional docker argument: the commands validate what users
    give (generator.fields.ImageReference); this is the last guard that nothing starting
    with '-' lands where docker looks for options."""
    if not reference or reference.startswith("-"):
        from generator.errors import UsageError

        raise UsageError(f"image reference {reference!r} would be read by docker as an option")
    return reference


def _resolve(candidate: str) -> str | None:
    if os.sep in candidate or (os.altsep and os.altsep in candidate):
        return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None
    return shutil.which(candidate)


class DockerClient:
    """A docker CLI binary plus the engine it talks to.

    The binary comes from ``cli``, else ``$SANDBOX_DOCKER_CLI``, else ``docker`` on PATH. ``host``
    (``--host``) and ``context`` (``--context``) pick the engine; without either the CLI's own
    defaults apply (``DOCKER_HOST``, ``DOCKER_CONTEXT``, the current context).
    """

    def __init__(
        self,
        *,
        cli: str | None = None,
        host: str | None = None,
        context: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if host and context:
            from generator.errors import UsageError

            raise UsageError("give either a Docker host or a Docker context, not both")
        self._cli = cli
        self.host = host or None
        self.context = context or None
        self.timeout = timeout
        self._cli_path: str | None = None
        self._inner: python_on_whales.DockerClient | None = None

    @classmethod
    def with_timeout(cls, seconds: float, **kw: object) -> DockerClient:
        return cls(timeout=seconds, **kw)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        target = f"host={self.host!r}" if self.host else f"context={self.context!r}" if self.context else "default engine"
        return f"DockerClient(cli={self._cli or os.environ.get(CLI_ENV) or 'docker'!r}, {target}, timeout={self.timeout:g})"

    # -- the binary and its environment ---------------------------------------------------

    @property
    def cli_path(self) -> str:
        if self._cli_path is None:
            wanted, source = (
                (self._cli, "--docker-cli")
                if self._cli
                else (os.environ[CLI_ENV], CLI_ENV)
                if os.environ.get(CLI_ENV)
                else ("docker", "PATH")
            )
            found = _resolve(wanted)
            if found is None:
                where = "on PATH" if source == "PATH" else f"at {wanted!r} (from {source})"
                raise CliMissing(f"docker CLI not found {where}; {CLI_HINT}")
            self._cli_path = found
        return self._cli_path

    def base_command(self) -> list[str]:
        command = [self.cli_path]
        if self.host:
            command += ["--host", self.host]
        elif self.context:
            command += ["--context", self.context]
        return command

    def env(self) -> dict[str, str]:
        """The environment for docker subprocesses: ours, minus what would contradict an explicit
        --context (the CLI refuses DOCKER_HOST next to --context in some releases)."""
        env = dict(os.environ)
        if self.context:
            env.pop("DOCKER_HOST", None)
        if self.host:
            env.pop("DOCKER_CONTEXT", None)
        return env

    # -- running commands -----------------------------------------------------------------

    def run(
        self,
        args: list[str],
        *,
        timeout: float | None = None,
        input: bytes | None = None,  # noqa: A002 - mirrors subprocess.run
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``docker <args>``; ``env`` adds variables (e.g. DOCKER_BUILDKIT) to :meth:`env`.

        Raises the classified error when the command fails and ``check`` is set, and
        :class:`TimeoutError` after killing the CLI and everything it started.
        """
        if isinstance(args, (str, bytes)):
            raise TypeError("DockerClient.run takes an argument list, not a string")
        seconds = self.timeout if timeout is None else timeout
        command = self.base_command() + list(args)
        with self._spawn(command, env, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL) as proc:
            try:
                out, err = proc.communicate(input=input, timeout=seconds)
            except subprocess.TimeoutExpired:
                self._kill(proc)
                raise TimeoutError(self._describe(args), seconds) from None
            except BaseException:
                # Ctrl-C does not reach the CLI's own session; stop it rather than wait for it
                self._kill(proc)
                raise
        result = subprocess.CompletedProcess(
            command, proc.returncode, _classify.decode(out), _classify.decode(err)
        )
        if check and result.returncode != 0:
            raise self.classify(result.stderr or result.stdout)
        return result

    def stream(
        self,
        args: list[str],
        *,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Iterator[str]:
        """Run ``docker <args>`` and yield its output lines (stdout and stderr merged) as they
        come; a non-zero exit raises the classified error built from the last lines.

        The deadline is checked between lines; a CLI that prints nothing is still stopped by a
        watchdog timer, so a hung engine cannot hang the caller.
        """
        import threading

        seconds = self.timeout if timeout is None else timeout
        command = self.base_command() + list(args)
        tail: list[str] = []
        timed_out = threading.Event()
        with self._spawn(command, env, stdin=subprocess.DEVNULL, stderr=subprocess.STDOUT) as proc:

            def expire() -> None:
                timed_out.set()
                self._kill(proc)

            timer = threading.Timer(seconds, expire)
            timer.daemon = True
            timer.start()
            try:
                assert proc.stdout is not None
                for raw in proc.stdout:
                    line = _classify.decode(raw).rstrip("\r\n")
                    tail.append(line)
                    del tail[: -_classify.MAX_LINES]
                    yield line
                proc.wait()
            except BaseException:
                # the caller stopped reading (GeneratorExit) or was interrupted: the CLI is in
                # its own session, so nothing else would stop it
                self._kill(proc)
                raise
            finally:
                timer.cancel()
        if timed_out.is_set():
            raise TimeoutError(self._describe(args), seconds)
        if proc.returncode != 0:
            raise self.classify("\n".join(tail))

    def _spawn(self, command: list[str], extra_env: Mapping[str, str] | None, **kw: object) -> subprocess.Popen[bytes]:
        env = self.env()
        if extra_env:
            env.update(extra_env)
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        try:
            # its own session, so a timeout can kill the CLI's plugins and helpers too
            return subprocess.Popen(command, env=env, start_new_session=True, **kw)  # type: ignore[call-overload]
        except FileNotFoundError:
            raise CliMissing(f"docker CLI not found at {command[0]!r}; {CLI_HINT}") from None
        except PermissionError as exc:
            raise CliMissing(f"docker CLI at {command[0]!r} cannot be executed ({exc.strerror}); {CLI_HINT}") from None

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL not honoured
            pass

    @staticmethod
    def _describe(args: list[str]) -> str:
        words = [a for a in args[:2] if not a.startswith("-")]
        return "docker " + " ".join(words) if words else "docker"

    def classify(self, stderr: str | bytes, *, default: type[DockerError] = DockerError) -> DockerError:
        return _classify.classify(stderr, default=default)

    # -- questions about the engine -------------------------------------------------------

    def verify_connection(self) -> None:
        """Raise NotRunning, PermissionDenied or ConnectionError unless the engine answers."""
        self.server_version()

    def server_version(self) -> dict[str, str]:
        """The engine's Version and ApiVersion (as `docker version` reports them)."""
        result = self.run(
            ["version", "--format", "{{json .Server}}"],
            timeout=min(self.timeout, CONNECT_TIMEOUT),
            check=False,
        )
        if result.returncode != 0:
            raise self.classify(result.stderr or result.stdout, default=ConnectionError)
        try:
            server = json.loads(result.stdout or "null")
        except json.JSONDecodeError:
            raise ConnectionError(f"unexpected answer from `docker version`: {result.stdout.strip()[:200]}") from None
        if not isinstance(server, dict) or not server.get("Version"):
            raise ConnectionError("`docker version` did not report an engine (server) version")
        return {"Version": str(server["Version"]), "ApiVersion": str(server.get("ApiVersion", "?"))}

    def version(self) -> str:
        """The engine's version, e.g. ``Docker 20.10.24 (API 1.41)``."""
        server = self.server_version()
        number = server["Version"].split("+")[0]
        return f"Docker {number} (API {server['ApiVersion']})"

    def client_version(self) -> str:
        """`docker --version` of the CLI binary (works without an engine)."""
        result = self.run(["--version"], timeout=min(self.timeout, CONNECT_TIMEOUT), check=False)
        text = (result.stdout or result.stderr).strip()
        if result.returncode != 0 or not text:
            raise DockerError(f"{self.cli_path} --version failed: {_classify.message_of(result.stderr) or text}")
        return text

    def buildx_version(self) -> str | None:
        """`docker buildx version`, or None when the plugin is absent or broken."""
        result = self.run(["buildx", "version"], timeout=min(self.timeout, CONNECT_TIMEOUT), check=False)
        return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else None

    def buildkit_mode(self) -> Literal["buildx", "builtin"]:
        """How this CLI can build with BuildKit: through buildx, or (CLI older than 23) through
        the built-in BuildKit enabled by DOCKER_BUILDKIT=1. Raises BuilderMissing otherwise."""
        if self.buildx_version() is not None:
            return "buildx"
        text = self.client_version()
        if text.lower().startswith("podman"):
            # best effort: podman's docker shim builds with buildah, which understands
            # RUN --mount itself and ignores DOCKER_BUILDKIT
            return "builtin"
        version = parse_version(text)
        if version is None:
            raise BuilderMissing(f"cannot tell the version of {self.cli_path} ({text!r}) and it has no buildx; {BUILDX_INSTALL}")
        shown = ".".join(map(str, version))
        if version[0] >= BUILDX_REQUIRED_FROM:
            raise BuilderMissing(
                f"docker CLI {self.cli_path} is {shown} (23 or newer) and has no buildx plugin, "
                f"so it cannot build with BuildKit; {BUILDX_INSTALL}"
            )
        if version[:2] < BUILDKIT_FROM:
            raise BuilderMissing(f"docker CLI {self.cli_path} is {shown}, older than 18.09, which has no BuildKit; {BUILDX_INSTALL}")
        return "builtin"

    @property
    def inner(self) -> python_on_whales.DockerClient:
        """A python-on-whales client on the same binary and engine."""
        if self._inner is None:
            import python_on_whales

            self._inner = python_on_whales.DockerClient(
                client_call=[self.cli_path], host=self.host, context=self.context
            )
        return self._inner
