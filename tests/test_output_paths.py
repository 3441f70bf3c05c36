"""The one path rule for what `generate` and `schema --output` write (tests/bad_specs/ has
the cases that need no file system set-up: the spec, the lock or a files: source as an
output, one file under two spellings). Every case runs in-process under an alarm, so a
special file that would block fails the test instead of hanging it."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from generator.cli import main
from tests.integration.cli import sandbox as sandbox_process

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "minimal" / "sandbox.yaml"
OLD = b"# an earlier Dockerfile\n"


pytestmark = pytest.mark.usefixtures("fails_if_blocked")


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    shutil.copyfile(EXAMPLE, directory / "sandbox.yaml")
    monkeypatch.chdir(directory)
    return directory


def with_profiles(directory: Path, profiles: str) -> None:
    with (directory / "sandbox.yaml").open("a", encoding="utf-8") as spec:
        spec.write(f"profiles:\n{profiles}")


def sandbox(capsys, *args: str) -> tuple[int, list[str], str]:
    code = main(["--spec", "sandbox.yaml", *args])
    out, err = capsys.readouterr()
    return code, err.splitlines(), out


def state(path: Path) -> tuple:
    info = os.lstat(path)
    return (stat.S_IFMT(info.st_mode), info.st_mtime_ns, path.read_bytes() if stat.S_ISREG(info.st_mode) else None)


def test_an_output_through_a_symlinked_directory_that_leaves_the_project(project, tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "out").symlink_to(outside)
    with_profiles(project, "  default: {output: out/Dockerfile}\n")
    code, err, _ = sandbox(capsys, "generate", "--no-cache")
    assert code == 2
    assert err == [
        f"sandbox.yaml:21:21: profiles.default.output: 'out/Dockerfile' resolves to {outside}/Dockerfile, "
        f"outside the project directory {project} (through a symlink); outputs must stay inside the spec's directory",
        "error: the spec is invalid (1 problem(s)); nothing was written",
    ]
    assert list(outside.iterdir()) == []


def test_a_device_as_output_is_refused_and_stays_a_device(project, capsys):
    (project / "devnull").symlink_to("/dev/null")
    with_profiles(project, "  default: {output: devnull}\n")
    code, err, _ = sandbox(capsys, "generate", "--no-cache")
    assert code == 2
    assert err[0] == (
        "sandbox.yaml:21:21: profiles.default.output: 'devnull' is a character device; "
        "an output may only replace a regular file or create a new one"
    )
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    code, err, _ = sandbox(capsys, "schema", "--output", "/dev/null")
    assert code == 2
    assert err == ["error: --output: '/dev/null' is a character device; an output may only replace a regular file or create a new one"]
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_fifo_as_output_is_refused_without_blocking(project, capsys):
    os.mkfifo(project / "Dockerfile")
    before = state(project / "Dockerfile")
    code, err, _ = sandbox(capsys, "generate", "--no-cache")
    assert code == 2
    assert err[0] == (
        "sandbox.yaml:2:1: profiles.default.output: 'Dockerfile' is a FIFO (named pipe); an output may only replace "
        "a regular file or create a new one (this is the default value: the spec does not set it)"
    )
    assert state(project / "Dockerfile") == before
    # check reads the output: refused too, not blocked
    code, err, _ = sandbox(capsys, "check", "--no-cache")
    assert code == 2 and err == ["error: cannot read Dockerfile: it is a FIFO (named pipe), not a regular file"]
    code, err, _ = sandbox(capsys, "schema", "--output", "Dockerfile")
    assert code == 2 and "is a FIFO (named pipe)" in err[0]


def test_an_invalid_second_profile_leaves_the_first_profiles_file_untouched(project, capsys):
    (project / "Dockerfile").write_bytes(OLD)
    os.utime(project / "Dockerfile", ns=(1_000_000_000, 1_000_000_000))
    with_profiles(project, "  default: {output: Dockerfile}\n  second: {output: sandbox.yaml}\n")
    spec_before = state(project / "sandbox.yaml")
    before = state(project / "Dockerfile")
    code, err, out = sandbox(capsys, "generate", "--no-cache")
    assert code == 2 and out == ""
    assert err[0] == (
        "sandbox.yaml:22:20: profiles.second.output: 'sandbox.yaml' is the spec itself (sandbox.yaml); writing it would overwrite an input"
    )
    assert state(project / "Dockerfile") == before
    assert state(project / "sandbox.yaml") == spec_before
    assert sorted(p.name for p in project.iterdir()) == ["Dockerfile", "sandbox.yaml"]


def test_a_symlink_alias_of_another_output_is_the_same_file(project, capsys):
    (project / "alias").symlink_to("Dockerfile")
    with_profiles(project, "  default: {output: Dockerfile}\n  other: {output: alias}\n")
    code, err, _ = sandbox(capsys, "generate", "--no-cache")
    assert code == 2
    assert err[0] == (
        "sandbox.yaml:22:19: profiles.other.output: 'alias' is the same file as profiles.default.output "
        "('Dockerfile'): both resolve to Dockerfile"
    )
    assert not (project / "Dockerfile").exists()


def test_the_lock_and_a_files_source_through_a_symlink_are_protected(project, capsys):
    (project / "sandbox.lock").write_text("artifacts: {}\nimages: {}\n", encoding="utf-8")
    (project / "lock-link").symlink_to("sandbox.lock")
    (project / "files").mkdir()
    (project / "files" / "entrypoint").write_bytes(b"#!/bin/sh\n")
    with_profiles(project, "  default: {output: lock-link}\n  other: {output: files/../files/entrypoint}\n")
    code, err, _ = sandbox(capsys, "generate", "--no-cache")
    assert code == 2
    # '..' is refused by the field itself, before the file system is looked at
    assert "profiles.other.output: a path inside the spec's directory" in err[0]
    (project / "sandbox.yaml").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    with_profiles(project, "  default: {output: lock-link}\n  other: {output: ./files/entrypoint}\n")
    with (project / "sandbox.yaml").open("a", encoding="utf-8") as spec:
        spec.write("files:\n  - {src: files/entrypoint, dest: /usr/local/bin/entrypoint}\n")
    code, err, _ = sandbox(capsys, "generate", "--no-cache")
    assert code == 2
    assert err == [
        "sandbox.yaml:21:21: profiles.default.output: 'lock-link' is the lock file (sandbox.lock); writing it would overwrite an input",
        "sandbox.yaml:22:19: profiles.other.output: './files/entrypoint' is the source of files[0] "
        "(files/entrypoint); writing it would overwrite an input",
        "error: the spec is invalid (2 problem(s)); nothing was written",
    ]
    assert (project / "files" / "entrypoint").read_bytes() == b"#!/bin/sh\n"


def test_an_output_symlinked_inside_the_project_is_written_through_the_link(project, capsys):
    (project / "generated").mkdir()
    (project / "Dockerfile").symlink_to("generated/Dockerfile")
    code, err, out = sandbox(capsys, "generate", "--no-cache")
    assert code == 0, err
    assert out == "wrote Dockerfile (profile default)\n"
    assert (project / "Dockerfile").is_symlink()
    assert (project / "generated" / "Dockerfile").read_text(encoding="utf-8").startswith("# Generated by")


def test_a_missing_output_directory_is_refused_before_writing(project, capsys):
    with_profiles(project, "  default: {output: Dockerfile}\n  other: {output: nowhere/Dockerfile}\n")
    code, err, _ = sandbox(capsys, "generate", "--no-cache")
    assert code == 2
    assert err[0] == "sandbox.yaml:22:19: profiles.other.output: 'nowhere/Dockerfile': the directory nowhere does not exist"
    assert not (project / "Dockerfile").exists()


def test_schema_output_follows_the_same_rule(project, tmp_path, capsys):
    spec_before = state(project / "sandbox.yaml")
    code, err, _ = sandbox(capsys, "schema", "--output", "sub/../sandbox.yaml")
    assert code == 2
    assert err == ["error: --output: 'sub/../sandbox.yaml' is the spec itself (sandbox.yaml); writing it would overwrite an input"]
    assert state(project / "sandbox.yaml") == spec_before
    code, err, _ = sandbox(capsys, "schema", "--output", str(tmp_path / "schema.json"))
    assert code == 2
    assert err == [
        f"error: --output: '{tmp_path}/schema.json' resolves to {tmp_path}/schema.json, outside the project "
        f"directory {project}; outputs must stay inside the spec's directory"
    ]
    assert not (tmp_path / "schema.json").exists()
    code, err, out = sandbox(capsys, "schema", "--output", "sandbox.schema.json")
    assert code == 0 and out == "wrote sandbox.schema.json\n"


def test_build_regenerate_follows_the_same_rule_before_docker_is_asked(project, capsys):
    with_profiles(project, "  default: {output: ./sandbox.yaml}\n")
    spec_before = state(project / "sandbox.yaml")
    code, err, _ = sandbox(capsys, "build", "--regenerate", "--docker-cli", "/nonexistent/docker")
    assert code == 2
    assert "profiles.default.output: './sandbox.yaml' is the spec itself" in err[0]
    assert state(project / "sandbox.yaml") == spec_before


def test_a_huge_file_at_an_output_is_not_read_whole(tmp_path: Path) -> None:
    """drift and the write compare without reading a file far larger than the new text."""
    from generator.output import drift, write_atomic

    target = tmp_path / "Dockerfile"
    with target.open("wb") as handle:
        handle.truncate(64 << 20)  # sparse: 64 MiB of zeros, no disk
    found = drift(target, "FROM scratch\n")
    assert found is not None and "not compared line by line" in found.diff
    assert write_atomic(target, "FROM scratch\n") is True
    assert target.read_text() == "FROM scratch\n"


def test_an_output_through_proc_to_a_pipe_is_named_a_pipe(project):
    # /dev/stdout resolves to /proc/self/fd/pipe:[N], a name that is no file: the check
    # follows the path as written, so the pipe is refused as what it is, before writing (a
    # process of its own: its standard output must be a real pipe)
    result = sandbox_process("sbom", "--output", "/dev/stdout", cwd=project)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "error: --output: '/dev/stdout' is a FIFO (named pipe); an output may only replace a regular file or create a new one\n"
    )
    assert result.stdout == ""
