"""The bad-input corpus: every tests/bad_specs/<case>.yaml is run through the real CLI
(in-process: tests/test_in_process_runner.py holds it to what a new process says).

Each case must exit 2, print exactly the lines in <case>.expected (then the summary
line), and leave the directory exactly as it was: no Dockerfile created, none changed,
no temp file left behind. `pytest --update-goldens` rewrites the .expected files (review
the diff before committing: they are the error messages users see).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.integration.cli import sandbox_in_process

CORPUS = Path(__file__).parent / "bad_specs"
CASES = sorted(p.stem for p in CORPUS.glob("*.yaml"))
#: an existing generated file the failed run must not touch
EXISTING = b"# a Dockerfile from an earlier, valid spec\n"


def snapshot(directory: Path) -> dict[str, tuple[bytes, int, int]]:
    return {
        str(p.relative_to(directory)): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode)
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_the_corpus_covers_the_required_cases():
    required = {
        "yaml_syntax_error",
        "duplicate_key",
        "unknown_key_top_level",
        "unknown_key_in_tool",
        "wrong_type",
        "version_as_number",
        "latest_version",
        "duplicate_tool_names",
        "platform_without_asset",
        "control_chars_in_label",
        "metachar_url",
        "metachar_package",
        "metachar_version",
        "anchors_and_aliases",
        "merge_keys",
        "several_problems",
        # YAML read by the 1.2 core schema only, with limits
        "yaml_explicit_tags",
        "yaml11_scalars",
        "yaml_directive_1_1",
        "keys_with_anchors_and_tags",
        "lone_surrogate",
        "too_deep",
        "value_too_long",
        # cross-checks and values that used to pass
        "moving_base_tags",
        "stage_name_collision",
        "home_of_another_user",
        # paths that climb ('..', '.', '//'), and what the user would own of the system
        "paths_that_climb",
        "paths_the_user_would_own",
        "home_of_the_system",
        "release_paths_that_climb",
        "backslash_in_label",
        # structural, field and cross-field problems of one file together
        "all_at_once",
        "top_level_merge_and_complex_keys",
        # a line indented unlike its neighbours: the parser's words, then what they mean
        "indentation_shallower",
        "indentation_deeper",
        # what the runtime and the tools need, with how to provide it
        "init_and_shell_not_installed",
        "unknown_profile_and_dependency",
        # runtime.auth basic with a command whose server the entrypoint cannot recognise
        "auth_basic_server_behind_a_wrapper",
        # every directive but one %YAML 1.2, at its line; empty values where they are written;
        # an unknown key beside its bad value; hints that are valid YAML 1.2
        "yaml_directive_unknown_version",
        "yaml_directive_tag",
        "yaml_directive_reserved",
        "empty_values",
        "unknown_key_with_a_bad_value",
        "leading_zero_hints",
        # values hadolint or shellcheck would refuse (sandbox lint), refused at load time
        "values_that_would_not_lint",
    }
    assert required <= set(CASES)
    assert all((CORPUS / f"{case}.expected").exists() for case in CASES)


@pytest.mark.parametrize("case", CASES)
def test_bad_spec_is_rejected_with_exact_messages_and_writes_nothing(case, tmp_path, update_goldens):
    spec = tmp_path / f"{case}.yaml"
    shutil.copyfile(CORPUS / spec.name, spec)
    # profiles of every case render to Dockerfile or Dockerfile.slim: both exist already
    for name in ("Dockerfile", "Dockerfile.slim"):
        (tmp_path / name).write_bytes(EXISTING)
        os.utime(tmp_path / name, ns=(1_000_000_000, 1_000_000_000))
    before = snapshot(tmp_path)

    result = sandbox_in_process("--spec", spec.name, "generate", cwd=tmp_path, timeout=60)

    lines = result.stderr.splitlines()
    expected_file = CORPUS / f"{case}.expected"
    if update_goldens:
        expected_file.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    expected = expected_file.read_text(encoding="utf-8").splitlines()
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert lines == [*expected, f"error: the spec is invalid ({len(expected)} problem(s)); nothing was written"]
    assert all(line.startswith(f"{spec.name}:") for line in expected)
    assert snapshot(tmp_path) == before


def test_expected_problems_are_sorted_by_position():
    for case in CASES:
        lines = (CORPUS / f"{case}.expected").read_text(encoding="utf-8").splitlines()
        keys = [tuple(int(n) for n in line.split(":")[1:3]) for line in lines]
        assert keys == sorted(keys), case
