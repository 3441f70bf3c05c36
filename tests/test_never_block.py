"""No command waits on a special file: a FIFO, a device or a directory where the spec, the
lock, an output or a result-cache entry should be is refused up front. Each case runs
in-process under an alarm, so a regression fails the test instead of hanging the suite."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from generator.cache import ResultCache
from tests.integration.cli import sandbox_in_process

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "minimal" / "sandbox.yaml"
LOCK = "artifacts: {}\nimages: {}\n"


pytestmark = pytest.mark.usefixtures("fails_if_blocked")


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(EXAMPLE, tmp_path / "sandbox.yaml")
    return tmp_path


def sandbox(*args: str) -> subprocess.CompletedProcess[str]:
    """``sandbox --spec sandbox.yaml ARGS`` in this process (the working directory: the project)."""
    return sandbox_in_process("--spec", "sandbox.yaml", *args)


SPEC_COMMANDS = [("generate",), ("check",), ("lint",), ("list",), ("generate", "--no-result-cache")]


@pytest.mark.parametrize("command", SPEC_COMMANDS)
def test_a_fifo_as_spec_is_refused(project, command):
    (project / "sandbox.yaml").unlink()
    os.mkfifo(project / "sandbox.yaml")
    result = sandbox(*command)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["error: cannot read the spec sandbox.yaml: it is a FIFO (named pipe), not a regular file"]


def test_a_device_as_spec_is_refused(project):
    # (a directory is refused by --spec itself: test_cli.py)
    (project / "sandbox.yaml").unlink()
    (project / "sandbox.yaml").symlink_to("/dev/zero")
    result = sandbox("generate")
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["error: cannot read the spec sandbox.yaml: it is a character device, not a regular file"]


def test_a_dangling_spec_symlink_says_so(project):
    (project / "sandbox.yaml").unlink()
    (project / "sandbox.yaml").symlink_to("gone.yaml")
    result = sandbox("generate")
    assert result.returncode == 2 and result.stderr.splitlines() == ["error: spec not found: sandbox.yaml (a symlink to nothing)"]


@pytest.mark.parametrize("command", [("generate",), ("check",), ("lint",), ("generate", "--no-result-cache")])
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (os.mkfifo, "cannot read the lock file: it is a FIFO (named pipe), not a regular file"),
        (lambda p: p.symlink_to("/dev/zero"), "cannot read the lock file: it is a character device, not a regular file"),
        (lambda p: p.mkdir(), "cannot read the lock file: it is a directory, not a regular file"),
        (lambda p: p.symlink_to("moved.lock"), "a symlink to moved.lock, which does not exist; restore the lock file or remove the link"),
    ],
    ids=["fifo", "device", "directory", "dangling-symlink"],
)
def test_a_lock_that_is_not_a_regular_file_is_an_error(project, command, make, message):
    # a first run with a real lock fills the result cache: the bad lock must not hit it
    (project / "sandbox.lock").write_text(LOCK, encoding="utf-8")
    assert sandbox("generate").returncode == 0
    (project / "sandbox.lock").unlink()
    make(project / "sandbox.lock")
    before = (project / "Dockerfile").read_bytes()
    result = sandbox(*command)
    assert result.returncode == 2
    assert result.stderr == f"error: sandbox.lock: {message}\n"
    assert (project / "Dockerfile").read_bytes() == before


def test_a_fifo_as_result_cache_entry_is_a_miss(project):
    assert sandbox("generate").returncode == 0
    entry = ResultCache(Path("sandbox.yaml"), ())._file()
    assert entry is not None and entry.exists()
    entry.unlink()
    os.mkfifo(entry)
    result = sandbox("check")
    assert result.returncode == 0, result.stderr


def test_a_fifo_in_place_of_a_cached_output_is_refused(project):
    assert sandbox("generate").returncode == 0
    (project / "Dockerfile").unlink()
    os.mkfifo(project / "Dockerfile")
    result = sandbox("generate")
    assert result.returncode == 2 and "'Dockerfile' is a FIFO (named pipe)" in result.stderr
    result = sandbox("check")
    assert result.returncode == 2 and result.stderr == "error: cannot read Dockerfile: it is a FIFO (named pipe), not a regular file\n"
