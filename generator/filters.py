"""How the templates write a value: as a shell word, a Dockerfile word, a comment, an exec
form. Each is registered once as a Jinja filter (or test) under the name it has here, so a
template shows where a value is quoted: ``{{ path | shell_quote }}``.

This module imports nothing of the generator: the renderer registers these, and tests and
methods may use them without pulling in the renderer.
"""

from __future__ import annotations

import json
import shlex
import textwrap
from collections.abc import Callable
from typing import Any

#: the longest line a generated Dockerfile should have (tests/test_line_length.py)
LINE_LIMIT = 120
#: comments wrap earlier, as the templates' own comments do
COMMENT_WIDTH = 100


def shell_quote(value: str) -> str:
    """One shell word that the shell reads back as ``value`` (quoted only when it must be).
    A leading ``~/`` is the literal text the spec wrote: it is escaped (``\\~/x``) rather than
    quoted, which reads the same but is not shellcheck's SC2088 ("tilde does not expand in
    quotes"), and a leading ``=`` is quoted; so a value the spec accepts never fails
    `sandbox lint`."""
    if value.startswith("~/"):
        return "\\~" + shlex.quote(value[1:])
    if value.startswith("="):  # NAME==x is SC1097 ("unexpected ==") though the shell reads it
        return "'" + value.replace("'", "'\"'\"'") + "'"
    return shlex.quote(value)


def dockerfile_quote(value: str) -> str:
    """A double-quoted Dockerfile word that comes back byte-identical (no $ expansion)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def exec_form(value: Any) -> str:
    """JSON, as Dockerfile exec forms (CMD, ENTRYPOINT, HEALTHCHECK) and VOLUME take it.
    Jinja's own tojson escapes <, >, & and ' for HTML, which a Dockerfile would keep."""
    return json.dumps(value)


def fold_word(word: str, column: int) -> str:
    """A Dockerfile word (a quoted ENV or LABEL value) that would end past LINE_LIMIT,
    continued on the next lines: a path list one path a line (before each ':'), text
    after a space. A continuation line starts in column 0, because the parser keeps its
    indentation as part of the word; the value stays byte-identical."""
    if column + len(word) <= LINE_LIMIT:
        return word
    # a list of absolute paths (the quote comes first); anything else is text
    separator, before = (":", True) if word[1:2] == "/" and ":/" in word else (" ", False)
    parts = word.split(separator)
    pieces = [parts[0]] if before else [parts[0] + separator]
    for part in parts[1:]:
        pieces.append(separator + part if before else part + separator)
    if not before:
        pieces[-1] = pieces[-1][: -len(separator)]
    lines = [""]
    for piece in pieces:
        width = LINE_LIMIT - (column if len(lines) == 1 else 0) - 2  # room for " \"
        if lines[-1] and (before or len(lines[-1]) + len(piece) > width):
            lines.append("")
        lines[-1] += piece
    return "\\\n".join(lines)


def comment(text: str, prefix: str = "") -> str:
    """``prefix`` + ``text`` as comment lines of at most COMMENT_WIDTH characters."""
    return "\n".join(textwrap.wrap(prefix + text, COMMENT_WIDTH, initial_indent="# ", subsequent_indent="#   ", break_on_hyphens=False))


def within_line_limit(line: str) -> bool:
    """Whether ``line`` fits in LINE_LIMIT characters (a template then keeps it on one line)."""
    return len(line) <= LINE_LIMIT


#: name in the templates -> function
def yaml_string(value: Any) -> str:
    """A YAML scalar that reads back as exactly ``str(value)``: JSON's double-quoted string is
    one (YAML 1.2 is a superset of JSON), with every character that could end or bend it escaped."""
    return json.dumps(str(value), ensure_ascii=True)


FILTERS: dict[str, Callable[..., str]] = {
    "yaml_string": yaml_string,
    "shell_quote": shell_quote,
    "dockerfile_quote": dockerfile_quote,
    "exec_form": exec_form,
    "fold_word": fold_word,
    "comment": comment,
}
TESTS: dict[str, Callable[..., bool]] = {"within_line_limit": within_line_limit}
