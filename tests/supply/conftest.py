"""Fixtures for the supply commands: a fake upstream on 127.0.0.1 and specs that point at it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cli import sandbox_in_process

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


@pytest.fixture
def sandbox():
    """The real CLI in-process (tests/integration/cli.py): sandbox(spec_path, 'lock', ...) ->
    CompletedProcess (returncode, stdout, stderr), as for every other CLI test."""

    def run(spec: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return sandbox_in_process("--spec", spec, *args)

    return run
