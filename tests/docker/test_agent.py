"""`sandbox test --agent`: a real opencode session works inside the image, offline.

One image per run (tests/integration/spec.py's agent spec: the default spec's user,
environment, runtime section and scripts, the real opencode served as a release asset on
127.0.0.1, and Debian's git, Python, Node, Go, Rust and shellcheck), built through `sandbox
build` on the default engine (the suite's other engine runs the same images; one agent run
is enough to prove the agent's side). Nothing here stands in for opencode: only the model is
scripted (generator/agent/model_server.py), on 127.0.0.1.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator import load_spec
from generator.agent.suite import TASK_MAKERS
from generator.docker.client import DockerClient
from integration.cli import sandbox
from integration.servers import FileServer, make_opencode_release
from integration.spec import AGENT_TOOLCHAINS, opencode_version, write_agent_spec
from tests.docker.cli import docker_cli
from tests.docker.engines import ENGINES, unavailable


@dataclass(frozen=True)
class AgentImage:
    tag: str
    spec: Path
    client: DockerClient


@pytest.fixture(scope="module")
def agent_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentImage]:
    engine = ENGINES["engine"]
    base_image = engine.environment["SANDBOX_TEST_BASE_IMAGE"]
    if not base_image:
        unavailable("SANDBOX_TEST_BASE_IMAGE is not set (name a local image, e.g. local/debian:bookworm)")
    client = engine.client
    with pytest.MonkeyPatch.context() as patch:
        # the `sandbox` processes below talk to this engine
        for key, value in engine.environment.items():
            if value:
                patch.setenv(key, value)
            else:
                patch.delenv(key, raising=False)
        www = tmp_path_factory.mktemp("opencode-site")
        opencode = make_opencode_release(www / "releases", opencode_version())
        server = FileServer(www)
        spec = write_agent_spec(tmp_path_factory.mktemp("agent-spec"), f"{server.url}/releases", opencode, base_image)
        tag = f"local/sandbox-agent:{uuid.uuid4().hex[:12]}"
        try:
            result = sandbox("--spec", spec, "build", "--regenerate", "--network", "host", "--tag", tag, timeout=1500)
            assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr}"
        finally:
            server.stop()
        yield AgentImage(tag, spec, client)
    docker_cli(client, ["image", "rm", "--force", tag], check=False)


def agent_check(image: AgentImage, tag: str) -> tuple[int, dict, str]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in ENGINES["engine"].environment.items():
            if value:
                patch.setenv(key, value)
        result = sandbox("--spec", image.spec, "test", tag, "--agent", "--json", timeout=1200)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"no JSON report (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.returncode, {row["name"]: row for row in report["checks"]}, result.stderr


def test_the_agent_runs_every_tool_and_everyday_task_through_its_own_tools(agent_image: AgentImage) -> None:
    status, rows, stderr = agent_check(agent_image, agent_image.tag)
    failed = {name: row["detail"] for name, row in rows.items() if not row["passed"]}
    assert (status, failed) == (0, {}), stderr

    assert f"opencode {opencode_version()} on 127.0.0.1:" in rows["agent: opencode serves its API"]["detail"]
    spec = load_spec(agent_image.spec)
    checked = {name.split(":")[0].removeprefix("agent runs tool ") for name in rows if name.startswith("agent runs tool ")}
    assert checked == {tool.name for tool in spec.tools_for("default") if tool.check}
    # every kind of everyday task, and within each the linters/test runners the image has
    tasks = {name.split(":")[0].removeprefix("agent task "): row["detail"] for name, row in rows.items() if name.startswith("agent task ")}
    assert set(tasks) == {kind for kind, _ in TASK_MAKERS}
    assert "pytest, black --check passed" in tasks["python"]
    assert "npm test, tsc passed" in tasks["node"]
    assert "go test, go build and run, go vet, gofmt -l passed" in tasks["go"]
    assert "cargo test, cargo run, cargo fmt --check passed" in tasks["rust"]
    assert "git commit passed" in tasks["git"]
    # and it ran as the image's user, behind the password its entrypoint generated
    assert rows["web server asks for credentials (runtime.auth basic)"]["passed"]
    assert {tool["name"] for tool in AGENT_TOOLCHAINS} <= checked


def test_a_tool_gone_from_path_or_not_executable_fails_naming_it_and_what_the_agent_saw(agent_image: AgentImage) -> None:
    client = agent_image.client
    broken = f"local/sandbox-agent-broken:{uuid.uuid4().hex[:12]}"
    dockerfile = (
        f"FROM {agent_image.tag}\n"
        "USER root\n"
        # shellcheck leaves PATH; go stays on it but only root may run it
        'RUN rm /usr/bin/shellcheck && chmod 0700 "$(readlink -f /usr/bin/go)"\n'
        "USER opencode\n"
    )
    result = docker_cli(client, ["build", "--quiet", "--tag", broken, "-"], input=dockerfile.encode(), check=False, timeout=600)
    assert result.returncode == 0, result.stderr
    try:
        status, rows, _ = agent_check(agent_image, broken)
    finally:
        docker_cli(client, ["image", "rm", "--force", broken], check=False)

    assert status == 1
    failed = {name: row["detail"] for name, row in rows.items() if not row["passed"]}
    assert set(failed) == {
        "agent runs tool shellcheck: shellcheck --version",
        "agent runs tool go: go version",
        "agent task shell: write and shellcheck a script",
        "agent task go: write, edit, test and build",
    }, failed
    assert "not found" in failed["agent runs tool shellcheck: shellcheck --version"]
    assert "permission denied" in failed["agent runs tool go: go version"].lower()
    assert failed["agent task shell: write and shellcheck a script"].startswith("shellcheck: exit code 127; the agent saw: ")
    assert failed["agent task go: write, edit, test and build"].startswith("a fresh module: exit code 126; the agent saw: ")
