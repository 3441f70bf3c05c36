"""The committed outputs are the goldens: the rendered Dockerfile of every profile of the
default spec (Dockerfile, Dockerfile.minimal) and of every example (examples/*/Dockerfile*),
byte for byte; the run files are up to date too (`sandbox check`); and every one lints clean.
They are stored once, where `sandbox generate` writes them.

After an intended change to the renderer or a spec: `sandbox generate` (or `pytest
tests/test_golden.py --update-goldens`, which writes the same files), then review `git diff`
before committing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.lint import lint
from generator.loader import load_spec
from generator.lockfile import Lock
from generator.render import render
from generator.runfiles import run_file_names
from tests.integration.cli import sandbox_in_process

ROOT = Path(__file__).resolve().parent.parent
SPECS = {
    "default": ROOT / "sandbox.yaml",
    **{f"example-{p.parent.name}": p for p in sorted((ROOT / "examples").glob("*/sandbox.yaml"))},
}


def _cases() -> list[tuple[str, str]]:
    return [(name, profile) for name, path in SPECS.items() for profile in load_spec(path).profiles]


CASES = _cases()


def golden_path(name: str, profile: str) -> Path:
    """The committed output of the profile: where `sandbox generate` writes it."""
    return SPECS[name].parent / load_spec(SPECS[name]).profiles[profile].output


def test_there_are_examples_and_one_uses_every_install_method():
    from generator.methods.registry import REGISTRY

    assert {"example-minimal", "example-debian"} <= set(SPECS)
    debian = load_spec(SPECS["example-debian"])
    assert debian.base.image == "debian"
    used = {tool.method for tool in debian.tools}
    core = {"apt", "release", "npm", "uv", "cargo", "go", "mise", "git", "script"}
    assert core <= used <= set(REGISTRY)


@pytest.mark.parametrize(("name", "profile"), CASES)
def test_render_matches_golden(name, profile, update_goldens):
    spec = load_spec(SPECS[name])
    text = render(spec, profile, Lock.beside(SPECS[name]))
    golden = golden_path(name, profile)
    if update_goldens:
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no output for {name}/{profile}: run sandbox generate"
    assert text == golden.read_text(encoding="utf-8"), f"{golden.relative_to(ROOT)} differs: review, then sandbox generate"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_committed_outputs_are_up_to_date(name):
    spec = load_spec(SPECS[name])
    # --no-result-cache: the verdict of a full run, never one an earlier run left in the cache
    result = sandbox_in_process("--spec", SPECS[name].name, "check", "--no-result-cache", cwd=SPECS[name].parent)
    assert result.returncode == 0, result.stdout + result.stderr
    # every file check found up to date is named: each profile's Dockerfile, then the run files
    run_files = run_file_names(spec.runtime.compose) if spec.runtime.compose else []
    outputs = ", ".join([profile.output for profile in spec.profiles.values()] + run_files)
    assert result.stdout == f"up to date: {outputs}\n"


@pytest.mark.parametrize(("name", "profile"), CASES)
def test_every_committed_dockerfile_lints_clean(name, profile):
    golden = golden_path(name, profile)
    findings = lint(golden.read_text(encoding="utf-8"), str(golden.relative_to(ROOT)))
    assert [str(f) for f in findings] == []
