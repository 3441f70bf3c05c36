"""uv: a Python CLI tool installed with `uv tool install`, as the user."""

from __future__ import annotations

import pytest

from methods.test_npm import _user_run
from tests.integration.small_specs import load, rejected, render_data, spec_data, tool_data


def test_valid_entry_is_accepted():
    tool = load(spec_data(tool_data("uv"))).tools[1]
    assert (tool.name, tool.version, tool.python) == ("ruff", "0.6.1", "3.12")


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"version": "stable"}, "tools[1].version", "moving version"),
        ({"version": ">=0.6"}, "tools[1].version", "exact version"),
        ({"package": "ruff[all]"}, "tools[1].package", "PyPI project name"),
        ({"python": "3.12 --index-url=http://evil"}, "tools[1].python", "exact version"),
        ({"python": 3.12}, "tools[1].python", "quote it"),
    ],
)
def test_invalid_fields_are_rejected_at_their_path(changes, field, says):
    rejected(spec_data(tool_data("uv", **changes)), field, says)


def test_uv_must_be_provided_by_some_tool():
    data = spec_data(tool_data("uv"))
    data["tools"][0]["provides"] = ["zsh", "tini"]
    rejected(data, "tools[1].method", "needs 'uv'")


def test_renders_a_pinned_tool_install_as_the_user():
    run = _user_run(render_data(spec_data(tool_data("uv"))), "uv tool install")
    assert run.value[0].endswith("uv tool install --python 3.12 ruff==0.6.1")
    assert any("target=/home/opencode/.cache/uv" in f and "uid=1000" in f for f in run.flags)


def test_package_differs_from_the_tool_name_and_python_is_optional():
    run = _user_run(render_data(spec_data(tool_data("uv", package="Black-Formatter", drop=("python",)))), "uv tool")
    assert run.value[0].endswith("uv tool install Black-Formatter==0.6.1")
    assert "--python" not in run.value[0]
