"""`sandbox test IMAGE`: start the image and check what the spec promises about it.

Each check is one row of the report: every enabled tool's ``check`` command (run as the
image's user), the user id, passwordless sudo (or its absence), setuid/setgid files against
an allow-list, the SBOM the image carries (read-only, root's, the SBOM of this spec), and the
image's own HEALTHCHECK turning healthy. The container is always
removed, whatever happens.

With ``agent``, the tool checks run through a real opencode session instead of ``docker exec``
(:mod:`generator.agent`): the container shares the engine's host network, its server listens on
a free port of 127.0.0.1 with the password its entrypoint generates, and opencode's only model is
a scripted one on another port of 127.0.0.1. Each tool check and each everyday task then passes
on what the agent's tools returned to that model.
"""

from __future__ import annotations

import math
import posixpath
import re
import socket
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypedDict

from generator.agent.model_server import ScriptedModel
from generator.agent.opencode_api import Opencode, OpencodeError
from generator.agent.runner import AgentSuite, container_environment
from generator.docker.client import DockerClient, image_argument
from generator.docker.errors import ContainerError, DockerError, EngineUnreachable
from generator.paths import SBOM_IMAGE_PATH
from generator.runfiles import kept_capabilities, tmpfs_mounts
from generator.sbom.carried import sbom_problems as carried_sbom_problems
from generator.spec import Spec

#: setuid/setgid programs a Debian/Ubuntu base legitimately ships (by file name)
SETID_ALLOWED = frozenset(
    {
        "sudo", "su", "passwd", "chsh", "chfn", "newgrp", "gpasswd", "mount", "umount",
        "chage", "expiry", "unix_chkpwd", "pam_extrausers_chkpwd", "wall", "write", "bsd-write",
        "crontab", "dbus-daemon-launch-helper", "fusermount", "fusermount3",
        "newuidmap", "newgidmap", "pkexec", "polkit-agent-helper-1",
        "ssh-keysign", "ssh-agent",  # openssh-client: ssh-keysign setuid root; ssh-agent setgid _ssh (Debian postinst)
        "utempter",  # libutempter0 (a tmux dependency): /usr/lib/<triplet>/utempter/utempter, setgid utmp
    }
)  # fmt: skip

#: a web server that answers 200 to every GET: stands in for a server that cannot run here
#: (e.g. a CPU without the AVX2 that opencode's x64 build needs), so the image's HEALTHCHECK
#: can still be exercised
STAND_IN_PROGRAM = """\
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"sandbox smoke-test stand-in\\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
"""

EXEC_TIMEOUT = 60.0
HEALTH_TIMEOUT = 120.0
#: where the entrypoint keeps the password it generates, under the user's home
#: (files/sandbox-entrypoint: ${XDG_DATA_HOME:-$HOME/.local/share}/opencode/server-password)
PASSWORD_STORE = ".local/share/opencode/server-password"
POLL_INTERVAL = 1.0
START_GRACE = 1.5


@dataclass(frozen=True)
class ExecResult:
    """A command run in the container: its exit status and its output (stdout and stderr
    merged, as they came)."""

    returncode: int
    output: str


#: the longest --health-interval: the longest --health-timeout, past which no second check runs
MAX_HEALTH_INTERVAL = timedelta(hours=1)


def health_interval_of(text: str) -> timedelta:
    """``2s``, ``500ms``, ``1m``, ``1h`` as a timedelta in whole seconds, at least one and at
    most an hour: python-on-whales passes the interval to docker in whole seconds."""
    match = re.fullmatch(r"([0-9]+)(ms|s|m|h)", text)
    if match is None:
        raise ValueError(f"{text!r}: a duration such as 2s")
    seconds = int(match[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match[2]]
    if seconds > MAX_HEALTH_INTERVAL.total_seconds():
        raise ValueError(f"{text!r}: at most 1h (the longest --health-timeout)")
    return timedelta(seconds=max(1, math.ceil(seconds)))


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str = ""
    #: how long the check took (what `sandbox test --compare` calls slower)
    seconds: float | None = None


@dataclass
class SmokeReport:
    image: str
    container: str
    profile: str = ""
    agent: bool = False
    stand_in: str | None = None
    results: list[CheckResult] = field(default_factory=list)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def as_dict(self) -> dict[str, object]:
        """The report for ``--json`` (what the container printed stays in strings, escaped)."""
        from generator.smoke_diff import SCHEMA

        return {
            "schema": SCHEMA,
            "image": self.image,
            "profile": self.profile,
            "agent": self.agent,
            "stand_in": self.stand_in,
            "passed": not self.failed,
            "checks": [{"name": r.name, "passed": r.passed, "detail": r.detail, "seconds": r.seconds} for r in self.results],
        }


def stand_in_command(spec: Spec) -> list[str]:
    return ["python3", "-c", STAND_IN_PROGRAM, spec.runtime.host, str(spec.runtime.port)]


#: the bit of each capability in /proc/PID/status's masks (linux/capability.h)
CAPABILITY_BITS = {
    "CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "FSETID": 4, "KILL": 5, "SETGID": 6, "SETUID": 7,
    "SETPCAP": 8, "NET_BIND_SERVICE": 10, "NET_RAW": 13, "SYS_CHROOT": 18, "MKNOD": 27, "AUDIT_WRITE": 29, "SETFCAP": 31,
}  # fmt: skip


def hardened_options(spec: Spec) -> dict[str, Any]:
    """python-on-whales' `container.run` options for runtime.hardening, as the generated
    compose.yaml sets them (generator.runfiles): a read-only root with the tmpfs it lists,
    every capability dropped but those kept, no new privileges without sudo, and the process
    and memory limits."""
    hardening = spec.runtime.hardening
    return {
        "read_only": hardening.read_only,
        "tmpfs": tmpfs_mounts(spec),
        "cap_drop": ["ALL"],
        "cap_add": kept_capabilities(spec),
        "security_options": [] if spec.user.sudo else ["no-new-privileges"],
        "pids_limit": hardening.pids_limit,
        "memory": hardening.memory,
    }


def remote_engine(host: str | None) -> bool:
    """Whether the engine at ``host`` (a DOCKER_HOST URL; None: the default or a context's)
    is surely on another machine, whose host network is not this machine's loopback."""
    if not host or host.startswith(("unix://", "npipe://", "fd://")):
        return False
    address = urllib.parse.urlsplit(host).hostname or ""
    return address not in ("localhost", "127.0.0.1", "::1")


def free_loopback_port() -> int:
    """A port of 127.0.0.1 that nothing listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tool_checks(spec: Spec, profile: str) -> list[tuple[str, list[str]]]:
    return [(tool.name, list(tool.check)) for tool in spec.tools_for(profile) if tool.check]


def unexpected_setid(paths: list[str], allowed: frozenset[str] = SETID_ALLOWED) -> list[str]:
    return sorted(p for p in paths if posixpath.basename(p) not in allowed)


def _first_line(*texts: str) -> str:
    for text in texts:
        for line in text.splitlines():
            if line.strip():
                return line.strip()[:200]
    return ""


class _HealthLogEntry(TypedDict):
    Output: str
    ExitCode: int | None


class _Health(TypedDict):
    Status: str
    Log: list[_HealthLogEntry]


class _State(TypedDict, total=False):
    """A container's State in the shape `docker inspect` prints it (empty once it is gone)."""

    Running: bool | None
    ExitCode: int | None
    Error: str
    Health: _Health | None


class SmokeTest:
    def __init__(
        self,
        client: DockerClient,
        image: str,
        spec: Spec,
        profile: str,
        *,
        stand_in: bool = False,
        health_timeout: float = HEALTH_TIMEOUT,
        health_interval: str | None = None,
        platform: str | None = None,
        agent: bool = False,
        agent_timeout: float | None = None,
        hardened: bool = False,
        on_result: Callable[[CheckResult], None] | None = None,
    ) -> None:
        self.client = client
        self.image = image
        self.spec = spec
        self.profile = profile
        self.stand_in = stand_in
        self.health_timeout = health_timeout
        self.health_interval = health_interval
        self.platform = platform
        self.agent = agent
        self.agent_timeout = agent_timeout
        self.hardened = hardened
        self.on_result = on_result
        self.name = f"sandbox-smoke-{uuid.uuid4().hex[:12]}"
        self.report = SmokeReport(image, self.name, profile, agent)
        #: the port the server listens on inside the container (agent mode: a free one of the host's)
        self.server_port = spec.runtime.port
        self._model: ScriptedModel | None = None
        self._lap = time.monotonic()

    def run(self) -> SmokeReport:
        try:
            if self.agent:
                self._model = ScriptedModel()
                self.server_port = free_loopback_port()
            self._start()
            if self._running():
                self._checks()
        finally:
            try:
                self.client.call(lambda whales: whales.container.remove(self.name, force=True, volumes=True))
            except DockerError:
                pass  # never started, or the engine went away: nothing left to remove here
            if self._model is not None:
                self._model.stop()
        return self.report

    # -- steps ----------------------------------------------------------------------------

    def _add(self, name: str, passed: bool, detail: str = "", seconds: float | None = None) -> None:
        """A row; its time is ``seconds`` when the check measured its own, else the time since
        the row before it (each check runs right after the one before)."""
        now = time.monotonic()
        result = CheckResult(name, passed, detail, round(now - self._lap if seconds is None else seconds, 3))
        self._lap = now
        self.report.results.append(result)
        if self.on_result:
            self.on_result(result)

    def _start(self) -> None:
        image = image_argument(self.image)  # python-on-whales puts it after every option
        command: list[str] = []
        if self.stand_in:
            command = stand_in_command(self.spec)
            runtime = self.spec.runtime
            self.report.stand_in = (
                f"STAND-IN: the container runs a tiny python3 web server on {runtime.host}:{runtime.port} "
                f"instead of `{' '.join(runtime.command)}`; the health check exercises the image's HEALTHCHECK "
                "against that stand-in, not against the real server"
            )
        interval = health_interval_of(self.health_interval) if self.health_interval else None
        # agent mode: the host's network, so that opencode and the scripted model meet on 127.0.0.1
        envs = container_environment(self._model.base_url, self.server_port) if self._model else {}
        networks = ["host"] if self._model else []
        limits = hardened_options(self.spec) if self.hardened else {}
        if not self.client.call(lambda whales: whales.image.exists(image)):
            # pulled here, not by container.run: python-on-whales' own pull lets the engine's
            # answer go to the terminal, and the error then said the pull "failed without a message"
            self.client.call(lambda whales: whales.image.pull(image, quiet=True, platform=self.platform), default=ContainerError)
        self.client.call(
            lambda whales: whales.container.run(
                image,
                command,
                # never a pull of the engine's own (an image here for another platform than
                # --platform): its progress went to the terminal; now the engine says why
                pull="never",
                detach=True,
                name=self.name,
                labels={"org.opencode-sandbox.smoke-test": "1"},
                health_interval=interval,
                platform=self.platform,
                envs=envs,
                networks=networks,
                **limits,
            ),
            default=ContainerError,
        )

    def _state(self) -> _State:
        """The container's State as `docker inspect` reports it (empty once it is gone)."""
        try:
            container = self.client.call(lambda whales: whales.container.inspect(self.name))
        except EngineUnreachable:
            raise
        except DockerError:
            return {}
        state = container.state
        health = state.health
        return {
            "Running": state.running,
            "ExitCode": state.exit_code,
            "Error": state.error or "",
            "Health": None
            if health is None
            else {
                "Status": health.status or "",
                "Log": [{"Output": entry.output or "", "ExitCode": entry.exit_code} for entry in health.log or []],
            },
        }

    def _running(self) -> bool:
        # a command that exits at once (a missing binary, a crash) gets this long to do so
        deadline = time.monotonic() + START_GRACE
        while True:
            state = self._state()
            if not state.get("Running"):
                break
            if time.monotonic() >= deadline:
                self._add("container starts", True, self.name)
                return True
            time.sleep(0.25)
        try:
            logs = "\n".join(self.client.stream(lambda whales: whales.container.logs(self.name, tail=20, stream=True)))
        except DockerError as exc:
            logs = exc.cli_message
        self._add(
            "container starts",
            False,
            f"exited with code {state.get('ExitCode')}: {_first_line(logs, state.get('Error', ''))}",
        )
        return False

    def _exec(self, command: list[str], *, root: bool = False) -> ExecResult:
        lines: list[str] = []
        user = "0" if root else None
        try:
            for line in self.client.stream(
                # stream=True selects the overload that yields (source, bytes); python-on-whales types the union of all
                lambda whales: whales.container.execute(self.name, command, user=user, stream=True),  # type: ignore[arg-type, return-value]
                timeout=EXEC_TIMEOUT,
            ):
                lines.append(line)
        except EngineUnreachable:
            raise
        except DockerError as exc:
            if exc.exit_status is None:  # not the command's own failure: a timeout, say
                lines.append(str(exc))
            return ExecResult(exc.exit_status if exc.exit_status is not None else -1, "\n".join(lines))
        return ExecResult(0, "\n".join(lines))

    def _checks(self) -> None:
        if self._model is not None:
            self._agent_checks(self._model)
        else:
            for name, command in tool_checks(self.spec, self.profile):
                result = self._exec(command)
                self._add(
                    f"tool {name}: {' '.join(command)}",
                    result.returncode == 0,
                    _first_line(result.output) or f"exit code {result.returncode}",
                )
        self._check_user()
        if self.hardened:
            self._check_hardening()
        self._check_sudo()
        self._check_setid()
        self._check_sbom()
        if self._check_health() and self.spec.runtime.auth == "basic" and not self.stand_in:
            self._check_auth()

    def _agent_checks(self, model: ScriptedModel) -> None:
        """The tool checks and everyday tasks through a real opencode session (one row each)."""
        try:
            opencode = Opencode(f"http://127.0.0.1:{self.server_port}", "opencode", self._server_password())
            version = opencode.wait_healthy(self.health_timeout, alive=lambda: bool(self._state().get("Running")))
        except OpencodeError as exc:
            self._add("agent: opencode serves its API", False, str(exc))
            return
        self._add("agent: opencode serves its API", True, f"opencode {version} on 127.0.0.1:{self.server_port}, with its password")
        suite = AgentSuite(self.spec, self.profile)
        if self.agent_timeout is not None:
            suite.session_timeout = self.agent_timeout
        suite.run(opencode, model, lambda verdict: self._add(verdict.name, verdict.passed, verdict.detail, verdict.seconds))

    def _server_password(self) -> str:
        """The password opencode asks for: the one the entrypoint generated and keeps in the
        data volume, read as the user (it is never printed). Empty when runtime.auth is none."""
        if self.spec.runtime.auth != "basic":
            return ""
        store = posixpath.join(self.spec.user.home_dir, PASSWORD_STORE)
        deadline = time.monotonic() + self.health_timeout
        while True:
            result = self._exec(["cat", "--", store])
            if result.returncode == 0 and result.output.strip():
                return result.output.strip()
            if time.monotonic() >= deadline or not self._state().get("Running"):
                raise OpencodeError(f"no generated password in {store} (the entrypoint writes it before it starts the server)")
            time.sleep(POLL_INTERVAL)

    def _check_hardening(self) -> None:
        """The container runs as runtime.hardening says: its root read-only, its capability
        bounding set exactly the kept ones, no new privileges without sudo."""
        # the root's mount options (ro or rw) as the kernel has them, not a write attempt (the
        # user could not write to / anyway)
        probe = "grep -E '^(CapBnd|NoNewPrivs):' /proc/self/status; awk '$2 == \"/\" { print \"root: \" $4 }' /proc/self/mounts"
        result = self._exec(["sh", "-c", probe])
        fields = dict(line.split(":", 1) for line in result.output.splitlines() if ":" in line)
        kept = kept_capabilities(self.spec)
        wanted = sum(1 << CAPABILITY_BITS[name] for name in kept)
        problems = []
        try:
            bounding = int(fields.get("CapBnd", "").strip(), 16)
        except ValueError:
            bounding = -1
        if bounding != wanted:
            problems.append(f"capabilities {fields.get('CapBnd', '?').strip()}, not {wanted:016x}")
        root_options = fields.get("root", "").strip().split(",")
        if self.spec.runtime.hardening.read_only and "ro" not in root_options:
            problems.append(f"the root filesystem is mounted {fields.get('root', '?').strip() or '?'}")
        if not self.spec.user.sudo and fields.get("NoNewPrivs", "").strip() != "1":
            problems.append("new privileges are allowed")
        root = "read-only root" if self.spec.runtime.hardening.read_only else "writable root"
        detail = "; ".join(problems) or f"{root}, capabilities: {', '.join(kept) or 'none'}"
        self._add("hardened (runtime.hardening)", not problems, detail)

    def _check_user(self) -> None:
        result = self._exec(["id", "-u"])
        uid = result.output.strip() if result.returncode == 0 else ""
        expected = str(self.spec.user.uid)
        self._add(f"runs as uid {expected} ({self.spec.user.name})", uid == expected, f"id -u: {uid or _first_line(result.output)}")

    def _check_sudo(self) -> None:
        sudo = self.spec.user.sudo
        result = self._exec(["sudo", "-n", "true"])
        said = "sudo -n true: " + (_first_line(result.output) or f"exit code {result.returncode}")
        if sudo is True:
            self._add("passwordless sudo", result.returncode == 0, said)
        elif not sudo:
            self._add("no sudo (user.sudo is false)", result.returncode != 0, said)
        else:
            # `sudo -n -l CMD` says whether the rule allows CMD, without running it
            refused = [command for command in sudo if self._exec(["sudo", "-n", "-l", command]).returncode != 0]
            everything = result.returncode == 0 and not any(posixpath.basename(c) == "true" for c in sudo)
            if refused:
                detail = f"sudo -n -l refuses {', '.join(refused)}"
            elif everything:
                detail = "sudo -n true is allowed: the rule is wider than user.sudo lists"
            else:
                detail = f"allowed: {', '.join(sudo)}; {said}"
            self._add("sudo for the listed programs only (user.sudo)", not refused and not everything, detail)

    def _check_setid(self) -> None:
        command = ["find", "/", "-xdev", "-type", "f", "(", "-perm", "-4000", "-o", "-perm", "-2000", ")", "-print"]
        result = self._exec(command, root=True)
        # find's own complaints (on stderr) never start with '/'
        paths = sorted(line.strip() for line in result.output.splitlines() if line.startswith("/"))
        if result.returncode != 0 and not paths:
            self._add("setuid/setgid files", False, f"find failed: {_first_line(result.output)}")
            return
        extra = unexpected_setid(paths)
        detail = f"not allowed: {', '.join(extra)}" if extra else f"{len(paths)} found, all allowed"
        self._add("setuid/setgid files", not extra, detail)

    def _check_sbom(self) -> None:
        """The image carries the SBOM of this spec, and nobody but root can change it."""
        name = f"SBOM at {SBOM_IMAGE_PATH}"
        mode = self._exec(["stat", "-c", "%u:%g %a", SBOM_IMAGE_PATH])
        if mode.returncode != 0:
            self._add(name, False, _first_line(mode.output) or "missing")
            return
        owner, _, permissions = mode.output.strip().partition(" ")
        if owner != "0:0" or not permissions.isdigit() or int(permissions, 8) & 0o222:
            self._add(name, False, f"owner {owner}, mode {permissions}: expected root's and read-only")
            return
        content = self._exec(["cat", SBOM_IMAGE_PATH])
        problems = (
            carried_sbom_problems(content.output, self.spec, self.profile) if content.returncode == 0 else [_first_line(content.output)]
        )
        tools = len(self.spec.tools_for(self.profile))
        self._add(name, not problems, "; ".join(problems) or f"CycloneDX of this spec: its {tools} tools, root's, mode {permissions}")

    def _check_health(self) -> bool:
        deadline = time.monotonic() + self.health_timeout
        status, last = "", ""
        podman = self.client.is_podman
        next_check = time.monotonic()
        while True:
            if podman and time.monotonic() >= next_check:
                next_check = time.monotonic() + self._run_podman_health_check()
            state = self._state()
            health = state.get("Health")
            if not health:
                self._add("HEALTHCHECK healthy", False, "the image declares no HEALTHCHECK" if state else "container is gone")
                return False
            status = health.get("Status", "")
            log = health.get("Log") or []
            if log:
                last = _first_line(log[-1].get("Output", "")) or f"exit code {log[-1].get('ExitCode')}"
            if status == "healthy":
                self._add("HEALTHCHECK healthy", True, last or "healthy")
                return True
            if not state.get("Running"):
                self._add("HEALTHCHECK healthy", False, f"container exited (code {state.get('ExitCode')}) while {status}")
                return False
            if time.monotonic() >= deadline:
                self._add(
                    "HEALTHCHECK healthy",
                    False,
                    f"still {status or 'starting'} after {self.health_timeout:g} s; last check: {last or 'none yet'}",
                )
                return False
            time.sleep(POLL_INTERVAL)

    def _run_podman_health_check(self) -> float:
        """One run of the image's HEALTHCHECK, as Podman's timer would run it; the seconds
        until the next. Podman runs health checks from systemd timers, and where there is no
        systemd (a CI machine, a container) none runs by itself: `podman healthcheck run`
        runs it and records the result in the container's health state (start period and
        retries counted as Podman counts them)."""
        healthcheck = self.spec.runtime.healthcheck
        interval = health_interval_of(self.health_interval or (healthcheck.interval if healthcheck else "30s"))
        try:
            self.client.run_cli(["healthcheck", "run", self.name], timeout=EXEC_TIMEOUT)
        except DockerError:
            pass  # unhealthy (exit 1) or not running: the health state says which
        return interval.total_seconds()

    def _check_auth(self) -> None:
        """runtime.auth basic: a request without credentials gets 401 and a Basic challenge
        (asked from inside the container, with the image's curl, on the server's port)."""
        runtime = self.spec.runtime
        url = f"http://127.0.0.1:{self.server_port}{runtime.healthcheck.path}"
        command = ["curl", "--silent", "--max-time", "10", "--output", "/dev/null", "--dump-header", "-", url]
        result = self._exec(command)
        head = result.output.splitlines()
        status = head[0].strip() if head else f"exit code {result.returncode}"
        challenged = any(line.lower().startswith("www-authenticate: basic") for line in head)
        self._add("web server asks for credentials (runtime.auth basic)", " 401" in status and challenged, f"{url}: {status}")
