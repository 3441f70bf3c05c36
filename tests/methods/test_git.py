"""git: a checkout pinned to a commit, in its own stage, copied into the image."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

import pytest

from tests.integration import small_specs
from tests.integration.small_specs import COMMIT, STAGE_BASE, load, rejected, render_data, tool_data

spec_data = functools.partial(small_specs.spec_data, base=STAGE_BASE)


def test_valid_entry_is_accepted():
    tool = load(spec_data(tool_data("git"))).tools[1]
    assert tool.shown_version() == COMMIT[:12]


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"commit": "main"}, "tools[1].commit", "40 lowercase hex"),
        ({"commit": COMMIT[:12]}, "tools[1].commit", "40 lowercase hex"),
        ({"url": "git@example.com:x.git"}, "tools[1].url", "http(s) URL"),
        ({"url": "https://example.com/x.git;id"}, "tools[1].url", "http(s) URL"),
        ({"dest": "relative/dir"}, "tools[1].dest", "absolute path"),
        ({"dest": "/opt/x y"}, "tools[1].dest", "absolute path"),
        ({"keep_git": "yes"}, "tools[1].keep_git", "true or false"),
    ],
)
def test_invalid_fields_are_rejected_at_their_path(changes, field, says):
    rejected(spec_data(tool_data("git", **changes)), field, says)


def test_renders_a_pinned_checkout_in_its_own_stage():
    rendered = render_data(spec_data(tool_data("git")))
    stages = rendered.stages()
    stage = stages["git-zsh-plugins"]
    assert stage[0].value == ("base", "AS", "git-zsh-plugins")
    (run,) = [c.value[0] for c in stage if c.cmd == "RUN"]
    out = "/out/home/opencode/.zsh/plugins"
    assert f"dest={out}" in run and 'git clone --quiet https://example.com/plugins.git "${dest}"' in run
    assert f"commit={COMMIT}" in run and 'checkout --quiet "${commit}"' in run
    # the build fails unless HEAD really is the pinned commit
    assert 'if [ "$(git -C "${dest}" rev-parse HEAD)" != "${commit}" ]' in run and "exit 1" in run
    assert 'rm -rf "${dest}/.git"' in run
    (copy,) = [c for c in stages["sandbox"] if c.cmd == "COPY" and "--from=git-zsh-plugins" in c.flags]
    assert "--chown=1000:1000" in copy.flags  # under ~: the user owns it
    assert copy.value == (out, "/home/opencode/.zsh/plugins")


def test_absolute_dest_is_root_owned_and_keep_git_keeps_history():
    rendered = render_data(spec_data(tool_data("git", dest="/opt/plugins", keep_git=True)))
    (copy,) = [c for c in rendered.stages()["sandbox"] if c.cmd == "COPY" and "--from=git-zsh-plugins" in c.flags]
    assert not any(f.startswith("--chown") for f in copy.flags)
    assert copy.value == ("/out/opt/plugins", "/opt/plugins")
    assert ".git" not in rendered.runs("git-zsh-plugins")[0].replace("plugins.git", "")


def test_git_must_be_in_the_base_stage_where_the_clone_runs():
    data = spec_data(tool_data("git"))
    data["base"]["packages"] = ["ca-certificates", "curl"]
    # the support tool installs git in the final stage: too late for the checkout stage
    assert "git" in data["tools"][0]["packages"]
    problem = rejected(data, "tools[1].method", "needs 'git'; add it to base.packages")
    assert "runs FROM base" in problem.message


@pytest.mark.parametrize("branch", ["master", "main", "release/1.x", "v2.0_fixes", "feature/a-b.c"])
def test_branch_names_are_accepted_and_do_not_change_the_build(branch):
    tool = load(spec_data(tool_data("git", branch=branch))).tools[1]
    assert tool.branch == branch
    # the build checks out the pinned commit only; the branch is for `sandbox update`
    assert render_data(spec_data(tool_data("git", branch=branch))).text == render_data(spec_data(tool_data("git"))).text


def test_branch_defaults_to_the_repository_default():
    assert load(spec_data(tool_data("git"))).tools[1].branch is None


@pytest.mark.parametrize(
    ("branch", "says"),
    [
        ("-rf", "not starting with '-'"),
        ("a b", "a branch name"),
        ("main;id", "a branch name"),
        ("$(id)", "a branch name"),
        ("a..b", "no '..'"),
        ("a//b", "no empty or '.'-leading part"),
        ("a/", "no empty or '.'-leading part"),
        ("a/.hidden", "no empty or '.'-leading part"),
        ("main.lock", "'.lock'"),
        ("main.", "not ending in '.'"),
        ("", "a branch name"),
        (7, "expected a string"),
    ],
)
def test_invalid_branch_names_are_rejected_at_their_path(branch, says):
    rejected(spec_data(tool_data("git", branch=branch)), "tools[1].branch", says)


def _git(*args: str, cwd: Path) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(cwd), "PATH": os.environ["PATH"]}  # fmt: skip
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.mark.parametrize("keep_git", [False, True])
def test_the_rendered_checkout_runs(tmp_path: Path, keep_git: bool):
    """The stage's RUN with the repository and /out moved under tmp_path: HEAD is the pinned
    commit (not the branch tip), and .git is gone unless keep_git."""
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    _git("init", "--quiet", "--initial-branch=main", cwd=upstream)
    (upstream / "plugin.zsh").write_text("first\n")
    _git("add", "plugin.zsh", cwd=upstream)
    _git("commit", "--quiet", "-m", "first", cwd=upstream)
    pinned = _git("rev-parse", "HEAD", cwd=upstream)
    (upstream / "plugin.zsh").write_text("second\n")
    _git("commit", "--quiet", "-am", "second", cwd=upstream)

    tool = tool_data("git", commit=pinned, keep_git=keep_git)
    (run,) = render_data(spec_data(tool)).runs("git-zsh-plugins")
    script = run.replace("https://example.com/plugins.git", str(upstream)).replace("/out/", f"{tmp_path}/out/")
    subprocess.run(["bash", "-o", "pipefail", "-c", script], check=True, cwd=tmp_path, timeout=60, capture_output=True)
    checkout = tmp_path / "out/home/opencode/.zsh/plugins"
    assert (checkout / "plugin.zsh").read_text() == "first\n"
    assert (checkout / ".git").exists() == keep_git
