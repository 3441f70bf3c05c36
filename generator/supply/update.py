"""Change version values (and a git tool's commit) in sandbox.yaml and nothing else.

The file is read with ruamel.yaml's round-trip loader, which keeps every scalar's position
and quote style. Each new value is then written over the old scalar in the original text,
in the same quote style: comments, key order, blank lines, flow/block style and every other
byte stay as they were. (Dumping the round-trip tree would also keep comments, but its
emitter rewrites some flow collections, e.g. ``[{name: x}]`` becomes ``[name: x]``.)
A git tool that has no ``commit:`` yet gets one as a new line right after its ``url:``
line, at the same indentation; nothing else moves. The result is validated as a spec
before anyone writes it.
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


#: per tool (or ``base``): spec key -> new value; a bare string is the version (base: the tag)
Changes = Mapping[str, "str | Mapping[str, str]"]

#: keys `update` may add to an entry that lacks them, and the key whose line they follow
_INSERTABLE = {"commit": "url"}


@dataclass(frozen=True)
class Insert:
    """A new ``key: value`` line after line ``after`` (0-based), indented to ``column``."""

    name: str
    after: int
    column: int
    text: str


def _by_field(changes: Changes) -> dict[str, dict[str, str]]:
    return {
        name: dict(value) if isinstance(value, Mapping) else {"tag" if name == BASE else "version": value}
        for name, value in changes.items()
    }


def _scalar(value: str) -> str:
    # a plain 1.20 (or an all-digit commit id) would read as a number: quote it like the loader asks people to
    return value if _reads_as_string(value) else f'"{value}"'


def _edits(document: object, filename: str, changes: Changes) -> tuple[list[Edit], list[Insert]]:
    if not isinstance(document, CommentedMap):
        raise UsageError(f"{filename}: expected a mapping at the top")
    wanted = _by_field(changes)
    targets: list[tuple[str, CommentedMap]] = []
    base = document.get("base")
    if BASE in wanted and isinstance(base, CommentedMap):
        targets.append((BASE, base))
    tools = document.get("tools")
    for item in tools if isinstance(tools, CommentedSeq) else []:
        if isinstance(item, CommentedMap) and item.get("name") in wanted and item.get("name") != BASE:
            targets.append((str(item["name"]), item))
    edits: list[Edit] = []
    inserts: list[Insert] = []
    missing: list[str] = []
    found = set()
    for name, mapping in targets:
        found.add(name)
        for field, new in wanted[name].items():
            if field in mapping:
                line, column = mapping.lc.value(field)
                old = mapping[field]
                quote = _quote_of(old) or ("" if _reads_as_string(new) else '"')
                edits.append(Edit(name, field, line, column, str(old), new, quote))
            elif field in _INSERTABLE and _INSERTABLE[field] in mapping:
                inserts.append(_insert(filename, name, mapping, _INSERTABLE[field], f"{field}: {_scalar(new)}"))
            else:
                missing.append(f"{name} ({field})" if field not in ("version", "tag") else name)
    missing += [name for name in wanted if name not in found]
    if missing:
        raise UsageError(f"{filename}: no version value to change for {', '.join(sorted(missing))}")
    return edits, inserts


def _insert(filename: str, name: str, mapping: CommentedMap, after_key: str, text: str) -> Insert:
    line, column = mapping.lc.key(after_key)
    if mapping.fa.flow_style() or mapping.lc.value(after_key)[0] != line:
        raise UsageError(
            f"{filename}:{line + 1}:{column + 1}: {name}: cannot add {text.split(':', maxsplit=1)[0]!r} here: only a block "
            f"mapping whose {after_key!r} is written on one line gets a new line; add it by hand"
        )
    return Insert(name, line, column, text)


def bump(text: str, filename: str, changes: Changes) -> str:
    """``text`` with the named values changed: by default each tool's version (or ``base``'s
    tag); a mapping names the keys, e.g. ``{"oh-my-zsh": {"commit": sha}}``. A missing
    ``commit`` becomes a new line right after ``url``, at the same indentation."""
    if not changes:
        return text
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    edits, inserts = _edits(yaml.load(text), filename, changes)
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
    # bottom up, so the line numbers of the inserts still to do stay valid
    for insert in sorted(inserts, key=lambda i: i.after, reverse=True):
        line = lines[insert.after]
        ending = line[len(line.rstrip("\r\n")) :]
        if not ending:
            # the url line was the last one, without a newline: give it one
            ending = "\n"
            lines[insert.after] = line + ending
        lines.insert(insert.after + 1, " " * insert.column + insert.text + ending)
    return "".join(lines)


def _quote_of_token(line: str, column: int) -> str:
    return line[column] if column < len(line) and line[column] in "\"'" else ""


def apply(text: str, filename: str, changes: Changes) -> tuple[str, Spec]:
    """The bumped text and the spec it validates to (SpecError names file:line:col if not)."""
    new_text = bump(text, filename, changes)
    return new_text, parse(new_text, filename)


def diff(old: str, new: str, filename: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=f"{filename} (now)", tofile=f"{filename} (updated)"
        )
    )
