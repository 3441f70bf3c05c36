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
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator import load_spec
from generator.agent.model_server import ToolResult
from generator.agent.suite import TASK_MAKERS, ToolCheck, check_batches, judge_checks
from tests.docker.cli import docker_cli
from tests.docker.conftest import AgentImage
from tests.docker.engines import ENGINES
from tests.integration.cli import sandbox
from tests.integration.spec import AGENT_TOOLCHAINS, opencode_version


@dataclass(frozen=True)
class AgentRun:
    status: int
    rows: dict[str, dict]
    stderr: str
    report: dict


def agent_check(image: AgentImage, tag: str, *options: str | Path) -> AgentRun:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in ENGINES["engine"].environment.items():
            if value:
                patch.setenv(key, value)
        result = sandbox("--spec", image.spec, "test", tag, "--agent", "--json", *options, timeout=1200)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"no JSON report (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    return AgentRun(result.returncode, {row["name"]: row for row in report["checks"]}, result.stderr, report)


@pytest.fixture(scope="module")
def passing_run(agent_image: AgentImage, tmp_path_factory: pytest.TempPathFactory) -> tuple[AgentRun, Path]:
    """One run of the suite on the image as built, hardened (runtime.hardening: read-only root,
    capabilities dropped, limits), its report also saved (for --compare)."""
    saved = tmp_path_factory.mktemp("agent-report") / "before.json"
    return agent_check(agent_image, agent_image.tag, "--hardened", "--save", saved), saved


pytestmark = pytest.mark.docker


def test_the_agent_runs_every_tool_and_everyday_task_through_its_own_tools(agent_image: AgentImage, passing_run) -> None:
    run, saved = passing_run
    status, rows, stderr = run.status, run.rows, run.stderr
    assert json.loads(saved.read_text(encoding="utf-8")) == run.report
    assert all(isinstance(row["seconds"], float) and row["seconds"] >= 0 for row in rows.values())
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
    assert {tool["name"] for tool in AGENT_TOOLCHAINS} <= checked
    # the rows after the agent's: `opencode web` (the image's command) outlived the whole suite,
    # still behind the password its entrypoint generated
    names = list(rows)
    assert names.index("HEALTHCHECK healthy") > names.index("agent task shell: write and shellcheck a script")
    assert rows["web server asks for credentials (runtime.auth basic)"]["passed"]
    # under least privilege: sudo for apt-get only, and the container hardened as the spec says
    assert rows["sudo for the listed programs only (user.sudo)"]["detail"].startswith("allowed: /usr/bin/apt-get; sudo -n true: ")
    hardened = rows["hardened (runtime.hardening)"]["detail"]
    assert hardened == "read-only root, capabilities: AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID"


def test_opencode_web_has_no_browser_to_open_and_keeps_serving(agent_image: AgentImage) -> None:
    """anomalyco/opencode#49446: `opencode web` exits on headless Linux when it spawns xdg-open
    and none exists. The image has none, so the suite above is the proof that ours keeps
    serving; this pins the premise (were xdg-open added, the proof would no longer cover it)."""
    probe = ["run", "--rm", "--entrypoint", "sh", agent_image.tag, "-c", "command -v xdg-open || echo none; printenv DISPLAY || true"]
    assert docker_cli(agent_image.client, probe).stdout.split() == ["none"]


def test_a_tool_gone_from_path_or_not_executable_fails_naming_it_and_what_the_agent_saw(agent_image: AgentImage, passing_run) -> None:
    client = agent_image.client
    broken = f"local/sandbox-agent-broken:{uuid.uuid4().hex[:12]}"
    dockerfile = (
        f"FROM {agent_image.tag}\n"
        "USER root\n"
        # shellcheck leaves PATH; go stays on it but only root may run it; and sudo is wider
        # than the spec says
        'RUN rm /usr/bin/shellcheck && chmod 0700 "$(readlink -f /usr/bin/go)" \\\n'
        " && echo 'opencode ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/zz-wider && chmod 0440 /etc/sudoers.d/zz-wider\n"
        "USER opencode\n"
    )
    result = docker_cli(client, ["build", "--quiet", "--tag", broken, "-"], input=dockerfile.encode(), check=False, timeout=600)
    assert result.returncode == 0, result.stderr
    _, before = passing_run
    try:
        run = agent_check(agent_image, broken, "--hardened", "--compare", before)
    finally:
        docker_cli(client, ["image", "rm", "--force", broken], check=False)

    assert run.status == 1
    failed = {name: row["detail"] for name, row in run.rows.items() if not row["passed"]}
    assert set(failed) == {
        "agent runs tool shellcheck: shellcheck --version",
        "agent runs tool go: go version",
        "agent task shell: write and shellcheck a script",
        "agent task go: write, edit, test and build",
        "sudo for the listed programs only (user.sudo)",
    }, failed
    assert "not found" in failed["agent runs tool shellcheck: shellcheck --version"]
    assert "permission denied" in failed["agent runs tool go: go version"].lower()
    assert failed["agent task shell: write and shellcheck a script"].startswith("shellcheck: exit code 127; the agent saw: ")
    assert failed["agent task go: write, edit, test and build"].startswith("a fresh module: exit code 126; the agent saw: ")
    assert failed["sudo for the listed programs only (user.sudo)"] == "sudo -n true is allowed: the rule is wider than user.sudo lists"
    # against the run before: exactly these rows newly fail (slower rows may come and go with the machine's load)
    changes = run.report["compare"]["changes"]
    assert {c["name"] for c in changes if c["kind"] == "newly failing"} == set(failed)
    assert {c["kind"] for c in changes} <= {"newly failing", "slower"}


def test_the_checks_read_the_same_in_the_images_zsh(agent_image: AgentImage) -> None:
    """A user's $SHELL may be zsh (the default spec's), where the agent's bash tool then runs:
    zsh reserves names such as $status, which the batches must not assign."""
    checks = [ToolCheck("ok", ("true",)), ToolCheck("fails", ("sh", "-c", "echo broken; exit 3")), ToolCheck("zsh", ("zsh", "--version"))]
    step = check_batches(checks)[0]
    probe = ["run", "--rm", "--entrypoint", "zsh", agent_image.tag, "-c", step.call.arguments["command"]]
    output = docker_cli(agent_image.client, probe).stdout
    verdicts = judge_checks(checks, [ToolResult(step.call, output)])
    assert [(v.passed, v.detail) for v in verdicts[:2]] == [(True, "exit code 0"), (False, "broken")]
    assert verdicts[2].passed and verdicts[2].detail.startswith("zsh 5.")
    assert all(v.seconds is not None for v in verdicts)
