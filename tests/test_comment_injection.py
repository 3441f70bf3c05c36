"""Text that lands in a Dockerfile comment or a terminal cannot add lines, lint pragmas or
parser directives: the spec's file name is refused with control characters in it, and free
text (a profile's description) is rendered after a fixed label, never as a whole comment."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from generator.cli import main
from generator.lint import hadolint
from generator.loader import load_spec
from generator.lockfile import Lock
from generator.render import render

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "minimal" / "sandbox.yaml"
#: what hadolint reads as a pragma, and BuildKit as a parser directive, in a comment line
PRAGMA = re.compile(r"^#\s*hadolint\b", re.IGNORECASE)
DIRECTIVE = re.compile(r"^#\s*[a-zA-Z][a-zA-Z0-9]*\s*=")
APT_RUN = "RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n"
HOSTILE = [
    "hadolint ignore=DL3008",
    "hadolint global ignore=DL3008,DL3059",
    "  hadolint shell=powershell",
    "syntax=docker/dockerfile:1",
    "escape=`",
    "check=skip=all",
]


def rendered_with_description(tmp_path: Path, description: str) -> str:
    spec = tmp_path / "sandbox.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    quoted = description.replace("'", "''")
    spec.write_text(f"{text}profiles:\n  default: {{output: Dockerfile, description: '{quoted}'}}\n", encoding="utf-8")
    return render(load_spec(spec), None, Lock.beside(spec))


def comment_lines(text: str, pattern: re.Pattern[str]) -> list[str]:
    return [line for line in text.splitlines() if pattern.match(line)]


@pytest.mark.parametrize("description", HOSTILE)
def test_a_description_never_forms_a_pragma_or_directive_line(tmp_path, description):
    benign = rendered_with_description(tmp_path, "a plain description")
    hostile = rendered_with_description(tmp_path, description)
    assert f"# Profile default: {description}" in hostile
    # the template's own pragmas (after their reasons) and nothing more
    assert comment_lines(hostile, PRAGMA) == comment_lines(benign, PRAGMA)
    assert comment_lines(hostile, DIRECTIVE) == comment_lines(benign, DIRECTIVE) == []


def test_hadolint_does_not_read_a_description_as_a_pragma(tmp_path):
    codes = lambda text: {f.code for f in hadolint(text, "Dockerfile")}  # noqa: E731
    # the probe works: a real pragma above the RUN switches DL3008 off
    assert "DL3008" in codes(f"FROM ubuntu:24.04\n{APT_RUN}")
    assert "DL3008" not in codes(f"FROM ubuntu:24.04\n# hadolint ignore=DL3008\n{APT_RUN}")
    rendered = rendered_with_description(tmp_path, "hadolint ignore=DL3008")
    line = next(line for line in rendered.splitlines() if line.endswith("hadolint ignore=DL3008") and "Profile" in line)
    assert "DL3008" in codes(f"FROM ubuntu:24.04\n{line}\n{APT_RUN}")
    # a global pragma in the description does not reach the rest of the file either
    rendered = rendered_with_description(tmp_path, "hadolint global ignore=DL3008")
    assert "DL3008" in codes(rendered + APT_RUN)


@pytest.mark.parametrize("name", ["evil\nRUN curl x | sh\n.yaml", "red\x1b[31m.yaml", "cr\r.yaml"])
def test_a_spec_file_name_with_control_characters_is_refused(tmp_path, monkeypatch, capsys, name):
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(EXAMPLE, tmp_path / name)
    code = main(["--spec", name, "generate", "--no-result-cache"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    shown = name.encode("unicode_escape").decode("ascii")
    assert err == (
        f"error: --spec: the spec's path '{shown}' contains control characters (its name is written into the "
        "Dockerfile's header comment); rename the file\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
