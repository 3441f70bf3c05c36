"""YAML is read by the YAML 1.2 core schema only, within limits: what it converts, what it
refuses (exit 2 with the place), and that no size or depth of input crashes or stalls."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from generator.errors import SpecError, UsageError
from generator.loader import MAX_SPEC_BYTES, load_spec, parse
from generator.lockfile import MAX_LOCK_BYTES, Lock
from generator.yamltree import MAX_SCALAR, yaml11_reading
from tests.integration.cli import sandbox_in_process
from tests.integration.examples import examples
from tests.integration.small_specs import spec_data, to_yaml, tool_data

SETTINGS = settings(max_examples=examples(150), derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))


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


def test_a_spec_over_the_size_limit_is_refused_before_parsing(tmp_path):
    spec = tmp_path / "sandbox.yaml"
    spec.write_text(to_yaml(spec_data()) + "#" * MAX_SPEC_BYTES + "\n", encoding="utf-8")
    result = sandbox_in_process("--spec", str(spec), "generate")
    assert result.returncode == 2
    assert f"{spec}:1:1: cannot read the spec: it is larger than 1024 KiB" in result.stderr
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


# -- directives, number forms and empty values: exit 2 at the right place, never exit 70 ---


def _problems(text: str) -> list:
    with pytest.raises(SpecError) as caught:
        parse(text, "s.yaml")
    return caught.value.problems


@pytest.mark.parametrize("version", [f"{major}.{minor}" for major in (0, 1, 2) for minor in (0, 1, 3, 9)] + ["01.2", "1.02"])
def test_a_yaml_directive_of_any_other_version_is_refused_at_its_line(version):
    # %YAML 1.0 or 1.3 tripped an assertion inside ruamel (exit 70)
    text = f"# the spec\n%YAML {version}\n---\n" + to_yaml(spec_data())
    [problem] = _problems(text)
    assert (problem.line, problem.column) == (2, 1)
    assert problem.message.startswith(f"%YAML {version}: only YAML 1.2 is read")


@SETTINGS
@given(
    name=st.from_regex(r"[A-Za-z][A-Za-z0-9_.:-]{0,8}", fullmatch=True),
    parameters=st.lists(st.from_regex(r"[!A-Za-z0-9:,./_-]{1,12}", fullmatch=True), max_size=3),
    document=st.sampled_from(["first", "second"]),
)
def test_any_directive_is_refused_or_read_never_a_crash(name, parameters, document):
    """%YAML 1.2 alone is read; every other directive, well-formed or not, is a problem at
    the directive's line (a syntax error inside it may point further along that line)."""
    directive = " ".join(["%" + name, *parameters])
    spec = to_yaml(spec_data())
    if document == "first":
        text, line = f"{directive}\n---\n{spec}", 1
    else:
        text, line = f"{spec}...\n{directive}\n---\n{spec}", spec.count("\n") + 2
    if name == "YAML" and parameters == ["1.2"] and document == "first":
        parse(text, "s.yaml")
        return
    problems = _problems(text)
    assert problems[0].line == line, (directive, str(problems[0]))


@pytest.mark.parametrize("directive", ["%TAG !e! tag:example.com,2000:", "%TAG ! tag:x,1:", "%FOO", "%YAML 1.2\n%YAML 1.2"])
def test_tag_reserved_and_repeated_directives_are_refused(directive):
    problems = _problems(f"{directive}\n---\n" + to_yaml(spec_data()))
    assert problems[0].line == directive.count("\n") + 1


NUMBER_FORMS = ["0o17", "0x1F", "0x", "0o", "0o8", "1_000", ".inf", "-.inf", "+.inf", ".nan", "-.nan", "+.nan", ".NaN",
                "1e3", "1E3", "1e+3", "1e-3", "1e400", "+1", "-1", "+0", "-0", "00", "-012", "+012", "019", "1.", ".5",
                "+.5", "0b101", "1:20", "0x" + "F" * 40, "9" * 400, "!!int 0x1F", "!!float 1", "!!int .inf", "!!int 1.0"]  # fmt: skip
NUMBER_PLACES = ["user: {uid: %s}", "user: {sudo: %s}", "user: {name: %s}", "runtime: {port: %s}", "env: {A: %s}",
                 "env: {%s: x}", "platforms: [%s]", "runtime: {healthcheck: {retries: %s}}", "%s: x"]  # fmt: skip


@pytest.mark.parametrize("place", NUMBER_PLACES)
@pytest.mark.parametrize("number", NUMBER_FORMS)
def test_every_number_form_in_every_place_is_read_or_refused_at_its_place(number, place):
    text = to_yaml(spec_data()) + (place % number) + "\n"
    line = text.count("\n")
    try:
        parse(text, "s.yaml")
    except SpecError as exc:
        assert exc.problems and all(p.line == line for p in exc.problems), [str(p) for p in exc.problems]
        for problem in exc.problems:
            # the decimal a hint suggests is the number YAML 1.2 reads (sign kept), and an
            # octal spelling it suggests is one YAML 1.2 reads as octal
            if decimal := re.search(r"; write ([^ ,(]+)", problem.message):
                assert re.fullmatch(r"-?[0-9]+", decimal[1]) and int(decimal[1]) == int(number), problem.message
            if octal := re.search(r"\(or (\S+) for octal\)", problem.message):
                assert re.fullmatch(r"0o[0-7]+", octal[1]), problem.message


def _block_values(text: str) -> list[tuple[int, int]]:
    """(line, column just after the colon) of every `key: value` line of a block spec."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r"( *(?:- )?[A-Za-z_]+):( .+)$", line)
        if match:
            found.append((number, len(match[1]) + 2))
    return found


@pytest.mark.parametrize("tool", ["npm", "release", "script", "git"])
def test_an_empty_value_anywhere_is_reported_on_its_own_line(tool):
    """Every `key: value` of a spec emptied in turn: a problem with the empty value is on the
    key's line, just after its colon (ruamel placed some at the next key, or past the end of
    the file); an empty value that is allowed (null for an optional field) is no problem."""
    text = to_yaml(spec_data(tool_data(tool)))
    lines = text.splitlines()
    for line, column in _block_values(text):
        emptied = lines[: line - 1] + [lines[line - 1][: column - 1]] + lines[line:]
        try:
            parse("\n".join(emptied) + "\n", "s.yaml")
        except SpecError as exc:
            about_it = [(p.line, p.column) for p in exc.problems if "empty value" in p.message]
            assert about_it in ([], [(line, column)]), (lines[line - 1], [str(p) for p in exc.problems])
            assert all(p.line <= len(lines) for p in exc.problems)
