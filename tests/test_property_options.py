"""No value of a spec reaches a program's argument list where the program reads options:
every constrained field whose value becomes an argument (a package, a crate, an image, a
Go path, the server's host...) refuses a value starting with '-' at load time. The only
patterns that admit a leading '-' are the few whose values are meant as options or are
not arguments at all (listed below, by what the schema says of them)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from generator.errors import SpecError
from generator.spec import Spec
from tests.test_property_strings import SPEC, _render, replaced

SETTINGS = settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))

#: descriptions of the patterns whose values may start with '-', and why
OPTION_WORDS = {
    "A command word without shell metacharacters": "a check's or setup's words, runtime.command: options by design",
    "An argument without spaces or shell metacharacters": "an install script's arguments: options by design",
    "A flag": "runtime.bind_args: the server's flags",
    "A value without spaces or shell metacharacters": "a mise env value: the right side of NAME=value, not an argument",
}


def _patterns(node: Any, found: dict[str, str]) -> dict[str, str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            found[node["pattern"]] = node.get("description", "")
        for value in node.values():
            _patterns(value, found)
    elif isinstance(node, list):
        for value in node:
            _patterns(value, found)
    return found


PATTERNS = _patterns(Spec.model_json_schema(mode="validation"), {})
ARGUMENT_PATTERNS = sorted(p for p, description in PATTERNS.items() if description not in OPTION_WORDS)


def test_the_option_words_are_still_patterns_of_the_schema():
    # a renamed description would otherwise silently move a pattern out of the check
    assert set(OPTION_WORDS) <= set(PATTERNS.values())
    assert len(ARGUMENT_PATTERNS) > 20


@pytest.mark.parametrize("pattern", ARGUMENT_PATTERNS)
@SETTINGS
@given(data=st.data())
def test_no_argument_pattern_accepts_a_leading_dash(pattern: str, data: st.DataObject) -> None:
    # strings the pattern accepts, steered to start with '-' where it can
    body = data.draw(st.from_regex(re.compile(pattern), fullmatch=True))
    assert not body.startswith("-"), f"{PATTERNS[pattern]!r} accepts {body!r}"
    for dashed in ("-" + body, "--" + body, "-" + body[1:]):
        assert not re.fullmatch(pattern, dashed), f"{PATTERNS[pattern]!r} accepts {dashed!r}"


def _tool(method: str) -> int:
    return next(i for i, tool in enumerate(SPEC["tools"]) if tool["method"] == method)


#: the fields whose value is an argument of a program the build or the image runs
ARGUMENT_FIELDS = [
    ("runtime", "host"),
    ("tools", _tool("go"), "package"),
    ("tools", _tool("cargo"), "crate"),
    ("tools", _tool("npm"), "package"),
    ("tools", _tool("uv"), "package"),
    ("tools", _tool("uv"), "python"),
    ("tools", _tool("apt"), "packages", 0),
    ("tools", _tool("mise"), "tool"),
    ("tools", _tool("git"), "url"),
    ("tools", _tool("git"), "branch"),
    ("tools", _tool("cargo"), "version"),
    ("image", "name"),
    ("image", "tag"),
    ("base", "image"),
    ("base", "tag"),
    ("base", "packages", 0),
    ("builders", "cargo"),
    ("builders", "go"),
]


@pytest.mark.parametrize("path", ARGUMENT_FIELDS, ids=lambda path: ".".join(map(str, path)))
@SETTINGS
@given(word=st.from_regex(r"-{1,2}[A-Za-z0-9][A-Za-z0-9._=/:-]{0,20}", fullmatch=True))
def test_an_argument_field_refuses_a_value_spelled_as_an_option(path: tuple, word: str) -> None:
    with pytest.raises(SpecError):
        _render(replaced(SPEC, path, word))
