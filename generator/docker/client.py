"""The one way this project runs the docker CLI: which binary, which engine, how long, and
what a failure means. The engine is Docker, or Podman (``--engine podman``, or a CLI binary
that says it is Podman): its CLI takes the docker CLI's commands, and where it differs (no
server in `podman version`, building with Buildah instead of BuildKit) this module says so.

python-on-whales builds the arguments, runs the CLI and parses its answers. What it lacks is
added here, in one place: a deadline per call and a CLI that never outlives its caller (both
from :mod:`generator.docker.supervise`, which python-on-whales runs as the docker binary through
its ``client_call`` hook), our error classes with the seed's messages, and the choice between
buildx and the BuildKit built into CLIs older than 23. python-on-whales is imported only when a
Docker command runs, so the spec commands never load it.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from generator.docker import classify as _classify
from generator.docker.errors import (
    BuilderMissing,
    CliMissing,
    DockerError,
    DockerTimeout,
    EngineUnreachable,
)
from generator.docker.supervise import GRACE, TIMED_OUT, TIMED_OUT_SUFFIX
from generator.docker.timeouts import CONNECT_TIMEOUT, DEFAULT_TIMEOUT

if TYPE_CHECKING:
    import python_on_whales

T = TypeVar("T")

_SUPERVISOR = str(Path(__file__).with_name("supervise.py"))
_CALLS = itertools.count(1)


CLI_ENV = "SANDBOX_DOCKER_CLI"
#: docker or podman (--engine, $SANDBOX_ENGINE): which engine's CLI to look for when
#: --docker-cli does not name one
EngineKind = Literal["docker", "podman"]
CLI_HINT = "install Docker, or name the binary with --docker-cli PATH or the environment variable SANDBOX_DOCKER_CLI"
PODMAN_HINT = "install Podman (Debian/Ubuntu: apt-get install podman), or name the binary with --docker-cli PATH"
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


#: the CLI's global options that python-on-whales puts before the command, and take a value
_GLOBAL_WITH_VALUE = frozenset({"--config", "--context", "--host", "--log-level", "--tlscacert", "--tlscert", "--tlskey"})


def describe(command: list[str]) -> str:
    """A docker command for a message, e.g. ``docker buildx build``: its first words after the
    CLI's global options."""
    rest = command[1:]
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] in _GLOBAL_WITH_VALUE else rest[1:]
    words = list(itertools.takewhile(lambda w: not w.startswith("-"), rest))[:2]
    return " ".join(["docker", *words])


def _stop_supervisor(pidfile: str) -> None:
    """Ask a supervisor to stop its CLI (it writes its pid before it starts the CLI) and wait
    until it has, so nothing keeps running once the caller has moved on."""
    try:
        pid = int(Path(pidfile).read_text(encoding="ascii"))
    except (OSError, ValueError):
        return  # it never started, or it is already gone
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + GRACE + 5
    while os.path.exists(pidfile) and not _exited(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _exited(pid: int) -> bool:
    """Whether our child ``pid`` has exited, without reaping it (its Popen object still will):
    subprocess.run leaves a child it SIGKILLed on Ctrl-C unreaped, so it still takes signals."""
    try:
        if hasattr(os, "waitid"):
            return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        os.kill(pid, 0)
    except ChildProcessError:  # already reaped
        return True
    except ProcessLookupError:
        return True
    return False


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
    """A docker (or podman) CLI binary plus the engine it talks to.

    The binary comes from ``cli``; else, for the Docker engine, ``$SANDBOX_DOCKER_CLI``, else
    ``docker`` on PATH; for Podman (``engine="podman"``) ``podman`` on PATH. Which engine it
    is, is what the binary says it is (:attr:`engine_kind`): a ``docker`` that is Podman's
    docker shim is Podman. ``host`` (``--host``) and ``context`` (``--context``) pick the
    engine; without either the CLI's own defaults apply (``DOCKER_HOST``, ``DOCKER_CONTEXT``,
    the current context; Podman: the local engine, or ``CONTAINER_HOST``).
    """

    def __init__(
        self,
        *,
        cli: str | None = None,
        host: str | None = None,
        context: str | None = None,
        config: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        engine: EngineKind = "docker",
    ) -> None:
        if host and context:
            from generator.errors import UsageError

            raise UsageError("give either a Docker host or a Docker context, not both")
        #: the engine asked for: it picks the default binary; what the binary is decides
        self.engine = engine
        self._cli = cli
        self.host = host or None
        self.context = context or None
        #: the CLI's configuration directory (--config; default $DOCKER_CONFIG or ~/.docker),
        #: which is also where it finds plugins such as buildx
        self.config = config or None
        self.timeout = timeout
        self._cli_path: str | None = None
        self._kind: EngineKind | None = None
        self._pid_dir: str | None = None

    def __repr__(self) -> str:
        target = f"host={self.host!r}" if self.host else f"context={self.context!r}" if self.context else "default engine"
        return f"DockerClient(cli={self._wanted()[0]!r}, {target}, timeout={self.timeout:g})"

    # -- the binary and its environment ---------------------------------------------------

    def _wanted(self) -> tuple[str, str]:
        """(the binary asked for, where that came from)."""
        if self._cli:
            return self._cli, "--docker-cli"
        if self.engine == "podman":
            return "podman", "PATH"
        if os.environ.get(CLI_ENV):
            return os.environ[CLI_ENV], CLI_ENV
        return "docker", "PATH"

    @property
    def cli_path(self) -> str:
        if self._cli_path is None:
            wanted, source = self._wanted()
            found = _resolve(wanted)
            if found is None:
                where = "on PATH" if source == "PATH" else f"at {wanted!r} (from {source})"
                what, hint = ("podman", PODMAN_HINT) if self.engine == "podman" else ("docker", CLI_HINT)
                raise CliMissing(f"{what} CLI not found {where}; {hint}")
            self._cli_path = found
        return self._cli_path

    @property
    def engine_kind(self) -> EngineKind:
        """The engine the binary belongs to, from what `--version` says ("podman version 4.3.1",
        also from Podman's docker shim); asked once."""
        if self._kind is None:
            text = self.client_version()
            kind: EngineKind = "podman" if text.lower().startswith("podman") else "docker"
            if self.engine == "podman" and kind != "podman":
                raise CliMissing(f"Podman was asked for (--engine podman), but {self.cli_path} is not Podman ({text}); {PODMAN_HINT}")
            self._kind = kind
        return self._kind

    @property
    def is_podman(self) -> bool:
        """Whether the engine is Podman. With Docker asked for, False also when the CLI does not
        run (the question that needs it then fails on its own); with Podman asked for, a CLI
        that does not run or is not Podman is an error here."""
        if self.engine == "podman":
            return self.engine_kind == "podman"
        try:
            return self.engine_kind == "podman"
        except DockerError:
            return False

    def unset_environment(self) -> list[str]:
        """Variables the CLI must not see: DOCKER_HOST contradicts an explicit --context (some
        releases refuse the pair), DOCKER_CONTEXT an explicit --host. Podman reads
        DOCKER_CONFIG for registry credentials, and Podman 4.3 fails every run, push and pull
        ("stat DIR/config.json: no such file or directory") when it names a directory without
        that file, which Docker accepts (e.g. one holding only cli-plugins): with nothing to
        read there, Podman does not see it."""
        unset = ["DOCKER_HOST"] if self.context else ["DOCKER_CONTEXT"] if self.host else []
        docker_config = os.environ.get("DOCKER_CONFIG")
        if self.engine == "podman" and docker_config and not os.path.exists(os.path.join(docker_config, "config.json")):
            unset.append("DOCKER_CONFIG")
        return unset

    # -- running commands: python-on-whales under the supervisor -------------------------

    def whales(self, timeout: float | None = None, *, pidfile: str = "-") -> python_on_whales.DockerClient:
        """A python-on-whales client on this binary and engine whose every CLI call runs under
        :mod:`generator.docker.supervise` with a deadline of ``timeout`` seconds."""
        import python_on_whales

        seconds = self.timeout if timeout is None else timeout
        if not seconds > 0 or seconds == float("inf"):
            raise ValueError(f"a docker timeout is a positive number of seconds, not {seconds!r}")
        prefix = [sys.executable, "-I", "-S", _SUPERVISOR, repr(float(seconds)), pidfile]
        prefix += [f"--unset={name}" for name in self.unset_environment()] + ["--"]
        return python_on_whales.DockerClient(
            client_call=[*prefix, self.cli_path],
            host=self.host,
            context=self.context,
            config=self.config,
            client_type=self._kind or "unknown",
        )

    def call(
        self,
        action: Callable[[python_on_whales.DockerClient], T],
        *,
        timeout: float | None = None,
        default: type[DockerError] = DockerError,
    ) -> T:
        """``action(whales)`` with python-on-whales' failures turned into our errors: the
        connection problems, :class:`DockerTimeout`, else ``default`` with the CLI's message."""
        seconds = self.timeout if timeout is None else timeout
        pidfile = self._pidfile()
        try:
            return action(self.whales(seconds, pidfile=pidfile))
        except Exception as exc:  # noqa: BLE001 - translated or re-raised below
            raise self._translate(exc, seconds, default, pidfile) from None
        except BaseException:
            _stop_supervisor(pidfile)
            raise

    def stream(
        self,
        action: Callable[[python_on_whales.DockerClient], Iterable[object]],
        *,
        timeout: float | None = None,
        default: type[DockerError] = DockerError,
    ) -> Iterator[str]:
        """The lines (stdout and stderr as they come) of a python-on-whales call made with
        ``stream_logs=True``. A caller that stops reading (an exception, Ctrl-C, SIGTERM turned
        into KeyboardInterrupt) stops the CLI too: python-on-whales would leave it running."""
        seconds = self.timeout if timeout is None else timeout
        pidfile = self._pidfile()
        finished = False
        try:
            for item in action(self.whales(seconds, pidfile=pidfile)):
                raw = item[-1] if isinstance(item, tuple) else item
                yield _classify.decode(raw).rstrip("\r\n")  # type: ignore[arg-type]
            finished = True
        except Exception as exc:  # noqa: BLE001 - translated or re-raised below
            finished = True
            raise self._translate(exc, seconds, default, pidfile) from None
        finally:
            if not finished:
                _stop_supervisor(pidfile)

    def run_cli(
        self, args: list[str], *, timeout: float | None = None, default: type[DockerError] = DockerError, engine: bool = True
    ) -> str:
        """``docker ARGS`` through python-on-whales' own runner, for what it has no method for
        (``docker --version`` without an engine); returns stdout. ``engine=False`` leaves out the
        engine's options (--host, --context, --config): the 20.10 CLI parses --host even for
        ``--version`` and fails on a bad address, which is the engine's fault, not the CLI's."""
        from python_on_whales.utils import run

        if isinstance(args, (str, bytes)):
            raise TypeError("run_cli takes an argument list, not a string")

        def command(whales: python_on_whales.DockerClient) -> list[str]:
            config = whales.client_config
            return [*(config.docker_cmd if engine else config.client_call), *args]

        # run() is typed str | tuple: the tuple is only for return_stderr=True, not asked here
        return self.call(lambda whales: run(command(whales)), timeout=timeout, default=default)  # type: ignore[return-value]

    def _pidfile(self) -> str:
        """Where the next call's supervisor writes its pid (a private directory per client)."""
        if self._pid_dir is None:
            self._pid_dir = tempfile.mkdtemp(prefix="sandbox-docker-")
            weakref.finalize(self, shutil.rmtree, self._pid_dir, True)
        return os.path.join(self._pid_dir, f"{next(_CALLS)}.pid")

    def _translate(self, exc: Exception, seconds: float, default: type[DockerError], pidfile: str) -> Exception:
        from python_on_whales.client_config import ClientNotFoundError
        from python_on_whales.exceptions import DockerException

        if isinstance(exc, DockerException):
            command = [str(word) for word in exc.docker_command]
            command = command[command.index("--") + 1 :] if "--" in command[:12] else command
            stderr = exc.stderr or ""
            if exc.return_code == TIMED_OUT and os.path.exists(pidfile + TIMED_OUT_SUFFIX):
                return DockerTimeout(describe(command), seconds)
            output = stderr or exc.stdout or ""
            found = _classify.kind(output)
            message = _classify.message_of(output)
            if found is not None:
                error: DockerError = found(message)
            else:
                ran = f"{shlex.join(command)} (exit status {exc.return_code})"
                error = default(f"{message}\n  command: {ran}" if message else f"{ran} failed without a message")
            error.command, error.exit_status, error.cli_message = command, exc.return_code, message
            return error
        if isinstance(exc, ClientNotFoundError):
            return CliMissing(f"docker CLI not found at {self._cli!r}; {CLI_HINT}")
        import json

        import pydantic

        if isinstance(exc, (pydantic.ValidationError, json.JSONDecodeError)):
            # python-on-whales could not read what the CLI printed (an engine or CLI release
            # whose output it does not know): our error, not a traceback
            return default(f"the docker CLI's answer could not be read: {str(exc).splitlines()[0]}")
        if isinstance(exc, UnicodeDecodeError):
            # python-on-whales decodes a failed command's output strictly, so output that is
            # not UTF-8 costs us the CLI's message
            return default("the docker command failed, and its error output is not UTF-8")
        return exc

    # -- questions about the engine -------------------------------------------------------

    def server_version(self) -> dict[str, str]:
        """The engine's Version and ApiVersion (as `docker version` reports them); raises
        NotRunning, PermissionDenied or EngineUnreachable unless the engine answers."""
        seconds = min(self.timeout, CONNECT_TIMEOUT)
        if self.is_podman:
            return self._podman_version(seconds)
        version = self.call(lambda whales: whales.version(), timeout=seconds, default=EngineUnreachable)
        server = version.server
        if server is None or not server.version:
            raise EngineUnreachable("`docker version` did not report an engine (server) version")
        return {"Version": str(server.version), "ApiVersion": str(server.api_version or "?")}

    def _podman_version(self, seconds: float) -> dict[str, str]:
        """Podman's version: its server's (a remote Podman, --host / CONTAINER_HOST), else, for
        the local engine, which is the CLI itself and reports no server, the CLI's, once `podman
        info` has shown that the engine works (its storage can be opened: root, or the user's
        rootless storage)."""
        import json

        text = self.run_cli(["version", "--format", "json"], timeout=seconds, default=EngineUnreachable)
        try:
            answer = json.loads(text)
        except json.JSONDecodeError:
            raise EngineUnreachable(f"`podman version` printed no JSON: {text.strip()[:200]!r}") from None
        server = answer.get("Server") or {}
        if not server:
            self.run_cli(["info", "--format", "{{.Store.GraphRoot}}"], timeout=seconds, default=EngineUnreachable)
            server = answer.get("Client") or {}
        if not server.get("Version"):
            raise EngineUnreachable("`podman version` did not report a version")
        return {"Version": str(server["Version"]), "ApiVersion": str(server.get("APIVersion") or "?")}

    def version(self) -> str:
        """The engine's version, e.g. ``Docker 20.10.24 (API 1.41)`` or ``Podman 4.3.1``."""
        server = self.server_version()
        number = server["Version"].split("+")[0]
        if self.is_podman:
            return f"Podman {number}"
        return f"Docker {number} (API {server['ApiVersion']})"

    def client_version(self) -> str:
        """`docker --version` of the CLI binary (works without an engine, unlike python-on-whales'
        ``version()``, which asks both)."""
        try:
            text = self.run_cli(["--version"], timeout=min(self.timeout, CONNECT_TIMEOUT), engine=False).strip()
        except DockerError as exc:
            raise DockerError(f"{self.cli_path} --version failed: {exc}") from None
        if not text:
            raise DockerError(f"{self.cli_path} --version printed nothing")
        return text

    def buildx_version(self) -> str | None:
        """`docker buildx version`, or None when the plugin is absent or broken (or the engine
        is Podman, which has no buildx: its `buildx build` is its own `build`)."""
        if self.is_podman:
            return None
        try:
            text = self.call(lambda whales: whales.buildx.version(), timeout=min(self.timeout, CONNECT_TIMEOUT))
        except DockerError:
            return None
        return text.strip() or None

    def image_store(self) -> Literal["containerd", "classic"] | None:
        """Which image store the engine uses (None when it cannot be told): the containerd store
        lets buildx's default (docker) driver build several platforms into one image and export
        and import build cache; the classic one does neither."""
        try:
            info = self.call(lambda whales: whales.system.info(), timeout=min(self.timeout, CONNECT_TIMEOUT))
        except DockerError:
            return None
        status = info.driver_status or []
        return "containerd" if any("io.containerd.snapshotter" in str(value) for row in status for value in row) else "classic"

    def builder_platforms(self, builder: str | None = None) -> list[str]:
        """The platforms buildx's builder can build for (emulated ones included), or [] when
        it cannot be told."""
        try:
            found = self.call(lambda whales: whales.buildx.inspect(builder), timeout=min(self.timeout, CONNECT_TIMEOUT))
        except DockerError:
            return []
        return [str(platform) for node in found.nodes or [] for platform in node.platforms or []]

    def data_root(self) -> str | None:
        """The engine's data directory (`docker info`; Podman: its storage's graph root), or
        None when it cannot be told."""
        if self.is_podman:
            try:
                graph_root = self.run_cli(["info", "--format", "{{.Store.GraphRoot}}"], timeout=min(self.timeout, CONNECT_TIMEOUT))
            except DockerError:
                return None
            return graph_root.strip() if graph_root.strip().startswith("/") else None
        try:
            info = self.call(lambda whales: whales.system.info(), timeout=min(self.timeout, CONNECT_TIMEOUT))
        except DockerError:
            return None
        root = info.docker_root_dir
        return str(root) if root and str(root).startswith("/") else None

    def buildah_version(self) -> tuple[int, int, int] | None:
        """The Buildah that Podman builds with (`podman info`), or None when it cannot be told
        (or the engine is Docker)."""
        if not self.is_podman:
            return None
        try:
            text = self.run_cli(["info", "--format", "{{.Host.BuildahVersion}}"], timeout=min(self.timeout, CONNECT_TIMEOUT))
        except DockerError:
            return None
        return parse_version(text)

    def buildkit_mode(self) -> Literal["buildx", "builtin", "podman"]:
        """How this CLI can build: with BuildKit through buildx, or (CLI older than 23) through
        the built-in BuildKit enabled by DOCKER_BUILDKIT=1; or, Podman, with its Buildah (which
        reads RUN --mount=type=cache itself). Raises BuilderMissing otherwise."""
        if self.is_podman:
            return "podman"
        if self.buildx_version() is not None:
            return "buildx"
        text = self.client_version()
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
