"""Fixtures for tests that talk to a real Docker engine.

The engine is whatever the environment names (DOCKER_HOST, SANDBOX_DOCKER_CLI; on CI
.ci/provision-docker.sh prints them). When it cannot be reached the engine tests are skipped,
unless SANDBOX_REQUIRE_DOCKER=1, in which case they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.docker.client import DockerClient
from generator.docker.errors import DockerError
from tests.docker.cli import docker_cli
from tests.docker.engines import BASE_IMAGE_ENV, COMPOSE_ENV, ENGINES, Engine, unavailable
from tests.docker.registry import serving_registry
from tests.integration.cli import sandbox
from tests.integration.servers import FileServer, make_opencode_release
from tests.integration.spec import opencode_version, write_agent_spec


@pytest.fixture(scope="session", params=sorted(ENGINES), ids=lambda name: f"{name}-engine" if name == "modern" else "default-engine")
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """Each engine in turn, verified to answer; the process environment points at it meanwhile."""
    chosen = ENGINES[request.param]
    if chosen.name == "modern" and not chosen.environment["DOCKER_HOST"]:
        unavailable("SANDBOX_MODERN_DOCKER_HOST / _CLI / _CONFIG do not name a second, current engine (see .ci/provision-docker.sh)")
    client = chosen.client
    try:
        client.server_version()
    except DockerError as exc:
        detail = getattr(exc, "detail", "")
        unavailable(f"no Docker engine reachable with {client!r}: {exc}{' - ' + detail if detail else ''}")
    saved = {key: os.environ.get(key) for key in chosen.environment}
    for key, value in chosen.environment.items():
        if value:
            os.environ[key] = value
        else:
            os.environ.pop(key, None)
    yield chosen
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def docker_client(engine: Engine) -> DockerClient:
    """A client for the engine under test (each engine in turn)."""
    return engine.client


@pytest.fixture
def default_engine_only(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> DockerClient:
    """For tests of particular CLIs (a pre-23 one, one without buildx), which need one engine,
    not each: a client for the default engine, with this process pointed at it and a docker
    configuration without plugins (so no buildx is found by accident)."""
    chosen = ENGINES["engine"]
    for key, value in chosen.environment.items():
        if value:
            monkeypatch.setenv(key, value)
        else:
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path_factory.mktemp("docker-config")))
    client = chosen.client
    try:
        client.server_version()
    except DockerError as exc:
        unavailable(f"no Docker engine reachable with {client!r}: {exc}")
    return client


@pytest.fixture(scope="session")
def base_image(docker_client: DockerClient) -> str:
    """A small image present in the engine (no registry is reachable on CI to pull one)."""
    name = os.environ.get(BASE_IMAGE_ENV, "")
    if not name:
        unavailable(f"{BASE_IMAGE_ENV} is not set (name a local image, e.g. local/debian:bookworm)")
    result = docker_cli(docker_client, ["image", "inspect", "--format", "{{.Id}}", name], check=False)
    if result.returncode != 0:
        unavailable(f"{BASE_IMAGE_ENV}={name} is not in the engine: {result.stderr.strip()}")
    return name


@pytest.fixture
def unique_name() -> str:
    """A name no other test run uses, for images and containers the test creates."""
    return f"sandbox-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def image_cleanup(docker_client: DockerClient) -> Iterator[list[str]]:
    """Append image references to the list; they are removed after the test."""
    names: list[str] = []
    yield names
    for name in names:
        docker_cli(docker_client, ["image", "rm", "--force", name], check=False)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``127.0.0.1:PORT`` of a registry every engine can push to and pull from over plain HTTP:
    $SANDBOX_TEST_REGISTRY (on CI the one .ci/provision-docker.sh starts), else Debian's
    docker-registry started for this session; skip or fail (SANDBOX_REQUIRE_DOCKER=1) without."""
    try:
        with serving_registry(tmp_path_factory.mktemp("registry")) as address:
            yield address
    except (FileNotFoundError, LookupError) as exc:
        unavailable(str(exc))


@pytest.fixture(scope="session")
def skopeo() -> str:
    """skopeo, which reads what a test pushed from the registry itself (installed on CI by
    .ci/provision-docker.sh)."""
    found = shutil.which("skopeo")
    if not found:
        unavailable("skopeo is not installed (apt-get install skopeo)")
    return found


@pytest.fixture(scope="session")
def docker_unavailable():
    """The skip-or-fail function, for tests that find out late that a precondition is missing."""
    return unavailable


@pytest.fixture(scope="session")
def cli_20() -> str:
    """A docker CLI older than 23 (BuildKit built in): $SANDBOX_DOCKER_CLI on CI (Debian's 20.10)."""
    from generator.docker.client import parse_version

    path = ENGINES["engine"].environment["SANDBOX_DOCKER_CLI"] or "/usr/bin/docker"
    found = shutil.which(path)
    if not found:
        unavailable(f"no docker CLI at {path} (set SANDBOX_DOCKER_CLI to a CLI older than 23)")
    version = DockerClient(cli=found).client_version()
    parsed = parse_version(version)
    if not parsed or parsed[0] >= 23:
        unavailable(f"{path} is not a CLI older than 23 with built-in BuildKit: {version}")
    return found


@pytest.fixture(scope="session")
def cli_28() -> str:
    """The 28.x CLI without buildx that CI machines have first on PATH."""
    path = os.environ.get("SANDBOX_TEST_CLI_NO_BUILDX", "/usr/local/bin/docker")
    if not shutil.which(path):
        unavailable(f"no docker CLI at {path} (set SANDBOX_TEST_CLI_NO_BUILDX to a CLI >= 23 without buildx)")
    return path


@pytest.fixture(scope="session")
def compose_cli() -> list[str]:
    """Docker Compose v2 as the start of a command line: $SANDBOX_COMPOSE (on CI Debian 13's
    docker-compose, see .ci/provision-docker.sh), else docker-compose on PATH, else the docker CLI's
    compose plugin. Compose v1 (docker-compose 1.x) does not count."""
    named = os.environ.get(COMPOSE_ENV, "")
    if named:
        candidates = [[named]]
    else:
        candidates = [["docker-compose"], [os.environ.get("SANDBOX_DOCKER_CLI", "docker"), "compose"]]
    tried = []
    for argv in candidates:
        shown = " ".join(argv)
        if not shutil.which(argv[0]):
            tried.append(f"{shown}: not found")
            continue
        result = subprocess.run([*argv, "version", "--short"], capture_output=True, text=True, timeout=60, check=False)
        major = result.stdout.strip().lstrip("v").split(".")[0]
        if result.returncode == 0 and major.isdigit() and int(major) >= 2:
            return argv
        said = (result.stdout + result.stderr).strip().splitlines()
        tried.append(f"{shown}: {said[0] if said else f'exit {result.returncode}'}")
    unavailable(f"no Docker Compose v2 ({'; '.join(tried)}); set {COMPOSE_ENV} to a docker-compose 2.x binary")


SpecWriter = Callable[[Path, str, tuple[str, str], str], Path]


def build_with_opencode(write_spec: SpecWriter, name: str, base_image: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """`sandbox build` of the spec ``write_spec`` writes around the real opencode (served as a
    release asset on 127.0.0.1 while the build runs), tagged ``name``:random; (tag, spec)."""
    www = tmp_path_factory.mktemp("opencode-site")
    opencode = make_opencode_release(www / "releases", opencode_version())
    server = FileServer(www)
    spec = write_spec(tmp_path_factory.mktemp("spec"), f"{server.url}/releases", opencode, base_image)
    tag = f"{name}:{uuid.uuid4().hex[:12]}"
    try:
        result = sandbox("--spec", spec, "build", "--regenerate", "--network", "host", "--tag", tag, timeout=1500)
        assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr}"
    finally:
        server.stop()
    return tag, spec


@dataclass(frozen=True)
class AgentImage:
    tag: str
    spec: Path
    client: DockerClient


@pytest.fixture(scope="session")
def agent_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentImage]:
    """The agent image (tests/integration/spec.py's agent spec), built once for the session
    through `sandbox build` on the default engine: the agent check and the gate use it."""
    engine = ENGINES["engine"]
    base_image = engine.environment["SANDBOX_TEST_BASE_IMAGE"]
    if not base_image:
        unavailable("SANDBOX_TEST_BASE_IMAGE is not set (name a local image, e.g. local/debian:bookworm)")
    client = engine.client
    try:
        client.server_version()
    except DockerError as exc:
        unavailable(f"no Docker engine reachable with {client!r}: {exc}")
    with pytest.MonkeyPatch.context() as patch:
        # the `sandbox` processes below talk to this engine
        for key, value in engine.environment.items():
            if value:
                patch.setenv(key, value)
            else:
                patch.delenv(key, raising=False)
        tag, spec = build_with_opencode(write_agent_spec, "local/sandbox-agent", base_image, tmp_path_factory)
        yield AgentImage(tag, spec, client)
    docker_cli(client, ["image", "rm", "--force", tag], check=False)


def build_gate_image(client: DockerClient, project: Path, tag: str) -> None:
    """The gate's image from the run files `sandbox generate` wrote in ``project`` (gate/):
    apt fetches squid from the CI machine's Debian mirror, hence the host's network."""
    built = docker_cli(client, ["build", "--network", "host", "--tag", tag, str(project / "gate")], check=False, timeout=900)
    assert built.returncode == 0, f"the gate's image did not build:\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}"
