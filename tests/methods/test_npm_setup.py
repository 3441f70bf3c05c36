"""npm `setup`: a post-install command, validated as words, run after the install as the user."""

from __future__ import annotations

import os
import subprocess

from tests.integration.small_specs import load, rejected, render_data, spec_data, tool_data


def _npm_run(rendered, package: str):
    (run,) = [c for c in rendered.stages()["sandbox"] if c.cmd == "RUN" and package in c.value[0]]
    return run.value[0]


def test_setup_defaults_to_nothing():
    script = _npm_run(render_data(spec_data(tool_data("npm"))), "prettier@3.3.3")
    assert "&&" not in script


def test_setup_word_with_shell_metacharacters_is_rejected():
    tool = tool_data("npm", setup=["gsd", "--global;id"])
    rejected(spec_data(tool), "tools[1].setup[1]", "command word")


def test_setup_must_be_a_list_of_words():
    problem = rejected(spec_data(tool_data("npm", setup="gsd --global")), "tools[1].setup")
    assert "list" in problem.message


def test_setup_runs_after_the_install_with_its_arguments(tmp_path):
    tool = tool_data("npm", name="gsd", package="get-shit-done-cc", version="1.42.3", setup=["get-shit-done-cc", "--opencode", "--global"])
    assert load(spec_data(tool)).tools[1].setup == ["get-shit-done-cc", "--opencode", "--global"]
    script = _npm_run(render_data(spec_data(tool)), "get-shit-done-cc@1.42.3")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    for command in ("npm", "get-shit-done-cc"):
        fake = bin_dir / command
        fake.write_text(f'#!/bin/sh\necho "{command} $*" >> "{log}"\n')
        fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(["bash", "-o", "pipefail", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    npm_call, setup_call = log.read_text().splitlines()
    assert npm_call.startswith("npm install --global") and npm_call.endswith("get-shit-done-cc@1.42.3")
    assert setup_call == "get-shit-done-cc --opencode --global"


def test_failed_install_skips_setup(tmp_path):
    tool = tool_data("npm", setup=["prettier-setup"])
    script = _npm_run(render_data(spec_data(tool)), "prettier@3.3.3")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "prettier-setup").write_text(f'#!/bin/sh\ntouch "{tmp_path}/ran"\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(["bash", "-o", "pipefail", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert not (tmp_path / "ran").exists()
