"""What the agent is asked to do and how its results are judged, without an engine: the batched
tool checks run for real in bash and in zsh (the shells an agent's bash tool may use), and the
task verdicts are read from tool results of the shape opencode sends back."""

from __future__ import annotations

import subprocess

import pytest

from generator import load_spec
from generator.agent.model_server import ToolCall, ToolResult
from generator.agent.suite import (
    CHECK_OUTPUT_BYTES,
    TASK_MAKERS,
    Task,
    ToolCheck,
    available_commands,
    bash,
    check_batches,
    everyday_tasks,
    judge_checks,
    judge_task,
    write,
)
from tests.integration.spec import REPO

#: bash, and dash as sh: a POSIX shell without bash's extensions
SHELLS = ["bash", "sh"]

CHECKS = [
    ToolCheck("ok", ("true",)),
    ToolCheck("says", ("sh", "-c", "echo 'version 1.2'; echo more")),
    ToolCheck("fails", ("sh", "-c", "echo broken >&2; exit 3")),
    ToolCheck("missing", ("no-such-tool-anywhere", "--version")),
    ToolCheck("quoted", ("printf", "%s|", "a b", "it's", "$HOME", "`id`")),
    ToolCheck("reads stdin", ("cat",)),
    ToolCheck("chatty", ("sh", "-c", "yes line | head -n 5000")),
    ToolCheck("after the chatty one", ("echo", "still here")),
]


def run(shell: str, step_command: str) -> str:
    result = subprocess.run([shell, "-c", step_command], capture_output=True, text=True, timeout=60, input="", check=False)
    return result.stdout + result.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_each_check_gets_its_own_verdict_from_what_the_shell_printed(shell):
    steps = check_batches(CHECKS, size=3)
    assert [len(s.call.arguments["command"].splitlines()) for s in steps] == [5, 5, 4]
    results = [ToolResult(step.call, run(shell, step.call.arguments["command"])) for step in steps]
    verdicts = {v.name.split(":")[0].removeprefix("agent runs tool "): v for v in judge_checks(CHECKS, results)}
    assert {name: v.passed for name, v in verdicts.items()} == {
        "ok": True, "says": True, "fails": False, "missing": False, "quoted": True,
        "reads stdin": True, "chatty": True, "after the chatty one": True,
    }  # fmt: skip
    assert verdicts["says"].detail == "version 1.2"
    assert verdicts["fails"].detail == "broken"
    assert "no-such-tool-anywhere" in verdicts["missing"].detail
    assert verdicts["quoted"].detail == "a b|it's|$HOME|`id`|"
    assert verdicts["ok"].detail == "exit code 0"
    assert verdicts["after the chatty one"].detail == "still here"
    # each check's own time, from the shell's clock around it
    assert all(v.seconds is not None and 0 <= v.seconds < 30 for v in verdicts.values())
    # a check's output is cut, so one chatty tool cannot push the others out of the result
    assert all(len(r.output) < len(CHECKS) * (CHECK_OUTPUT_BYTES + 100) for r in results)


def test_a_check_whose_batch_came_back_cut_or_not_at_all_fails():
    steps = check_batches(CHECKS, size=4)
    output = run("bash", steps[0].call.arguments["command"])
    cut = output[: output.index(" 2 ", output.index("@@sandbox-exit-"))]  # the agent's output ended inside check 2
    verdicts = judge_checks(CHECKS, [ToolResult(steps[0].call, cut)])
    assert [v.passed for v in verdicts[:4]] == [True, True, False, False]
    assert all(v.detail == "the agent's bash tool returned no result for this check" for v in verdicts[2:])
    assert verdicts[0].name == "agent runs tool ok: true"
    assert verdicts[4].name == "agent runs tool quoted: printf '%s|' 'a b' 'it'\"'\"'s' '$HOME' '`id`'"


def test_a_tool_that_prints_marker_like_lines_cannot_pass_for_its_own_check():
    # a broken tool that prints what an exit marker looks like, then fails
    forger = ToolCheck(
        "forger", ("sh", "-c", "printf '\\n@@sandbox-exit 0 0 1 2@@\\n@@sandbox-exit-0000000000000000 0 0 1 2@@\\n'; exit 3")
    )
    checks = [forger, ToolCheck("ok", ("true",))]
    step = check_batches(checks)[0]
    verdicts = judge_checks(checks, [ToolResult(step.call, run("bash", step.call.arguments["command"]))])
    assert [v.passed for v in verdicts] == [False, True]
    # each run has markers of its own
    assert check_batches(checks)[0].call.arguments["command"] != step.call.arguments["command"]


def test_the_tasks_follow_the_commands_the_profile_puts_on_path():
    names = [kind for kind, _ in TASK_MAKERS]
    everything = {
        "git",
        "python3",
        "pytest",
        "ruff",
        "black",
        "node",
        "npm",
        "prettier",
        "tsc",
        "go",
        "gofmt",
        "cargo",
        "rustfmt",
        "shellcheck",
    }
    tasks = everyday_tasks("/home/me/workspace/", "r1", everything)
    assert [t.name.split(":")[0] for t in tasks] == [f"agent task {kind}" for kind in names]
    assert [t.directory for t in tasks] == [f"/home/me/workspace/agent-check-r1/{kind}" for kind in names]
    labels = {t.name.split(":")[0]: [s.label for s in t.steps if s.call.tool == "bash"] for t in tasks}
    assert labels["agent task python"][-3:] == ["pytest", "ruff check", "black --check"]
    assert labels["agent task rust"][-1] == "cargo fmt --check"
    # each file the agent writes is in its task's own directory
    for task in tasks:
        for step in task.steps:
            if step.call.tool in ("write", "edit"):
                assert step.call.arguments["filePath"].startswith(task.directory + "/")

    only_python = everyday_tasks("/w", "r2", {"python", "go"})
    assert [t.name.split(":")[0] for t in only_python] == ["agent task python", "agent task go"]
    assert [s.label for s in only_python[0].steps if s.call.tool == "bash"] == ["a fresh project", "python -m unittest"]
    assert everyday_tasks("/w", "r3", {"jq", "curl"}) == []


def test_the_default_profile_gets_every_task():
    spec = load_spec(REPO / "sandbox.yaml")
    has = available_commands(spec, "full")
    assert {"git", "python3", "node", "go", "cargo", "shellcheck", "ruff", "prettier", "gofmt"} <= has
    assert len(everyday_tasks(spec.user.workspace_dir, "r", has)) == len(TASK_MAKERS)


TASK = Task(
    "agent task demo: a step and a check",
    (bash("setup", "mkdir -p /w"), write("/w/f", "x"), bash("check it", "cat /w/f", expect="x")),
    "/w",
)


def result(step_index: int, output: str) -> ToolResult:
    return ToolResult(TASK.steps[step_index].call, output)


def test_a_task_passes_when_every_bash_step_exits_0_with_what_it_expects():
    verdict = judge_task(TASK, [result(0, "\n@@sandbox-exit 0@@\n"), result(1, "Wrote file"), result(2, "x\n@@sandbox-exit 0@@\n")])
    assert verdict.passed and verdict.detail == "check it passed in /w"


@pytest.mark.parametrize(
    ("outputs", "detail"),
    [
        (["@@sandbox-exit 0@@", "Wrote", "x\n@@sandbox-exit 1@@"], "check it: exit code 1; the agent saw: x"),
        (["@@sandbox-exit 0@@", "Wrote", "y\n@@sandbox-exit 0@@"], "check it: 'x' not in what the agent saw: y"),
        (["@@sandbox-exit 0@@", "Wrote", "x (timed out)"], "check it: no exit status came back; the agent saw: x (timed out)"),
        (["@@sandbox-exit 0@@", "Wrote"], "check it: the agent never got a result for this step"),
        (["@@sandbox-exit 2@@"], "setup: exit code 2; the agent saw: (nothing)"),
    ],
)  # fmt: skip
def test_a_task_fails_on_its_first_bad_step_with_what_the_agent_saw(outputs, detail):
    verdict = judge_task(TASK, [result(i, out) for i, out in enumerate(outputs)])
    assert not verdict.passed
    assert verdict.detail == detail


def test_a_result_for_another_call_is_not_taken_for_the_step():
    other = ToolResult(ToolCall("bash", {"command": "cat /w/f"}), "x\n@@sandbox-exit 0@@")
    verdict = judge_task(TASK, [result(0, "@@sandbox-exit 0@@"), result(1, "Wrote"), other])
    assert not verdict.passed and verdict.detail.startswith("check it: the agent never got a result")
