"""mise: a language toolchain installed by mise as the user."""

from __future__ import annotations

import pytest

from methods.test_npm import _user_run
from tests.integration.small_specs import load, rejected, render_data, spec_data, tool_data


def test_valid_entry_is_accepted():
    tool = load(spec_data(tool_data("mise"))).tools[1]
    assert tool.env == {"MISE_NODE_COREPACK": "0"}


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"version": "lts"}, "tools[1].version", "moving version"),
        ({"tool": "node; id"}, "tools[1].tool", "mise tool name"),
        ({"env": {"MISE_X": "a b"}}, "tools[1].env.MISE_X", "without spaces"),
        ({"env": {"MISE_X": "$(id)"}}, "tools[1].env.MISE_X", "without spaces"),
        ({"env": {"1BAD": "x"}}, "tools[1].env.1BAD", "environment variable name"),
    ],
)
def test_invalid_fields_are_rejected_at_their_path(changes, field, says):
    rejected(spec_data(tool_data("mise", **changes)), field, says)


def test_mise_must_be_provided_by_some_tool():
    data = spec_data(tool_data("mise"))
    data["tools"][0]["provides"] = ["zsh", "tini"]
    rejected(data, "tools[1].method", "needs 'mise'")


def test_renders_a_global_toolchain_as_the_user_with_install_env():
    run = _user_run(render_data(spec_data(tool_data("mise"))), "mise use")
    assert run.value[0].split() == ["MISE_NODE_COREPACK=0", "mise", "use", "--global", "--yes", "node@22.11.0"]
    assert any("target=/home/opencode/.cache/mise" in f and "uid=1000" in f for f in run.flags)


def test_toolchains_come_before_the_tools_that_need_them():
    rendered = render_data(spec_data(tool_data("npm"), tool_data("mise")))
    runs = rendered.runs("sandbox")
    mise = next(i for i, r in enumerate(runs) if "mise use" in r)
    npm = next(i for i, r in enumerate(runs) if "npm install" in r)
    assert mise < npm  # though npm comes first in the spec
