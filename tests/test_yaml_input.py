"""YAML is read by the YAML 1.2 core schema only, within limits: what it converts, what it
refuses (exit 2 with the place), and that no size or depth of input crashes or stalls."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from generator.cli import main
from generator.errors import SpecError, UsageError
from generator.loader import MAX_SPEC_BYTES, load_spec, parse
from generator.lockfile import MAX_LOCK_BYTES, Lock
from generator.yamltree import MAX_SCALAR, yaml11_reading
from tests.integration.small_specs import spec_data, to_yaml


def _with_user(line: str) -> str:
    text = to_yaml(spec_data())
    return text + line + "\n"


@pytest.mark.parametrize(
    ("written", "uid"),
    [("0x3e8", 1000), ("0o1750", 1000), ("+1000", 1000), ('!!int "1000"', 1000), ("!!int 0x3E8", 1000)],
)
def test_core_schema_integers_are_converted(written, uid):
    assert parse(_with_user(f"user: {{uid: {written}}}"), "s.yaml").user.uid == uid


@pytest.mark.parametrize("written", ["True", "TRUE", "!!bool true"])
def test_core_schema_booleans_are_converted(written):
    assert parse(_with_user(f"user: {{sudo: {written}}}"), "s.yaml").user.sudo is True


@pytest.mark.parametrize("written", ["! 12", "'12'", '"12"', "!!str 12"])
def test_a_scalar_tagged_or_quoted_as_text_is_text(written):
    spec = parse(_with_user(f"env: {{A: {written}}}"), "s.yaml")
    assert spec.env == {"A": "12"}


@pytest.mark.parametrize(
    ("text", "reading"),
    [("1_000", "a number"), ("0b11", "a number"), ("1:20", "a number"), ("yes", "a boolean"), ("Off", "a boolean"),
     ("12", None), ("1.5", None), ("v1", None), ("abc", None)],
)  # fmt: skip
def test_yaml11_readings_are_named_only_where_the_versions_differ(text, reading):
    assert yaml11_reading(text) == reading


def test_a_scalar_at_the_length_limit_is_accepted_and_one_more_character_is_not():
    ok = parse(_with_user(f"env: {{A: {'x' * MAX_SCALAR}}}"), "s.yaml")
    assert len(ok.env["A"]) == MAX_SCALAR
    with pytest.raises(SpecError) as caught:
        parse(_with_user(f"env: {{A: {'x' * (MAX_SCALAR + 1)}}}"), "s.yaml")
    assert [p.field for p in caught.value.problems] == ["env.A"]
    assert "at most 4096" in caught.value.problems[0].message


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_nesting_a_hundred_thousand_levels_deep_is_refused_not_followed(opening, fails_if_blocked):
    # (following it would exhaust the stack, or run until fails_if_blocked's alarm stops it)
    closing = "]" if opening == "[" else "}"
    text = _with_user("env: " + opening * 100_000 + closing * 100_000)
    with pytest.raises(SpecError) as caught:
        parse(text, "s.yaml")
    (problem,) = caught.value.problems
    assert problem.message == "nested deeper than 32 levels; no valid file is that deep"


def test_a_spec_over_the_size_limit_is_refused_before_parsing(tmp_path, capsys):
    spec = tmp_path / "sandbox.yaml"
    spec.write_text(to_yaml(spec_data()) + "#" * MAX_SPEC_BYTES + "\n", encoding="utf-8")
    assert main(["--spec", str(spec), "generate"]) == 2
    assert f"{spec}:1:1: cannot read the spec: it is larger than 1024 KiB" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sandbox.yaml"]


@pytest.mark.parametrize(
    ("lock", "message"),
    [
        ("artifacts: " + "[" * 50_000 + "]" * 50_000, ":1:43: not a readable lock file (nested deeper than 32 levels"),
        ("artifacts: !!python/object:os.system {}", ":1:12: not a readable lock file (unsupported YAML tag"),
        ("artifacts: {a: &x {}}\nimages: {}", ":1:16: not a readable lock file (anchors and aliases are not allowed)"),
        ('images: {"a\\nb": x}', ":1:10: not a readable lock file (control characters are not allowed)"),
        ('images: {a: "\\ud800"}', ":1:13: not a readable lock file (the lone surrogate escape \\ud800"),
        ("%YAML 1.1\n---\nimages: {}", ":1:1: not a readable lock file (%YAML 1.1: only YAML 1.2 is read"),
    ],
)
def test_a_hostile_lock_is_an_error_with_its_place(tmp_path, lock, message, fails_if_blocked):
    path = tmp_path / "sandbox.lock"
    path.write_text(lock + "\n", encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        Lock.read(path)
    assert str(caught.value).startswith(f"{path}{message}")


def test_a_lock_over_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "sandbox.lock"
    path.write_bytes(b"images: {}\n" + b"#" * MAX_LOCK_BYTES)
    with pytest.raises(UsageError, match="larger than 1024 KiB"):
        Lock.read(path)


def test_the_committed_spec_and_lock_still_load():
    root = Path(__file__).resolve().parent.parent
    spec = load_spec(root / "sandbox.yaml")
    assert spec.tools
    Lock.read(root / "sandbox.lock")


def test_many_long_values_on_one_instruction_stay_under_buildkits_line_limit():
    """PATH takes one entry per physical line: BuildKit's limit is per physical line, so long
    entries cannot add up past it (each is under the per-value limit)."""
    from generator.render import BUILDKIT_MAX_LINE_BYTES, render

    path = [f"/opt/{index:02d}" + "/x" * 2000 for index in range(20)]
    text = render(parse(to_yaml(spec_data(path=path)), "s.yaml"), None, Lock())
    assert max(len(line.encode()) for line in text.split("\n")) < BUILDKIT_MAX_LINE_BYTES
    assert sum(len(entry) for entry in path) > BUILDKIT_MAX_LINE_BYTES


def test_a_line_past_buildkits_limit_is_an_error_not_a_broken_dockerfile():
    """The safety net behind the one-value-per-line layout: should any instruction put values
    on one line again, rendering refuses what BuildKit could not read."""
    render_module = importlib.import_module("generator.render")
    limit = render_module.BUILDKIT_MAX_LINE_BYTES
    with pytest.raises(UsageError) as caught:
        render_module._check_line_lengths("FROM scratch\nENV X=" + "x" * limit + "\n", "default")
    message = str(caught.value)
    assert message.startswith("profile 'default': line 2 ")
    assert f"BuildKit reads at most {limit} bytes per line" in message
