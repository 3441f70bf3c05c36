"""Rendering is a pure function of the spec: same bytes every time, in every process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.loader import load_spec
from generator.lockfile import Lock
from generator.render import render

ROOT = Path(__file__).resolve().parent.parent
SPECS = [ROOT / "sandbox.yaml", *sorted((ROOT / "examples").glob("*/sandbox.yaml"))]

#: every spec given, each rendered for all its profiles (NUL between profiles, a line of its
#: own with the length before each spec): one interpreter per hash seed, not one per spec
_RENDER_ALL = """
import sys
from generator.loader import load_spec
from generator.lockfile import Lock
from generator.render import render
for path in sys.argv[1:]:
    spec = load_spec(path)
    rendered = b"\\0".join(render(spec, p, Lock.beside(spec.source)).encode() for p in spec.profiles)
    sys.stdout.buffer.write(b"%d\\n" % len(rendered) + rendered)
"""
SEEDS = ("0", "1", "4242")


def _in_process(path: Path) -> bytes:
    spec = load_spec(path)
    return b"\0".join(render(spec, p, Lock.beside(path)).encode() for p in spec.profiles)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.parent.name)
def test_rendering_twice_gives_identical_bytes(path):
    first = _in_process(path)
    assert first == _in_process(path)
    assert first  # something was rendered


@pytest.fixture(scope="module")
def rendered_elsewhere() -> dict[str, dict[Path, bytes]]:
    """hash seed -> spec -> what a process of its own with that seed rendered."""
    by_seed = {}
    for seed in SEEDS:
        result = subprocess.run(
            [sys.executable, "-c", _RENDER_ALL, *map(str, SPECS)],
            capture_output=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd="/",
        )
        assert result.returncode == 0, result.stderr.decode()
        output, by_spec = result.stdout, {}
        for path in SPECS:
            size, _, output = output.partition(b"\n")
            by_spec[path], output = output[: int(size)], output[int(size) :]
        assert output == b""
        by_seed[seed] = by_spec
    return by_seed


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.parent.name)
def test_rendering_in_other_processes_and_hash_seeds_gives_identical_bytes(path, rendered_elsewhere):
    expected = _in_process(path)
    for seed in SEEDS:
        assert rendered_elsewhere[seed][path] == expected, f"PYTHONHASHSEED={seed} renders different bytes"
