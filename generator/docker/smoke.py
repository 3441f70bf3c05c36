"""`sandbox test IMAGE`: start the image and check what the spec promises about it.

Each check is one row of the report: every enabled tool's ``check`` command (run as the
image's user), the user id, passwordless sudo (or its absence), setuid/setgid files against
an allow-list, and the image's own HEALTHCHECK turning healthy. The container is always
removed, whatever happens.
"""

from __future__ import annotations

import json
import posixpath
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from generator.docker.client import DockerClient, image_argument
from generator.docker.errors import ContainerError
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
POLL_INTERVAL = 1.0
START_GRACE = 1.5


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class SmokeReport:
    image: str
    container: str
    stand_in: str | None = None
    results: list[CheckResult] = field(default_factory=list)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]


def stand_in_command(spec: Spec) -> list[str]:
    return ["python3", "-c", STAND_IN_PROGRAM, spec.runtime.host, str(spec.runtime.port)]


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
        on_result: Callable[[CheckResult], None] | None = None,
    ) -> None:
        self.client = client
        self.image = image
        self.spec = spec
        self.profile = profile
        self.stand_in = stand_in
        self.health_timeout = health_timeout
        self.health_interval = health_interval
        self.on_result = on_result
        self.name = f"sandbox-smoke-{uuid.uuid4().hex[:12]}"
        self.report = SmokeReport(image, self.name)

    def run(self) -> SmokeReport:
        try:
            self._start()
            if self._running():
                self._checks()
        finally:
            self.client.run(["rm", "--force", "--volumes", self.name], check=False)
        return self.report

    # -- steps ----------------------------------------------------------------------------

    def _add(self, name: str, passed: bool, detail: str = "") -> None:
        result = CheckResult(name, passed, detail)
        self.report.results.append(result)
        if self.on_result:
            self.on_result(result)

    def _start(self) -> None:
        args = ["run", "--detach", "--name", self.name, "--label", "org.opencode-sandbox.smoke-test=1"]
        if self.health_interval:
            args.append(f"--health-interval={self.health_interval}")
        args.append(image_argument(self.image))  # after every option, before the command
        if self.stand_in:
            args += stand_in_command(self.spec)
            runtime = self.spec.runtime
            self.report.stand_in = (
                f"STAND-IN: the container runs a tiny python3 web server on {runtime.host}:{runtime.port} "
                f"instead of `{' '.join(runtime.command)}`; the health check exercises the image's HEALTHCHECK "
                "against that stand-in, not against the real server"
            )
        result = self.client.run(args, check=False)
        if result.returncode != 0:
            raise self.client.classify(result.stderr or result.stdout, default=ContainerError)

    def _state(self) -> dict:
        result = self.client.run(["inspect", "--format", "{{json .State}}", self.name], check=False)
        if result.returncode != 0:
            return {}
        return json.loads(result.stdout or "{}") or {}

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
        logs = self.client.run(["logs", "--tail", "20", self.name], check=False)
        self._add(
            "container starts",
            False,
            f"exited with code {state.get('ExitCode')}: {_first_line(logs.stderr, logs.stdout, state.get('Error', ''))}",
        )
        return False

    def _exec(self, command: list[str], *, root: bool = False):
        args = ["exec"]
        if root:
            args += ["--user", "0"]
        return self.client.run([*args, self.name, *command], timeout=EXEC_TIMEOUT, check=False)

    def _checks(self) -> None:
        for name, command in tool_checks(self.spec, self.profile):
            result = self._exec(command)
            self._add(f"tool {name}: {' '.join(command)}", result.returncode == 0, _first_line(result.stdout, result.stderr) or f"exit code {result.returncode}")
        self._check_user()
        self._check_sudo()
        self._check_setid()
        if self._check_health() and self.spec.runtime.auth == "basic" and not self.stand_in:
            self._check_auth()

    def _check_user(self) -> None:
        result = self._exec(["id", "-u"])
        uid = result.stdout.strip()
        expected = str(self.spec.user.uid)
        self._add(f"runs as uid {expected} ({self.spec.user.name})", uid == expected, f"id -u: {uid or _first_line(result.stderr)}")

    def _check_sudo(self) -> None:
        result = self._exec(["sudo", "-n", "true"])
        if self.spec.user.sudo:
            self._add("passwordless sudo", result.returncode == 0, "sudo -n true: " + (_first_line(result.stderr) or f"exit code {result.returncode}"))
        else:
            self._add("no sudo (user.sudo is false)", result.returncode != 0, "sudo -n true: " + (_first_line(result.stderr) or f"exit code {result.returncode}"))

    def _check_setid(self) -> None:
        command = ["find", "/", "-xdev", "-type", "f", "(", "-perm", "-4000", "-o", "-perm", "-2000", ")", "-print"]
        result = self._exec(command, root=True)
        paths = sorted(line.strip() for line in result.stdout.splitlines() if line.strip())
        if result.returncode != 0 and not paths:
            self._add("setuid/setgid files", False, f"find failed: {_first_line(result.stderr)}")
            return
        extra = unexpected_setid(paths)
        detail = f"not allowed: {', '.join(extra)}" if extra else f"{len(paths)} found, all allowed"
        self._add("setuid/setgid files", not extra, detail)

    def _check_health(self) -> bool:
        deadline = time.monotonic() + self.health_timeout
        status, last = "", ""
        while True:
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
                self._add("HEALTHCHECK healthy", False, f"still {status} after {self.health_timeout:g} s; last check: {last or 'none yet'}")
                return False
            time.sleep(POLL_INTERVAL)

    def _check_auth(self) -> None:
        """runtime.auth basic: a request without credentials gets 401 and a Basic challenge
        (asked from inside the container, with the image's curl, on the server's port)."""
        runtime = self.spec.runtime
        url = f"http://127.0.0.1:{runtime.port}{runtime.healthcheck.path}"
        command = ["curl", "--silent", "--max-time", "10", "--output", "/dev/null", "--dump-header", "-", url]
        result = self._exec(command)
        head = result.stdout.splitlines()
        status = head[0].strip() if head else _first_line(result.stderr) or f"exit code {result.returncode}"
        challenged = any(line.lower().startswith("www-authenticate: basic") for line in head)
        self._add("web server asks for credentials (runtime.auth basic)", " 401" in status and challenged, f"{url}: {status}")
