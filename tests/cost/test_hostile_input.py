"""`sandbox cost` against a hostile or careless --compare report and --save path: each is
refused (exit 2, naming the option and the file) before the engine is asked anything, so
no build is spent on a run that would then crash, hang or write where it must not. No
Docker: the engine is a socket that does not exist, and the command must never reach it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from generator.cli import main
from generator.cost import show
from generator.cost.attribute import attribute
from generator.cost.report import compare, load
from tests.cost.test_attribute import HISTORY, LAYOUT, STEPS
from tests.cost.test_platform import report

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "minimal" / "sandbox.yaml"

pytestmark = pytest.mark.usefixtures("fails_if_blocked")


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copyfile(EXAMPLE, tmp_path / "sandbox.yaml")
    monkeypatch.chdir(tmp_path)
    assert main(["--spec", "sandbox.yaml", "generate"]) == 0
    # no engine answers here: a run that got as far as the engine fails with exit 3, not 2
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    return tmp_path / "sandbox.yaml"


def cost(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["--spec", "sandbox.yaml", "cost", *args])
    return code, capsys.readouterr().err


def a_report(tmp_path: Path, **part_fields) -> Path:
    """A real report with its first part changed as given."""
    data = json.loads(report(attribute(LAYOUT, STEPS, HISTORY)[0], platform="").to_json())
    data["parts"][0].update(part_fields)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "part_fields",
    [
        {"bytes": 10**400},  # past a float: could not be shown in kB
        {"bytes": -5},
        {"bytes": True},
        {"bytes": "5"},
        {"seconds": float("nan")},
        {"seconds": float("inf")},
        {"seconds": -1.0},
        {"tools": [["a"], {"b": 1}]},  # shared parts are matched by set(tools)
        {"tools": "hello"},
        {"name": "\x1b[2J\x1b]0;owned\x07hello"},
        {"name": "hello\n| forged | row |"},
        {"name": 7},
    ],
    ids=["huge-bytes", "negative-bytes", "bool-bytes", "text-bytes", "nan-seconds", "infinite-seconds", "negative-seconds",
         "unhashable-tools", "tools-text", "escape-sequence-name", "newline-name", "number-name"],
)  # fmt: skip
def test_a_report_with_a_bad_part_is_refused_before_the_engine(spec: Path, tmp_path: Path, capsys, part_fields) -> None:
    code, err = cost(capsys, "--compare", str(a_report(tmp_path, **part_fields)))
    assert code == 2, err
    assert f"error: --compare {tmp_path / 'old.json'}: its part 1 is not {{name, tools, bytes, seconds}}" in err
    assert "\x1b" not in err and "no-engine.sock" not in err


@pytest.mark.parametrize("build", [[1], "cold", 5])
def test_a_report_whose_build_is_not_an_object_is_refused(spec: Path, tmp_path: Path, capsys, build) -> None:
    path = a_report(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["build"] = build
    path.write_text(json.dumps(data), encoding="utf-8")
    code, err = cost(capsys, "--compare", str(path))
    assert (code, err.strip()) == (2, f"error: --compare {path}: its build is not an object")


def test_a_deeply_nested_report_is_refused(spec: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "old.json"
    path.write_text('{"schema": "sandbox-cost/1", "parts": ' + "[" * 100_000, encoding="utf-8")
    code, err = cost(capsys, "--compare", str(path))
    assert (code, err.strip()) == (2, f"error: --compare {path}: not a `sandbox cost --format json` report (nested too deeply)")


def test_a_huge_report_is_refused_without_reading_it_whole(spec: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "old.json"
    with path.open("wb") as handle:  # sparse: no disk, but read whole it would be 64 MiB of memory
        handle.truncate(64 << 20)
    code, err = cost(capsys, "--compare", str(path))
    assert code == 2 and f"--compare {path}: cannot read it (it is larger than 8192 KiB" in err


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (os.mkfifo, "is a FIFO (named pipe); an output may only replace a regular file or create a new one"),
        (lambda path: path.symlink_to("/dev/null"), "is a character device; an output may only replace a regular file or create a new one"),
        (lambda path: path.symlink_to("sandbox.yaml"), "is the spec itself (sandbox.yaml); writing it would overwrite an input"),
    ],
    ids=["fifo", "device", "symlink-to-spec"],
)  # fmt: skip
def test_a_save_path_that_cannot_take_the_report_is_refused_before_the_build(spec: Path, tmp_path: Path, capsys, make, what) -> None:
    make(tmp_path / "report.json")
    before = (tmp_path / "sandbox.yaml").read_bytes()
    code, err = cost(capsys, "--save", "report.json")
    assert (code, err.strip()) == (2, f"error: --save: 'report.json' {what}")
    assert (tmp_path / "sandbox.yaml").read_bytes() == before


def test_a_save_path_in_a_missing_directory_is_refused_before_the_build(spec: Path, capsys) -> None:
    code, err = cost(capsys, "--save", "reports/new.json")
    assert (code, err.strip()) == (2, "error: --save: 'reports/new.json': the directory reports does not exist")


def test_names_from_an_old_report_cannot_break_the_markdown(tmp_path: Path) -> None:
    # text without control characters passes load: the Markdown must still show it as written
    found = report(attribute(LAYOUT, STEPS, HISTORY)[0])
    old = load(a_report(tmp_path, name="a\\|b</details><img src=x>", tools=["a"]))
    text = show.compare_markdown(compare(old, found.as_dict()), 1, found.total_bytes, found.platform)
    row = next(line for line in text.splitlines() if line.startswith("| a"))
    assert row.startswith("| a\\\\\\|b&lt;/details&gt;&lt;img src=x&gt; | removed |")


def test_a_report_with_more_parts_than_any_spec_has_is_refused(spec: Path, tmp_path: Path, capsys) -> None:
    # 8 MiB of tiny parts: drawing their table after the build took minutes
    path = a_report(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["parts"] = [{"name": f"p{n}", "tools": [], "bytes": n, "seconds": 0} for n in range(10_001)]
    path.write_text(json.dumps(data), encoding="utf-8")
    code, err = cost(capsys, "--compare", str(path))
    assert code == 2, err
    assert f"--compare {path}: 10001 parts; a report has one per tool and a few shared ones, at most 10000" in err


@pytest.mark.parametrize(
    ("path", "what"),
    [("sandbox.yaml", "the spec itself (sandbox.yaml)"), ("Dockerfile", "the output of profile default (Dockerfile)")],
)
def test_save_never_overwrites_a_file_of_the_project(spec: Path, tmp_path: Path, capsys, path: str, what: str) -> None:
    # on main the report was written over it, unchecked, once the build had finished
    before = (tmp_path / path).read_bytes()
    code, err = cost(capsys, "--save", path)
    assert (code, err.strip()) == (2, f"error: --save: {path!r} is {what}; writing it would overwrite an input")
    assert (tmp_path / path).read_bytes() == before
