"""`sandbox doctor` against the real engine, a dead socket, an unprivileged user, the CLI
without buildx and a missing CLI."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from generator.cli import main
from generator.docker.client import DockerClient
from generator.docker.doctor import FIX_NOT_RUNNING, FIX_PERMISSION, GIB, diagnose
from tests.docker.cli import docker_cli

NAMES = ["cli", "engine", "versions", "buildkit", "disk"]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["doctor", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _statuses(report_dict: dict) -> dict[str, str]:
    return {c["name"]: c["status"] for c in report_dict["checks"]}


@pytest.mark.docker
def test_healthy_engine_and_pre_23_cli(
    default_engine_only: DockerClient, cli_20: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # no user-installed buildx
    code, out, err = _run(capsys, "--docker-cli", cli_20)
    assert code == 0, out + err
    lines = out.splitlines()
    assert [line.split()[1] for line in lines[:5]] == NAMES
    assert all(line.split()[0] in {"ok", "warn"} for line in lines[:5])
    assert f"{cli_20} (Docker version" in lines[0]
    assert "builtin" in lines[3] and "DOCKER_BUILDKIT=1 docker build" in lines[3]
    assert lines[-1] == "a build will use: DOCKER_BUILDKIT=1 docker build (BuildKit built into this pre-23 CLI)"
    engine = docker_cli(default_engine_only, ["version", "--format", "{{.Server.Version}}"]).stdout.strip()
    assert f"engine {engine} (API" in lines[2]


@pytest.mark.docker
def test_json_output_and_disk_of_the_data_root(default_engine_only: DockerClient, cli_20: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--docker-cli", cli_20, "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True
    assert list(_statuses(report)) == NAMES
    disk = next(c for c in report["checks"] if c["name"] == "disk")
    root = docker_cli(default_engine_only, ["info", "--format", "{{.DockerRootDir}}"]).stdout.strip()
    assert disk["details"]["data_root"] == root
    if Path(root).is_dir():
        assert disk["details"]["path"] == root
        # the same filesystem, measured moments apart: equal within what a busy CI box writes
        assert abs(disk["details"]["free_bytes"] - shutil.disk_usage(root).free) < GIB


@pytest.mark.docker
def test_cli_without_the_plugin_fails_with_the_install_hint(
    default_engine_only: DockerClient, cli_28: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    code, out, err = _run(capsys, "--docker-cli", cli_28)
    assert code == 1
    buildkit = next(line for line in out.splitlines() if line.split()[1:2] == ["buildkit"])
    assert buildkit.startswith("fail") and "has no buildx plugin" in buildkit
    fix = out.splitlines()[out.splitlines().index(buildkit) + 1]
    assert fix.strip().startswith("fix: install the buildx plugin")
    # the verdict once, on stderr (the error line), not again on stdout
    assert "a build cannot work here" not in out
    assert "a build cannot work here; failed check(s): buildkit" in err


@pytest.mark.docker
def test_dead_engine(docker_client: DockerClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "--docker-host", f"unix://{tmp_path}/dead.sock", "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    statuses = _statuses(report)
    assert statuses["cli"] == "ok" and statuses["engine"] == "fail"
    assert statuses["versions"] == "skip" and statuses["disk"] == "skip"
    engine = next(c for c in report["checks"] if c["name"] == "engine")
    assert engine["fix"] == FIX_NOT_RUNNING and "dead.sock" in engine["summary"]
    assert "failed check(s): engine" in err


@pytest.mark.docker
def test_socket_not_permitted(default_engine_only: DockerClient, cli_20: str, tmp_path: Path, docker_unavailable) -> None:
    if os.geteuid() != 0:
        docker_unavailable("the permission test drops privileges with setpriv and needs to start as root")
    home = tmp_path / "home"
    home.mkdir(mode=0o777)
    home.chmod(0o777)
    wrapper = tmp_path / "docker-as-nobody"
    wrapper.write_text(f'#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME={home} {cli_20} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    report = diagnose(DockerClient(cli=str(wrapper)))
    engine = next(c for c in report.checks if c.name == "engine")
    assert not report.ok and engine.status == "fail" and engine.fix == FIX_PERMISSION
    assert "permission denied" in str(engine.details["detail"])


def test_missing_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--docker-cli", str(tmp_path / "nope"))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("fail  cli") and "docker CLI not found" in lines[0]
    assert "--docker-cli" in lines[1] and "SANDBOX_DOCKER_CLI" in lines[1]
    assert [line.split()[:2] for line in lines[2:6]] == [["skip", n] for n in NAMES[1:]]


@pytest.mark.docker
def test_disk_limits(default_engine_only: DockerClient, cli_20: str) -> None:
    client = DockerClient(cli=cli_20)
    free = next(c for c in diagnose(client).checks if c.name == "disk").details["free_bytes"]
    assert isinstance(free, int)
    tight = diagnose(client, minimum=free * 4 + GIB, comfortable=free * 8 + GIB)
    disk = next(c for c in tight.checks if c.name == "disk")
    assert disk.status == "fail" and "docker system prune" in (disk.fix or "") and not tight.ok
    roomy = diagnose(client, minimum=0, comfortable=free * 4 + GIB)
    disk = next(c for c in roomy.checks if c.name == "disk")
    assert disk.status == "warn" and roomy.ok, "a warning alone must not fail doctor"


def test_host_and_context_together_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "--docker-host", "unix:///x.sock", "--context", "other")
    assert code == 2 and "not both" in err
