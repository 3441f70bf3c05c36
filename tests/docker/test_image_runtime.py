"""The image does its job: the default spec's runtime contract around the real opencode.

One image per session, built through `sandbox build` on the real engine from
tests/integration/spec.py's runtime spec: sandbox.yaml's user, environment, runtime section
and runtime scripts verbatim, and the real opencode binary (npm's opencode-linux-x64 of the
spec's version, served as a release asset on 127.0.0.1). Each test starts containers of it
with the options a user would pass and talks to opencode over a port published on
127.0.0.1. Nothing here stands in for opencode.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from generator import load_spec
from generator.docker.client import DockerClient
from tests.docker.cli import docker_cli
from tests.docker.conftest import build_gate_image, build_with_opencode
from tests.integration.cli import sandbox
from tests.integration.spec import REPO, default_spec, write_runtime_spec

DEFAULT = default_spec()
SPEC = load_spec(REPO / "sandbox.yaml")
PORT = DEFAULT["runtime"]["port"]
HOME = SPEC.user.home_dir
WORKSPACE = SPEC.user.workspace_dir
DATA = f"{HOME}/.local/share/opencode"
CONFIG = f"{HOME}/.config/opencode"
SSH = f"{HOME}/.ssh"
PASSWORD_STORE = f"{DATA}/server-password"
LOGIN = "opencode"
READY_TIMEOUT = 90.0


@dataclass(frozen=True)
class RuntimeImage:
    tag: str
    spec: Path


@pytest.fixture(scope="module")
def runtime_image(docker_client: DockerClient, base_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeImage]:
    tag, spec = build_with_opencode(write_runtime_spec, "local/sandbox-runtime", base_image, tmp_path_factory)
    yield RuntimeImage(tag, spec)
    docker_cli(docker_client, ["image", "rm", "--force", tag], check=False)


@dataclass
class Container:
    client: DockerClient
    name: str
    port: int
    volumes: list[str] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.host_port}{path}"

    @property
    def host_port(self) -> int:
        out = docker_cli(self.client, ["port", self.name, f"{self.port}/tcp"]).stdout
        return int(out.splitlines()[0].rsplit(":", 1)[1])

    def state(self) -> dict:
        return json.loads(docker_cli(self.client, ["inspect", "--format", "{{json .State}}", self.name]).stdout)

    def logs(self) -> str:
        result = docker_cli(self.client, ["logs", self.name], check=False)
        return result.stdout + result.stderr

    def exec(self, *command: str, user: str | None = None) -> str:
        args = ["exec", *(["--user", user] if user else []), self.name, *command]
        return docker_cli(self.client, args, timeout=60).stdout

    def wait_healthy(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            status = (state.get("Health") or {}).get("Status")
            if status == "healthy":
                return
            if not state.get("Running") or time.monotonic() > deadline:
                pytest.fail(f"{self.name} is {status or state.get('Status')}, not healthy:\n{self.logs()}\n{state}")
            time.sleep(0.5)


def status_of(url: str, password: str | None = None) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url)
    if password is not None:
        token = base64.b64encode(f"{LOGIN}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # loopback
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


@pytest.fixture
def start(docker_client: DockerClient, runtime_image: RuntimeImage) -> Iterator:
    """start(*docker_run_options, port=PORT, healthy=True) -> a running Container; every
    container and named volume made through it is removed afterwards."""
    started: list[Container] = []

    def _start(*options: str, port: int = PORT, healthy: bool = True, command: tuple[str, ...] = ()) -> Container:
        name = f"sandbox-runtime-{uuid.uuid4().hex[:12]}"
        args = [
            "run",
            "--detach",
            "--name",
            name,
            "--health-interval",
            "1s",
            "--publish",
            f"127.0.0.1::{port}",
            *options,
            runtime_image.tag,
            *command,
        ]
        docker_cli(docker_client, args)
        container = Container(docker_client, name, port)
        started.append(container)
        if healthy:
            container.wait_healthy()
        return container

    yield _start
    for container in started:
        docker_cli(docker_client, ["rm", "--force", "--volumes", container.name], check=False)


@pytest.fixture
def volume(docker_client: DockerClient) -> Iterator:
    """volume() -> the name of a new named volume, removed after the test."""
    names: list[str] = []

    def _volume() -> str:
        names.append(f"sandbox-runtime-{uuid.uuid4().hex[:12]}")
        return names[-1]

    yield _volume
    for name in names:
        docker_cli(docker_client, ["volume", "rm", "--force", name], check=False)


@pytest.mark.docker
def test_default_run_is_healthy_and_asks_for_the_generated_password(start, volume) -> None:
    data = volume()
    container = start("--volume", f"{data}:{DATA}")
    status, headers = status_of(container.url())
    assert status == 401
    assert headers.get("www-authenticate", headers.get("WWW-Authenticate", "")).startswith("Basic")
    password = container.exec("cat", PASSWORD_STORE).strip()
    assert len(password) == 24
    assert status_of(container.url(), password)[0] == 200
    assert status_of(container.url(), password + "x")[0] == 401
    assert container.exec("stat", "-c", "%a %u", PASSWORD_STORE).split() == ["600", "1000"]
    logs = container.logs()
    assert f"read it with: docker exec CONTAINER cat {PASSWORD_STORE}" in logs
    assert password not in logs
    assert "server is unsecured" not in logs

    # a restart keeps the password
    docker_cli(container.client, ["restart", "--time", "20", container.name])
    container.wait_healthy()
    assert status_of(container.url(), password)[0] == 200
    # a fresh volume gets a new one
    other = start("--volume", f"{volume()}:{DATA}")
    fresh = other.exec("cat", PASSWORD_STORE).strip()
    assert fresh != password and status_of(other.url(), fresh)[0] == 200


@pytest.mark.docker
def test_the_password_never_enters_the_config_the_argv_or_the_image(
    start, runtime_image: RuntimeImage, docker_client: DockerClient
) -> None:
    container = start()
    password = container.exec("cat", PASSWORD_STORE).strip()
    config = docker_cli(docker_client, ["inspect", container.name]).stdout
    image = docker_cli(docker_client, ["image", "inspect", runtime_image.tag]).stdout
    history = docker_cli(docker_client, ["history", "--no-trunc", runtime_image.tag]).stdout
    assert password not in config and password not in image and password not in history
    argv = container.exec("sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '")
    assert "opencode web" in argv and password not in argv


@pytest.mark.docker
def test_password_from_the_environment(start) -> None:
    container = start("--env", "OPENCODE_SERVER_PASSWORD=env-password")
    assert status_of(container.url())[0] == 401
    assert status_of(container.url(), "env-password")[0] == 200
    assert "the password in OPENCODE_SERVER_PASSWORD" in container.logs()


@pytest.mark.docker
def test_password_file_owned_by_root_like_a_compose_secret(start, tmp_path: Path) -> None:
    secret = tmp_path / "opencode_password"
    secret.write_text("file-password\n")
    os.chown(secret, 0, 0)
    secret.chmod(0o600)
    container = start("--volume", f"{secret}:/run/secrets/opencode_password:ro",
                      "--env", "OPENCODE_SERVER_PASSWORD_FILE=/run/secrets/opencode_password")  # fmt: skip
    assert status_of(container.url())[0] == 401
    assert status_of(container.url(), "file-password")[0] == 200
    assert "file-password" not in container.logs()


@pytest.mark.docker
def test_explicit_opt_out_serves_openly_and_warns(start) -> None:
    container = start("--env", "SANDBOX_INSECURE_NO_AUTH=1")
    assert status_of(container.url())[0] == 200
    assert "WARNING: SANDBOX_INSECURE_NO_AUTH=1: the web UI asks for NO password" in container.logs()


@pytest.mark.docker
def test_port_from_the_environment_moves_server_and_health_check(start) -> None:
    container = start("--env", "PORT=8123", port=8123)  # healthy: the check followed PORT
    assert status_of(container.url())[0] == 401
    assert "--port 8123" in container.exec("sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '")


@pytest.mark.docker
def test_bind_mount_of_another_uid_is_repaired_at_the_top_only(start, tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    (workspace / "project").mkdir(parents=True)
    for path in (workspace, workspace / "project"):
        os.chown(path, 4242, 4242)
    container = start("--volume", f"{workspace}:{WORKSPACE}")
    assert f"{WORKSPACE} belonged to uid 4242; now owned by 1000:1000" in container.logs()
    assert workspace.stat().st_uid == 1000
    assert (workspace / "project").stat().st_uid == 4242  # never recursive unless asked
    container.exec("touch", f"{WORKSPACE}/written-by-the-user")
    assert (workspace / "written-by-the-user").stat().st_uid == 1000


@pytest.mark.docker
def test_without_sudo_the_owner_problem_is_named(start, tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    os.chown(workspace, 4242, 4242)
    # no-new-privileges: sudo cannot raise privileges, as in a hardened deployment
    container = start("--security-opt", "no-new-privileges", "--env", "SANDBOX_INSECURE_NO_AUTH=1",
                      "--volume", f"{workspace}:{WORKSPACE}")  # fmt: skip
    logs = container.logs()
    assert f"{WORKSPACE} belongs to uid 4242, not 1000 (opencode), and sudo is not available to repair it" in logs
    assert "chown 1000:1000" in logs
    assert workspace.stat().st_uid == 4242


@pytest.mark.docker
def test_work_config_keys_and_password_survive_docker_rm(start, volume, docker_client: DockerClient) -> None:
    mounts = {WORKSPACE: volume(), CONFIG: volume(), SSH: volume(), DATA: volume()}
    options = [arg for path, name in mounts.items() for arg in ("--volume", f"{name}:{path}")]
    first = start(*options)
    password = first.exec("cat", PASSWORD_STORE).strip()
    first.exec("sh", "-c", f"echo work > {WORKSPACE}/notes && echo rules > {CONFIG}/AGENTS.md && echo key > {SSH}/id_test")
    assert first.exec("stat", "-c", "%a", SSH).strip() == "700"
    assert "is not a volume or bind mount" not in first.logs()
    docker_cli(docker_client, ["rm", "--force", first.name])
    second = start(*options)
    assert second.exec("cat", f"{WORKSPACE}/notes", f"{CONFIG}/AGENTS.md", f"{SSH}/id_test").split() == ["work", "rules", "key"]
    assert status_of(second.url(), password)[0] == 200


@pytest.mark.docker
def test_data_that_dies_with_the_container_is_warned_about(start) -> None:
    container = start("--tmpfs", f"{WORKSPACE}:uid=1000,gid=1000")
    logs = container.logs()
    assert f"WARNING: {WORKSPACE} is a tmpfs: its contents die with the container" in logs
    (note,) = [line for line in logs.splitlines() if "anonymous volumes" in line]
    assert note.startswith("sandbox-entrypoint: note: anonymous volumes, which a new container will not see")
    assert CONFIG in note and DATA in note and WORKSPACE not in note


@pytest.mark.docker
def test_docker_stop_reaches_opencode_through_tini(start, docker_client: DockerClient) -> None:
    container = start()
    # a generous grace period: if SIGTERM were lost, Docker would SIGKILL (exit 137) after it
    docker_cli(docker_client, ["stop", "--time", "30", container.name], timeout=60)
    state = container.state()
    assert state["Status"] == "exited"
    assert state["ExitCode"] == 143, f"opencode did not end on SIGTERM: exit {state['ExitCode']}\n{container.logs()}"


@pytest.mark.docker
def test_image_knows_what_it_is_and_keeps_its_scripts_executable(start, runtime_image: RuntimeImage, docker_client: DockerClient) -> None:
    container = start("--env", "SANDBOX_INSECURE_NO_AUTH=1")
    release = dict(line.split("=", 1) for line in container.exec("cat", "/etc/sandbox-release").splitlines())
    labels = json.loads(docker_cli(docker_client, ["image", "inspect", "--format", "{{json .Config.Labels}}", runtime_image.tag]).stdout)
    assert release["NAME"] == "local/sandbox-runtime"
    assert release["VERSION"] == labels["org.opencontainers.image.version"]
    assert release["CREATED"] == labels["org.opencontainers.image.created"]
    # the spec's copies of the scripts are 0644 (written without modes); COPY --chmod fixed them
    modes = container.exec("stat", "-c", "%a", DEFAULT["runtime"]["entrypoint"], DEFAULT["runtime"]["healthcheck"]["script"])
    assert modes.split() == ["755", "755"]


@pytest.mark.docker
def test_sandbox_test_passes_on_the_real_opencode(runtime_image: RuntimeImage) -> None:
    result = sandbox("--spec", runtime_image.spec, "test", runtime_image.tag, "--health-interval", "1s", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "STAND-IN" not in result.stdout
    rows = ("tool opencode: opencode --version", "runs as uid 1000", "passwordless sudo", "setuid/setgid files",
            "HEALTHCHECK healthy", "web server asks for credentials")  # fmt: skip
    for row in rows:
        line = next((text for text in result.stdout.splitlines() if row in text), "")
        assert "PASS" in line, f"{row!r} did not pass:\n{result.stdout}"


@pytest.mark.docker
def test_compose_file_starts_the_image_and_logs_in(
    runtime_image: RuntimeImage, docker_client: DockerClient, compose_cli: list[str], tmp_path: Path
) -> None:
    """The run files the default runtime section generates (compose.yaml and the gate, here
    from the test's base image), brought up by Compose: healthy, and the login reaches opencode
    through the gate."""
    project = f"sandbox-runtime-{uuid.uuid4().hex[:8]}"
    shutil.copytree(runtime_image.spec.parent, tmp_path, dirs_exist_ok=True)
    generated = sandbox("--spec", tmp_path / "sandbox.yaml", "generate", timeout=120)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    gate_tag = f"local/sandbox-gate:{project}"
    build_gate_image(docker_client, tmp_path, gate_tag)
    (tmp_path / "secrets").mkdir(mode=0o700)
    secret = tmp_path / "secrets" / "opencode-password"
    secret.write_text("compose-password\n")
    secret.chmod(0o600)  # root's, as the README's umask 077 recipe leaves it
    for provider in DEFAULT["runtime"]["providers"]:
        key = tmp_path / "secrets" / f"{provider['id']}-api-key"
        key.write_text("sk-dummy-key-for-the-compose-test\n")
        key.chmod(0o600)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        host_port = probe.getsockname()[1]
    env = {**os.environ, "SANDBOX_IMAGE": runtime_image.tag, "SANDBOX_GATE_IMAGE": gate_tag, "SANDBOX_HOST_PORT": str(host_port)}
    compose = [*compose_cli, "--project-name", project, "--project-directory", str(tmp_path), "-f", str(tmp_path / "compose.yaml")]
    try:
        up = subprocess.run([*compose, "up", "--detach", "--wait"], env=env, capture_output=True, text=True, timeout=180, check=False)
        assert up.returncode == 0, up.stdout + up.stderr  # --wait: healthy
        url = f"http://127.0.0.1:{host_port}/"
        assert status_of(url)[0] == 401
        assert status_of(url, "compose-password")[0] == 200
    finally:
        subprocess.run([*compose, "down", "--volumes", "--timeout", "20"], env=env, capture_output=True, timeout=120, check=False)
        docker_cli(docker_client, ["image", "rm", "--force", gate_tag], check=False)
