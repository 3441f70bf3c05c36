"""The templates' filters (generator/filters.py): registered once in the renderer's Jinja
environment under their own names, and the only place words are quoted: the install methods
hand their templates raw values."""

from __future__ import annotations

import ast
import importlib
import json
import shlex
from pathlib import Path

import jinja2
import pytest

from generator.filters import FILTERS, LINE_LIMIT, TESTS, dockerfile_quote, exec_form, fold_word, within_line_limit

render = importlib.import_module("generator.render")  # the module (generator.render is also a function)
METHODS = Path(__file__).resolve().parent.parent / "generator" / "methods"


def test_every_filter_and_test_is_registered_under_its_name():
    environment = render.environment()
    for name, function in FILTERS.items():
        assert environment.filters[name] is function
    for name, function in TESTS.items():
        assert environment.tests[name] is function


@pytest.mark.parametrize("word", ["plain", "two words", "it's", "$HOME", "a;rm -rf /", "*", "", "--flag=x y", "é"])
def test_shell_quote_gives_one_word_the_shell_reads_back(word: str):
    template = render.environment().from_string("echo {{ word | shell_quote }}")
    assert shlex.split(template.render(word=word)) == ["echo", word]


@pytest.mark.parametrize("value", ["$HOME", "${PATH}", "a\\$b", 'say "hi" $(id)', "\\", "x\\\\$y", "plain", ""])
def test_dockerfile_quote_leaves_nothing_for_buildkit_to_expand_or_end_early(value: str):
    quoted = dockerfile_quote(value)
    assert quoted.startswith('"') and quoted.endswith('"')
    inner = quoted[1:-1]
    # read as BuildKit's shell lexer reads a double-quoted word (as bash does): a backslash
    # before \, " or $ stands for that character (the only escapes written here, asserted
    # below); a $ or " without one would expand a variable or end the word
    read, index = [], 0
    while index < len(inner):
        if inner[index] == "\\":
            assert inner[index + 1] in '\\"$', f"an escape BuildKit would keep the backslash of, in {quoted}"
            read.append(inner[index + 1])
            index += 2
        else:
            assert inner[index] not in '$"', f"{inner[index]!r} left bare at {index} in {quoted}"
            read.append(inner[index])
            index += 1
    assert "".join(read) == value


def test_exec_form_is_json_a_dockerfile_keeps_as_written():
    words = ["a<b", "c&d", "it's", 'say "hi"']
    text = render.environment().from_string("CMD {{ words | exec_form }}").render(words=words)
    assert text == 'CMD ["a<b", "c&d", "it\'s", "say \\"hi\\""]'
    assert json.loads(text.removeprefix("CMD ")) == words
    # what Jinja's own tojson would have written: HTML escapes the Dockerfile would keep
    assert "\\u003c" in jinja2.Environment().from_string("{{ words | tojson }}").render(words=words)
    assert exec_form(("tini", "--")) == '["tini", "--"]'


def test_within_line_limit_is_the_line_length_rule():
    assert within_line_limit("x" * LINE_LIMIT)
    assert not within_line_limit("x" * (LINE_LIMIT + 1))


@pytest.mark.parametrize("column", [0, 9, 40])
def test_fold_word_folds_only_a_word_that_would_pass_the_line_limit(column: int):
    text = " ".join(["word"] * 60)
    fits = '"' + text[: LINE_LIMIT - column - 2].rstrip() + '"'
    fits = fits[:-1] + "x" * (LINE_LIMIT - column - len(fits)) + '"'  # ends exactly at the limit
    assert column + len(fits) == LINE_LIMIT
    assert fold_word(fits, column) == fits
    for extra in range(1, 200):  # every length past the limit, up to nearly three lines
        longer = '"' + text[: LINE_LIMIT - column - 2 + extra] + '"'
        folded = fold_word(longer, column)
        assert folded != longer and folded.replace("\\\n", "") == longer
        lines = folded.split("\n")
        assert column + len(lines[0]) <= LINE_LIMIT and all(len(line) <= LINE_LIMIT for line in lines[1:]), extra


def _imports(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            found.add(node.module or "")
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


#: what a method would import to quote a word itself
QUOTING = {"shlex", "generator.filters"}


@pytest.mark.parametrize("path", sorted(METHODS.glob("*.py")), ids=lambda p: p.name)
def test_the_methods_quote_nothing_themselves(path: Path):
    # their templates quote (| shell_quote): a method that quoted too would quote twice
    assert not _imports(path.read_text(encoding="utf-8")) & QUOTING, path.name


@pytest.mark.parametrize("source", ["from generator.filters import shell_quote", "import shlex", "from shlex import quote"])
def test_the_scan_finds_a_method_that_quotes(source: str):
    assert _imports(source) & QUOTING
