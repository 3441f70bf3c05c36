"""`sandbox test --compare`: two reports compared row by row, and what a report to compare
with must be (checked before any container starts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.errors import UsageError
from generator.smoke_diff import SCHEMA, compare, load, markdown, summary
from tests.integration.cli import sandbox_in_process
from tests.integration.spec import REPO


def report(*rows: tuple[str, bool, float | None], detail: str = "said") -> dict:
    return {"schema": SCHEMA, "checks": [{"name": n, "passed": p, "detail": f"{detail} {n}", "seconds": s} for n, p, s in rows]}


BEFORE = report(("a", True, 1.0), ("b", True, 1.0), ("c", False, 1.0), ("d", False, 1.0), ("e", True, 2.0), ("f", True, 2.0),
                ("g", True, None), ("gone", True, 1.0))  # fmt: skip
AFTER = report(("a", True, 1.2), ("b", False, 1.0), ("c", False, 1.0), ("d", True, 1.0), ("e", True, 3.0), ("f", True, 3.1),
               ("g", True, 50.0), ("new", False, 0.5), detail="now")  # fmt: skip


def test_each_row_is_matched_by_name_and_what_changed_comes_first():
    changes = compare(BEFORE, AFTER)
    assert [(c.kind, c.name) for c in changes] == [
        ("newly failing", "b"),
        ("still failing", "c"),
        ("new", "new"),
        ("gone", "gone"),
        ("passing again", "d"),
        # slower: at least ×1.5 and +1 s (e: ×1.5 and +1.0 s; f: +1.1 s but ×1.55; a: +0.2 s is noise;
        # g had no time before)
        ("slower", "e"),
        ("slower", "f"),
    ]
    assert summary(changes, BEFORE, AFTER) == (
        "8 rows now, 8 before: 1 newly failing, 1 still failing, 1 new, 1 gone, 1 passing again, 2 slower"
    )
    assert summary([], BEFORE, BEFORE) == "8 rows now, 8 before: no row changed (slower: ×1.5 and +1 s)"


def test_the_markdown_keeps_each_row_in_its_cells():
    hostile = report(("x | y\nz <b>", False, 1.0), detail="| forged | row |\n")
    text = markdown(compare(report(("x | y\nz <b>", True, 1.0)), hostile), report(), hostile)
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table) == 3
    assert table[2] == "| newly failing | x \\| y z &lt;b&gt; | PASS (1.0 s) | FAIL (1.0 s) | \\| forged \\| row \\|  x \\| y z &lt;b&gt; |"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not JSON"),
        ('{"schema": "sandbox-cost-report/1", "checks": []}', "not a `sandbox test --format json` report"),
        (json.dumps({"schema": SCHEMA, "checks": {}}), "its checks are not a list"),
        (json.dumps({"schema": SCHEMA, "checks": [{"name": "a", "passed": "yes", "detail": "", "seconds": 1}]}), "its check 1 is not"),
        (json.dumps({"schema": SCHEMA, "checks": [{"name": "a", "passed": True, "detail": "", "seconds": -1}]}), "its check 1 is not"),
        (json.dumps({"schema": SCHEMA, "checks": [{"name": "a", "passed": True, "detail": "", "seconds": True}]}), "its check 1 is not"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_a_report_that_is_not_one_is_refused(tmp_path: Path, content: str, message: str):
    path = tmp_path / "old.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        load(path)


def test_the_cli_refuses_a_bad_report_before_any_engine_is_asked(tmp_path: Path):
    old = tmp_path / "old.json"
    old.write_text("{}", encoding="utf-8")
    # no engine: the refusal comes first, exit 2, and nothing is started
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    result = sandbox_in_process("--spec", REPO / "sandbox.yaml", "test", "local/x:1", "--agent", "--compare", old, env=env)
    assert result.returncode == 2
    assert f"--compare {old}: not a `sandbox test --format json` report" in result.stderr
    both = sandbox_in_process("--spec", REPO / "sandbox.yaml", "test", "local/x:1", "--format", "json", "--markdown", env=env)
    assert (both.returncode, "--format json and --markdown: choose one" in both.stderr) == (2, True)
    stand_in = sandbox_in_process("--spec", REPO / "sandbox.yaml", "test", "local/x:1", "--agent", "--stand-in", env=env)
    assert stand_in.returncode == 2 and "not a stand-in" in stand_in.stderr


def test_save_onto_a_file_of_the_project_is_refused_before_the_run(tmp_path: Path):
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    spec = REPO / "sandbox.yaml"
    result = sandbox_in_process("--spec", spec, "test", "local/x:1", "--save", spec, env=env)
    assert result.returncode == 2
    assert "--save" in result.stderr and "Docker" not in result.stderr


@pytest.mark.parametrize("host", ["tcp://build-box:2376", "ssh://me@box", "tcp://10.1.2.3:2375"])
def test_the_agent_check_refuses_an_engine_on_another_machine(host: str):
    result = sandbox_in_process("--spec", REPO / "sandbox.yaml", "test", "local/x:1", "--agent", "--docker-host", host)
    assert result.returncode == 2
    assert f"the engine at {host} is on another machine" in result.stderr


ENGINES = [(None, False), ("unix:///var/run/docker.sock", False), ("tcp://127.0.0.1:2375", False),
           ("tcp://localhost:2375", False), ("ssh://me@box", True), ("tcp://box:2376", True)]  # fmt: skip


@pytest.mark.parametrize(("host", "remote"), ENGINES)
def test_which_engines_are_on_another_machine(host: str | None, remote: bool):
    from generator.docker.smoke import remote_engine

    assert remote_engine(host) is remote
