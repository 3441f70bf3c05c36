"""Hostile and careless arguments to the commands that talk to Docker (doctor, test): each
is refused before the engine is asked (exit 2, naming the option), and what the command
prints quotes arguments and container output with their control characters escaped. No
Docker needed: the engine is a socket that does not exist."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from generator.docker import smoke
from generator.docker.smoke import CheckResult, SmokeReport
from generator.loader import parse
from generator.sbom.carried import sbom_problems
from generator.terminal import has_controls
from tests.integration.cli import sandbox_in_process

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "minimal" / "sandbox.yaml"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copyfile(EXAMPLE, tmp_path / "sandbox.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    return tmp_path


def sandbox(*args: str) -> subprocess.CompletedProcess[str]:
    """``sandbox --spec sandbox.yaml ARGS`` in this process (the working directory: the project)."""
    return sandbox_in_process("--spec", "sandbox.yaml", *args)


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        ("9" * 30 + "h", "at most 1h (the longest --health-timeout)"),  # was OverflowError: exit 70
        ("61m", "at most 1h (the longest --health-timeout)"),
        ("2 s", "a duration such as 2s"),
    ],
)
def test_a_health_interval_out_of_range_is_refused_before_the_engine(project, interval: str, message: str) -> None:
    result = sandbox("test", "--health-interval", interval, "local/x:1")
    assert result.returncode == 2, result.stderr
    assert f"Invalid value for --health-interval: {interval!r}: {message}" in result.stderr


def test_an_hour_is_the_longest_health_interval() -> None:
    assert smoke.health_interval_of("1h").total_seconds() == 3600
    assert smoke.health_interval_of("3600000ms").total_seconds() == 3600


@pytest.mark.parametrize("platform", ["linux/amd64,linux/arm64", "spec"])
def test_test_runs_one_platform(project, platform: str) -> None:
    result = sandbox("test", "--platform", platform, "local/x:1")
    assert result.returncode == 2, result.stderr
    assert "Invalid value for --platform: one platform per run, not linux/amd64, linux/arm64" in result.stderr


@pytest.mark.skipif(not (os.environ.get("SANDBOX_DOCKER_CLI") or shutil.which("docker")), reason="needs a docker CLI (no engine)")
def test_doctor_shows_an_engine_address_with_control_characters_escaped(project) -> None:
    # the docker CLI refuses the address at once; its message quotes it, and doctor quoted that
    # raw. A CLI before 23 (CI's 20.10) refuses it already for `docker --version` (the cli check
    # fails, naming the command), a later one when asked for the engine (the engine check fails)
    result = sandbox("doctor", "--docker-host", "tcp://x\x9b2J\x1b]0;owned\x07")
    assert result.returncode == 1
    assert not has_controls(result.stdout.replace("\n", ""))
    first_failed = next(line for line in result.stdout.splitlines() if line.startswith("fail  "))
    assert first_failed.split()[1] in ("cli", "engine"), result.stdout
    assert "tcp://x\\x9b2J\\x1b]0;owned\\x07" in result.stdout


def test_the_smoke_table_shows_what_the_container_printed_escaped(project, monkeypatch) -> None:
    class HostileImage:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def run(self) -> SmokeReport:
            detail = "bash: \x1b]0;owned\x07\x1b[2J\x1b[31mred\x9bx"
            return SmokeReport("local/x:1", "c", results=[CheckResult("tool bash", False, detail)])

    monkeypatch.setattr(smoke, "SmokeTest", HostileImage)
    result = sandbox("test", "local/x:1")
    assert result.returncode == 1
    assert not has_controls(result.stdout.replace("\n", ""))
    assert "bash: \\x1b]0;owned\\x07\\x1b[2J\\x1b[31mred\\x9bx" in result.stdout.replace("│\n│", "")


SPEC = parse(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE))


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("[" * 100_000, "not a CycloneDX document (JSON nested too deeply)"),
        ({"bomFormat": "CycloneDX", "metadata": ["x"]}, "describes image None"),
        ({"bomFormat": "CycloneDX", "metadata": {"component": "x"}}, "describes image None"),
        ({"bomFormat": "CycloneDX", "metadata": {"component": {"properties": {"a": 1}}}}, "describes profile none"),
        ({"bomFormat": "CycloneDX", "metadata": {"component": {"properties": ["x", 1]}}}, "describes profile none"),
        ({"bomFormat": "CycloneDX", "components": "abc"}, "tools differ from the spec's"),
        ({"bomFormat": "CycloneDX", "components": [1, {"properties": 5}]}, "tools differ from the spec's"),
        ({"bomFormat": "CycloneDX", "components": [{"properties": [{"name": "sandbox:tool", "value": ["x"]}]}]}, "not in the spec ['x']"),
    ],
    ids=["deep", "metadata-list", "component-text", "properties-object", "properties-not-objects", "components-text",
         "components-not-objects", "unhashable-tool"],
)  # fmt: skip
def test_an_sbom_in_the_image_of_another_shape_is_a_failed_check_not_a_crash(document, problem: str) -> None:
    text = document if isinstance(document, str) else json.dumps(document)
    problems = sbom_problems(text, SPEC, "default")
    assert problems and any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["build", "--builder", "--driver-opt=x"], "--builder"),
        (["build", "--builder=-x"], "--builder"),
        (["build", "--network=--privileged"], "--network"),
        (["cost", "--network=-h"], "--network"),
        (["doctor", "--context=--host=tcp://elsewhere:2375"], "--context"),
        (["pull", "--docker-host=-H"], "--docker-host"),
        (["test", "local/x:1", "--context="], "--context"),
    ],
)
def test_a_value_docker_gets_as_an_argument_cannot_be_an_option(project, argv: list[str], option: str) -> None:
    before = sorted(p.name for p in project.iterdir())
    result = sandbox(*argv)
    assert result.returncode == 2 and result.stdout == ""
    assert f"Invalid value for '{option}'" in result.stderr and "would be read as an option" in result.stderr
    assert sorted(p.name for p in project.iterdir()) == before


def test_an_engine_other_than_docker_or_podman_is_refused(project, monkeypatch) -> None:
    result = sandbox("doctor", "--engine", "lxc")
    assert result.returncode == 2 and "--engine" in result.stderr and "'docker', 'podman'" in result.stderr
    monkeypatch.setenv("SANDBOX_ENGINE", "containerd")
    result = sandbox("doctor")
    assert result.returncode == 2 and "SANDBOX_ENGINE" in result.stderr


def test_podman_asked_for_is_looked_for_as_podman_not_docker(project, monkeypatch, tmp_path: Path) -> None:
    # no podman on PATH, and SANDBOX_DOCKER_CLI (the docker binary) is not taken instead
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("SANDBOX_DOCKER_CLI", shutil.which("true") or "/bin/true")
    result = sandbox("doctor", "--engine", "podman")
    out = result.stdout
    assert result.returncode == 1
    assert out.startswith("fail  cli       podman CLI not found on PATH"), out
    assert "fix: install Podman (Debian/Ubuntu: apt-get install podman)" in out
