"""The `sandbox` command end to end: exit codes, what it writes and what it leaves alone."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest

from generator.cli import cli, main
from generator.errors import ExitCode
from generator.loader import load_spec
from generator.lockfile import Lock
from generator.render import render
from tests.integration.cli import sandbox_in_process

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SANDBOX = Path(sys.executable).parent / "sandbox"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None, program: list[str] | None = None):
    """``sandbox ARGS`` in-process (tests/test_in_process_runner.py holds that to what a new
    process says), or ``program`` (the module or the console script) in a process of its own."""
    if program is None:
        return sandbox_in_process(*args, cwd=cwd, env=env)
    return subprocess.run(
        [*program, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def snapshot(directory: Path) -> dict[str, tuple[bytes, int, int]]:
    return {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns, stat.S_IMODE(p.stat().st_mode)) for p in sorted(directory.iterdir()) if p.is_file()
    }


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    """A directory holding a copy of the minimal example's spec only."""
    shutil.copyfile(EXAMPLES / "minimal" / "sandbox.yaml", tmp_path / "sandbox.yaml")
    return tmp_path


@pytest.fixture
def debian(tmp_path: Path) -> Path:
    shutil.copyfile(EXAMPLES / "debian" / "sandbox.yaml", tmp_path / "sandbox.yaml")
    return tmp_path


def _old_mtime(path: Path) -> int:
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    return path.stat().st_mtime_ns


# -- generate -------------------------------------------------------------------------


def test_generate_writes_the_rendered_file_with_mode_0644(minimal):
    result = run("generate", cwd=minimal)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "wrote Dockerfile (profile default)\n"
    written = minimal / "Dockerfile"
    assert written.read_text(encoding="utf-8") == render(load_spec(minimal / "sandbox.yaml"), None, Lock.beside(minimal / "sandbox.yaml"))
    assert stat.S_IMODE(written.stat().st_mode) == 0o644
    assert sorted(p.name for p in minimal.iterdir()) == ["Dockerfile", "sandbox.yaml"]  # no temp files


def test_unchanged_output_is_not_rewritten(minimal):
    assert run("generate", cwd=minimal).returncode == 0
    mtime = _old_mtime(minimal / "Dockerfile")
    result = run("generate", cwd=minimal)
    assert result.returncode == 0
    assert result.stdout == "unchanged Dockerfile (profile default)\n"
    assert (minimal / "Dockerfile").stat().st_mtime_ns == mtime


@pytest.mark.parametrize("command", ["build", "cost"])
def test_a_missing_dockerfile_stops_build_and_cost_naming_the_option_they_take(minimal, command):
    # the engine is never asked: the Dockerfile is checked first
    result = run(command, "--docker-cli", str(minimal / "no-docker"), cwd=minimal)
    assert result.returncode == ExitCode.FINDINGS, result.stderr
    assert "error: Dockerfile is out of date with sandbox.yaml (or missing); " in result.stderr
    assert result.stderr.rstrip().endswith("run: sandbox --spec sandbox.yaml generate (or pass --regenerate)")
    assert sorted(p.name for p in minimal.iterdir()) == ["sandbox.yaml"]


def test_regenerate_keeps_the_file_mode_and_replaces_atomically(minimal):
    assert run("generate", cwd=minimal).returncode == 0
    dockerfile = minimal / "Dockerfile"
    dockerfile.chmod(0o600)
    spec = minimal / "sandbox.yaml"
    spec.write_text(spec.read_text().replace("title: Minimal sandbox", "title: Renamed sandbox"))
    with dockerfile.open("rb") as before:  # a reader that opened the old file...
        result = run("generate", cwd=minimal)
        assert result.returncode == 0 and result.stdout.startswith("wrote ")
        assert b'"Minimal sandbox"' in before.read()  # ...still sees the complete old file
    assert '"Renamed sandbox"' in dockerfile.read_text()
    assert stat.S_IMODE(dockerfile.stat().st_mode) == 0o600
    assert sorted(p.name for p in minimal.iterdir()) == ["Dockerfile", "sandbox.yaml"]


def test_profile_option_selects_what_is_written(debian):
    result = run("generate", "--profile", "slim", cwd=debian)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "wrote Dockerfile.slim (profile slim)\n"
    assert not (debian / "Dockerfile").exists()
    slim = (debian / "Dockerfile.slim").read_text()
    assert "cargo-tokei" not in slim and "release-ripgrep" in slim
    result = run("generate", cwd=debian)
    assert result.stdout.splitlines() == ["wrote Dockerfile (profile default)", "unchanged Dockerfile.slim (profile slim)"]
    assert "cargo-tokei" in (debian / "Dockerfile").read_text()


def test_unknown_profile_is_a_usage_error_and_writes_nothing(debian):
    before = snapshot(debian)
    result = run("generate", "--profile", "fat", cwd=debian)
    assert result.returncode == ExitCode.USAGE == 2
    assert "unknown profile 'fat'" in result.stderr and "default, slim" in result.stderr
    assert snapshot(debian) == before


def test_invalid_spec_exits_2_and_keeps_the_existing_output(minimal):
    assert run("generate", cwd=minimal).returncode == 0
    spec = minimal / "sandbox.yaml"
    spec.write_text(spec.read_text().replace('tag: "24.04"', "tag: latest"))
    _old_mtime(minimal / "Dockerfile")
    before = snapshot(minimal)
    result = run("generate", cwd=minimal)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith("sandbox.yaml:13:8: base.tag: ")
    assert snapshot(minimal) == before


def test_missing_spec_file_and_spec_directory_are_usage_errors(tmp_path):
    missing = run("--spec", "nope.yaml", "generate", cwd=tmp_path)
    # not found, not invalid: the path given is wrong, the spec may be fine
    assert missing.returncode == 2
    assert missing.stderr == "error: spec not found: nope.yaml (give its path with --spec FILE or $SANDBOX_SPEC)\n"
    (tmp_path / "dir.yaml").mkdir()
    directory = run("--spec", "dir.yaml", "generate", cwd=tmp_path)
    assert directory.returncode == 2 and "is a directory" in directory.stderr
    assert "Traceback" not in missing.stderr + directory.stderr


def test_output_that_cannot_be_written_is_a_usage_error_without_leftovers(minimal):
    (minimal / "Dockerfile").mkdir()
    result = run("generate", cwd=minimal)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "sandbox.yaml:2:1: profiles.default.output: 'Dockerfile' is a directory; an output may only replace "
        "a regular file or create a new one (this is the default value: the spec does not set it)",
        "error: the spec is invalid (1 problem(s)); nothing was written",
    ]
    assert sorted(p.name for p in minimal.iterdir()) == ["Dockerfile", "sandbox.yaml"]


def test_spec_comes_from_the_environment_when_not_given(minimal):
    (minimal / "sandbox.yaml").rename(minimal / "other.yaml")
    result = run("generate", cwd=minimal, env={"SANDBOX_SPEC": "other.yaml"})
    assert result.returncode == 0, result.stderr
    assert (minimal / "Dockerfile").exists()


# -- check ----------------------------------------------------------------------------


def test_check_passes_on_fresh_output_and_writes_nothing(minimal):
    assert run("generate", cwd=minimal).returncode == 0
    _old_mtime(minimal / "Dockerfile")
    before = snapshot(minimal)
    result = run("check", cwd=minimal)
    assert result.returncode == 0
    assert result.stdout == "up to date: Dockerfile\n"
    assert snapshot(minimal) == before


def test_check_fails_on_a_hand_edited_file_with_a_diff_and_the_fix(minimal):
    assert run("generate", cwd=minimal).returncode == 0
    dockerfile = minimal / "Dockerfile"
    edited = dockerfile.read_text().replace("EXPOSE 3000", "EXPOSE 8080")
    dockerfile.write_text(edited)
    before = snapshot(minimal)
    result = run("check", cwd=minimal)
    assert result.returncode == ExitCode.FINDINGS == 1
    lines = result.stdout.splitlines()
    assert lines[:2] == ["--- Dockerfile (on disk)", "+++ Dockerfile (from spec)"]
    assert "-EXPOSE 8080" in lines and "+EXPOSE 3000" in lines
    assert any(line.startswith("@@ ") for line in lines)
    assert "run: sandbox --spec sandbox.yaml generate" in result.stderr
    assert snapshot(minimal) == before


def test_check_fails_when_the_output_is_missing(minimal):
    result = run("check", cwd=minimal)
    assert result.returncode == 1
    assert result.stdout.startswith("--- Dockerfile (missing)\n+++ Dockerfile (from spec)\n")
    assert not (minimal / "Dockerfile").exists()


def test_check_of_one_profile_ignores_the_others(debian):
    assert run("generate", "--profile", "slim", cwd=debian).returncode == 0
    assert run("check", "--profile", "slim", cwd=debian).returncode == 0
    assert run("check", cwd=debian).returncode == 1  # Dockerfile (default) is missing


# -- lint -----------------------------------------------------------------------------


def test_lint_reports_no_findings_on_a_clean_spec(minimal):
    result = run("lint", cwd=minimal)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "lint: no findings\n"
    assert not (minimal / "Dockerfile").exists()  # lint renders in memory


# -- schema ---------------------------------------------------------------------------


def test_schema_check_detects_a_stale_schema_file(tmp_path):
    schema = tmp_path / "sandbox.schema.json"
    assert run("schema", "--output", schema.name, cwd=tmp_path).returncode == 0
    document = json.loads(schema.read_text())
    assert "tools" in document["properties"] and document["additionalProperties"] is False
    assert run("schema", "--output", schema.name, "--check", cwd=tmp_path).returncode == 0

    document["properties"].pop("tools")
    schema.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    mtime = _old_mtime(schema)
    result = run("schema", "--output", schema.name, "--check", cwd=tmp_path)
    assert result.returncode == 1
    assert '+    "tools": {' in result.stdout
    assert "is stale; run: sandbox schema --output" in result.stderr
    assert schema.stat().st_mtime_ns == mtime  # --check never writes


def test_schema_check_without_output_is_a_usage_error_not_a_silent_pass(tmp_path):
    result = run("schema", "--check", cwd=tmp_path)
    assert result.returncode == ExitCode.USAGE
    assert result.stdout == ""
    assert "--check compares the schema with a file: name it, e.g. --output sandbox.schema.json --check" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_schema_without_output_prints_it(tmp_path):
    result = run("schema", cwd=tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout)["title"].startswith("opencode sandbox spec")
    assert list(tmp_path.iterdir()) == []


# -- list -----------------------------------------------------------------------------


def test_list_json_shows_the_profiles_tools_and_how_each_is_verified(debian):
    result = run("list", "--format", "json", cwd=debian)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    spec = load_spec(debian / "sandbox.yaml")
    assert set(rows) == {t.name for t in spec.tools if t.in_profile("default")}
    assert rows["ripgrep"]["version"] == "14.1.1" and rows["ripgrep"]["method"] == "release"
    assert rows["ripgrep"]["verified"].startswith("checksum-file")
    assert rows["nvm"]["verified"].startswith("unverified")
    assert rows["tokei"]["profiles"] == "default"
    assert "broken-tool" not in rows

    slim = {row["name"] for row in json.loads(run("list", "--format", "json", "--profile", "slim", cwd=debian).stdout)}
    assert "tokei" not in slim and "ripgrep" in slim
    everything = {row["name"]: row for row in json.loads(run("list", "--format", "json", "--all", cwd=debian).stdout)}
    assert everything["broken-tool"]["enabled"] is False
    assert everything["broken-tool"]["note"] == "shows how a tool is switched off without deleting it"


def test_list_table_names_every_tool(debian):
    result = run("list", cwd=debian, env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    for name in ("ripgrep", "prettier", "zsh-autosuggestions"):
        assert name in result.stdout


# -- entry points and exit codes --------------------------------------------------------


@pytest.mark.parametrize("program", [[sys.executable, "-m", "generator"], [str(SANDBOX)]], ids=["module", "script"])
def test_both_entry_points_work(program, minimal):
    help_result = run("--help", cwd=minimal, program=program)
    assert help_result.returncode == 0
    assert help_result.stdout.startswith("Usage: sandbox ")
    for command in ("generate", "check", "lint", "schema", "list"):
        assert command in help_result.stdout
    result = run("generate", cwd=minimal, program=program)
    assert result.returncode == 0 and (minimal / "Dockerfile").exists()


def test_unknown_command_and_option_are_usage_errors(minimal):
    assert run("frobnicate", cwd=minimal).returncode == 2
    assert run("generate", "--bogus", cwd=minimal).returncode == 2


def test_a_bug_becomes_exit_70_with_a_traceback(capsys):
    @click.command(name="explode-for-test")
    def explode() -> None:
        raise ZeroDivisionError("deliberate")

    cli.add_command(explode)
    try:
        code = main(["explode-for-test"])
    finally:
        cli.commands.pop("explode-for-test")
    assert code == ExitCode.INTERNAL == 70
    err = capsys.readouterr().err
    assert "ZeroDivisionError: deliberate" in err and "internal error: this is a bug in sandbox" in err


def test_lint_findings_exit_1_and_name_the_line(minimal):
    spec = minimal / "sandbox.yaml"
    spec.write_text(
        spec.read_text()
        + """  - name: rg
    method: release
    version: "14.1.1"
    url: https://github.com/BurntSushi/ripgrep/releases/latest/download/{asset}
    assets: {amd64: rg-amd64, arm64: rg-arm64}
    unverified: upstream asset without checksums
"""
    )
    result = run("lint", cwd=minimal)
    assert result.returncode == 1, result.stdout + result.stderr
    findings = [line for line in result.stdout.splitlines() if "SBX002" in line]
    rendered = render(load_spec(spec), None, Lock.beside(spec)).splitlines()
    flagged = {int(line.split(":")[1]) for line in findings}
    assert flagged == {n for n, text in enumerate(rendered, start=1) if "releases/latest" in text}
    assert flagged
    assert "lint finding(s)" in result.stderr


# -- arguments that reach docker ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["test", "--", "--privileged"], "IMAGE"),
        (["test", "--", "-v/:/host"], "IMAGE"),
        (["test", "image name"], "IMAGE"),
        (["build", "--tag=--push"], "--tag"),
        (["pull", "--tag=-q"], "--tag"),
    ],
)
def test_an_image_reference_that_docker_could_read_as_an_option_is_refused(minimal, monkeypatch, capsys, args, name):
    monkeypatch.chdir(minimal)
    # a docker CLI that does not exist: reaching it would be exit 3, not 2
    code = main([*args[:1], "--docker-cli", "/nonexistent/docker", *args[1:]])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE, err
    assert err.startswith(f"error: {name}: expected an image ")
    assert sorted(p.name for p in minimal.iterdir()) == ["sandbox.yaml"]
