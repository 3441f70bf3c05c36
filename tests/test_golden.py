"""Golden files: the rendered Dockerfile of the default spec and of every example, byte
for byte; the committed outputs are not stale; and every one of them lints clean.

The one place the committed outputs (Dockerfile, Dockerfile.minimal, examples/*/Dockerfile*)
are checked: `sandbox check` says each equals what its spec renders, and the goldens equal the
same renders, so linting the goldens lints the committed files' text too.

After an intended change to the renderer or a spec: `pytest tests/test_golden.py
--update-goldens`, then review `git diff tests/golden examples` before committing.
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
GOLDEN = Path(__file__).parent / "golden"
SPECS = {
    "default": ROOT / "sandbox.yaml",
    **{f"example-{p.parent.name}": p for p in sorted((ROOT / "examples").glob("*/sandbox.yaml"))},
}


def _cases() -> list[tuple[str, str]]:
    return [(name, profile) for name, path in SPECS.items() for profile in load_spec(path).profiles]


CASES = _cases()


def golden_path(name: str, profile: str) -> Path:
    return GOLDEN / f"{name}-{profile}.Dockerfile"


def test_there_are_examples_and_one_uses_every_install_method():
    from generator.methods import REGISTRY

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
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
        if name != "default":  # the examples' outputs live beside them (the repo root's: `sandbox generate`)
            (SPECS[name].parent / spec.profiles[profile].output).write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden for {name}/{profile}: run pytest --update-goldens"
    assert text == golden.read_text(encoding="utf-8"), f"{golden.name} differs: review, then --update-goldens"


def test_no_stale_golden_files(update_goldens):
    expected = {golden_path(name, profile).name for name, profile in CASES}
    if update_goldens:  # a profile or example that no longer exists
        for stale in GOLDEN.glob("*.Dockerfile"):
            if stale.name not in expected:
                stale.unlink()
    assert {p.name for p in GOLDEN.glob("*.Dockerfile")} == expected


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
def test_every_golden_and_so_every_committed_dockerfile_lints_clean(name, profile):
    # the committed output of (name, profile) is the same text: test_committed_outputs_are_up_to_date
    # proves it equals the render, test_render_matches_golden that the golden does
    golden = golden_path(name, profile)
    assert golden.exists(), f"{golden} missing: run pytest --update-goldens"
    findings = lint(golden.read_text(encoding="utf-8"), str(golden.relative_to(ROOT)))
    assert [str(f) for f in findings] == []
