"""YAML text -> a node tree that keeps every position, read by the YAML 1.2 core schema only.

ruamel composes the tree (nothing is constructed, so no tag can run code); this module
decides what each scalar *is*. ruamel's own resolver follows a ``%YAML 1.1`` directive into
YAML 1.1's tables (``yes`` is true, ``012`` is octal, ``1_000`` and ``1:20`` are numbers),
and mixes some of them into 1.2 as well. Here every plain scalar is resolved by the core
schema of YAML 1.2 (section 10.3.2), every directive but one ``%YAML 1.2`` is refused, and a
scalar that cannot be read one way only is marked with a problem instead of being guessed:

- an explicit ``!!int``, ``!!float``, ``!!bool`` or ``!!null`` whose text is not of that kind;
- a decimal with a leading zero (``012``: 12 in YAML 1.2, octal 10 in YAML 1.1);
- a lone surrogate escape (``"\\ud800"``: not a character; UTF-8 cannot encode it);
- a value longer than :data:`MAX_SCALAR` characters.

Nesting deeper than :data:`MAX_DEPTH` stops composing (ruamel's composer recurses; without
a limit a deep file ends in RecursionError).
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer, MaxDepthExceededError
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.parser import Parser
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scanner import Scanner

from generator.errors import Problem
from generator.terminal import has_controls

TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (TAG + name for name in ("str", "int", "float", "bool", "null"))

#: Nesting deeper than this is refused; a spec needs about 6 levels, a lock 4.
MAX_DEPTH = 32
#: The longest scalar (key or value) accepted, in characters. BuildKit reads a Dockerfile
#: with a bufio.Scanner of the default token size and fails on a physical line longer than
#: 65535 bytes ("dockerfile line greater than max allowed size of 65535", moby/buildkit
#: frontend/dockerfile/parser/parser.go, handleScannerError). A value lands on one line;
#: 4096 characters stay under that even at 4 UTF-8 bytes each and doubled by escaping.
MAX_SCALAR = 4096

# YAML 1.2.2, 10.3.2 (core schema): the plain scalars that are not strings
_CORE = (
    (NULL, re.compile(r"null|Null|NULL|~|")),
    (BOOL, re.compile(r"true|True|TRUE|false|False|FALSE")),
    (INT, re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")),
    (FLOAT, re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)")),
)
_PATTERN = dict(_CORE)
#: the same, as one pattern: which group matched names the tag (one match per scalar)
_ANY_CORE = re.compile("|".join(f"(?P<{tag.removeprefix(TAG)}>{pattern.pattern})" for tag, pattern in _CORE))
_KIND = {INT: "an integer", FLOAT: "a number", BOOL: "true or false", NULL: "an empty value (null, ~)"}
#: a decimal integer with a leading zero: YAML 1.1 reads it as octal
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]+")
_SURROGATE = re.compile("[\ud800-\udfff]")

# YAML 1.1 numbers and booleans that YAML 1.2 reads as strings (for hints in messages)
_YAML11_NUMBER = re.compile(
    r"[-+]?(0b[01_]+|0[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?"
    r"|[0-9][0-9_]*(\.[0-9_]*)?([eE][-+][0-9]+)?)"
)
_YAML11_BOOL = re.compile(r"y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF")


def to_value(tag: str, text: str) -> Any:
    """The Python value of a scalar whose tag and text passed :func:`_resolve`."""
    if tag == INT:
        return int(text, 0) if text[:2] in ("0o", "0x") else int(text)
    if tag == FLOAT:
        return float(text.lower().replace(".inf", "inf").replace(".nan", "nan"))
    if tag == BOOL:
        return text.lower() == "true"
    if tag == NULL:
        return None
    return text


def yaml11_reading(text: str) -> str | None:
    """What YAML 1.1 would read a YAML 1.2 string as ("a number", "a boolean"), if not a string."""
    if any(pattern.fullmatch(text) for _tag, pattern in _CORE):
        return None  # YAML 1.2 reads it the same way unless quoted or tagged as text
    if _YAML11_BOOL.fullmatch(text):
        return "a boolean"
    if _YAML11_NUMBER.fullmatch(text) and any(c.isdigit() for c in text):
        return "a number"
    return None


class Scalar(ScalarNode):
    """A scalar node with its core-schema tag, and what makes it unreadable (None if nothing)."""

    def __init__(self, *args: Any, problem: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.problem = problem
        #: the tag as a string: ruamel's Tag object decodes it again on every read
        self.resolved_tag = str(args[0])


class AliasNode(ScalarNode):
    """Stands where an alias (*name) was written; the stock composer would hand back the
    anchored node itself, whose position is the anchor's, not the alias's."""


def _resolve(text: str, style: Any, tag: str | None) -> tuple[str, str | None]:
    """(tag, problem) of a scalar by the YAML 1.2 core schema; tag None means untagged."""
    if not text.isascii() and (surrogate := _SURROGATE.search(text)):
        bad = surrogate[0]
        return STR, f"the lone surrogate escape \\u{ord(bad):04x} is not a character; UTF-8 cannot encode it"
    if len(text) > MAX_SCALAR:
        return STR, (
            f"a value of {len(text)} characters; at most {MAX_SCALAR} are allowed "
            "(a generated Dockerfile line must stay under BuildKit's limit of 65535 bytes)"
        )
    if tag is not None and tag != "!":
        if tag in _KIND and not _PATTERN[tag].fullmatch(text):
            return tag, f"!!{tag.removeprefix(TAG)} {text!r} is not {_KIND[tag]} (YAML 1.2 core schema)"
    elif tag == "!" or style is not None:  # quoted, block, or the non-specific tag "!"
        return STR, None
    else:
        match = _ANY_CORE.fullmatch(text)
        # every alternative of _ANY_CORE is a named group, so a match names its tag
        tag = TAG + match.lastgroup if match and match.lastgroup else STR
    if tag == INT and _LEADING_ZERO.fullmatch(text):
        return tag, f"the number {text} is ambiguous: YAML 1.1 reads a leading 0 as octal, YAML 1.2 as decimal; {_unambiguous(text)}"
    return tag, None


def _unambiguous(text: str) -> str:
    """How to write a decimal with leading zeros so that it reads one way only: each
    spelling suggested is one YAML 1.2 reads as that number (0o takes no sign and no 8 or 9)."""
    digits = text.lstrip("+-").lstrip("0") or "0"
    sign = "-" if text.startswith("-") and digits != "0" else ""
    octal = f" (or 0o{digits} for octal)" if not sign and not set(digits) & {"8", "9"} else ""
    return f"write {sign}{digits}{octal}, or quote it"


# ruamel's composer, parser and scanner reach each other through properties that look the
# other one up on the YAML object again on every call (~80,000 calls for the default spec).
# The three below hold it as a plain attribute instead, which shadows the property: the same
# objects, found once; composing the default spec takes ~20% less CPU (59 -> 47 ms). The
# resolver stays a property: a %YAML directive makes the YAML object replace it.


class _Scanner(Scanner):
    reader: Any = None

    def __init__(self, loader: Any = None) -> None:
        self.reader = loader.reader  # before: the scanner reads the stream's start at once
        #: where the last token handed to the parser ends: an empty value starts there
        self.last_end: Any = None
        super().__init__(loader)

    def get_token(self) -> Any:
        token = super().get_token()
        if token is not None:
            self.last_end = token.end_mark
        return token

    def scan_directive(self) -> Any:
        """Only ``%YAML 1.2`` is read, once (the parser refuses a second one). ``%YAML 1.1``
        would switch ruamel to YAML 1.1's tables, another version trips an assertion in
        ruamel (exit 70), and ``%TAG`` or a reserved directive only serves tags and
        extensions a spec may not use: each is refused where it is written."""
        token = super().scan_directive()
        written = self.reader.buffer[token.start_mark.index : token.end_mark.index]
        if token.name == "YAML" and written.split() != ["%YAML", "1.2"]:
            shown = " ".join(written.split()[1:])
            raise _Refused(
                token.start_mark,
                f"%YAML {shown}: only YAML 1.2 is read (booleans and numbers differ between "
                "versions); remove the directive or write %YAML 1.2",
            )
        if token.name == "TAG":
            raise _Refused(token.start_mark, "%TAG directives are not allowed: a spec uses no tags beyond YAML's own; remove it")
        if token.name != "YAML":
            raise _Refused(token.start_mark, f"unknown directive %{token.name}: YAML 1.2 defines only %YAML and %TAG; remove it")
        return token


class _Parser(Parser):
    scanner: Any = None

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.scanner = loader.scanner

    def process_empty_scalar(self, mark: Any, comment: Any = None) -> Any:
        # An empty value starts right after the indicator before it (the ':' of `key:`, a
        # '-', a '?'). ruamel passes the mark of the token after it instead in some states
        # (the next key, the next line, past the end of the file), which would put the
        # problem with an empty value on the wrong line.
        if self.scanner.last_end is not None:
            mark = self.scanner.last_end
        return super().process_empty_scalar(mark, comment)


class _Composer(Composer):
    parser: Any = None

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.parser = loader.parser
        # Reused anchors are reported as problems like any other anchor; a Python
        # warning on stderr would only add noise to the error list.
        self.warn_double_anchors = False

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.parser.check_event(AliasEvent):
            event = self.parser.peek_event()
            super().compose_node(parent, index)  # consumes the event, checks the anchor exists
            return AliasNode("alias", event.anchor, event.start_mark, event.end_mark)
        return super().compose_node(parent, index)

    def compose_scalar_node(self, anchor: Any) -> Any:
        event = self.parser.get_event()
        tag, problem = _resolve(event.value, event.style, None if event.ctag is None else str(event.ctag))
        node = Scalar(tag, event.value, event.start_mark, event.end_mark, style=event.style, anchor=anchor, problem=problem)
        if anchor is not None:
            self.anchors[anchor] = node
        return node


class _Refused(MarkedYAMLError):
    """Composing stopped on something this reader refuses (not a syntax error)."""

    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(problem=message, problem_mark=mark)


#: what the parser's wording means in a hand-edited file: both come from a line indented
#: unlike its neighbours, which the parser's own terms do not say
_SYNTAX_HINTS = {
    "expected <block end>": (
        "check this line's indentation: a key lines up with the other keys of its mapping, a '- ' item with the other items"
    ),
    "mapping values are not allowed here": (
        "this 'key:' reads as part of the value above it: indent it like the keys before it, or quote a value that holds ': '"
    ),
}


def _mark_problem(filename: str, exc: MarkedYAMLError) -> Problem:
    """A YAML syntax error at the place the parser gave up, naming the construct it was in."""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    if isinstance(exc, _Refused):
        return Problem(filename, line, column, "", str(exc.problem))
    if isinstance(exc, MaxDepthExceededError):
        return Problem(filename, line, column, "", f"nested deeper than {MAX_DEPTH} levels; no valid file is that deep")
    message = str(exc.problem or exc.context or "cannot be parsed")
    context = str(exc.context or "").removeprefix("while ")
    if exc.problem and context:
        where = exc.context_mark
        if where is not None and (where.line, where.column) != (line - 1, column - 1):
            context += f" that starts at line {where.line + 1}, column {where.column + 1}"
        message += f" (while {context})"
    hint = next((hint for start, hint in _SYNTAX_HINTS.items() if str(exc.problem or "").startswith(start)), None)
    if hint:
        message += f"; {hint}"
    return Problem(filename, line, column, "", f"invalid YAML: {message}")


def compose(text: str, filename: str) -> Any:
    """The node tree of ``text`` (None for an empty document). Raises YamlProblem."""
    # pure: with ruamel.yaml.clib installed, YAML(typ="safe") would compose in C, without the
    # composer above, and read YAML 1.1 (libyaml 0.1.7): it refuses the default spec's
    # `[git=1:2.43.*]`, valid YAML 1.2. See bench/README.md for what the C parser would save.
    yaml = YAML(typ="safe", pure=True)
    yaml.Scanner, yaml.Parser, yaml.Composer = _Scanner, _Parser, _Composer
    yaml.max_depth = MAX_DEPTH
    try:
        return yaml.compose(text)
    except MarkedYAMLError as exc:
        raise YamlProblem(_mark_problem(filename, exc)) from None
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        message = f"invalid YAML: character {chr(exc.character)!r} is not allowed in YAML text"
        raise YamlProblem(Problem(filename, line, column, "", message)) from None


class YamlProblem(Exception):
    """The text cannot be composed into a tree; ``problem`` says where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def load(text: str, filename: str) -> Any:
    """Plain data (dicts keyed by key text, lists, scalars) from ``text``, for files that are
    not specs (the lock). Raises YamlProblem at the first node it refuses: an alias, an
    anchor, a key that is not a scalar, a tag outside the core schema, an unreadable scalar."""

    def where(node: Any) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def refuse(node: Any, message: str) -> YamlProblem:
        return YamlProblem(Problem(filename, *where(node), "", message))

    def data(node: Any) -> Any:
        if isinstance(node, AliasNode) or getattr(node, "anchor", None):
            raise refuse(node, "anchors and aliases are not allowed")
        if isinstance(node, MappingNode) and node.tag == TAG + "map":
            result = {}
            for key, value in node.value:
                if not isinstance(key, Scalar) or key.tag != STR or key.anchor:
                    raise refuse(key, "a key must be plain text")
                result[scalar(key)] = data(value)
            return result
        if isinstance(node, SequenceNode) and node.tag == TAG + "seq":
            return [data(item) for item in node.value]
        if isinstance(node, Scalar) and node.tag in (STR, INT, FLOAT, BOOL, NULL):
            return scalar(node)
        raise refuse(node, f"unsupported YAML tag {node.tag}")

    def scalar(node: Scalar) -> Any:
        if node.problem:
            raise refuse(node, node.problem)
        if has_controls(node.value):
            # what this file holds is echoed (check, lock): no line may be forged there
            raise refuse(node, "control characters are not allowed")
        return to_value(node.resolved_tag, node.value)

    root = compose(text, filename)
    return None if root is None else data(root)
