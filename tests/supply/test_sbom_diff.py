"""`sandbox sbom --diff OLD.cdx.json`: the components a spec change touched, as Markdown (the
weekly update pull request shows it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator.errors import UsageError
from generator.sbom_diff import diff, markdown
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
    assert sandbox_in_process("--spec", spec, "sbom", "--format", "spdx", "--output", spdx).returncode == 0
    result = sandbox_in_process("--spec", spec, "sbom", "--diff", spdx)
    assert result.returncode == 2 and "not a CycloneDX SBOM" in result.stderr
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = sandbox_in_process("--spec", spec, "sbom", "--diff", fifo, timeout=30)
    assert result.returncode == 2 and "not a regular file" in result.stderr
    with pytest.raises(UsageError, match="not JSON"):
        diff("{", "{}")


def test_markdown_cells_cannot_break_the_table() -> None:
    from generator.sbom_diff import SbomChange

    text = markdown([SbomChange("added", "a|b", "x\ny", "", "1.0 (no sha256)")])
    assert text.splitlines()[2] == "| x y | a\\|b | added | — | 1.0 (no sha256) |"
