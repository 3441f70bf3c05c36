"""The loader's contract beyond the bad-spec corpus: positions, paths, strict types."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import SpecError, UsageError
from generator.loader import load_spec, parse
from tests.integration.small_specs import load, problems, spec_data, to_yaml, tool_data


def test_valid_spec_loads_and_load_spec_records_its_source(tmp_path):
    path = tmp_path / "sandbox.yaml"
    path.write_text(to_yaml(spec_data(tool_data("npm"))), encoding="utf-8")
    spec = load_spec(path)
    assert spec.source == path
    assert [t.name for t in spec.tools] == ["support", "prettier"]
    assert parse(path.read_text(), "x.yaml").source is None


def test_problems_name_the_file_as_given(tmp_path):
    path = tmp_path / "my spec.yaml"
    path.write_text("image: 1\n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert {p.file for p in caught.value.problems} == {str(path)}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yes", "expected true or false; got the string 'yes' (a boolean only in YAML 1.1; YAML 1.2 reads it as text)"),
        (1, "expected true or false; got the number 1"),
        (None, "expected true or false; got an empty value (null)"),
    ],
)
def test_booleans_are_strict(value, message):
    found = problems(spec_data(tool_data("npm", enabled=value)))
    assert [(p.field, p.message) for p in found] == [("tools[1].enabled", message)]


def test_a_problem_with_a_block_mapping_points_at_its_key():
    text = to_yaml(spec_data(tool_data("release", drop=("sha256",), assets={"amd64": "a.tar.gz"})))
    with pytest.raises(SpecError) as caught:
        parse(text, "sandbox.yaml")
    (problem,) = caught.value.problems
    assert problem.field == "tools[1]"  # the release tool: no verification given
    lines = text.splitlines()
    assert lines[problem.line - 1][problem.column - 1 :].startswith("name: rg")


def test_an_alias_is_reported_where_it_is_written_not_at_its_anchor():
    text = "a: &x {k: v}\nb:\n  c: *x\n"
    with pytest.raises(SpecError) as caught:
        parse(text, "s.yaml")
    found = [str(p) for p in caught.value.problems]
    assert "s.yaml:1:4: a: anchors (&x) are not allowed; write each value out" in found
    assert "s.yaml:3:6: b.c: aliases (*x) are not allowed; write the value out" in found
    # reported with every other problem of the file (a and b are unknown keys, image is missing)
    assert "s.yaml:1:1: image: required field is missing" in found


def test_every_problem_is_reported_once_and_in_file_order():
    data = spec_data(tool_data("npm", version="latest"), tool_data("uv", version="latest"))
    data["bogus"] = 1
    found = problems(data)
    assert len(found) == len(set(found)) == 3
    assert [(p.line, p.column) for p in found] == sorted((p.line, p.column) for p in found)


def test_dict_keys_are_checked_and_located_at_the_key():
    data = spec_data(tool_data("mise", env={"bad key": "x"}))
    (problem,) = problems(data)
    assert problem.field == "tools[1].env.bad key"
    assert problem.message.startswith("invalid key: expected an environment variable name")
    line = to_yaml(data).splitlines()[problem.line - 1]
    assert line[problem.column - 1 :].startswith("bad key:")


def test_loaded_spec_equals_the_same_spec_written_differently():
    flow = "image: {name: example/sandbox, labels: {title: t, description: d, url: u, source: s, vendor: v, licenses: MIT}}\n"
    block = (
        "image:\n  name: example/sandbox\n  labels:\n    title: t\n    description: d\n    url: u\n"
        "    source: s\n    vendor: v\n    licenses: MIT\n"
    )
    tail = "base: {image: ubuntu, tag: '24.04'}\ntools:\n  - {name: s, method: apt, packages: [zsh, tini], unpinned_reason: abc}\n"
    assert parse(flow + tail, "a.yaml") == parse(block + tail, "b.yaml")
    assert load(spec_data()) == load(spec_data())


def test_missing_file_is_a_usage_error_not_an_invalid_spec(tmp_path):
    with pytest.raises(UsageError) as caught:
        load_spec(tmp_path / "absent.yaml")
    assert not isinstance(caught.value, SpecError)
    assert str(caught.value) == f"spec not found: {tmp_path / 'absent.yaml'} (give its path with --spec FILE or $SANDBOX_SPEC)"
    assert not Path(tmp_path / "absent.yaml").exists()
