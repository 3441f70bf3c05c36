"""`sandbox sbom --diff OLD.cdx.json`: the components a spec change touched, as Markdown (the
weekly update pull request shows it)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator.errors import UsageError
from generator.sbom.diff import diff, markdown
from generator.terminal import has_controls
from tests.integration.cli import sandbox_in_process

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    for name in ("sandbox.yaml", "sandbox.lock"):
        shutil.copyfile(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "files", tmp_path / "files")
    return tmp_path / "sandbox.yaml"


def _edit(spec: Path, change) -> None:
    yaml = YAML()
    data = yaml.load(spec.read_text(encoding="utf-8"))
    change(data)
    with spec.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)


def _tool(data, name: str):
    return next(tool for tool in data["tools"] if tool["name"] == name)


def test_a_bump_and_a_dropped_tool_show_as_rows(spec: Path, tmp_path: Path) -> None:
    before = tmp_path / "before.cdx.json"
    assert sandbox_in_process("--spec", spec, "sbom", "--output", before).returncode == 0

    def change(data) -> None:
        # opencode's sha256 is pinned in sandbox.yaml: a bump without one loses it
        opencode = _tool(data, "opencode")
        opencode["version"] = "99.0.0"
        opencode.pop("sha256")
        opencode["unverified"] = "test: a version with no digest yet"
        _tool(data, "trivy")["enabled"] = False
        _tool(data, "trivy")["disabled_reason"] = "test: dropped"

    _edit(spec, change)
    result = sandbox_in_process("--spec", spec, "sbom", "--diff", before)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and not line.startswith("| component")]
    assert [row.split(" | ")[:3] for row in rows] == [["| opencode", "opencode", "changed"], ["| trivy", "trivy", "removed"]]
    cells = rows[0].split(" | ")
    assert cells[3].startswith("1.") and "amd64 " in cells[3] and "arm64 " in cells[3]
    assert cells[4] == "99.0.0 (no sha256) |"


def test_no_change_says_so(spec: Path, tmp_path: Path) -> None:
    before = tmp_path / "before.cdx.json"
    assert sandbox_in_process("--spec", spec, "sbom", "--output", before).returncode == 0
    result = sandbox_in_process("--spec", spec, "sbom", "--diff", before)
    assert (result.returncode, result.stdout) == (0, "No component of the SBOM changed.\n")


def test_what_is_not_a_cyclonedx_sbom_is_refused(spec: Path, tmp_path: Path) -> None:
    spdx = tmp_path / "old.spdx.json"
    assert sandbox_in_process("--spec", spec, "sbom", "--standard", "spdx", "--output", spdx).returncode == 0
    result = sandbox_in_process("--spec", spec, "sbom", "--diff", spdx)
    assert result.returncode == 2 and "not a CycloneDX SBOM" in result.stderr
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = sandbox_in_process("--spec", spec, "sbom", "--diff", fifo, timeout=30)
    assert result.returncode == 2 and "not a regular file" in result.stderr
    with pytest.raises(UsageError, match="not JSON"):
        diff("{", "{}")


def test_markdown_cells_cannot_break_the_table() -> None:
    from generator.sbom.diff import SbomChange

    text = markdown([SbomChange("added", "a|b", "x\ny", "", "1.0 (no sha256)")])
    assert text.splitlines()[2] == "| x y | a\\|b | added | — | 1.0 (no sha256) |"


def _old_sbom(tmp_path: Path, components) -> Path:
    path = tmp_path / "old.cdx.json"
    path.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("components", "message"),
    [
        ({"curl": {}}, "components is not a list of objects"),
        (["curl"], "components is not a list of objects"),
        ([{"name": "a", "properties": {"sandbox:tool": "a"}}], "component 1: properties is not a list of objects"),
        ([{"name": "a", "properties": [{"name": ["x"], "value": "a"}]}], "component 1: name is not text"),
        ([{"name": "a"}, {"type": "container", "name": "b", "hashes": [{}]}], "component 2: content is not text"),
        ([{"type": "container", "name": "b", "hashes": "abc"}], "component 1: hashes is not a list of objects"),
        ([{"name": "a", "externalReferences": ["https://x"]}], "component 1: externalReferences is not a list of objects"),
        ([{"name": "a", "externalReferences": [{"hashes": [{"content": 5}]}]}], "component 1: content is not text"),
        ([{"name": float("nan")}], "component 1: name is not text"),
    ],
    ids=["dict", "strings", "properties-dict", "property-name-list", "hash-without-content", "hashes-text", "references-text",
         "hash-number", "name-nan"],
)  # fmt: skip
def test_an_sbom_of_the_wrong_shape_is_refused_not_a_crash(spec: Path, tmp_path: Path, components, message: str) -> None:
    result = sandbox_in_process("--spec", spec, "sbom", "--diff", _old_sbom(tmp_path, components))
    assert result.returncode == 2, result.stderr
    assert f"old.cdx.json: {message}, as in a CycloneDX SBOM" in result.stderr


def test_a_deeply_nested_sbom_is_refused(spec: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.cdx.json"
    old.write_text('{"bomFormat": "CycloneDX", "components": ' + "[" * 100_000, encoding="utf-8")
    result = sandbox_in_process("--spec", spec, "sbom", "--diff", old)
    assert result.returncode == 2 and "old.cdx.json: not a CycloneDX SBOM (nested too deeply)" in result.stderr


def test_a_huge_sbom_is_refused_without_reading_it_whole(spec: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.cdx.json"
    with old.open("wb") as handle:  # sparse: no disk, but read whole it would be 64 MiB of memory
        handle.truncate(64 << 20)
    result = sandbox_in_process("--spec", spec, "sbom", "--diff", old, timeout=30)
    assert result.returncode == 2 and "old.cdx.json: cannot read it (it is larger than" in result.stderr


def test_hostile_component_names_stay_inside_their_cells(spec: Path, tmp_path: Path) -> None:
    old = _old_sbom(
        tmp_path,
        [
            {"name": "evil\x1b]0;title\x07\x1b[2J\x9b1m", "version": "1\r\n| forged | row |"},
            {"name": "a\\|b", "version": "</details><img src=x>"},
        ],
    )
    result = sandbox_in_process("--spec", spec, "sbom", "--diff", old)
    assert result.returncode == 0, result.stderr
    assert not has_controls(result.stdout.replace("\n", ""))
    rows = [line for line in result.stdout.splitlines() if "| ? |" in line]
    assert rows == [
        "| a\\\\\\|b | ? | removed | &lt;/details&gt;&lt;img src=x&gt; (no sha256) | — |",
        # '[' and ']' escaped too: no part of a name can open a link
        "| evil\\\\x1b\\]0;title\\\\x07\\\\x1b\\[2J\\\\x9b1m | ? | removed | 1 \\| forged \\| row \\| (no sha256) | — |",
    ]
