"""Fixtures for the supply commands: a fake upstream on 127.0.0.1 and specs that point at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.cli import main

from .fake_upstream import FakeUpstream


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
