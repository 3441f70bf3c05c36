"""The weekly update workflow: the commands it runs, in order, and no third-party actions."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

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


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_every_run_block_is_shellcheck_clean(tmp_path):
    for index, step in enumerate(_steps()):
        if "run" not in step:
            continue
        script = tmp_path / f"step{index}.sh"
        script.write_text("#!/bin/bash\n" + re.sub(r"\$\{\{[^}]*\}\}", "main", step["run"]))
        result = subprocess.run(["shellcheck", "-s", "bash", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout


def test_pull_request_body_holds_the_sbom_diff_against_the_sbom_before_the_update():
    runs = "\n".join(step.get("run", "") for step in _steps())
    saved = runs.index('sandbox sbom --output "$RUNNER_TEMP/sbom-before.cdx.json"')
    diffed = runs.index('sandbox sbom --diff "$RUNNER_TEMP/sbom-before.cdx.json"')
    assert saved < runs.index("sandbox update") < runs.index("sandbox lock") < diffed < runs.index("gh pr create")
    assert 'cat "$RUNNER_TEMP/sbom-diff.md"' in runs
