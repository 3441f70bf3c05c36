"""One platform per cost report: the report names it, the Markdown for a pull request shows it
with what changed part by part, and --compare refuses a report of another platform (before
any build). No Docker: the refusals come before the engine is asked anything, and the reports
are written and read back as files, the way the weekly workflow hands them over."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator.cli import main
from generator.cost import show
from generator.cost.attribute import attribute
from generator.cost.report import CostReport, compare, compare_note, load, refuse_other_platform, same_platform
from generator.errors import UsageError
from tests.cost.test_attribute import HISTORY, LAYOUT, STEPS

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "minimal" / "sandbox.yaml"


def report(parts, platform: str = "linux/arm64") -> CostReport:
    return CostReport("local/x:1", "sha256:abc", "default", "buildx", "containerd", 1, 60.0, False, parts, platform=platform)


def saved(tmp_path: Path, found: CostReport, name: str) -> Path:
    path = tmp_path / name
    path.write_text(found.to_json(), encoding="utf-8")
    return path


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copyfile(EXAMPLE, tmp_path / "sandbox.yaml")
    monkeypatch.chdir(tmp_path)
    # no engine answers here: a refusal that asked the engine anything would fail differently
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    return tmp_path / "sandbox.yaml"


def test_the_report_names_its_platform_in_every_form() -> None:
    found = report(attribute(LAYOUT, STEPS, HISTORY)[0])
    assert json.loads(found.to_json())["platform"] == "linux/arm64"
    assert show.markdown(found).splitlines()[0] == "### Image cost: `local/x:1` (profile default, linux/arm64)"
    assert json.loads(report(found.parts, platform="").to_json())["platform"] == "unknown"


@pytest.mark.parametrize(
    "platforms", [("--platform", "linux/amd64,linux/arm64"), ("--platform", "linux/amd64", "--platform", "linux/arm64")]
)
def test_several_platforms_are_a_usage_error(spec: Path, capsys: pytest.CaptureFixture[str], platforms: tuple[str, ...]) -> None:
    assert main(["--spec", str(spec), "cost", *platforms]) == 2
    err = capsys.readouterr().err
    assert "one platform per cost report (bytes and times differ per platform), not linux/amd64, linux/arm64" in err
    assert "`sandbox cost --platform linux/arm64`" in err


def test_a_bad_platform_is_a_usage_error(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--spec", str(spec), "cost", "--platform", "arm64"]) == 2
    assert "expected OS/ARCH such as linux/arm64" in capsys.readouterr().err


def test_compare_with_a_report_of_another_platform_is_refused_before_the_build(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = saved(tmp_path, report(attribute(LAYOUT, STEPS, HISTORY)[0], platform="linux/amd64"), "amd64.json")
    assert main(["--spec", str(spec), "cost", "--platform", "linux/arm64", "--compare", str(old)]) == 2
    err = capsys.readouterr().err
    assert f"--compare {old}: that report is for linux/amd64, this one for linux/arm64" in err
    assert "cannot connect" not in err.lower() and "no-engine.sock" not in err


def test_one_platform_with_or_without_the_engines_variant_is_the_same(tmp_path: Path) -> None:
    assert same_platform("linux/arm64/v8", "linux/arm64") and same_platform("linux/arm64", "linux/arm64/v8")
    assert not same_platform("linux/arm64", "linux/amd64") and not same_platform("linux/arm", "linux/arm64")
    old = load(saved(tmp_path, report(attribute(LAYOUT, STEPS, HISTORY)[0], platform="linux/arm64/v8"), "old.json"))
    refuse_other_platform(old, tmp_path / "old.json", "linux/arm64")
    with pytest.raises(UsageError, match="that report is for linux/arm64/v8, this one for linux/amd64"):
        refuse_other_platform(old, tmp_path / "old.json", "linux/amd64")


def test_a_report_without_a_platform_is_compared_with_a_note(tmp_path: Path) -> None:
    data = json.loads(report(attribute(LAYOUT, STEPS, HISTORY)[0]).to_json())
    del data["platform"]  # as `sandbox cost --format json` wrote it before reports named the platform
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    old = load(path)
    refuse_other_platform(old, path, "linux/amd64")  # nothing to refuse by
    assert compare_note(old, report(attribute(LAYOUT, STEPS, HISTORY)[0])).startswith("the old report does not name its platform")


def test_the_markdown_from_a_saved_report_shows_what_changed_for_a_pull_request(tmp_path: Path) -> None:
    before = report(attribute(LAYOUT, STEPS, HISTORY)[0])
    # the update grew uv's layer; dropped the hello tool; every other layer the same
    grown = [layer if layer.size != 50_000 else type(layer)(layer.created_by, 80_000) for layer in HISTORY]
    after = report(attribute(LAYOUT, STEPS, grown)[0])
    after_parts = {part.name: part for part in after.parts}
    data = after.as_dict()
    data["parts"] = [part for part in data["parts"] if part["name"] != "hello"]
    old = load(saved(tmp_path, before, "before.json"))
    changes = compare(old, data)
    text = show.compare_markdown(
        changes, before.total_bytes, after.total_bytes - after_parts["hello"].bytes, after.platform, compare_note(old, after)
    )
    lines = text.splitlines()
    assert lines[0] == "### Image cost change (linux/arm64)"
    table = lines[lines.index("| part | status | size before | after | change | time before | after | change |") :]
    rows = [line for line in table[2:] if line.startswith("| ") and "<details>" not in line]
    # the changed parts, largest change first, then the total, before the folded same-size parts
    assert rows[0] == "| uv | changed | 50.0 kB | 80.0 kB | +30.0 kB | 0.4 s | 0.4 s | +0.0 s |"
    assert rows[1] == "| hello | removed | 4.0 kB | — | -4.0 kB | 0.8 s | — | -0.8 s |"
    assert rows[2].startswith("| **total** | | 474.6 kB | 500.6 kB | **+26.0 kB** |")
    folded = next(line for line in lines if line.startswith("<details><summary>"))
    assert folded == (
        "<details><summary>6 part(s) of the same size: base image, base stage, build engine, image metadata, "
        "shared: init + shell, user setup</summary>"
    )
    assert lines.index(folded) > lines.index(rows[2]) and lines[-1] == "</details>"
    # a part whose size and time are both the same is not called changed
    assert "| base image | unchanged | " in text
    assert not any(line.startswith("| base image | changed") for line in lines)


def test_no_size_change_says_so() -> None:
    found = report(attribute(LAYOUT, STEPS, HISTORY)[0])
    changes = compare(found.as_dict(), found.as_dict())
    text = show.compare_markdown(changes, found.total_bytes, found.total_bytes, found.platform)
    assert "No part changed in size." in text.splitlines()
    assert "| **total** | | 474.6 kB | 474.6 kB | **+0 B** | | | |" in text
    assert {change.status for change in changes} == {"unchanged"}
