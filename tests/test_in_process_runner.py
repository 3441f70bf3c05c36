"""The in-process runner (tests/integration/cli.py sandbox_in_process) says what a new
`sandbox` process says: the same exit code, stdout and stderr, and writes the same files.
Most CLI tests use it to avoid an interpreter start-up per call; this keeps it honest."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from tests.integration.cli import sandbox, sandbox_in_process

ROOT = Path(__file__).resolve().parent.parent

#: id -> (arguments, the exit code both must give): success, findings, invalid spec, usage
COMMANDS = {
    "generate": (["generate"], 0),
    "check-missing-output": (["check"], 1),
    "bad-spec": (["--spec", "bad.yaml", "generate"], 2),
    "unknown-option": (["generate", "--bogus"], 2),
    "help": (["--help"], 0),
    "list": (["list"], 0),
}


def project(directory: Path) -> Path:
    directory.mkdir()
    shutil.copyfile(ROOT / "examples" / "debian" / "sandbox.yaml", directory / "sandbox.yaml")
    shutil.copyfile(ROOT / "tests" / "bad_specs" / "several_problems.yaml", directory / "bad.yaml")
    return directory


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.mark.parametrize(("argv", "code"), COMMANDS.values(), ids=COMMANDS.keys())
def test_in_process_and_subprocess_give_the_same_result(argv, code, tmp_path):
    fresh = project(tmp_path / "subprocess")
    here = project(tmp_path / "in-process")
    expected = sandbox(*argv, cwd=fresh)
    got = sandbox_in_process(*argv, cwd=here)
    assert expected.returncode == code, expected.stderr
    assert (got.returncode, got.stdout, got.stderr) == (expected.returncode, expected.stdout, expected.stderr)
    assert files(here) == files(fresh)


def test_the_call_leaves_environment_directory_umask_and_handlers_as_they_were(tmp_path):
    before = (dict(os.environ), os.getcwd(), signal.getsignal(signal.SIGTERM))
    result = sandbox_in_process("generate", cwd=project(tmp_path / "p"), env={"SANDBOX_SPEC": "bad.yaml", "HOME": None})
    assert result.returncode == 2  # it did read the environment given: the bad spec
    assert "bad.yaml:" in result.stderr
    assert (dict(os.environ), os.getcwd(), signal.getsignal(signal.SIGTERM)) == before
