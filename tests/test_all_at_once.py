"""Every problem of a spec in one run: structural, field and cross-field together."""

from __future__ import annotations

import pytest

from generator.errors import SpecError
from generator.loader import parse
from tests.integration.small_specs import spec_data, to_yaml, tool_data


def _problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse(text, "s.yaml")
    return [f"{p.field}: {p.message}" for p in caught.value.problems]


def test_structural_field_and_cross_field_problems_come_together():
    data = spec_data(
        tool_data("npm", name="dup"),
        tool_data("npm", name="dup"),
        tool_data("npm", name="bad", version="latest"),
        tool_data("npm", name="odd", profiles=["nowhere"]),
    )
    text = to_yaml(data) + "user: {uid: !!int abc, gid: 0}\n"
    found = _problems(text)
    assert "user.uid: !!int 'abc' is not an integer (YAML 1.2 core schema)" in found  # structural
    assert "user.gid: expected a number greater than or equal to 1; got the number 0" in found  # field
    assert "tools[3].version: a moving version ('latest') is not allowed; pin an exact version" in found
    assert "tools[2].name: duplicate tool name 'dup' (also tools[1])" in found  # cross-field
    assert "tools[4].profiles: unknown profile 'nowhere'; declared: default" in found  # after the dropped tool
    assert len(found) == 5


def test_checks_that_need_a_field_that_failed_are_skipped_not_guessed():
    # the only provider of tini and zsh is invalid: "no enabled tool provides 'tini'" would be
    # a consequence, not a problem of its own
    data = spec_data()
    data["tools"][0]["packages"] = ["zsh", "tini", "Not A Package"]
    found = _problems(to_yaml(data))
    assert len(found) == 1 and found[0].startswith("tools[0].packages[2]: expected an apt package")


def test_an_unknown_top_level_key_skips_the_cross_field_checks():
    data = spec_data()
    data["tool"] = data.pop("tools")  # misspelt: the tools are not there
    found = _problems(to_yaml(data))
    assert len(found) == 1 and found[0].startswith("tool: unknown key 'tool'; did you mean 'tools'?")


def test_a_duplicate_key_is_one_problem_and_the_first_value_is_read():
    text = to_yaml(spec_data()) + "user: {uid: 1001}\nuser: {uid: 0}\n"
    found = _problems(text)
    assert found == [f"user: duplicate key (first defined on line {text.count(chr(10)) - 1})"]


def test_a_merge_key_drops_its_mapping_instead_of_reporting_what_it_lacks():
    text = to_yaml(spec_data()) + "runtime:\n  <<: {port: 8080}\n  host: 0.0.0.0\n"
    assert _problems(text) == ["runtime: merge keys (<<) are not allowed; write the keys out"]


@pytest.mark.parametrize("where", ["top", "tool"])
def test_twenty_thousand_unknown_keys_are_each_reported(where):
    # (that reporting them is linear, not quadratic, is measured in bench/generator_speed.py)
    count = 20_000
    # the keys go last: at the end of the document, at the top level or in the npm tool (the
    # last item of the last key); written out as the emitter writes them (byte for byte the
    # same text as to_yaml of the whole data, without the ~3 s its pure emitter takes for them)
    indent = "  " if where == "tool" else ""
    text = to_yaml(spec_data(tool_data("npm"))) + "".join(f"{indent}k{i}: {i}\n" for i in range(count))
    found = _problems(text)
    assert len(found) == count
    prefix = "tools[1]." if where == "tool" else ""
    assert found[0].startswith(f"{prefix}k0: unknown key 'k0'") and found[-1].startswith(f"{prefix}k19999: unknown key")
