"""The CLI's vocabulary, held for every command of `sandbox` (docs/spec.md, "The vocabulary"):
an option name means one thing, with one metavar and one help text, in every command that
takes it; --profile defaults one way for the commands that act on one image and another for
the commands over the generated files; the result cache and the build cache have different
names; every report prints in the same --format values; the top-level help gives each command's
purpose on one line; a missing spec is "not found"; doctor says its verdict once, last.
Spellings that changed keep working as hidden aliases, each listed in DEPRECATED_ALIASES.

The commands are read off the click group itself, so a command or option added later is held
to the same rules without this file naming it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import click
import pytest

from generator.cli import cli
from generator.commands import params
from generator.commands.docker import pull_names
from generator.errors import UsageError
from tests.integration.cli import sandbox_in_process

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "minimal" / "sandbox.yaml"


def _commands() -> dict[str, click.Command]:
    ctx = click.Context(cli, info_name="sandbox")
    found = {name: cli.get_command(ctx, name) for name in cli.list_commands(ctx)}
    return {name: command for name, command in found.items() if command is not None}


COMMANDS = _commands()
CONTEXTS = {name: click.Context(command, info_name=name) for name, command in COMMANDS.items()}


def _names(option: click.Option) -> list[str]:
    return [name for name in (*option.opts, *option.secondary_opts) if name.startswith("--")]


def _options(*, hidden: bool) -> list[tuple[str, str, click.Option]]:
    """(command, long name, option) of every option but --help, visible or hidden ones."""
    return [
        (command_name, name, param)
        for command_name, command in COMMANDS.items()
        for param in command.params
        if isinstance(param, click.Option) and param.hidden == hidden
        for name in _names(param)
        if name != "--help"
    ]


VISIBLE = _options(hidden=False)
HIDDEN = _options(hidden=True)


def _by_name() -> dict[str, list[tuple[str, click.Option]]]:
    grouped: dict[str, list[tuple[str, click.Option]]] = {}
    for command_name, name, option in VISIBLE:
        grouped.setdefault(name, []).append((command_name, option))
    return grouped


BY_NAME = _by_name()


def _help(command_name: str, option: click.Option) -> str:
    """The help text, with the command's own name (`sandbox test ...`) made generic."""
    return (option.help or "").replace(f"sandbox {command_name} ", "sandbox COMMAND ")


def _arguments(name: str) -> list[str]:
    """What the command needs besides options (test: the IMAGE; attest and verify: IMAGE@DIGEST)."""
    pinned = ["local/x@sha256:" + "0" * 64]
    return {"test": ["local/x:1"], "attest": pinned, "verify": [*pinned, "--key", __file__]}.get(name, [])


def _with(name: str) -> set[str]:
    return {command_name for command_name, _ in BY_NAME.get(name, [])}


#: names whose help differs between commands, and why; everything else is word for word
HELP_VARIES = {
    "--profile": "two kinds, one text each: test_profile_has_two_kinds_each_with_its_default",
    "--tag": "pull adds how it reads TAG alone: test_tag_is_an_image_reference_everywhere",
    "--output": "schema adds where FILE may be: test_output_is_a_file_written_instead_of_printed",
    "--platform": "what the platform is for: the build's target (build, cost), the variant run (test), the downloads locked (lock)",
    "--timeout": "what is timed: the build (build, cost) or an upstream's answer (lock, outdated, update); seconds in both",
}

#: the commands over the generated files: --profile is repeatable and means every profile by default
FILE_COMMANDS = {"generate", "check", "lint"}
#: the commands that act on one image: --profile is one profile, the spec's first by default
IMAGE_COMMANDS = {"attest", "build", "cost", "list", "sbom", "test"}
#: the commands that print a report (text, JSON or Markdown)
REPORT_COMMANDS = {"audit", "cost", "doctor", "list", "outdated", "test", "verify"}
#: the commands that do not read the spec
NO_SPEC = {"doctor", "schema", "verify"}


def test_the_group_is_what_these_rules_were_written_for():
    # a new command is held to every rule below; this only says the lists above still name real ones
    assert set(COMMANDS) >= FILE_COMMANDS | IMAGE_COMMANDS | REPORT_COMMANDS | NO_SPEC
    assert len(COMMANDS) >= 15


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_an_option_name_has_one_metavar_and_one_kind(name):
    seen = {
        (option.make_metavar(CONTEXTS[command_name]), option.is_flag, type(option.type).__name__) for command_name, option in BY_NAME[name]
    }
    assert len(seen) == 1, f"{name}: {sorted(seen)} in {sorted(_with(name))}"


@pytest.mark.parametrize("name", sorted(set(BY_NAME) - set(HELP_VARIES)))
def test_an_option_name_has_one_help_text(name):
    texts = {_help(command_name, option) for command_name, option in BY_NAME[name]}
    assert len(texts) == 1, f"{name} in {sorted(_with(name))}: {sorted(texts)}"
    assert texts.pop(), f"{name} has no help"


def test_profile_has_two_kinds_each_with_its_default():
    assert _with("--profile") == FILE_COMMANDS | IMAGE_COMMANDS
    for command_name, option in BY_NAME["--profile"]:
        over_files = command_name in FILE_COMMANDS
        expected = (True, params.PROFILES_HELP) if over_files else (False, params.PROFILE_HELP)
        assert (option.multiple, option.help) == expected, command_name
        # not given: nothing chosen, and the command takes the default its help states
        given = COMMANDS[command_name].make_context(command_name, _arguments(command_name)).params
        assert given[option.name or ""] == (() if over_files else None), command_name
    assert "default: every profile" in params.PROFILES_HELP and "default: the spec's first profile" in params.PROFILE_HELP


def test_tag_is_an_image_reference_everywhere():
    assert _with("--tag") == {"build", "cost", "pull"}
    for command_name, option in BY_NAME["--tag"]:
        assert option.metavar == "NAME:TAG" and (option.help or "").startswith(params.TAG_HELP), command_name


def test_output_is_a_file_written_instead_of_printed():
    for command_name, option in BY_NAME["--output"]:
        assert option.metavar == "FILE" and (option.help or "").startswith(params.OUTPUT_HELP), command_name


def test_the_result_cache_and_the_build_cache_have_different_names():
    assert _with("--no-result-cache") == {"generate", "check"}
    assert _with("--no-cache") == {"build", "cost"}
    assert not _with("--no-result-cache") & _with("--no-cache")
    for command_name, name, option in VISIBLE:
        text = (option.help or "").lower()
        if "result cache" in text:
            assert name == "--no-result-cache", (command_name, name)
        if name in {"--no-cache", "--no-result-cache"}:
            assert ("build cache" in text) == (name == "--no-cache"), (command_name, name)
            assert ("result cache" in text) == (name == "--no-result-cache"), (command_name, name)


def test_every_report_prints_in_the_same_formats():
    assert _with("--format") == REPORT_COMMANDS
    for command_name, option in BY_NAME["--format"]:
        assert isinstance(option.type, click.Choice), command_name
        assert (tuple(option.type.choices), option.default, option.help) == (params.FORMATS, "text", params.FORMAT_HELP), command_name
    # one spelling: no report command shows --json or --markdown of its own
    assert not _with("--json") and not _with("--markdown")
    # sbom's choice is a document standard, another axis, under another name
    assert "--standard" in {name for command_name, name, _ in VISIBLE if command_name == "sbom"}


def test_every_hidden_option_is_a_listed_alias_of_a_visible_one():
    hidden = {(command_name, name) for command_name, name, _ in HIDDEN}
    assert hidden == set(params.DEPRECATED_ALIASES)
    for (command_name, name), target in params.DEPRECATED_ALIASES.items():
        (option,) = [o for c, n, o in HIDDEN if (c, n) == (command_name, name)]
        assert (option.help or "").startswith(f"Same as {target}"), (command_name, name)
        assert target.split()[0] in {n for c, n, _ in VISIBLE if c == command_name}, (command_name, target)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_has_a_one_line_purpose(name):
    purpose = COMMANDS[name].short_help or ""
    assert re.fullmatch(r"[A-Z][^\n]*[^.]\.", purpose), f"{name}: {purpose!r} is not one sentence"
    assert "..." not in purpose and len(purpose) <= 60, name


def test_the_top_level_help_lists_every_command_with_its_whole_purpose():
    result = sandbox_in_process("--help", env={"COLUMNS": "80"})
    assert result.returncode == 0
    listed = result.stdout.split("\nCommands:\n", 1)[1].splitlines()
    width = max(map(len, COMMANDS))
    assert listed == [f"  {name:<{width}}  {COMMANDS[name].short_help}" for name in sorted(COMMANDS)]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copyfile(EXAMPLE, tmp_path / "sandbox.yaml")
    return tmp_path


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - NO_SPEC))
def test_a_missing_spec_is_not_found_not_invalid(tmp_path, name):
    result = sandbox_in_process("--spec", "nope.yaml", name, *_arguments(name), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "error: spec not found: nope.yaml (give its path with --spec FILE or $SANDBOX_SPEC)\n"


@pytest.mark.parametrize(("args", "same_as"), [(["--json"], ["--format", "json"]), (["--markdown"], ["--format", "markdown"])])
@pytest.mark.parametrize("name", ["list", "audit"])
def test_json_and_markdown_still_work_as_they_did(project, name, args, same_as):
    old, new = (sandbox_in_process(name, *words, cwd=project) for words in (args, same_as))
    assert (old.returncode, old.stdout, old.stderr) == (new.returncode, new.stdout, new.stderr)
    if "json" in same_as:
        json.loads(new.stdout)
    else:
        assert "\n|---|" in new.stdout


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--json", "--format", "json"], 0),
        (["--format", "text", "--json"], 2),
        (["--json", "--markdown"], 2),
        (["--format", "markdown", "--markdown"], 0),
    ],
)
def test_two_formats_at_once_are_refused(project, args, code):
    result = sandbox_in_process("list", *args, cwd=project)
    assert result.returncode == code, result.stderr
    if code:
        assert "choose one" in result.stderr


def test_no_cache_still_skips_the_result_cache_of_generate_and_check(project, monkeypatch):
    from generator.commands import spec

    enabled = []

    class Recording(spec.ResultCache):
        def __init__(self, *args, **kwargs):
            enabled.append(kwargs.get("enabled", True))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(spec, "ResultCache", Recording)
    for command in ("generate", "check"):
        for words in ((), ("--no-result-cache",), ("--no-cache",)):
            assert sandbox_in_process(command, *words, cwd=project).returncode == 0
    assert enabled == [True, False, False, True, False, False]


def test_sbom_format_still_picks_the_standard(project):
    new = sandbox_in_process("sbom", "--standard", "spdx", cwd=project, env={"SOURCE_DATE_EPOCH": "0"})
    old = sandbox_in_process("sbom", "--format", "spdx", cwd=project, env={"SOURCE_DATE_EPOCH": "0"})
    assert new.returncode == 0 and (old.stdout, old.stderr) == (new.stdout, new.stderr)
    assert "spdxVersion" in json.loads(new.stdout)
    both = sandbox_in_process("sbom", "--standard", "spdx", "--format", "cyclonedx", cwd=project)
    assert both.returncode == 2 and "choose one" in both.stderr


NAME, MIRROR = "example/sandbox", "ghcr.io/example/sandbox"


@pytest.mark.parametrize(
    ("tag", "names", "image_tag"),
    [
        (None, [NAME, MIRROR], "latest"),
        ("1.2", [NAME, MIRROR], "1.2"),
        (f"{NAME}:1.2", [NAME, MIRROR], "1.2"),
        (f"{MIRROR}:1.2", [MIRROR, NAME], "1.2"),
    ],
)
def test_pull_tag_is_name_and_tag_or_tag_alone(tag, names, image_tag):
    assert pull_names(tag, NAME, [MIRROR], "latest") == (names, image_tag)


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("other/image:1.2", "is neither the spec's image.name nor one of its mirrors"),
        (f"{NAME}@sha256:{'0' * 64}", "not a digest"),
        (NAME, "expected NAME:TAG or TAG"),
        ("localhost:5000/x", "expected NAME:TAG or TAG"),
        (f"{NAME}:bad tag", "--tag"),
    ],
)
def test_pull_tag_refuses_what_it_cannot_pull(tag, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        pull_names(tag, NAME, [MIRROR], "latest")


def test_doctor_says_its_verdict_once_and_last(tmp_path):
    missing = str(tmp_path / "no-docker")
    for words in ((), ("--format", "json"), ("--format", "markdown")):
        result = sandbox_in_process("doctor", "--docker-cli", missing, *words)
        assert result.returncode == 1
        assert "cannot work here" not in result.stdout
        assert result.stderr == "error: a build cannot work here; failed check(s): cli\n"


def test_doctor_says_what_a_build_will_use_once_and_last(monkeypatch):
    from generator.docker import doctor

    checks = [doctor.Check("cli", "ok", "docker"), doctor.Check("engine", "ok", "reachable")]
    monkeypatch.setattr(doctor, "diagnose", lambda client: doctor.Report(checks, "docker buildx build"))
    for words in ((), ("--format", "markdown")):
        result = sandbox_in_process("doctor", *words)
        assert result.returncode == 0 and result.stderr == ""
        assert result.stdout.count("a build will use") == 1
        assert result.stdout.splitlines()[-1] == "a build will use: docker buildx build"
    as_json = sandbox_in_process("doctor", "--format", "json")
    assert json.loads(as_json.stdout)["build_path"] == "docker buildx build"
