"""Fixtures for the supply commands: a fake upstream on 127.0.0.1 and specs that point at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from conftest import spec_data, to_yaml
from generator.cli import main

from .fake_upstream import FakeUpstream

NOW = datetime.now(timezone.utc)


def iso(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeUpstream]:
    with FakeUpstream() as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        for name in list(os.environ):
            if name in ("GITHUB_TOKEN", "GH_TOKEN"):
                monkeypatch.delenv(name)
        yield server


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def sandbox(capsys: pytest.CaptureFixture[str]):
    """Run the real CLI in-process: sandbox(spec_path, 'lock', ...) -> Result."""

    def run(spec: Path, *args: str) -> Result:
        capsys.readouterr()
        code = main(["--spec", str(spec), *args])
        captured = capsys.readouterr()
        return Result(int(code), captured.out, captured.err)

    return run


def release_tool(server: FakeUpstream, name: str = "rg", version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
    tool = {
        "name": name,
        "method": "release",
        "version": version,
        "url": server.url("github", f"/owner/{name}/releases/download/{{version}}/{{asset}}"),
        "assets": {"amd64": f"{name}-{{version}}-x86_64.tar.gz", "arm64": f"{name}-{{version}}-aarch64.tar.gz"},
        "binaries": [{"path": f"{{stem}}/{name}", "name": name}],
        "checksum_file": {"url": server.url("github", f"/owner/{name}/releases/download/{{version}}/SHA256SUMS")},
    }
    tool.update(extra)
    return tool


def serve_release(server: FakeUpstream, name: str = "rg", version: str = "1.0.0") -> dict[str, str]:
    """Serve both arch assets of a release_tool; returns arch -> sha256 of the bytes served."""
    return {
        arch: server.artifact(
            "github",
            f"/owner/{name}/releases/download/{version}/{name}-{version}-{triple}.tar.gz",
            f"{name} {version} for {triple}\n".encode() * 500,
        )
        for arch, triple in (("amd64", "x86_64"), ("arm64", "aarch64"))
    }


def write_spec(directory: Path, *tools: dict[str, Any], **top: Any) -> Path:
    path = directory / "sandbox.yaml"
    path.write_text(to_yaml(spec_data(*tools, **top)), encoding="utf-8")
    return path
