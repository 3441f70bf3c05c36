"""No value of a spec reaches a program's argument list where the program reads options:
every constrained field whose value becomes an argument (a package, a crate, an image, a
Go path, the server's host...) refuses a value starting with '-' at load time. The only
patterns that admit a leading '-' are the few whose values are meant as options or are
not arguments at all (listed below, by what the schema says of them)."""

from __future__ import annotations

import re
from typing import Any

try:  # the parser behind `re`: re._parser since 3.11, sre_parse before
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse  # type: ignore[no-redef]

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from generator.errors import SpecError
from generator.spec import Spec
from tests.integration.examples import examples
from tests.test_property_strings import SPEC, _render, replaced

SETTINGS = settings(max_examples=examples(150), derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))

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


def _may_start_with(items: Any, char: str) -> tuple[bool, bool]:
    """Of a parsed regex (sre_parse's items): whether a string it matches can start with
    ``char``, and whether it matches the empty string. Over-approximates (a `$` inside a pattern
    counts as matching nothing), so a True can be wrong, a False cannot; knows the constructs
    the schema's patterns use and fails on any other, so a new kind of pattern is looked at."""
    for op, arg in items:
        name = str(op)
        if name == "AT":  # ^, $: they match no character
            continue
        if name in ("LITERAL", "NOT_LITERAL"):
            starts, empty = (chr(arg) == char) == (name == "LITERAL"), False
        elif name == "IN":
            starts, empty = _in_set(arg, char), False
        elif name == "SUBPATTERN":
            assert arg[1] == arg[2] == 0, f"flags inside a pattern: {arg}"
            starts, empty = _may_start_with(arg[3], char)
        elif name == "BRANCH":
            alternatives = [_may_start_with(branch, char) for branch in arg[1]]
            starts, empty = any(s for s, _ in alternatives), any(e for _, e in alternatives)
        elif name in ("MAX_REPEAT", "MIN_REPEAT"):
            low, high, body = arg
            starts, body_empty = _may_start_with(body, char)
            starts, empty = starts and high > 0, low == 0 or body_empty
        else:
            raise AssertionError(f"a regex construct this check does not know: {name} {arg}")
        if starts:
            return True, False
        if not empty:
            return False, False
    return False, True


def _in_set(items: Any, char: str) -> bool:
    """Whether the character set ``[...]`` (sre_parse's IN items) holds ``char``."""
    negated, found = False, False
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            negated = True
        elif name == "LITERAL":
            found = found or chr(arg) == char
        elif name == "RANGE":
            found = found or arg[0] <= ord(char) <= arg[1]
        else:
            raise AssertionError(f"a character set item this check does not know: {name} {arg}")
    return found != negated


def _admits_a_leading_dash(pattern: str) -> bool:
    return _may_start_with(sre_parse.parse(pattern), "-")[0]


@pytest.mark.parametrize("pattern", ARGUMENT_PATTERNS)
def test_no_argument_pattern_matches_any_string_that_starts_with_a_dash(pattern: str) -> None:
    # every string at once: what a match can start with, read from the pattern itself
    assert not _admits_a_leading_dash(pattern), f"{PATTERNS[pattern]!r} admits a value starting with '-'"


def test_the_leading_dash_analysis_sees_a_dash_wherever_a_pattern_admits_one():
    """The oracle itself: the option patterns admit a leading dash and it says so; and it follows
    a dash through optional items, repeats, groups and alternatives (not only the first item)."""
    option_patterns = [p for p, description in PATTERNS.items() if description in OPTION_WORDS]
    assert len(option_patterns) == len(OPTION_WORDS)
    for pattern in option_patterns:
        assert re.fullmatch(pattern, "-x") and _admits_a_leading_dash(pattern), pattern
    admits = ["^(?:a?-)$", "^(?:(a|b)*[x-z-])$", "^(?:(a{0,3}|-b))$", "^(?:[^a-z])$", "^(?:a*(b?)-)$", "^(?:[+-.])$"]
    refuses = ["^(?:a-*)$", "^(?:[a-z_.+]+)$", "^(?:(a|b)-)$", "^(?:[^-])$", "^(?:-{0}a)$", "^(?:[^-]-)$"]
    assert [p for p in admits if not _admits_a_leading_dash(p)] == []
    assert [p for p in refuses if _admits_a_leading_dash(p)] == []


#: the exact test above covers every string; this samples real matches of each pattern (so a
#: mistake of that analysis would still show) with 25 examples each: drawing long matches of
#: the path and image patterns costs about 40 ms an example, 150 each cost 34 s of the suite
@pytest.mark.parametrize("pattern", ARGUMENT_PATTERNS)
@settings(SETTINGS, max_examples=examples(25))
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


#: 40 words per field, not 150: what refuses them is the field's pattern, which the exact test
#: above holds to no leading '-' for every string; this checks each field is bound to such a
#: pattern (or a check of its own), through the loader's validation (2,700 validations were 12 s)
@pytest.mark.parametrize("path", ARGUMENT_FIELDS, ids=lambda path: ".".join(map(str, path)))
@settings(SETTINGS, max_examples=examples(40))
@given(word=st.from_regex(r"-{1,2}[A-Za-z0-9][A-Za-z0-9._=/:-]{0,20}", fullmatch=True))
def test_an_argument_field_refuses_a_value_spelled_as_an_option(path: tuple, word: str) -> None:
    with pytest.raises(SpecError):
        _render(replaced(SPEC, path, word))
