"""npm: a global package installed as the user, at an exact version."""

from __future__ import annotations

import pytest

from tests.integration.small_specs import BASE_SPEC, load, rejected, render_data, spec_data, tool_data


def _user_run(rendered, needle: str):
    final = rendered.stages()["sandbox"]
    user_at = next(i for i, c in enumerate(final) if c.cmd == "USER")
    matches = [(i, c) for i, c in enumerate(final) if c.cmd == "RUN" and needle in c.value[0]]
    assert len(matches) == 1, [c.original for _, c in matches]
    index, command = matches[0]
    assert index > user_at, "runs as the user, after USER"
    return command


def test_valid_entry_is_accepted():
    tool = load(spec_data(tool_data("npm"))).tools[1]
    assert tool.package_name == "prettier" and tool.version == "3.3.3"


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"version": "latest"}, "tools[1].version", "moving version"),
        ({"version": "^3.0.0"}, "tools[1].version", "exact version"),
        ({"package": "prettier; id"}, "tools[1].package", "npm package name"),
        ({"package": "@Scope/x"}, "tools[1].package", "npm package name"),
        ({"name": "Prettier"}, "tools[1].name", "lowercase name"),
        ({"registry": "https://r.example"}, "tools[1].registry", "unknown key"),
    ],
)
def test_invalid_fields_are_rejected_at_their_path(changes, field, says):
    rejected(spec_data(tool_data("npm", **changes)), field, says)


def test_missing_version_is_reported():
    rejected(spec_data(tool_data("npm", drop=("version",))), "tools[1].version", "required field is missing")


def test_npm_must_be_provided_by_some_tool():
    data = spec_data(tool_data("npm"))
    data["tools"][0]["provides"] = ["zsh", "tini"]
    rejected(data, "tools[1].method", "needs 'npm'")


def test_renders_an_exact_global_install_as_the_user_with_a_user_cache():
    run = _user_run(render_data(spec_data(tool_data("npm"))), "npm install")
    assert "npm install --global" in run.value[0]
    assert run.value[0].endswith(" prettier@3.3.3")
    (mount,) = [f for f in run.flags if f.startswith("--mount=")]
    assert "type=cache" in mount and "target=/home/opencode/.npm" in mount and "uid=1000" in mount


def test_scoped_package_is_installed_under_its_own_name():
    run = _user_run(render_data(spec_data(tool_data("npm", package="@scope/pkg-x"))), "npm install")
    assert run.value[0].endswith(" @scope/pkg-x@3.3.3")
    assert BASE_SPEC["tools"][0]["name"] == "support"
