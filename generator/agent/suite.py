"""What the agent is asked to do, and how what it saw is judged.

Two kinds of work, both made from the spec and the profile, both run through the agent's own
tools (its bash, write, edit and read), and judged only on the tool results the agent sent back
to the model, never on a ``docker exec``:

- every enabled tool's ``check``, a few per bash call, each wrapped so that its exit status and
  the start of its output come back marked;
- the everyday tasks of a coding agent, in a fresh directory of the workspace, for each
  toolchain the profile ships (Python, Node, Go, Rust), each with the linters and formatters the
  profile has for it, and a git task that writes, edits and commits a file.

No task needs a registry: each project has no dependencies.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from generator.agent.model_server import ToolCall, ToolResult
from generator.spec import Spec

#: tool checks per bash call: few enough that one call's output stays far below what the bash
#: tool returns whole, many enough that the whole profile takes a handful of model turns
CHECKS_PER_CALL = 10
#: the output kept of one check (the row shows its first line; a failure its end)
CHECK_OUTPUT_BYTES = 2000
#: the bash tool's own time limit for one call (a compile or a whole batch of checks), in ms
BASH_TIMEOUT_MS = 300_000

_EXIT = "@@sandbox-exit"
_EXIT_LINE = re.compile(r"^@@sandbox-exit (-?[0-9]+)@@$", re.MULTILINE)
#: the token in a batch's markers (made anew for each run), read back from the command
_TOKEN = re.compile(r"@@sandbox-check-([0-9a-f]{16}) ")


def _check_pattern(token: str) -> re.Pattern[str]:
    """A check's output between its markers; the exit marker carries its status and the clock
    (date +%s%N) before and after it, which a date without %N leaves unreadable (no time then).
    The token, which no tool's output can know beforehand, keeps a tool that prints a
    marker-like line from passing for its own check."""
    return re.compile(rf"@@sandbox-check-{token} ([0-9]+)@@\n(.*?)\n?@@sandbox-exit-{token} \1 ([0-9]+) (\S*) (\S*)@@", re.DOTALL)


@dataclass(frozen=True)
class Step:
    """One tool call of a task. A bash step passes when its command exits 0 and its output
    holds ``expect``; a write, edit or read step is judged by the bash step after it."""

    label: str
    call: ToolCall
    expect: str = ""


@dataclass(frozen=True)
class Task:
    """A row of the report: the steps the agent takes, one tool call per model turn."""

    name: str
    steps: tuple[Step, ...]
    #: the fresh directory it works in
    directory: str


@dataclass(frozen=True)
class Verdict:
    name: str
    passed: bool
    detail: str
    #: how long it took inside the container (a check) or in all (a task's session)
    seconds: float | None = None


def bash(label: str, command: str, *, expect: str = "", workdir: str | None = None) -> Step:
    """A bash step whose exit status comes back on a line of its own."""
    arguments: dict[str, object] = {
        "command": f"{command}\nprintf '\\n{_EXIT} %s@@\\n' \"$?\"",
        "description": label,
        "timeout": BASH_TIMEOUT_MS,
    }
    if workdir:
        arguments["workdir"] = workdir
    return Step(label, ToolCall("bash", arguments), expect)


def write(path: str, content: str) -> Step:
    return Step(f"write {path}", ToolCall("write", {"filePath": path, "content": content}))


def edit(path: str, old: str, new: str) -> Step:
    return Step(f"edit {path}", ToolCall("edit", {"filePath": path, "oldString": old, "newString": new}))


# -- the tools' own checks -------------------------------------------------------------------


@dataclass(frozen=True)
class ToolCheck:
    tool: str
    command: tuple[str, ...]

    @property
    def row(self) -> str:
        return f"agent runs tool {self.tool}: {shlex.join(self.command)}"


def tool_checks(spec: Spec, profile: str) -> list[ToolCheck]:
    return [ToolCheck(tool.name, tuple(tool.check)) for tool in spec.tools_for(profile) if tool.check]


def check_batches(checks: Sequence[ToolCheck], size: int = CHECKS_PER_CALL) -> list[Step]:
    """The bash calls that run ``checks``: each check's output (its first CHECK_OUTPUT_BYTES)
    between a start marker and an exit marker with its status. The command runs with no
    standard input, as a check in the smoke test does."""
    token = secrets.token_hex(8)
    steps = []
    for start in range(0, len(checks), size):
        # prefixed names: zsh, a user's likely $SHELL, reserves $status
        lines = ['sandbox_out="$(mktemp)"']
        for number, check in enumerate(checks[start : start + size], start):
            lines.append(
                f"printf '\\n@@sandbox-check-{token} {number}@@\\n'; sandbox_start=$(date +%s%N); "
                f'{shlex.join(check.command)} >"$sandbox_out" 2>&1 </dev/null; sandbox_status=$?; sandbox_end=$(date +%s%N); '
                f'head -c {CHECK_OUTPUT_BYTES} "$sandbox_out"; '
                f'printf \'\\n{_EXIT}-{token} {number} %s %s %s@@\\n\' "$sandbox_status" "$sandbox_start" "$sandbox_end"'
            )
        lines.append('rm -f "$sandbox_out"')
        label = f"tool checks {start + 1} to {min(start + size, len(checks))}"
        steps.append(Step(label, ToolCall("bash", {"command": "\n".join(lines), "description": label, "timeout": BASH_TIMEOUT_MS})))
    return steps


def judge_checks(checks: Sequence[ToolCheck], results: Sequence[ToolResult]) -> list[Verdict]:
    """One verdict per check, from the outputs the agent got back for the batches."""
    seen: dict[int, tuple[int, str, float | None]] = {}
    for result in results:
        token = _TOKEN.search(str(result.call.arguments.get("command", "")))
        if token is None:
            continue
        for match in _check_pattern(token[1]).finditer(result.output):
            start, end = match[4], match[5]
            seconds = (int(end) - int(start)) / 1e9 if start.isdigit() and end.isdigit() else None
            seen[int(match[1])] = (int(match[3]), match[2], seconds)
    verdicts = []
    for number, check in enumerate(checks):
        if number not in seen:
            verdicts.append(Verdict(check.row, False, "the agent's bash tool returned no result for this check"))
            continue
        status, output, seconds = seen[number]
        verdicts.append(Verdict(check.row, status == 0, _first_line(output) or f"exit code {status}", seconds))
    return verdicts


# -- the everyday tasks ----------------------------------------------------------------------


def available_commands(spec: Spec, profile: str) -> set[str]:
    """The commands the profile's tools put on PATH (what the tasks may use)."""
    commands: set[str] = set()
    for tool in spec.tools_for(profile):
        commands.update(tool.commands())
        if tool.check:
            commands.add(tool.check[0])
    return commands


# The tiny projects, as an agent would write them: each has one bug, which an edit fixes.

CALC_PY = """\
def add(a, b):
    return a - b
"""

TEST_CALC_PY = """\
import unittest

from calc import add


class AddTest(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(2, 3), 5)


if __name__ == "__main__":
    unittest.main()
"""

PACKAGE_JSON = """\
{
  "name": "agent-check",
  "version": "1.0.0",
  "private": true
}
"""

SUM_JS = """\
exports.sum = (a, b) => a - b;
"""

SUM_TEST_JS = """\
const test = require("node:test");
const assert = require("node:assert");
const { sum } = require("./sum");

test("sum", () => {
  assert.strictEqual(sum(2, 3), 5);
});
"""

TYPED_TS = """\
export const twice = (n: number): number => n * 2;
"""

HELLO_GO = """\
package main

import "fmt"

func greet() string {
\treturn "hello, world"
}

func main() {
\tfmt.Println(greet())
}
"""

HELLO_TEST_GO = """\
package main

import "testing"

func TestGreet(t *testing.T) {
\tif got := greet(); got != "hello, agent" {
\t\tt.Fatalf("greet() = %q", got)
\t}
}
"""

MAIN_RS = """\
fn greet() -> String {
    String::from("hello, world")
}

fn main() {
    println!("{}", greet());
}

#[cfg(test)]
mod tests {
    #[test]
    fn greets() {
        assert_eq!(super::greet(), "hello, agent");
    }
}
"""

GREET_SH = """\
#!/bin/sh
name=$1
echo "hello, $name"
"""

NOTES_MD = """\
# Notes

first line
"""


@dataclass(frozen=True)
class OnPath:
    """The commands a profile puts on PATH, as the tasks ask about them."""

    commands: frozenset[str]

    def first(self, *candidates: str) -> str | None:
        """The first of ``candidates`` on PATH."""
        return next((name for name in candidates if name in self.commands), None)

    def steps_if(self, command: str, *steps: Step) -> list[Step]:
        """``steps`` when ``command`` is on PATH (a linter, a test runner), else none."""
        return list(steps) if command in self.commands else []


def _python(root: str, has: OnPath) -> Task | None:
    python = has.first("python3", "python")
    if python is None:
        return None
    source = f"{root}/calc.py"
    steps = [
        bash("a fresh project", f"mkdir -p {shlex.quote(root)}"),
        write(source, CALC_PY),
        write(f"{root}/test_calc.py", TEST_CALC_PY),
        edit(source, "return a - b", "return a + b"),
        bash(f"{python} -m unittest", f"{python} -m unittest -v 2>&1", expect="OK", workdir=root),
        *has.steps_if("pytest", bash("pytest", "pytest -q -p no:cacheprovider", expect="1 passed", workdir=root)),
        *has.steps_if("ruff", bash("ruff check", "ruff check --no-cache .", workdir=root)),
        *has.steps_if("black", bash("black --check", "black --check .", workdir=root)),
    ]
    return Task(f"agent task python: write, edit, test ({python}) and lint", tuple(steps), root)


def _node(root: str, has: OnPath) -> Task | None:
    if has.first("node") is None:
        return None
    source = f"{root}/sum.js"
    steps = [
        bash("a fresh project", f"mkdir -p {shlex.quote(root)}"),
        write(f"{root}/package.json", PACKAGE_JSON),
        write(source, SUM_JS),
        write(f"{root}/sum.test.js", SUM_TEST_JS),
        edit(source, "a - b", "a + b"),
        bash("node --test", "node --test sum.test.js 2>&1", expect="pass 1", workdir=root),
        *has.steps_if(
            "npm", bash("npm test", "npm pkg set scripts.test='node --test sum.test.js' && npm test --silent 2>&1", workdir=root)
        ),
        *has.steps_if("prettier", bash("prettier --check", "prettier --check sum.js sum.test.js", workdir=root)),
        *has.steps_if("tsc", write(f"{root}/typed.ts", TYPED_TS), bash("tsc", "tsc --noEmit --strict typed.ts", workdir=root)),
    ]
    return Task("agent task node: write, edit and test", tuple(steps), root)


def _go(root: str, has: OnPath) -> Task | None:
    if has.first("go") is None:
        return None
    source = f"{root}/hello.go"
    steps = [
        bash("a fresh module", f"mkdir -p {shlex.quote(root)} && cd {shlex.quote(root)} && go mod init example.com/agentcheck 2>&1"),
        write(source, HELLO_GO),
        write(f"{root}/hello_test.go", HELLO_TEST_GO),
        edit(source, '"hello, world"', '"hello, agent"'),
        bash("go test", "go test ./... 2>&1", expect="ok", workdir=root),
        bash("go build and run", "go build -o agentcheck . && ./agentcheck", expect="hello, agent", workdir=root),
        bash("go vet", "go vet ./... 2>&1", workdir=root),
        *has.steps_if("gofmt", bash("gofmt -l", 'test -z "$(gofmt -l .)"', workdir=root)),
    ]
    return Task("agent task go: write, edit, test and build", tuple(steps), root)


def _rust(root: str, has: OnPath) -> Task | None:
    if has.first("cargo") is None:
        return None
    source = f"{root}/src/main.rs"
    steps = [
        bash("a fresh crate", f"cargo new --vcs none --name agentcheck {shlex.quote(root)} 2>&1"),
        write(source, MAIN_RS),
        edit(source, '"hello, world"', '"hello, agent"'),
        bash("cargo test", "cargo test --offline 2>&1", expect="test result: ok", workdir=root),
        bash("cargo run", "cargo run --offline --quiet", expect="hello, agent", workdir=root),
        *has.steps_if("rustfmt", bash("cargo fmt --check", "cargo fmt --check", workdir=root)),
    ]
    return Task("agent task rust: write, edit, test and run", tuple(steps), root)


def _shell(root: str, has: OnPath) -> Task | None:
    if has.first("shellcheck") is None:
        return None
    script = f"{root}/greet.sh"
    steps = (
        bash("a fresh directory", f"mkdir -p {shlex.quote(root)}"),
        write(script, GREET_SH),
        bash("shellcheck", f"shellcheck {shlex.quote(script)} && sh {shlex.quote(script)} agent", expect="hello, agent"),
    )
    return Task("agent task shell: write and shellcheck a script", steps, root)


def _git(root: str, has: OnPath) -> Task | None:
    if has.first("git") is None:
        return None
    notes = f"{root}/NOTES.md"
    steps = (
        bash(
            "a fresh repository, the author's identity in it",
            f"mkdir -p {shlex.quote(root)} && cd {shlex.quote(root)} && git init --quiet"
            " && git config user.name 'Sandbox Agent' && git config user.email agent@sandbox.invalid",
        ),
        write(notes, NOTES_MD),
        edit(notes, "first line", "first line, edited by the agent"),
        bash("read it back", f"cat {shlex.quote(notes)}", expect="edited by the agent"),
        bash(
            "git commit",
            "git add NOTES.md && git commit --quiet -m 'notes from the agent' && git log -1 --format='%an <%ae>: %s'",
            expect="notes from the agent",
            workdir=root,
        ),
    )
    return Task("agent task git: write, edit and commit", steps, root)


TASK_MAKERS = (("git", _git), ("python", _python), ("node", _node), ("go", _go), ("rust", _rust), ("shell", _shell))


def everyday_tasks(workspace: str, run_id: str, has: Iterable[str]) -> list[Task]:
    """The tasks for a profile that puts ``has`` on PATH, each in its own fresh directory
    under ``workspace`` (the agent's working directory)."""
    on_path = OnPath(frozenset(has))
    tasks = []
    for kind, make in TASK_MAKERS:
        task = make(f"{workspace.rstrip('/')}/agent-check-{run_id}/{kind}", on_path)
        if task is not None:
            tasks.append(task)
    return tasks


def judge_task(task: Task, results: Sequence[ToolResult]) -> Verdict:
    """Pass when every bash step came back with exit status 0 and its expected text; the
    first step that did not names the failure, with the end of what the agent saw."""
    remaining = list(results)
    for step in task.steps:
        result = next((r for r in remaining if r.call == step.call), None)
        if result is None:
            return Verdict(task.name, False, f"{step.label}: the agent never got a result for this step")
        remaining.remove(result)
        if step.call.tool != "bash":
            continue
        statuses = _EXIT_LINE.findall(result.output)
        output = _EXIT_LINE.sub("", result.output).strip()
        if not statuses:
            return Verdict(task.name, False, f"{step.label}: no exit status came back; the agent saw: {_tail(output)}")
        if statuses[-1] != "0":
            return Verdict(task.name, False, f"{step.label}: exit code {statuses[-1]}; the agent saw: {_tail(output)}")
        if step.expect and step.expect not in output:
            return Verdict(task.name, False, f"{step.label}: {step.expect!r} not in what the agent saw: {_tail(output)}")
    done = [step.label for step in task.steps if step.call.tool == "bash"][1:]
    return Verdict(task.name, True, f"{', '.join(done)} passed in {task.directory}")


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def _tail(text: str, limit: int = 400) -> str:
    text = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    if not text:
        return "(nothing)"
    return text if len(text) <= limit else "…" + text[-limit:]
