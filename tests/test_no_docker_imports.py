"""generate/check/lint/schema/list must work without importing python_on_whales (it is
slow to import and not needed to turn a spec into a Dockerfile)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.cli import sandbox_in_process

ROOT = Path(__file__).resolve().parent.parent

#: runs the real CLI entry point, then reports which modules were loaded at exit
_PROBE = """
import atexit, json, sys
def report():
    loaded = sorted(m for m in sys.modules if m == "python_on_whales" or m.startswith("python_on_whales."))
    with open(sys.argv[1], "w") as handle:
        json.dump(loaded, handle)
atexit.register(report)
from generator.cli import main
code = main(sys.argv[2:])
sys.exit(code)
"""

COMMANDS = [
    ["generate"],
    ["check"],
    ["lint"],
    ["schema"],
    ["list"],
    ["list", "--format", "json"],
    ["--help"],
]


def _loaded_modules(tmp_path: Path, argv: list[str]) -> tuple[int, list[str]]:
    report = tmp_path / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(report), *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, json.loads(report.read_text())


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_spec_commands_do_not_import_python_on_whales(argv, tmp_path):
    shutil.copyfile(ROOT / "examples" / "minimal" / "sandbox.yaml", tmp_path / "sandbox.yaml")
    # the Dockerfile `check` compares with; only the command under test needs a process of its own
    assert sandbox_in_process("generate", cwd=tmp_path).returncode == 0
    code, loaded = _loaded_modules(tmp_path, argv)
    assert code == 0
    assert loaded == []


def test_the_probe_sees_python_on_whales_when_it_is_imported(tmp_path):
    """Guards the probe itself: an import it should catch is caught."""
    report = tmp_path / "modules.json"
    probe = _PROBE.replace("from generator.cli import main", "import python_on_whales\nfrom generator.cli import main")
    result = subprocess.run([sys.executable, "-c", probe, str(report), "--help"], cwd=tmp_path, capture_output=True, timeout=120)
    assert result.returncode == 0
    assert "python_on_whales" in json.loads(report.read_text())
