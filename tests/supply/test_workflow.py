"""The weekly update workflow: the commands it runs, in order, and no third-party actions."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator.cost import show
from generator.cost.attribute import Layer, attribute
from generator.cost.report import CostReport, compare
from generator.errors import ExitCode
from tests.cost.test_attribute import HISTORY, LAYOUT, STEPS
from tests.test_shell_scripts import shellcheck_binary

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "weekly-update.yml"


def _steps() -> list[dict]:
    return YAML(typ="safe").load(WORKFLOW.read_text())["jobs"]["update"]["steps"]


def test_runs_update_lock_generate_check_then_opens_a_pull_request():
    runs = "\n".join(step.get("run", "") for step in _steps())
    order = [runs.index(command) for command in ("sandbox update", "sandbox lock", "sandbox generate", "sandbox check", "gh pr create")]
    assert order == sorted(order)
    assert "--changelog" in runs and "--body-file" in runs


def test_uses_only_github_actions_of_github_itself():
    used = [step["uses"] for step in _steps() if "uses" in step]
    assert used and all(re.fullmatch(r"actions/[a-z-]+@v\d+", u) for u in used), used


def test_every_run_block_is_shellcheck_clean(tmp_path):
    shellcheck = shellcheck_binary()
    for index, step in enumerate(_steps()):
        if "run" not in step:
            continue
        script = tmp_path / f"step{index}.sh"
        script.write_text("#!/bin/bash\n" + re.sub(r"\$\{\{[^}]*\}\}", "main", step["run"]))
        result = subprocess.run([shellcheck, "-s", "bash", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout


def test_pull_request_body_holds_the_sbom_diff_against_the_sbom_before_the_update():
    runs = "\n".join(step.get("run", "") for step in _steps())
    saved = runs.index('sandbox sbom --output "$RUNNER_TEMP/sbom-before.cdx.json"')
    diffed = runs.index('sandbox sbom --diff "$RUNNER_TEMP/sbom-before.cdx.json"')
    assert saved < runs.index("sandbox update") < runs.index("sandbox lock") < diffed < runs.index("gh pr create")
    assert 'cat "$RUNNER_TEMP/sbom-diff.md"' in runs


# -- the cost diff (opt-in): the steps' shell runs here for real ------------------------------

REPO = WORKFLOW.parents[2]


def _step(name_start: str) -> dict:
    return next(step for step in _steps() if step.get("name", "").startswith(name_start))


def _cost_steps() -> list[dict]:
    """The steps that run `sandbox cost` (not those that only name it)."""
    return [step for step in _steps() if any(line.strip().startswith("sandbox cost ") for line in step.get("run", "").splitlines())]


def _job() -> dict:
    return YAML(typ="safe").load(WORKFLOW.read_text())["jobs"]["update"]


def _cost_reports(tmp_path: Path) -> tuple[CostReport, CostReport]:
    """Two real reports of the cost tests' layout: before, and after an update that grew uv."""
    before = CostReport(
        "sandbox:latest",
        "sha256:a",
        "default",
        "buildx",
        "classic",
        0,
        60.0,
        False,
        attribute(LAYOUT, STEPS, HISTORY)[0],
        platform="linux/amd64",
    )
    grown = [Layer(layer.created_by, 80_000 if layer.size == 50_000 else layer.size) for layer in HISTORY]
    after = replace(before, parts=attribute(LAYOUT, STEPS, grown)[0])
    return before, after


def _run_step(step: dict, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # GitHub runs a run block with bash -e -o pipefail; ${{ }} expressions are not in these steps
    assert "${{" not in step["run"]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=cwd,
        env={"HOME": os.environ.get("HOME", "/tmp"), "PATH": path, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cost_steps_are_opt_in_and_bounded_inside_the_jobs_time():
    job = _job()
    assert job["env"]["COST"] == "${{ github.event.inputs.cost || 'false' }}"
    cost_input = YAML(typ="safe").load(WORKFLOW.read_text())["on"]["workflow_dispatch"]["inputs"]["cost"]
    assert cost_input["type"] == "boolean" and cost_input["default"] is False
    steps = _steps()
    costs = _cost_steps()
    assert len(costs) == 2
    for step in costs:
        # never weekly by default; a slow or failed build costs the cost section, not the pull request
        assert step["if"] == "env.COST == 'true'" and step["continue-on-error"] is True
    runs = [step.get("run", "") for step in steps]
    before, after = (steps.index(step) for step in costs)
    update = next(i for i, run in enumerate(runs) if run.lstrip().startswith("status=0\n") and "sandbox update" in run)
    generate = runs.index("sandbox generate")
    body = steps.index(_step("Write the pull request body"))
    assert before < update < generate < after < body
    # each build stops itself (sandbox cost --timeout) before its step's limit, and both fit the job
    limits = [int(re.search(r"--timeout (\d+)", step["run"])[1]) for step in costs]  # type: ignore[index]
    assert all(limit < 60 * step["timeout-minutes"] for limit, step in zip(limits, costs, strict=True))
    assert sum(step["timeout-minutes"] for step in costs) < job["timeout-minutes"]


def test_the_cost_command_lines_are_ones_sandbox_cost_accepts_and_hand_the_report_over():
    from generator.commands.cost import cost

    env = {"RUNNER_TEMP": "/runner/temp", "COST_PLATFORM": _job()["env"]["COST_PLATFORM"]}
    parsed = []
    for step in _cost_steps():
        line = next(line for line in step["run"].splitlines() if line.strip().startswith("sandbox cost "))
        words = shlex.split(re.sub(r'"\$(\w+)', lambda m: '"' + env[m[1]], line.strip()))
        args = words[2 : words.index(">")] if ">" in words else words[2:]
        # click parses them as the command would (an unknown or misspelt option raises here)
        parsed.append(cost.make_context("cost", args).params)
    before, after = parsed
    assert before["save"] == Path("/runner/temp/cost-before.json") == after["compare_with"]
    assert before["platforms"] == after["platforms"] == ("linux/amd64",) and after["output_format"] == "markdown"


def _staged_repository(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "sandbox.yaml").write_text("tools: []\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    (repo / "sandbox.yaml").write_text("tools: [uv]\n")
    subprocess.run([*git, "add", "-u"], check=True)
    return repo


@pytest.mark.parametrize("cost", ["true", "false"])
def test_the_pull_request_body_holds_the_cost_diff_or_says_why_not(tmp_path: Path, cost: str):
    temp = tmp_path / "runner"
    temp.mkdir()
    (temp / "changelog.md").write_text("- uv 0.4.0 → 0.5.0\n")
    (temp / "sbom-diff.md").write_text("SBOM: uv 0.4.0 → 0.5.0\n")
    (temp / "audit.txt").write_text("nothing unpinned\n")
    repo = _staged_repository(tmp_path)
    env = {"RUNNER_TEMP": str(temp), "MIN_AGE": "7d", "COST": cost, "COST_PLATFORM": "linux/amd64"}
    step = _step("Write the pull request body")
    assert step["if"] == "env.changed == 'true'"

    def body() -> str:
        result = _run_step(step, repo, env)
        assert result.returncode == 0, result.stderr
        return (temp / "body.md").read_text()

    without = body()
    cost_section = without[without.index("## Cost changes") :].split("\n## ")[0]
    if cost == "true":
        assert "No cost report: a build before or after the update failed or ran out of time" in cost_section
    else:
        assert "No build ran (the cost diff is opt-in" in cost_section
    # the staged change is what the diff section shows (the commit comes in the next step)
    assert "sandbox.yaml | 2 +-" in without
    old, new = _cost_reports(tmp_path)
    markdown = (
        show.compare_markdown(compare(old.as_dict(), new.as_dict()), old.total_bytes, new.total_bytes, new.platform)
        + "\n"
        + show.markdown(new)
    )
    (temp / "cost-diff.md").write_text(markdown)
    text = body()
    heading = "## Cost changes (`sandbox cost --compare`, linux/amd64)\n"
    assert heading + markdown + "\n## The agent suite" in text
    assert "| uv | changed | 50.0 kB | 80.0 kB | +30.0 kB |" in text and "No build ran" not in text
    assert text.index("## SBOM changes") < text.index(heading) < text.index("## Diff")


def test_the_after_step_without_a_report_from_before_makes_no_cost_diff(tmp_path: Path):
    step = _step("The image's cost after the update")
    result = _run_step(step, REPO, {"RUNNER_TEMP": str(tmp_path), "COST_PLATFORM": "linux/amd64"})
    assert result.returncode == 0 and "the build before the update made no report" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_the_after_step_whose_build_fails_leaves_no_half_cost_diff(tmp_path: Path):
    old, _ = _cost_reports(tmp_path)
    (tmp_path / "cost-before.json").write_text(old.to_json())
    step = _step("The image's cost after the update")
    # the real command, which cannot build here (no engine at DOCKER_HOST, or no buildx for the
    # CLI it finds): sandbox cost exits with its Docker error, and the step with it
    env = {"RUNNER_TEMP": str(tmp_path), "COST_PLATFORM": "linux/amd64", "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    result = _run_step(step, REPO, env)
    assert result.returncode == ExitCode.EXTERNAL and result.stderr.startswith("error: "), result.stdout + result.stderr
    assert not (tmp_path / "cost-diff.md").exists()


# -- the agent suite (weekly): the steps' shell runs here for real -----------------------------


def _agent_steps() -> list[dict]:
    """The steps that run `sandbox test --agent` (not those that only name it)."""
    return [step for step in _steps() if any(line.strip().startswith("sandbox test ") for line in step.get("run", "").splitlines())]


def test_the_agent_steps_run_weekly_and_are_bounded_inside_the_jobs_time():
    job = _job()
    assert job["env"]["AGENT"] == "${{ github.event.inputs.agent || 'true' }}"
    agent_input = YAML(typ="safe").load(WORKFLOW.read_text())["on"]["workflow_dispatch"]["inputs"]["agent"]
    assert agent_input["type"] == "boolean" and agent_input["default"] is True
    steps = _steps()
    agents = _agent_steps()
    assert len(agents) == 2
    for step in agents:
        # a slow or failed build or run costs the agent section, not the pull request
        assert step["if"] == "env.AGENT == 'true'" and step["continue-on-error"] is True
    runs = [step.get("run", "") for step in steps]
    before, after = (steps.index(step) for step in agents)
    update = next(i for i, run in enumerate(runs) if run.lstrip().startswith("status=0\n") and "sandbox update" in run)
    assert before < update < runs.index("sandbox generate") < after < steps.index(_step("Write the pull request body"))
    bounded = agents + _cost_steps()
    assert sum(step["timeout-minutes"] for step in bounded) < job["timeout-minutes"]


def test_the_agent_command_lines_are_ones_sandbox_test_accepts_and_hand_the_report_over():
    from generator.commands.build import build, test

    env = {"RUNNER_TEMP": "/runner/temp", "COST_PLATFORM": _job()["env"]["COST_PLATFORM"]}
    parsed = {}
    for step in _agent_steps():
        for line in step["run"].splitlines():
            if not line.strip().startswith(("sandbox build ", "sandbox test ")):
                continue
            words = shlex.split(re.sub(r'"\$(\w+)', lambda m: '"' + env[m[1]], line.strip()))
            end = min((words.index(w) for w in (">", "||") if w in words), default=len(words))
            command = build if words[1] == "build" else test
            # click parses them as the command would (an unknown or misspelt option raises here)
            parsed.setdefault(words[1], []).append(command.make_context(words[1], words[2:end]).params)
    (built_before, built_after), (tested_before, tested_after) = parsed["build"], parsed["test"]
    assert (tested_before["image"], tested_after["image"]) == (built_before["tag"], built_after["tag"])
    assert tested_before["agent"] and tested_after["agent"] and tested_after["output_format"] == "markdown"
    assert tested_before["save"] == Path("/runner/temp/agent-before.json") == tested_after["compare_with"]


@pytest.mark.parametrize("agent", ["true", "false"])
def test_the_pull_request_body_holds_the_agent_comparison_or_says_why_not(tmp_path: Path, agent: str):
    temp = tmp_path / "runner"
    temp.mkdir()
    for name, text in (("changelog.md", "- uv\n"), ("sbom-diff.md", "SBOM\n"), ("audit.txt", "nothing\n")):
        (temp / name).write_text(text)
    repo = _staged_repository(tmp_path)
    env = {"RUNNER_TEMP": str(temp), "MIN_AGE": "7d", "COST": "false", "COST_PLATFORM": "linux/amd64", "AGENT": agent}
    step = _step("Write the pull request body")

    def body() -> str:
        result = _run_step(step, repo, env)
        assert result.returncode == 0, result.stderr
        return (temp / "body.md").read_text()

    section = body().split("## The agent suite (`sandbox test --agent --compare`, linux/amd64)\n")[1].split("\n## ")[0]
    if agent == "true":
        assert section.startswith("No agent report: a build or run before or after the update failed")
    else:
        assert section.startswith("The agent suite did not run")
    (temp / "agent-diff.md").write_text("8 rows now, 8 before: 1 newly failing\n\n| change | check |\n")
    text = body()
    assert "linux/amd64)\n8 rows now, 8 before: 1 newly failing\n\n| change | check |\n\n## Diff\n" in text


def test_the_agent_after_step_without_a_report_from_before_makes_no_comparison(tmp_path: Path):
    step = _step("The agent suite on the updated image")
    result = _run_step(step, REPO, {"RUNNER_TEMP": str(tmp_path), "COST_PLATFORM": "linux/amd64"})
    assert result.returncode == 0 and "the agent suite made no report before the update" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_the_agent_after_step_whose_build_fails_leaves_no_half_comparison(tmp_path: Path):
    (tmp_path / "agent-before.json").write_text('{"schema": "sandbox-test-report/1", "checks": []}')
    step = _step("The agent suite on the updated image")
    env = {"RUNNER_TEMP": str(tmp_path), "COST_PLATFORM": "linux/amd64", "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    result = _run_step(step, REPO, env)
    assert result.returncode == ExitCode.EXTERNAL and result.stderr.startswith("error: "), result.stdout + result.stderr
    assert not (tmp_path / "agent-diff.md").exists()
