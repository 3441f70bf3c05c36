"""What templates/Dockerfile.j2 lays out (generator/dockerfile_data.py): frozen, typed data
read off the spec, with the instructions written by the template."""

from __future__ import annotations

import dataclasses
import importlib
import re

import pytest

from generator.lint import lint
from generator.lockfile import Lock
from tests.integration.small_specs import SAMPLE_TOOLS, STAGE_BASE, load, render_data, spec_data

render = importlib.import_module("generator.render")  # the module (generator.render is also a function)


def test_an_empty_env_leaves_the_env_instruction_out():
    # an ENV without a pair is a Dockerfile syntax error
    rendered = render_data(spec_data(env={}))
    assert "ENV" not in rendered.cmds[-12:]
    assert "\n\n\n" not in rendered.text
    assert lint(rendered.text, "Dockerfile") == []


def test_env_and_labels_are_written_by_the_template_from_raw_values():
    value = 'say "$HOME" \\ there'
    data = spec_data(env={"GREETING": value})
    data["image"]["labels"]["extra"] = {"com.example.note": value}
    rendered = render_data(data)
    env = next(c for c in rendered.instructions if c.cmd == "ENV")
    label = next(c for c in rendered.instructions if c.cmd == "LABEL")
    # quoted once, with ", $ and \\ escaped: BuildKit reads back the value byte for byte
    for word in (env.value[env.value.index("GREETING") + 1], label.value[label.value.index("com.example.note") + 1]):
        assert word.startswith('"') and word.endswith('"')
        assert re.sub(r"\\(.)", r"\1", word[1:-1]) == value


def test_the_data_is_frozen_and_typed():
    spec = load(spec_data(*SAMPLE_TOOLS.values(), base=STAGE_BASE))
    data = render.dockerfile_data(spec, spec.default_profile, Lock())
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.profile = "other"  # type: ignore[misc]
    assert all(isinstance(block, str) for block in data.stages + data.system + data.toolchains + data.user_steps)
    assert data.copies and all(dataclasses.is_dataclass(step) for step in data.copies)
    assert data.runtime.entrypoint[:2] == ("tini", "--")
