"""Values that used to pass validation and then misbehaved: moving base tags, stage names
that collide, ~name paths, backslashes that hadolint cannot read."""

from __future__ import annotations

import pytest

from generator.fields import MOVING_NAMES, moving_tag_word
from generator.lint import lint
from generator.lockfile import Lock
from generator.render import render
from tests.integration.small_specs import STAGE_BASE, load, problems, rejected, spec_data, tool_data


@pytest.mark.parametrize("tag", sorted(MOVING_NAMES) + ["LTS", "lts-slim", "stable_20", "22-edge"])
def test_a_moving_base_tag_is_refused(tag):
    data = spec_data(base={"image": "ubuntu", "tag": tag})
    problem = rejected(data, "base.tag", "moves")
    assert problem.message.startswith(f"the base image tag '{tag}' moves")


@pytest.mark.parametrize("tag", ["24.04", "noble-20240801", "1.94.1-bookworm", "22.11.0-slim", "v3"])
def test_a_release_tag_is_not_taken_for_a_moving_one(tag):
    assert moving_tag_word(tag) is None
    assert load(spec_data(base={"image": "ubuntu", "tag": tag})).base.tag == tag


@pytest.mark.parametrize("image", ["rust:stable", "rust:nightly-bookworm", "rust:latest@sha256:" + "a" * 64])
def test_a_moving_builder_tag_is_refused(image):
    found = problems(spec_data(builders={"cargo": image}))
    assert [(p.field, p.message.split(";")[0]) for p in found] == [
        ("builders.cargo", f"the '{image.split('@')[0].split(':')[1]}' tag moves" + ("" if "-" not in image else " (nightly)"))
    ]


@pytest.mark.parametrize("other", ["a_b", "a-b"])
def test_tool_names_that_make_the_same_stage_name_are_refused(other):
    first = tool_data("release", name="a.b")
    second = tool_data("release", name=other)
    problem = rejected(spec_data(first, second, base=STAGE_BASE), "tools[2].name", "build stage name")
    assert problem.message == (f"tool name '{other}' gives the same build stage name 'release-a-b' as tools[1] ('a.b'); rename one")


def test_the_same_name_under_different_methods_is_two_stages():
    spec = load(spec_data(tool_data("release", name="x"), tool_data("npm", name="x-npm"), base=STAGE_BASE))
    assert len({t.stage_name for t in spec.tools}) == 3


@pytest.mark.parametrize("path", ["~root", "~x", "~x/bin", "~~/bin"])
def test_tilde_name_is_not_a_home_path(path):
    rejected(spec_data(path=[path]), "path[0]", "not ~name")
    rejected(spec_data(tool_data("git", dest=path), base=STAGE_BASE), "tools[1].dest", "not ~name")


def test_tilde_and_tilde_slash_still_expand_to_the_users_home():
    spec = load(spec_data(path=["~", "~/.local/bin"]))
    text = render(spec, None, Lock())
    assert 'ENV PATH="/home/opencode\\\n:/home/opencode/.local/bin\\\n:' in text


@pytest.mark.parametrize("value", ["x\\", "x\\\\", 'say \\"hi\\"', "\\"])
def test_a_backslash_hadolint_cannot_read_is_refused_in_labels_and_env(value):
    rejected(spec_data(env={"A": value}), "env.A", "backslash")
    data = spec_data()
    data["image"]["labels"]["vendor"] = value
    rejected(data, "image.labels.vendor", "backslash")


@pytest.mark.parametrize("value", ["C:\\Users\\x", "a\\b c", "\\x", "x\\ y", 'quote " alone', "$HOME\\n"])
def test_other_backslashes_render_and_lint_clean(value):
    data = spec_data(env={"A": value})
    data["image"]["labels"]["vendor"] = value
    text = render(load(data), None, Lock())
    assert lint(text, "Dockerfile") == []
