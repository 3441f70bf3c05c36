"""`sandbox pull` against the real engine and registries on 127.0.0.1: Debian's docker-registry
(distribution 2.8; conftest's ``registry``) for the good case, and a small fault-injecting
server in front of it for rate limits, server errors and hangs."""

from __future__ import annotations

import http.client
import http.server
import io
import json
import random
import socket
import tarfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator.cli import main
from generator.docker.client import DockerClient
from generator.docker.errors import NotRunning, PullError
from generator.docker.pull import Backoff, Event, failure_kind, familiar, pull_image, registry_of
from generator.docker.pull_progress import plain_reporter, rich_reporter
from tests.docker.cli import docker_cli
from tests.docker.registry import delete_image

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE = "127.0.0.1:1"


# -- helpers that need no engine ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "registry", "short"),
    [
        ("prizz/opencode-cloud-sandbox", "docker.io", "prizz/opencode-cloud-sandbox"),
        ("ubuntu", "docker.io", "ubuntu"),
        ("docker.io/library/ubuntu", "docker.io", "ubuntu"),
        ("index.docker.io/prizz/x", "docker.io", "prizz/x"),
        ("ghcr.io/prizz/opencode-cloud-sandbox", "ghcr.io", "ghcr.io/prizz/opencode-cloud-sandbox"),
        ("127.0.0.1:5000/a/b", "127.0.0.1:5000", "127.0.0.1:5000/a/b"),
        ("localhost/a", "localhost", "localhost/a"),
    ],
)
def test_registry_of_and_familiar_names(name: str, registry: str, short: str) -> None:
    assert registry_of(name) == registry
    assert familiar(name) == short


# Wordings measured from dockerd 20.10 against the servers below, plus Docker Hub's own.
@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Error response from daemon: toomanyrequests: You have reached your pull rate limit.", "transient"),
        (
            "Error response from daemon: toomanyrequests: You have reached your pull rate limit. You may increase the "
            "limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
            "transient",
        ),
        ("Error response from daemon: received unexpected HTTP status: 503 Service Unavailable", "transient"),
        ("Error response from daemon: received unexpected HTTP status: 500 Internal Server Error", "transient"),
        ("Error response from daemon: received unexpected HTTP status: 502 Bad Gateway", "transient"),
        ('Error response from daemon: Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused', "transient"),
        (
            'Error response from daemon: Get "https://registry-1.docker.io/v2/": net/http: request canceled while waiting '
            "for connection (Client.Timeout exceeded while awaiting headers)",
            "transient",
        ),
        ('Error response from daemon: Get "https://ghcr.io/v2/": dial tcp: lookup ghcr.io: no such host', "transient"),
        ("docker pull did not finish within 600 s and was stopped", "transient"),
        ("Error response from daemon: manifest for 127.0.0.1:5055/exp/none:v1 not found: manifest unknown: manifest unknown", "permanent"),
        (
            "Error response from daemon: pull access denied for prizz/nothing, repository does not exist or may require "
            "'docker login': denied: requested access to the resource is denied",
            "permanent",
        ),
        ('Error response from daemon: Head "https://ghcr.io/v2/prizz/x/manifests/latest": unauthorized', "permanent"),
    ],
)
def test_failure_kind(message: str, kind: str) -> None:
    assert failure_kind(message) == kind


def test_backoff_is_exponential_jittered_and_capped() -> None:
    backoff = Backoff(base=1.0, factor=2.0, cap=5.0, rng=random.Random(1))
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        delays = [backoff.delay(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempt, delays)
        assert len(set(delays)) > 1, "no jitter"
    same_a = [Backoff(rng=random.Random(3)).delay(2) for _ in range(2)]
    assert same_a[0] == same_a[1]
    assert Backoff(rng=random.Random(3)).delay(2) != Backoff(rng=random.Random(4)).delay(2)


def test_plain_progress_lines() -> None:
    out = io.StringIO()
    with plain_reporter(out) as report:
        report(Event("start", "r/x:v1", text="docker.io", attempt=1))
        report(Event("line", "r/x:v1", text="abc: Pulling fs layer"))
        report(Event("retry", "r/x:v1", text="Error response from daemon: toomanyrequests: slow down", attempt=1, delay=1.25))
        report(Event("start", "r/x:v1", text="docker.io", attempt=2))
        report(Event("fallback", "m/x:v1", text="ghcr.io"))
        report(Event("done", "m/x:v1", text="sha256:" + "a" * 64, attempt=1))
    assert out.getvalue().splitlines() == [
        "pulling r/x:v1 from docker.io",
        "  abc: Pulling fs layer",
        "try 1 failed: Error response from daemon: toomanyrequests: slow down; retrying in 1.2 s",
        "pulling r/x:v1 again (try 2)",
        "trying the mirror ghcr.io",
        "m/x:v1: sha256:" + "a" * 64,
    ]


def test_progress_shows_what_the_registry_said_with_controls_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    # docker passes a registry's error text through: a mirror could put escape sequences in it
    hostile = "Error response from daemon: \x1b]0;owned\x07\x1b[2Jdenied\x9b"
    out = io.StringIO()
    with plain_reporter(out) as report:
        report(Event("line", "r/x:v1", text="abc: \x1b[2J"))
        report(Event("retry", "r/x:v1", text=hostile, attempt=1, delay=1.0))
    assert out.getvalue().splitlines() == [
        "  abc: \\x1b[2J",
        "try 1 failed: Error response from daemon: \\x1b]0;owned\\x07\\x1b[2Jdenied\\x9b; retrying in 1.0 s",
    ]
    with rich_reporter() as report:
        report(Event("retry", "r/x:v1", text=hostile, attempt=1, delay=1.0))
    assert "\\x1b]0;owned\\x07\\x1b[2Jdenied\\x9b" in capsys.readouterr().err


def test_rich_progress_prints_outcomes(capsys: pytest.CaptureFixture[str]) -> None:
    with rich_reporter() as report:
        report(Event("start", "r/x:v1", text="docker.io", attempt=1))
        report(Event("line", "r/x:v1", text="0123456789ab: Pull complete"))
        report(Event("fallback", "m/x:v1", text="ghcr.io"))
    err = capsys.readouterr().err
    assert "pulling r/x:v1 from docker.io" in err and "trying the mirror ghcr.io" in err


# -- servers on 127.0.0.1 -------------------------------------------------------------------------


@dataclass(frozen=True)
class Pushed:
    repository: str  # without the registry
    tag: str
    digest: str


@pytest.fixture(scope="session")
def pushed(registry: str, docker_client: DockerClient) -> Iterator[Pushed]:
    """A tiny single-layer image with unique content, pushed to the registry and removed locally
    so that pulling it really transfers it."""
    repository, tag = f"sandbox-test/pull-{uuid.uuid4().hex[:8]}", "v1"
    reference = f"{registry}/{repository}:{tag}"
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w") as tar:
        data = f"sandbox pull test {uuid.uuid4()}\n".encode()
        info = tarfile.TarInfo("marker.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    docker_cli(docker_client, ["import", "-", reference], input=payload.getvalue())
    output = docker_cli(docker_client, ["push", reference]).stdout
    digest = next(line.split("digest: ")[1].split()[0] for line in output.splitlines() if "digest: sha256:" in line)
    docker_cli(docker_client, ["image", "rm", reference])
    yield Pushed(repository, tag, digest)
    delete_image(registry, repository, digest)  # the registry may outlive the session (CI's)


class FaultServer:
    """A registry front: answers the /v2/ ping, and for everything else either fails with
    ``status``, hangs, or (``mode = "proxy"``) forwards to the real registry."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "status"
        self.status = 503
        self.requests: list[str] = []
        self.release = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def handle_one_request(self) -> None:
                # Engines with the containerd image store try HTTPS first even on loopback and
                # fall back to HTTP only when the answer to their TLS hello starts "HTTP/" (as
                # Go's and distribution's servers answer); http.server would answer without a
                # status line (it takes the hello for an HTTP/0.9 request).
                if self.connection.recv(1, socket.MSG_PEEK) == b"\x16":
                    self.wfile.write(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
                    self.close_connection = True
                    return
                super().handle_one_request()

            def _reply(self, status: int, body: bytes, headers: dict[str, str], length: str | None = None) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                # a HEAD answer has no body but the length of the GET's (the containerd image
                # store reads a manifest's size from it)
                self.send_header("Content-Length", length if length is not None else str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self) -> None:
                server.requests.append(f"{self.command} {self.path}")
                if self.path == "/v2/" or server.mode == "proxy":
                    return self._forward()
                if server.mode == "hang":
                    server.release.wait(120)
                    return None
                if server.status == 429:
                    body = json.dumps({"errors": [{"code": "TOOMANYREQUESTS", "message": "You have reached your pull rate limit."}]})
                    return self._reply(429, body.encode(), {"Content-Type": "application/json"})
                return self._reply(server.status, b"upstream unavailable", {"Content-Type": "text/plain"})

            def _forward(self) -> None:
                conn = http.client.HTTPConnection(server.upstream, timeout=30)
                # header by header: dockerd sends several Accept headers, and which manifest
                # format (so which digest) comes back depends on all of them
                conn.putrequest(self.command, self.path, skip_accept_encoding=True)
                for key, value in self.headers.items():
                    if key.lower() not in {"host", "connection"}:
                        conn.putheader(key, value)
                conn.endheaders()
                response = conn.getresponse()
                body = response.read()
                keep = {k: v for k, v in response.getheaders() if k.lower() not in {"content-length", "transfer-encoding", "connection"}}
                length = response.getheader("Content-Length") if self.command == "HEAD" else None
                self._reply(response.status, body, keep, length)
                conn.close()

            do_GET = do_HEAD = _handle

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.address = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fault_server(registry: str) -> Iterator[FaultServer]:
    server = FaultServer(registry)
    yield server
    server.close()


class Sleeps(list):
    """The injected sleep: records each delay instead of waiting; can run a hook per call."""

    def __init__(self, hook=None) -> None:
        super().__init__()
        self.hook = hook

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.hook:
            self.hook()


@pytest.fixture
def pulled(docker_client: DockerClient) -> Iterator[list[str]]:
    """References a test pulled; untagged afterwards so tests do not see each other's images."""
    refs: list[str] = []
    yield refs
    for ref in refs:
        docker_cli(docker_client, ["image", "rm", "--force", ref], check=False)


def _local_digests(client: DockerClient, reference: str) -> list[str]:
    result = docker_cli(client, ["image", "inspect", "--format", "{{json .RepoDigests}}", reference])
    return json.loads(result.stdout)


def _backoff() -> Backoff:
    return Backoff(base=1.0, rng=random.Random(42))


# -- against the engine ---------------------------------------------------------------------------


@pytest.mark.docker
def test_unreachable_primary_is_retried_then_the_mirror_serves(
    docker_client: DockerClient, registry: str, pushed: Pushed, pulled: list[str]
) -> None:
    primary, mirror = f"{UNREACHABLE}/{pushed.repository}", f"{registry}/{pushed.repository}"
    pulled += [f"{primary}:{pushed.tag}", f"{mirror}:{pushed.tag}"]
    sleeps, events = Sleeps(), []
    result = pull_image(docker_client, [primary, mirror], pushed.tag, backoff=_backoff(), sleep=sleeps, on_event=events.append)
    assert result.registry == registry and result.reference == f"{mirror}:{pushed.tag}"
    assert result.digest == pushed.digest
    assert [(a.reference.split("/")[0], a.number, a.kind) for a in result.attempts] == [
        (UNREACHABLE, 1, "transient"),
        (UNREACHABLE, 2, "transient"),
        (UNREACHABLE, 3, "transient"),
        (registry, 1, None),
    ]
    assert "connection refused" in result.attempts[0].error
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0
    assert [e.kind for e in events if e.kind != "line"] == ["start", "retry", "start", "retry", "start", "fallback", "start", "done"]
    assert f"{mirror}@{pushed.digest}" in _local_digests(docker_client, f"{mirror}:{pushed.tag}")


@pytest.mark.docker
def test_every_registry_unreachable_is_a_pull_error(docker_client: DockerClient, pushed: Pushed) -> None:
    names = [f"{UNREACHABLE}/{pushed.repository}", f"127.0.0.1:2/{pushed.repository}"]
    sleeps = Sleeps()
    with pytest.raises(PullError) as caught:
        pull_image(docker_client, names, pushed.tag, backoff=_backoff(), sleep=sleeps)
    message = str(caught.value)
    assert message.startswith(f"could not pull {names[0]}:{pushed.tag} from any registry (127.0.0.1:1, 127.0.0.1:2)")
    for name in names:
        for number in (1, 2, 3):
            assert f"{name}:{pushed.tag} try {number} (transient)" in message
    assert len(sleeps) == 4
    assert int(caught.value.exit_code) == 3


@pytest.mark.docker
def test_not_found_is_not_retried(docker_client: DockerClient, registry: str, pushed: Pushed, pulled: list[str]) -> None:
    absent, mirror = f"{registry}/sandbox-test/absent-{uuid.uuid4().hex[:8]}", f"{registry}/{pushed.repository}"
    pulled.append(f"{mirror}:{pushed.tag}")
    sleeps = Sleeps()
    result = pull_image(docker_client, [absent, mirror], pushed.tag, backoff=_backoff(), sleep=sleeps)
    assert sleeps == []
    assert [(a.reference, a.kind) for a in result.attempts] == [(f"{absent}:{pushed.tag}", "permanent"), (f"{mirror}:{pushed.tag}", None)]
    # 20.10: "manifest unknown"; 26.1 with the containerd image store: "...: not found"
    assert "manifest unknown" in result.attempts[0].error or result.attempts[0].error.endswith(": not found")
    assert result.digest == pushed.digest


@pytest.mark.docker
@pytest.mark.parametrize(
    ("status", "wording"), [(429, "toomanyrequests"), (503, "503 Service Unavailable"), (500, "500 Internal Server Error")]
)
def test_rate_limits_and_server_errors_are_retried_on_the_same_registry(
    docker_client: DockerClient, fault_server: FaultServer, pushed: Pushed, pulled: list[str], status: int, wording: str
) -> None:
    fault_server.status = status
    name = f"{fault_server.address}/{pushed.repository}"
    pulled.append(f"{name}:{pushed.tag}")

    def recover() -> None:
        fault_server.mode = "proxy"

    sleeps = Sleeps(hook=recover)
    result = pull_image(docker_client, [name, f"{UNREACHABLE}/never-tried"], pushed.tag, backoff=_backoff(), sleep=sleeps)
    assert result.registry == fault_server.address and result.digest == pushed.digest
    assert [(a.number, a.kind) for a in result.attempts] == [(1, "transient"), (2, None)]
    # 20.10 shows the registry's error body; 26.1 with the containerd store asks with HEAD and
    # shows only the status ("429 Too Many Requests")
    assert wording in result.attempts[0].error or f": {status} " in result.attempts[0].error
    assert len(sleeps) == 1
    assert any("/manifests/" in r for r in fault_server.requests)


@pytest.mark.docker
def test_a_hanging_registry_times_out_and_is_retried(
    docker_client: DockerClient, fault_server: FaultServer, registry: str, pushed: Pushed, pulled: list[str]
) -> None:
    fault_server.mode = "hang"
    hanging, mirror = f"{fault_server.address}/{pushed.repository}", f"{registry}/{pushed.repository}"
    pulled += [f"{hanging}:{pushed.tag}", f"{mirror}:{pushed.tag}"]
    sleeps = Sleeps()
    result = pull_image(docker_client, [hanging, mirror], pushed.tag, tries=2, timeout=2.0, backoff=_backoff(), sleep=sleeps)
    assert [(a.number, a.kind) for a in result.attempts] == [(1, "transient"), (2, "transient"), (1, None)]
    assert "did not finish within 2 s" in result.attempts[0].error
    assert result.registry == registry and len(sleeps) == 1


@pytest.mark.docker
def test_pinned_digest_is_accepted(docker_client: DockerClient, registry: str, pushed: Pushed, pulled: list[str]) -> None:
    name = f"{registry}/{pushed.repository}"
    pulled.append(f"{name}:{pushed.tag}")
    result = pull_image(docker_client, [name], pushed.tag, expected_digest=pushed.digest, sleep=Sleeps())
    assert result.digest == pushed.digest


@pytest.mark.docker
def test_other_digest_is_refused_and_untagged(docker_client: DockerClient, registry: str, pushed: Pushed, pulled: list[str]) -> None:
    name = f"{registry}/{pushed.repository}"
    pulled.append(f"{name}:{pushed.tag}")
    pinned = "sha256:" + "0" * 64
    with pytest.raises(PullError) as caught:
        pull_image(docker_client, [name], pushed.tag, expected_digest=pinned, sleep=Sleeps())
    message = str(caught.value)
    assert pushed.digest in message and pinned in message and "refusing" in message
    left = docker_cli(docker_client, ["image", "inspect", f"{name}:{pushed.tag}"], check=False)
    assert left.returncode != 0, "the refused image is still tagged"


@pytest.mark.docker
def test_engine_not_running_stops_at_once(docker_client: DockerClient, tmp_path: Path, pushed: Pushed) -> None:
    dead = DockerClient(cli=docker_client.cli_path, host=f"unix://{tmp_path}/dead.sock")
    sleeps, events = Sleeps(), []
    with pytest.raises(NotRunning):
        pull_image(dead, [f"{UNREACHABLE}/x", "127.0.0.1:2/x"], "v1", sleep=sleeps, on_event=events.append)
    assert sleeps == [] and [e.kind for e in events if e.kind != "line"] == ["start"]


def _spec(tmp_path: Path, name: str, mirrors: list[str], digest: str | None = None) -> Path:
    yaml = YAML()
    data = yaml.load((ROOT / "sandbox.yaml").read_text())
    data["image"]["name"] = name
    data["image"]["mirrors"] = mirrors
    if digest:
        data["image"]["digest"] = digest
    path = tmp_path / "sandbox.yaml"
    with path.open("w") as handle:
        yaml.dump(data, handle)
    return path


@pytest.mark.docker
def test_pull_command_falls_back_and_reports(
    docker_client: DockerClient,
    registry: str,
    pushed: Pushed,
    pulled: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mirror = f"{registry}/{pushed.repository}"
    pulled.append(f"{mirror}:{pushed.tag}")
    spec = _spec(tmp_path, f"{UNREACHABLE}/{pushed.repository}", [mirror], digest=pushed.digest)
    code = main(["--spec", str(spec), "pull", "--tag", pushed.tag, "--retry-delay", "0.01", "--docker-cli", docker_client.cli_path])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out == f"pulled {mirror}:{pushed.tag} from {registry} ({pushed.digest})\n"
    assert f"pulling {UNREACHABLE}/{pushed.repository}:{pushed.tag} from {UNREACHABLE}" in err
    assert err.count("retrying in") == 2 and f"trying the mirror {registry}" in err


@pytest.mark.docker
def test_pull_command_failure_exit_code(
    docker_client: DockerClient, pushed: Pushed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec(tmp_path, f"{UNREACHABLE}/{pushed.repository}", [f"127.0.0.1:2/{pushed.repository}"])
    code = main(["--spec", str(spec), "pull", "--tag", pushed.tag, "--tries", "2", "--retry-delay", "0"])
    err = capsys.readouterr().err
    assert code == 3
    assert "error: could not pull" in err and "try 2 (transient)" in err


def test_pull_command_rejects_a_bad_tag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = _spec(tmp_path, "prizz/x", [])
    assert main(["--spec", str(spec), "pull", "--tag", "-bad tag"]) == 2
    assert "--tag" in capsys.readouterr().err
