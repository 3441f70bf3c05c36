"""Nothing a spec, a file on disk, a lock or an upstream holds reaches the terminal as a
control character or as rich markup: it is shown, never interpreted."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cli import main
from tests.integration.small_specs import spec_data, to_yaml, tool_data

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SANDBOX_NO_CACHE", "1")
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


@pytest.mark.parametrize("note", ["[/] closes nothing", "[bold red]RED[/bold red]", "[link=https://evil.example]x[/link]"])
def test_list_shows_markup_in_notes_as_written(project, capsys, note):
    (project / "sandbox.yaml").write_text(to_yaml(spec_data(tool_data("npm", note=note))), encoding="utf-8")
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert note in " ".join(out.split())  # the cell may wrap; the words are all there, brackets too


def test_list_shows_markup_in_the_spec_path_as_written(project, capsys):
    (project / "[red]x[").mkdir()
    spec = project / "[red]x[" / "sandbox.yaml"
    spec.write_text(to_yaml(spec_data()), encoding="utf-8")
    assert main(["--spec", str(spec), "list"]) == 0
    assert "[red]x[/sandbox.yaml" in capsys.readouterr().out


def test_check_shows_escape_sequences_of_the_file_on_disk_escaped(project, capsys):
    (project / "sandbox.yaml").write_text(to_yaml(spec_data()), encoding="utf-8")
    assert main(["generate"]) == 0
    with (project / "Dockerfile").open("a", encoding="utf-8") as handle:
        handle.write("\x1b[2J\x1b]0;title\x07# forged\rline\n")
    capsys.readouterr()
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    # (a carriage return is a line break to the diff, as to any text reader)
    assert "\n-\\x1b[2J\\x1b]0;title\\x07# forged\n-line\n" in out


@pytest.mark.parametrize("key", ["k\u001b[31m", "a\nerror: forged"])
def test_a_key_with_control_characters_is_reported_escaped(project, capsys, key):
    text = to_yaml(spec_data()) + f'env: {{"{key.encode("unicode_escape").decode()}": x}}\n'
    (project / "sandbox.yaml").write_text(text, encoding="utf-8")
    assert main(["generate"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\nerror: forged" not in err
    assert len(err.splitlines()) == 2  # the problem and the summary: no line forged


def test_upstream_and_lock_lines_are_escaped():
    import click
    from click.testing import CliRunner

    from generator.commands.supply import _say

    @click.command()
    def say() -> None:
        _say("locked   x  https://example.com/\x1b[2J\nFAILED   y: forged")
        _say("--- a\n+++ b\n\tline\x1b\n", keep="\n\t")

    result = CliRunner().invoke(say)
    assert result.output == ("locked   x  https://example.com/\\x1b[2J\\nFAILED   y: forged\n--- a\n+++ b\n\tline\\x1b\n\n")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("evil\u202egpj.exe", "evil\\u202egpj.exe"),
        ("\u2066isolate\u2069", "\\u2066isolate\\u2069"),
        ("zero\u200bwidth\u200d", "zero\\u200bwidth\\u200d"),
        ("\ufeffbom and soft\u00adhyphen", "\\ufeffbom and soft\\xadhyphen"),
    ],
)
def test_bidirectional_and_invisible_characters_are_shown_not_sent(text: str, shown: str) -> None:
    from generator.markdown import cell
    from generator.terminal import escape_controls

    assert escape_controls(text) == shown
    assert cell(text) == shown.replace("\\", "\\\\")
