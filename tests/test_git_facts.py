"""What a build reads from git: the commit time (a reproducible build's default moment) and
the revision (the image's revision label), from real repositories made here."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from generator.docker.build import commit_epoch, git_revision

COMMIT_TIME = 1_700_000_000


def _git(directory: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_AUTHOR_DATE": f"@{COMMIT_TIME} +0000",
        "GIT_COMMITTER_DATE": f"@{COMMIT_TIME} +0000",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(["git", "-C", str(directory), *args], env=env, capture_output=True, text=True, check=True).stdout.strip()


def test_a_work_tree_with_a_commit_gives_its_time_and_revision(tmp_path: Path) -> None:
    _git(tmp_path, "init", "--quiet")
    (tmp_path / "sandbox.yaml").write_text("x: 1\n")
    _git(tmp_path, "add", "sandbox.yaml")
    _git(tmp_path, "commit", "--quiet", "-m", "spec")
    assert commit_epoch(tmp_path) == COMMIT_TIME
    assert git_revision(tmp_path) == _git(tmp_path, "rev-parse", "HEAD")


def test_a_subdirectory_of_the_work_tree_answers_for_its_commit(tmp_path: Path) -> None:
    _git(tmp_path, "init", "--quiet")
    (tmp_path / "a.txt").write_text("a\n")
    _git(tmp_path, "add", "a.txt")
    _git(tmp_path, "commit", "--quiet", "-m", "a")
    (tmp_path / "sub").mkdir()
    assert commit_epoch(tmp_path / "sub") == COMMIT_TIME
    assert git_revision(tmp_path / "sub") == _git(tmp_path, "rev-parse", "HEAD")


@pytest.mark.parametrize("setup", ["not a repository", "a repository without commits", "a missing directory"])
def test_no_commit_means_none(tmp_path: Path, setup: str) -> None:
    directory = tmp_path / "project"
    if setup != "a missing directory":
        directory.mkdir()
    if setup == "a repository without commits":
        _git(directory, "init", "--quiet")
    assert commit_epoch(directory) is None
    assert git_revision(directory) is None


def test_without_git_on_the_path_both_are_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _git(tmp_path, "init", "--quiet")
    (tmp_path / "a.txt").write_text("a\n")
    _git(tmp_path, "add", "a.txt")
    _git(tmp_path, "commit", "--quiet", "-m", "a")
    empty = tmp_path / "no-tools"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert commit_epoch(tmp_path) is None
    assert git_revision(tmp_path) is None
