"""The publish workflow (.github/workflows/publish.yml): each platform on a runner of its own
architecture, merged by digest under both names the spec gives, attested, signed and verified;
every `sandbox` command line in it is one the CLI accepts, every run block shellcheck-clean,
and no third-party action."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import click
import pytest
from ruamel.yaml import YAML

from generator.cli import cli
from generator.project import Project
from tests.test_shell_scripts import shellcheck_binary

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "publish.yml"
#: the platforms and the runners of their own architecture (GitHub's hosted runner labels)
NATIVE = {"linux/amd64": "ubuntu-24.04", "linux/arm64": "ubuntu-24.04-arm"}


def _workflow() -> dict:
    return YAML(typ="safe").load(WORKFLOW.read_text())


def _steps(job: str) -> list[dict]:
    return _workflow()["jobs"][job]["steps"]


def _runs(job: str) -> str:
    return "\n".join(step.get("run", "") for step in _steps(job))


def test_the_image_names_are_the_specs():
    spec = Project.load(REPO / "sandbox.yaml").spec
    env = _workflow()["env"]
    assert (env["IMAGE"], [env["MIRROR"]]) == (spec.image.name, list(spec.image.mirrors))


def test_each_spec_platform_builds_natively_on_its_own_runner():
    spec = Project.load(REPO / "sandbox.yaml").spec
    job = _workflow()["jobs"]["build"]
    matrix = {entry["platform"]: entry["runner"] for entry in job["strategy"]["matrix"]["include"]}
    assert matrix == {platform: NATIVE[platform] for platform in spec.platforms}
    assert job["runs-on"] == "${{ matrix.runner }}"
    build = _runs("build")
    assert 'sandbox build --platform "$PLATFORM" --push' in build and "--reproducible" not in build


def test_the_merge_is_by_digest_under_both_names_then_attested_signed_and_verified():
    job = _workflow()["jobs"]["merge"]
    assert job["needs"] == "build"
    runs = _runs("merge")
    create = next(line for line in runs.splitlines() if "imagetools create" in line)
    assert '--tag "$IMAGE:$TAG" --tag "$MIRROR:$TAG"' in create and '"${sources[@]}"' in create
    assert 'sources+=("$IMAGE@sha256:' in runs
    order = [
        runs.index(text)
        for text in (
            "imagetools create",
            'sandbox attest "$IMAGE@$DIGEST" --sign-by',
            'sandbox attest "$MIRROR@$DIGEST" --sign-by',
            'sandbox verify "$IMAGE@$DIGEST" --key',
            'sandbox verify "$MIRROR@$DIGEST" --key',
        )
    ]
    assert order == sorted(order)
    # the SBOM attached in the merge is rendered at the moment the builds put in the image's own
    for name in ("build", "merge"):
        assert "SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)" in _runs(name), name


def _sandbox_lines(job: str) -> list[list[str]]:
    """Each `sandbox ...` command of the job's run blocks as words (shell variables stand in as
    placeholders of the right shape)."""
    found = []
    stand_in = {
        "$IMAGE@$DIGEST": "prizz/x@sha256:" + "0" * 64,
        "$MIRROR@$DIGEST": "ghcr.io/prizz/x@sha256:" + "0" * 64,
        "$FINGERPRINT": "A" * 40,
    }
    for line in _runs(job).splitlines():
        line = line.strip()
        if not line.startswith("sandbox "):
            continue
        command = line.split(" | ")[0].split(" >> ")[0]
        for variable, value in stand_in.items():
            command = command.replace(f'"{variable}"', value)
        found.append(shlex.split(command)[1:])
    return found


@pytest.mark.parametrize("job", ["build", "merge"])
def test_every_sandbox_command_line_is_one_the_cli_accepts(job, tmp_path):
    lines = _sandbox_lines(job)
    assert lines, job
    for words in lines:
        ctx = click.Context(cli, info_name="sandbox")
        command = cli.get_command(ctx, words[0])
        assert command is not None, words
        # parsing only: an unknown option or a missing argument raises here
        (tmp_path / "key.asc").write_text("")
        args = [str(tmp_path / "key.asc") if word == "$RUNNER_TEMP/signing-key.asc" else word for word in words[1:]]
        command.make_context(words[0], args)


def test_uses_only_github_actions_of_github_itself():
    used = [step["uses"] for job in _workflow()["jobs"] for step in _steps(job) if "uses" in step]
    assert used and all(re.fullmatch(r"actions/[a-z-]+@v\d+", u) for u in used), used


@pytest.mark.parametrize("job", ["build", "merge"])
def test_every_run_block_is_shellcheck_clean(job, tmp_path):
    shellcheck = shellcheck_binary()
    for index, step in enumerate(_steps(job)):
        if "run" not in step:
            continue
        script = tmp_path / f"step{index}.sh"
        script.write_text("#!/bin/bash\n" + re.sub(r"\$\{\{[^}]*\}\}", "main", step["run"]))
        result = subprocess.run([shellcheck, "-s", "bash", str(script)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{job} step {index}: {result.stdout}"
