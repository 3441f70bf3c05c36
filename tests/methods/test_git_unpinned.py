"""git: a disabled tool may wait for its commit; an enabled one may not."""

from __future__ import annotations

from generator.methods.context import RenderContext
from tests.integration.small_specs import load, rejected, render_data, spec_data, tool_data


def test_enabled_checkout_without_commit_is_rejected():
    rejected(spec_data(tool_data("git", drop=("commit",))), "tools[1]", "commit is required")


def test_disabled_checkout_without_commit_is_accepted_and_shown_as_unverified():
    tool = tool_data("git", drop=("commit",), enabled=False, disabled_reason="no commit pinned yet")
    spec = load(spec_data(tool))
    git_tool = spec.tools[1]
    assert git_tool.shown_version() == "unpinned"
    verification = git_tool.verification(RenderContext(spec, spec.default_profile))
    assert verification.kind == "unverified"
    rendered = render_data(spec_data(tool))
    assert "git-zsh-plugins" not in rendered.stages()
    assert "zsh-plugins" not in rendered.text
