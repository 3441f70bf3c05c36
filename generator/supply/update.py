"""Change version values in sandbox.yaml and nothing else.

The file is read with ruamel.yaml's round-trip loader, which keeps every scalar's position
and quote style. Each new value is then written over the old scalar in the original text,
in the same quote style: comments, key order, blank lines, flow/block style and every other
byte stay as they were. (Dumping the round-trip tree would also keep comments, but its
emitter rewrites some flow collections, e.g. ``[{name: x}]`` becomes ``[name: x]``.)
The result is validated as a spec before anyone writes it.
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Mapping
from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from generator.errors import UsageError
from generator.loader import parse
from generator.spec import Spec

#: the base image's tag is addressed by this name, like a tool
BASE = "base"


@dataclass(frozen=True)
class Edit:
    """One scalar to replace: 0-based line and column of its first character."""

    name: str
    field: str
    line: int
    column: int
    old: str
    new: str
    quote: str


def _quote_of(value: object) -> str:
    if isinstance(value, DoubleQuotedScalarString):
        return '"'
    if isinstance(value, SingleQuotedScalarString):
        return "'"
    return ""


def _reads_as_string(text: str) -> bool:
    return isinstance(YAML(typ="safe").load(io.StringIO(f"v: {text}\n"))["v"], str)


def _edits(document: object, filename: str, changes: Mapping[str, str]) -> list[Edit]:
    if not isinstance(document, CommentedMap):
        raise UsageError(f"{filename}: expected a mapping at the top")
    targets: list[tuple[str, CommentedMap, str]] = []
    base = document.get("base")
    if BASE in changes and isinstance(base, CommentedMap) and "tag" in base:
        targets.append((BASE, base, "tag"))
    tools = document.get("tools")
    for item in tools if isinstance(tools, CommentedSeq) else []:
        if isinstance(item, CommentedMap) and item.get("name") in changes and "version" in item:
            targets.append((str(item["name"]), item, "version"))
    missing = sorted(set(changes) - {name for name, _, _ in targets})
    if missing:
        raise UsageError(f"{filename}: no version value to change for {', '.join(missing)}")
    edits = []
    for name, mapping, field in targets:
        line, column = mapping.lc.value(field)
        old = mapping[field]
        quote = _quote_of(old)
        new = changes[name]
        if not quote and not _reads_as_string(new):
            # a plain 1.20 would read as a number: quote it like the loader asks people to
            quote = '"'
        edits.append(Edit(name, field, line, column, str(old), new, quote))
    return edits


def bump(text: str, filename: str, changes: Mapping[str, str]) -> str:
    """``text`` with the version of each named tool (or ``base``'s tag) set to the new value."""
    if not changes:
        return text
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    edits = _edits(yaml.load(text), filename, changes)
    lines = text.splitlines(keepends=True)
    # right to left, so earlier columns on the same line stay valid
    for edit in sorted(edits, key=lambda e: (e.line, e.column), reverse=True):
        line = lines[edit.line]
        old_quote = _quote_of_token(line, edit.column)
        token = f"{old_quote}{edit.old}{old_quote}"
        if line[edit.column : edit.column + len(token)] != token:
            raise UsageError(
                f"{filename}:{edit.line + 1}:{edit.column + 1}: {edit.name}: cannot find the value {edit.old!r} "
                "written on one line (multi-line or escaped scalars are not edited)"
            )
        new_token = f"{edit.quote}{edit.new}{edit.quote}"
        lines[edit.line] = line[: edit.column] + new_token + line[edit.column + len(token) :]
    return "".join(lines)


def _quote_of_token(line: str, column: int) -> str:
    return line[column] if column < len(line) and line[column] in "\"'" else ""


def apply(text: str, filename: str, changes: Mapping[str, str]) -> tuple[str, Spec]:
    """The bumped text and the spec it validates to (SpecError names file:line:col if not)."""
    new_text = bump(text, filename, changes)
    return new_text, parse(new_text, filename)


def diff(old: str, new: str, filename: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=f"{filename} (now)", tofile=f"{filename} (updated)"
        )
    )
